//! Per-version request metrics: what the rollout analysis reads to promote or roll back.
//!
//! Cumulative figures are lock-free atomics (the Prometheus counters and histogram). The sliding
//! window is a ring of one-second slots, each with a fine log-scale latency histogram (10% wide
//! buckets, so a quantile is within 5% of the true value); a window query merges the slots of the
//! last N seconds. Slots are behind a mutex held for a few instructions per request.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::api::{Bucket, Stats};

/// Upper bounds (seconds) of the Prometheus histogram buckets, `+Inf` implied.
pub const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The longest window a query may ask for.
pub const MAX_WINDOW: Duration = Duration::from_secs(300);

const FINE: usize = 200;
const FINE_BASE: f64 = 1.1;
const CODES: usize = 600;
const SLOTS: usize = MAX_WINDOW.as_secs() as usize;

/// One version's metrics. Lives as long as the version is configured, across weight changes and
/// target swaps.
pub struct VersionMetrics {
    origin: Instant,
    codes: Vec<AtomicU64>,
    errors: AtomicU64,
    connect_failures: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
    fine: Vec<AtomicU64>,
    window: Mutex<Vec<Slot>>,
}

#[derive(Default)]
struct Slot {
    second: u64,
    requests: u64,
    errors: u64,
    fine: Vec<u32>,
}

impl Default for VersionMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl VersionMetrics {
    pub fn new() -> Self {
        VersionMetrics {
            origin: Instant::now(),
            codes: (0..CODES).map(|_| AtomicU64::new(0)).collect(),
            errors: AtomicU64::new(0),
            connect_failures: AtomicU64::new(0),
            buckets: Default::default(),
            sum_micros: AtomicU64::new(0),
            fine: (0..FINE).map(|_| AtomicU64::new(0)).collect(),
            window: Mutex::new((0..SLOTS).map(|_| Slot::default()).collect()),
        }
    }

    /// Records one finished request. A 5xx answer is an error; `error` adds responses cut off
    /// mid-body.
    pub fn record(&self, status: u16, elapsed: Duration, error: bool) {
        let error = error || status >= 500;
        self.codes[usize::from(status).min(CODES - 1)].fetch_add(1, Relaxed);
        if error {
            self.errors.fetch_add(1, Relaxed);
        }
        let secs = elapsed.as_secs_f64();
        let b = BUCKETS
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(BUCKETS.len());
        self.buckets[b].fetch_add(1, Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Relaxed);
        let f = fine_index(micros);
        self.fine[f].fetch_add(1, Relaxed);

        let now = self.origin.elapsed().as_secs();
        let mut ring = self.window.lock().unwrap_or_else(|e| e.into_inner());
        let slot = &mut ring[(now % SLOTS as u64) as usize];
        if slot.second != now || slot.fine.is_empty() {
            slot.second = now;
            slot.requests = 0;
            slot.errors = 0;
            slot.fine.clear();
            slot.fine.resize(FINE, 0);
        }
        slot.requests += 1;
        slot.errors += u64::from(error);
        slot.fine[f] = slot.fine[f].saturating_add(1);
    }

    /// Figures over the last `window` (at most [`MAX_WINDOW`]), the current second included.
    pub fn window(&self, window: Duration) -> Stats {
        let secs = window.as_secs().clamp(1, SLOTS as u64);
        let now = self.origin.elapsed().as_secs();
        let mut fine = vec![0u64; FINE];
        let (mut requests, mut errors) = (0, 0);
        {
            let ring = self.window.lock().unwrap_or_else(|e| e.into_inner());
            for slot in ring.iter() {
                if slot.fine.is_empty() || slot.second + secs <= now || slot.second > now {
                    continue;
                }
                requests += slot.requests;
                errors += slot.errors;
                for (acc, &n) in fine.iter_mut().zip(&slot.fine) {
                    *acc += u64::from(n);
                }
            }
        }
        stats(requests, errors, &fine)
    }

    /// Figures since the version was configured, with the count per status code.
    pub fn cumulative(&self) -> Stats {
        let fine: Vec<u64> = self.fine.iter().map(|a| a.load(Relaxed)).collect();
        let requests = fine.iter().sum();
        let mut s = stats(requests, self.errors.load(Relaxed), &fine);
        s.codes = self
            .codes
            .iter()
            .enumerate()
            .filter_map(|(code, n)| {
                let n = n.load(Relaxed);
                (n > 0).then(|| (code.to_string(), n))
            })
            .collect();
        s
    }

    /// A target of this version refused a connection (the request may still have succeeded on
    /// a retry).
    pub fn connect_failure(&self) {
        self.connect_failures.fetch_add(1, Relaxed);
    }

    pub fn connect_failures(&self) -> u64 {
        self.connect_failures.load(Relaxed)
    }

    /// The Prometheus histogram as cumulative `le` buckets, `+Inf` last.
    pub fn buckets(&self) -> Vec<Bucket> {
        let mut acc = 0;
        let mut out = Vec::with_capacity(BUCKETS.len() + 1);
        for (i, n) in self.buckets.iter().enumerate() {
            acc += n.load(Relaxed);
            let le = BUCKETS.get(i).map_or("+Inf".to_string(), |b| b.to_string());
            out.push(Bucket { le, count: acc });
        }
        out
    }

    pub fn sum_seconds(&self) -> f64 {
        self.sum_micros.load(Relaxed) as f64 / 1e6
    }
}

fn fine_index(micros: u64) -> usize {
    if micros <= 1 {
        return 0;
    }
    let i = ((micros as f64).ln() / FINE_BASE.ln()).ceil() as usize;
    i.min(FINE - 1)
}

/// A representative latency (ms) for a fine bucket: the geometric middle of its bounds.
fn fine_value_ms(i: usize) -> f64 {
    if i == 0 {
        return 0.001;
    }
    FINE_BASE.powf(i as f64 - 0.5) / 1000.0
}

fn quantile(fine: &[u64], total: u64, q: f64) -> Option<f64> {
    if total == 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as u64).max(1);
    let mut acc = 0;
    for (i, &n) in fine.iter().enumerate() {
        acc += n;
        if acc >= rank {
            return Some((fine_value_ms(i) * 1000.0).round() / 1000.0);
        }
    }
    None
}

fn stats(requests: u64, errors: u64, fine: &[u64]) -> Stats {
    Stats {
        requests,
        errors,
        error_rate: if requests == 0 {
            0.0
        } else {
            errors as f64 / requests as f64
        },
        p50_ms: quantile(fine, requests, 0.50),
        p95_ms: quantile(fine, requests, 0.95),
        p99_ms: quantile(fine, requests, 0.99),
        codes: Default::default(),
    }
}

/// Labels and gauges of one version for the Prometheus page.
pub struct PromVersion<'a> {
    pub service: &'a str,
    pub version: &'a str,
    pub weight: u32,
    pub targets: usize,
    pub healthy_targets: usize,
    pub metrics: &'a VersionMetrics,
}

/// Renders the Prometheus text exposition format (version 0.0.4) for the given versions.
pub fn render_prometheus(versions: &[PromVersion<'_>]) -> String {
    let mut out = String::new();
    let labels = |v: &PromVersion<'_>| {
        format!(
            "service=\"{}\",version=\"{}\"",
            escape(v.service),
            escape(v.version)
        )
    };
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    family(
        &mut out,
        "weir_proxy_requests_total",
        "counter",
        "Requests answered, by service, version and status code.",
    );
    for v in versions {
        for (code, n) in &v.metrics.cumulative().codes {
            let _ = writeln!(
                out,
                "weir_proxy_requests_total{{{},code=\"{code}\"}} {n}",
                labels(v)
            );
        }
    }
    family(
        &mut out,
        "weir_proxy_errors_total",
        "counter",
        "Requests that failed: 5xx answers, unreachable targets, responses cut off.",
    );
    for v in versions {
        let n = v.metrics.errors.load(Relaxed);
        let _ = writeln!(out, "weir_proxy_errors_total{{{}}} {n}", labels(v));
    }
    family(
        &mut out,
        "weir_proxy_upstream_connect_failures_total",
        "counter",
        "Connections to targets that failed.",
    );
    for v in versions {
        let n = v.metrics.connect_failures();
        let _ = writeln!(
            out,
            "weir_proxy_upstream_connect_failures_total{{{}}} {n}",
            labels(v)
        );
    }
    family(
        &mut out,
        "weir_proxy_request_duration_seconds",
        "histogram",
        "Time from receiving a request to the end of its response.",
    );
    for v in versions {
        let l = labels(v);
        let buckets = v.metrics.buckets();
        for b in &buckets {
            let _ = writeln!(
                out,
                "weir_proxy_request_duration_seconds_bucket{{{l},le=\"{}\"}} {}",
                b.le, b.count
            );
        }
        let count = buckets.last().map_or(0, |b| b.count);
        let _ = writeln!(
            out,
            "weir_proxy_request_duration_seconds_sum{{{l}}} {}\nweir_proxy_request_duration_seconds_count{{{l}}} {count}",
            v.metrics.sum_seconds()
        );
    }
    for (name, help, get) in [
        (
            "weir_proxy_version_weight",
            "Configured weight of the version (percent).",
            (|v: &PromVersion<'_>| v.weight as usize) as fn(&PromVersion<'_>) -> usize,
        ),
        ("weir_proxy_targets", "Targets of the version.", |v| {
            v.targets
        }),
        (
            "weir_proxy_healthy_targets",
            "Targets of the version that take traffic.",
            |v| v.healthy_targets,
        ),
    ] {
        family(&mut out, name, "gauge", help);
        for v in versions {
            let _ = writeln!(out, "{name}{{{}}} {}", labels(v), get(v));
        }
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_five_percent() {
        let m = VersionMetrics::new();
        for ms in 1..=1000u64 {
            m.record(200, Duration::from_millis(ms), false);
        }
        let s = m.window(Duration::from_secs(30));
        assert_eq!(s.requests, 1000);
        for (got, want) in [(s.p50_ms, 500.0), (s.p95_ms, 950.0), (s.p99_ms, 990.0)] {
            let got = got.unwrap();
            assert!((got - want).abs() / want < 0.05, "{got} vs {want}");
        }
        assert_eq!(m.cumulative().p50_ms, s.p50_ms);
    }

    #[test]
    fn errors_codes_and_buckets() {
        let m = VersionMetrics::new();
        m.record(200, Duration::from_micros(500), false);
        m.record(503, Duration::from_millis(3), false);
        m.connect_failure();
        m.record(502, Duration::from_millis(20), false);
        m.record(200, Duration::from_secs(20), true);
        let c = m.cumulative();
        assert_eq!((c.requests, c.errors), (4, 3));
        assert_eq!(c.error_rate, 0.75);
        assert_eq!(c.codes.get("200"), Some(&2));
        assert_eq!(m.connect_failures(), 1);
        let b = m.buckets();
        assert_eq!(b[0].le, "0.001");
        assert_eq!(b[0].count, 1);
        assert_eq!(b[2].count, 2); // le 0.005
        assert_eq!(b.last().unwrap().le, "+Inf");
        assert_eq!(b.last().unwrap().count, 4);
        assert_eq!(b[b.len() - 2].count, 3); // le 10
    }

    #[test]
    fn the_window_forgets_old_seconds() {
        let m = VersionMetrics {
            origin: Instant::now() - Duration::from_secs(100),
            ..VersionMetrics::new()
        };
        {
            // A slot recorded 60 seconds ago.
            let mut ring = m.window.lock().unwrap();
            ring[40] = Slot {
                second: 40,
                requests: 7,
                errors: 7,
                fine: vec![1; FINE],
            };
        }
        m.record(200, Duration::from_millis(1), false);
        assert_eq!(m.window(Duration::from_secs(30)).requests, 1);
        assert_eq!(m.window(Duration::from_secs(61)).requests, 8);
        assert_eq!(m.window(Duration::from_secs(61)).errors, 7);
    }

    #[test]
    fn prometheus_text() {
        let m = VersionMetrics::new();
        m.record(200, Duration::from_millis(2), false);
        let text = render_prometheus(&[PromVersion {
            service: "web",
            version: "v\"1",
            weight: 100,
            targets: 2,
            healthy_targets: 1,
            metrics: &m,
        }]);
        assert!(text.contains(
            "weir_proxy_requests_total{service=\"web\",version=\"v\\\"1\",code=\"200\"} 1\n"
        ));
        assert!(text.contains(
            "weir_proxy_request_duration_seconds_bucket{service=\"web\",version=\"v\\\"1\",le=\"0.0025\"} 1\n"
        ));
        assert!(text.contains("weir_proxy_healthy_targets{service=\"web\",version=\"v\\\"1\"} 1\n"));
        assert!(text.contains("# TYPE weir_proxy_request_duration_seconds histogram\n"));
    }
}
