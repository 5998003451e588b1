//! Test fixtures: real backends on ephemeral 127.0.0.1 ports, a proxy started in-process, a
//! keep-alive HTTP client and a load generator.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use proxy::client::AdminClient;
use proxy::{Config, Proxy, ServiceSpec};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

pub const TOKEN: &str = "test-token-4f8a";

/// A backend that answers with its version name and can be told to fail.
pub struct Backend {
    pub addr: SocketAddr,
    pub version: String,
    /// `/health` answers 200 while true, 503 otherwise.
    pub healthy: AtomicBool,
    /// Percentage of ordinary requests answered with 500 (spread evenly, deterministic).
    pub fail_percent: AtomicU32,
    /// Extra time before answering, in milliseconds.
    pub delay_ms: AtomicU64,
    pub served: AtomicU64,
    /// The next this-many ordinary requests get their connection closed without an answer.
    pub drop_next: AtomicU32,
    pub open_connections: AtomicUsize,
    /// Released by tests that check streaming: `/stream` waits for it between two chunks.
    pub release: Notify,
    stop: watch::Sender<bool>,
}

impl Backend {
    pub async fn start(version: &str) -> Arc<Backend> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (stop, stopped) = watch::channel(false);
        let b = Arc::new(Backend {
            addr: listener.local_addr().unwrap(),
            version: version.to_string(),
            healthy: AtomicBool::new(true),
            fail_percent: AtomicU32::new(0),
            delay_ms: AtomicU64::new(0),
            served: AtomicU64::new(0),
            drop_next: AtomicU32::new(0),
            open_connections: AtomicUsize::new(0),
            release: Notify::new(),
            stop,
        });
        tokio::spawn(accept_loop(listener, b.clone(), stopped));
        b
    }

    pub fn target(&self) -> String {
        self.addr.to_string()
    }

    /// Stops accepting connections; the port then refuses them.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

async fn accept_loop(listener: TcpListener, b: Arc<Backend>, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            Ok((stream, _)) = listener.accept() => {
                let b = b.clone();
                tokio::spawn(async move {
                    b.open_connections.fetch_add(1, Ordering::SeqCst);
                    let svc = service_fn(|req| answer(b.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                    b.open_connections.fetch_sub(1, Ordering::SeqCst);
                });
            }
            _ = stopped.changed() => return,
        }
    }
}

async fn answer(
    b: Arc<Backend>,
    req: Request<Incoming>,
) -> Result<Response<BoxedBody>, std::io::Error> {
    let path = req.uri().path().to_string();
    if path == "/health" {
        let ok = b.healthy.load(Ordering::SeqCst);
        let status = if ok { 200 } else { 503 };
        return Ok(text(status, if ok { "up" } else { "down" }));
    }
    let dropping = b
        .drop_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if dropping {
        // hyper closes the connection when the service fails.
        return Err(std::io::Error::other("dropped on purpose"));
    }
    let n = b.served.fetch_add(1, Ordering::SeqCst);
    let delay = b.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    match path.as_str() {
        "/echo-headers" => {
            let mut lines: Vec<String> = req
                .headers()
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("?")))
                .collect();
            lines.sort();
            Ok(text(200, &lines.join("\n")))
        }
        "/upload" => {
            let mut body = req.into_body();
            let mut len = 0usize;
            while let Some(frame) = body.frame().await {
                if let Ok(d) = frame.unwrap().into_data() {
                    len += d.len();
                }
            }
            Ok(text(200, &len.to_string()))
        }
        "/stream" => {
            let (tx, rx) = tokio::sync::mpsc::channel(2);
            let b2 = b.clone();
            tokio::spawn(async move {
                let _ = tx.send(Bytes::from_static(b"first,")).await;
                b2.release.notified().await;
                let _ = tx.send(Bytes::from_static(b"second")).await;
            });
            Ok(Response::new(ChannelBody(rx).boxed()))
        }
        _ => {
            let fail = u64::from(b.fail_percent.load(Ordering::SeqCst));
            if n % 100 < fail {
                Ok(text(500, "injected failure"))
            } else {
                Ok(text(200, &b.version))
            }
        }
    }
}

pub type BoxedBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

fn text(status: u16, body: &str) -> Response<BoxedBody> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())).boxed());
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r
}

/// A body fed frame by frame from a channel.
pub struct ChannelBody(pub tokio::sync::mpsc::Receiver<Bytes>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|d| d.map(|d| Ok(http_body::Frame::data(d))))
    }
}

/// A proxy on ephemeral ports with a state file in its own directory.
pub struct TestProxy {
    pub proxy: Proxy,
    pub admin: AdminClient,
    pub url: String,
    pub dir: tempfile::TempDir,
}

pub async fn start_proxy() -> TestProxy {
    let dir = tempfile::tempdir().unwrap();
    start_proxy_with(dir, None).await
}

pub async fn start_proxy_with(dir: tempfile::TempDir, tls: Option<proxy::TlsFiles>) -> TestProxy {
    let proxy = Proxy::start(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        admin_listen: "127.0.0.1:0".parse().unwrap(),
        token: TOKEN.into(),
        state_file: Some(dir.path().join("proxy-state.json")),
        tls,
        access_log: false,
        shutdown_timeout: Duration::from_secs(10),
        workers: 2,
    })
    .await
    .unwrap();
    let admin = AdminClient::new(
        &format!("http://{}", proxy.admin_addr()),
        TOKEN,
        Duration::from_secs(30),
    )
    .unwrap();
    let url = format!("http://{}", proxy.listen_addr());
    TestProxy {
        proxy,
        admin,
        url,
        dir,
    }
}

/// A spec from (version, weight, backends) triples.
pub fn spec(versions: &[(&str, u32, &[&Arc<Backend>])]) -> ServiceSpec {
    let json = serde_json::json!({
        "default": true,
        "versions": versions.iter().map(|(name, weight, backends)| serde_json::json!({
            "name": name,
            "weight": weight,
            "targets": backends.iter().map(|b| b.target()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    serde_json::from_value(json).unwrap()
}

/// The same with an active health check on `/health`.
pub fn checked(mut s: ServiceSpec, interval_ms: u64) -> ServiceSpec {
    s.health_check = Some(proxy::HealthCheck {
        path: "/health".into(),
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(500),
        healthy_threshold: 1,
        unhealthy_threshold: 1,
    });
    s.timeouts.deploy = Duration::from_secs(10);
    s
}

pub fn weights(pairs: &[(&str, u32)]) -> BTreeMap<String, u32> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub fn http_client() -> HttpClient {
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(64)
        .build_http()
}

/// One GET: status and body text.
pub async fn get(client: &HttpClient, url: &str) -> Result<(u16, String), String> {
    let req = Request::get(url).body(Full::new(Bytes::new())).unwrap();
    let resp = client.request(req).await.map_err(|e| format!("{e:?}"))?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{e:?}"))?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// Counts of answers by body over `n` sequential GETs.
pub async fn tally(client: &HttpClient, url: &str, n: usize) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for _ in 0..n {
        let (status, body) = get(client, url).await.unwrap();
        let key = if status == 200 {
            body
        } else {
            format!("{status}")
        };
        *out.entry(key).or_default() += 1;
    }
    out
}

/// Polls `cond` every 20ms for up to 10s.
pub async fn eventually<F: FnMut() -> bool>(what: &str, mut cond: F) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Many concurrent keep-alive clients hammering the proxy until stopped.
pub struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<LoadResult>>,
}

#[derive(Default, Debug)]
pub struct LoadResult {
    pub ok: u64,
    pub failures: Vec<String>,
    pub by_body: BTreeMap<String, u64>,
}

impl Load {
    pub fn start(url: &str, concurrency: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let client = http_client();
        let tasks = (0..concurrency)
            .map(|_| {
                let stop = stop.clone();
                let client = client.clone();
                let url = url.to_string();
                tokio::spawn(async move {
                    let mut r = LoadResult::default();
                    // Bounded: at most 200k requests per client, whatever happens.
                    for _ in 0..200_000 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        match get(&client, &url).await {
                            Ok((200, body)) => {
                                r.ok += 1;
                                *r.by_body.entry(body).or_default() += 1;
                            }
                            Ok((status, body)) => r.failures.push(format!("{status}: {body}")),
                            Err(e) => r.failures.push(e),
                        }
                    }
                    r
                })
            })
            .collect();
        Load { stop, tasks }
    }

    pub async fn finish(self) -> LoadResult {
        self.stop.store(true, Ordering::Relaxed);
        let mut total = LoadResult::default();
        for t in self.tasks {
            let r = t.await.unwrap();
            total.ok += r.ok;
            total.failures.extend(r.failures);
            for (k, v) in r.by_body {
                *total.by_body.entry(k).or_default() += v;
            }
        }
        total
    }
}
