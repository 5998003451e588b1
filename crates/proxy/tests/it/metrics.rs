//! Per-version metrics as the rollout analysis reads them.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_version_shows_its_error_rate() {
    let (a, b) = (
        Backend::start("stable").await,
        Backend::start("canary").await,
    );
    b.fail_percent.store(20, Ordering::SeqCst);
    let p = start_proxy().await;
    p.admin
        .put_service("web", &spec(&[("v1", 50, &[&a]), ("v2", 50, &[&b])]))
        .await
        .unwrap();
    let client = http_client();
    let counts = tally(&client, &p.url, 1000).await;
    assert_eq!(counts.get("500"), Some(&100), "{counts:?}");

    let m = p
        .admin
        .metrics("web", Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(m.window_seconds, 30);
    let (v1, v2) = (&m.versions[0], &m.versions[1]);
    assert_eq!((v1.version.as_str(), v2.version.as_str()), ("v1", "v2"));
    assert_eq!((v1.window.requests, v1.window.errors), (500, 0));
    assert_eq!((v2.window.requests, v2.window.errors), (500, 100));
    assert!((v2.window.error_rate - 0.2).abs() < 0.05, "{v2:?}");
    assert_eq!(v2.cumulative.codes.get("500"), Some(&100));
    assert_eq!(v2.cumulative.codes.get("200"), Some(&400));
    let (p50, p99) = (v1.window.p50_ms.unwrap(), v1.window.p99_ms.unwrap());
    assert!(p50 > 0.0 && p50 <= p99, "{v1:?}");
    assert_eq!(v1.latency_buckets.last().unwrap().count, 500);

    let text = p.admin.prometheus().await.unwrap();
    for line in [
        "weir_proxy_requests_total{service=\"web\",version=\"v2\",code=\"500\"} 100",
        "weir_proxy_requests_total{service=\"web\",version=\"v1\",code=\"200\"} 500",
        "weir_proxy_errors_total{service=\"web\",version=\"v2\"} 100",
        "weir_proxy_request_duration_seconds_count{service=\"web\",version=\"v1\"} 500",
        "weir_proxy_request_duration_seconds_bucket{service=\"web\",version=\"v2\",le=\"+Inf\"} 500",
        "weir_proxy_version_weight{service=\"web\",version=\"v2\"} 50",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
    }

    // Metrics survive a weight change (the analysis keeps reading the same series).
    p.admin
        .set_weights("web", &weights(&[("v1", 90), ("v2", 10)]))
        .await
        .unwrap();
    let m = p
        .admin
        .metrics("web", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(m.versions[1].cumulative.requests, 500);
}
