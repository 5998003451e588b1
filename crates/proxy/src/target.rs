//! A target (one `host:port` of one version): its health, its in-flight count and its own
//! connection pools. Giving each target its own pools means that dropping a drained target closes
//! exactly its idle keep-alive connections and nothing else. There is one pool per data-plane
//! worker thread, so a request is sent on a connection driven by its own thread (no wake-ups
//! across threads), and one for the health checks.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::uri::Authority;
use http_body_util::{BodyExt, Either, Empty};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::sync::Notify;

use crate::api::{Health, TargetStatus};
use crate::spec::{HealthCheck, PASSIVE_COOLDOWN};

/// The body of a request sent to a target: the client's streamed body, or nothing (health
/// checks, and retryable requests, which have no body by definition).
pub type UpBody = Either<Incoming, Empty<Bytes>>;

const PENDING: u8 = 0;
const HEALTHY: u8 = 1;
const UNHEALTHY: u8 = 2;

pub struct Target {
    pub service: String,
    pub addr: String,
    pub version: String,
    pub authority: Authority,
    clients: Vec<Client<HttpConnector, UpBody>>,
    health_client: Client<HttpConnector, UpBody>,
    health: AtomicU8,
    passes: AtomicU32,
    fails: AtomicU32,
    /// Milliseconds since `origin` until which a passively failed target is skipped (0: never).
    down_until: AtomicU64,
    origin: Instant,
    in_flight: AtomicUsize,
    retired: AtomicBool,
    checked: bool,
    /// Woken on every health change, so a deploy waits for its targets without polling.
    events: Arc<Notify>,
}

impl Target {
    /// A target gated by `check` (pending until it passes) or, without one, healthy at once,
    /// with a pool for each of `workers` data-plane threads.
    pub fn new(
        service: &str,
        addr: &str,
        version: &str,
        connect_timeout: Duration,
        check: Option<&HealthCheck>,
        events: Arc<Notify>,
        workers: usize,
    ) -> Arc<Target> {
        let pool = || {
            let mut connector = HttpConnector::new();
            connector.set_nodelay(true);
            connector.set_connect_timeout(Some(connect_timeout));
            Client::builder(TokioExecutor::new())
                .pool_timer(TokioTimer::new())
                // Below common server keep-alive timeouts (Node's 5s), so the pool rarely hands
                // out a connection the target is closing.
                .pool_idle_timeout(Duration::from_secs(4))
                .build(connector)
        };
        let target = Arc::new(Target {
            service: service.to_string(),
            addr: addr.to_string(),
            version: version.to_string(),
            authority: addr.parse().expect("validated by ServiceSpec::validate"),
            clients: (0..workers.max(1)).map(|_| pool()).collect(),
            health_client: pool(),
            health: AtomicU8::new(if check.is_some() { PENDING } else { HEALTHY }),
            passes: AtomicU32::new(0),
            fails: AtomicU32::new(0),
            down_until: AtomicU64::new(0),
            origin: Instant::now(),
            in_flight: AtomicUsize::new(0),
            retired: AtomicBool::new(false),
            checked: check.is_some(),
            events,
        });
        if let Some(check) = check {
            tokio::spawn(check_loop(Arc::downgrade(&target), check.clone()));
        }
        target
    }

    /// The pool of data-plane worker `worker`.
    pub fn client(&self, worker: usize) -> &Client<HttpConnector, UpBody> {
        &self.clients[worker % self.clients.len()]
    }

    /// Whether the target takes new requests now.
    pub fn available(&self) -> bool {
        if self.health.load(Ordering::Relaxed) != HEALTHY {
            return false;
        }
        let until = self.down_until.load(Ordering::Relaxed);
        until == 0 || self.now_ms() >= until
    }

    pub fn health(&self) -> Health {
        match self.health.load(Ordering::Relaxed) {
            HEALTHY if self.available() => Health::Healthy,
            PENDING => Health::Pending,
            _ => Health::Unhealthy,
        }
    }

    /// The target refused a connection: out of rotation until its health check passes again,
    /// or for [`PASSIVE_COOLDOWN`] when it has none.
    pub fn connect_failed(&self) {
        if self.checked {
            self.passes.store(0, Ordering::Relaxed);
            if self.health.swap(UNHEALTHY, Ordering::Relaxed) == HEALTHY {
                tracing::warn!(target = %self.addr, version = %self.version, "target refused a connection; out of rotation until its health check passes");
            }
        } else {
            let until = self.now_ms() + PASSIVE_COOLDOWN.as_millis() as u64;
            self.down_until.store(until.max(1), Ordering::Relaxed);
            tracing::warn!(target = %self.addr, version = %self.version, "target refused a connection; skipped for {PASSIVE_COOLDOWN:?}");
        }
        self.events.notify_waiters();
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Taken out of the configuration: its health checks stop.
    pub fn retire(&self) {
        self.retired.store(true, Ordering::Relaxed);
    }

    pub fn status(&self) -> TargetStatus {
        TargetStatus {
            address: self.addr.clone(),
            version: self.version.clone(),
            health: self.health(),
            in_flight: self.in_flight(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    /// Applies one health-check result with the configured thresholds.
    fn observe(&self, ok: bool, check: &HealthCheck) {
        let before = self.health.load(Ordering::Relaxed);
        let after = if ok {
            self.fails.store(0, Ordering::Relaxed);
            let passes = self.passes.fetch_add(1, Ordering::Relaxed) + 1;
            if passes >= check.healthy_threshold {
                HEALTHY
            } else {
                before
            }
        } else {
            self.passes.store(0, Ordering::Relaxed);
            let fails = self.fails.fetch_add(1, Ordering::Relaxed) + 1;
            if before == HEALTHY && fails >= check.unhealthy_threshold {
                UNHEALTHY
            } else {
                before
            }
        };
        if after != before {
            self.health.store(after, Ordering::Relaxed);
            if after == HEALTHY {
                self.down_until.store(0, Ordering::Relaxed);
                tracing::info!(target = %self.addr, version = %self.version, "target passed its health check; taking traffic");
            } else {
                tracing::warn!(target = %self.addr, version = %self.version, "target failed its health check; out of rotation");
            }
            self.events.notify_waiters();
        }
    }

    /// One health check: 2xx or 3xx within the timeout, body read to the end so the connection
    /// goes back to the pool.
    async fn probe(&self, check: &HealthCheck) -> bool {
        let uri = http::Uri::builder()
            .scheme("http")
            .authority(self.authority.clone())
            .path_and_query(check.path.as_str())
            .build();
        let Ok(uri) = uri else { return false };
        let req = http::Request::get(uri)
            .header(http::header::USER_AGENT, "weir-proxy-health-check")
            .body(Either::Right(Empty::new()));
        let Ok(req) = req else { return false };
        let attempt = async {
            let resp = self.health_client.request(req).await.ok()?;
            let ok = resp.status().is_success() || resp.status().is_redirection();
            resp.into_body().collect().await.ok()?;
            Some(ok)
        };
        matches!(
            tokio::time::timeout(check.timeout, attempt).await,
            Ok(Some(true))
        )
    }
}

/// A request in flight to a target, counted for as long as this lives: dropped with the
/// response body, or with the request future when the client goes away first.
pub struct InFlight(Arc<Target>);

impl InFlight {
    pub fn new(target: Arc<Target>) -> Self {
        target.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(target)
    }

    pub fn target(&self) -> &Arc<Target> {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Checks a target every `interval` until it is retired or dropped. Holds the target only for
/// the length of one check.
async fn check_loop(target: Weak<Target>, check: HealthCheck) {
    let mut first = true;
    loop {
        if !first {
            tokio::time::sleep(check.interval).await;
        }
        first = false;
        let Some(t) = target.upgrade() else { return };
        if t.retired.load(Ordering::Relaxed) {
            return;
        }
        let ok = t.probe(&check).await;
        t.observe(ok, &check);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(healthy: u32, unhealthy: u32) -> HealthCheck {
        HealthCheck {
            path: "/".into(),
            interval: Duration::from_secs(3600),
            timeout: Duration::from_secs(1),
            healthy_threshold: healthy,
            unhealthy_threshold: unhealthy,
        }
    }

    #[tokio::test]
    async fn thresholds_gate_traffic() {
        let c = check(2, 2);
        // Port 9 (discard) is not listening: the initial check fails, which changes nothing.
        let t = Target::new(
            "web",
            "127.0.0.1:9",
            "v1",
            Duration::from_secs(1),
            Some(&c),
            Default::default(),
            1,
        );
        assert_eq!(t.health(), Health::Pending);
        t.observe(true, &c);
        assert_eq!(t.health(), Health::Pending);
        t.observe(true, &c);
        assert_eq!(t.health(), Health::Healthy);
        t.observe(false, &c);
        assert!(t.available());
        t.observe(false, &c);
        assert_eq!(t.health(), Health::Unhealthy);
        t.observe(true, &c);
        t.observe(true, &c);
        assert!(t.available());
        t.connect_failed();
        assert_eq!(t.health(), Health::Unhealthy);
    }

    #[tokio::test]
    async fn without_a_check_a_refusal_benches_the_target_for_a_while() {
        let t = Target::new(
            "web",
            "127.0.0.1:9",
            "v1",
            Duration::from_secs(1),
            None,
            Default::default(),
            1,
        );
        assert!(t.available());
        t.connect_failed();
        assert!(!t.available());
        // The cooldown is over once the clock passes it.
        tokio::time::sleep(Duration::from_millis(5)).await;
        t.down_until.store(t.now_ms(), Ordering::Relaxed);
        assert!(t.available());
    }
}
