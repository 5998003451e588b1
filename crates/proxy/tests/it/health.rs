//! Health gating and failover.

use std::sync::atomic::Ordering;
use std::time::Duration;

use proxy::api::Health;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_failing_its_check_stops_getting_traffic_and_returns_when_it_passes() {
    let (a1, a2) = (Backend::start("a1").await, Backend::start("a2").await);
    let p = start_proxy().await;
    p.admin
        .put_service("web", &checked(spec(&[("v1", 100, &[&a1, &a2])]), 50))
        .await
        .unwrap();
    let client = http_client();
    let counts = tally(&client, &p.url, 20).await;
    assert_eq!(
        (counts.get("a1"), counts.get("a2")),
        (Some(&10), Some(&10)),
        "{counts:?}"
    );

    a2.healthy.store(false, Ordering::SeqCst);
    let admin = p.admin.clone();
    wait_health(&admin, 1, Health::Unhealthy).await;
    let counts = tally(&client, &p.url, 50).await;
    assert_eq!(counts.get("a1"), Some(&50), "{counts:?}");
    let status = p.admin.service("web").await.unwrap();
    assert_eq!(status.versions[0].healthy_targets, 1);

    a2.healthy.store(true, Ordering::SeqCst);
    wait_health(&admin, 1, Health::Healthy).await;
    let counts = tally(&client, &p.url, 20).await;
    assert_eq!(counts.get("a2"), Some(&10), "{counts:?}");
}

async fn wait_health(admin: &proxy::client::AdminClient, target: usize, want: Health) {
    for _ in 0..500 {
        let s = admin.service("web").await.unwrap();
        if s.versions[0].targets[target].health == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("target {target} never became {want:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_without_healthy_targets_gives_its_weight_to_the_others() {
    let (a, b) = (
        Backend::start("stable").await,
        Backend::start("canary").await,
    );
    let p = start_proxy().await;
    p.admin
        .put_service(
            "web",
            &checked(spec(&[("v1", 70, &[&a]), ("v2", 30, &[&b])]), 50),
        )
        .await
        .unwrap();
    b.healthy.store(false, Ordering::SeqCst);
    let mut status = p.admin.service("web").await.unwrap();
    for _ in 0..500 {
        if status.versions[1].effective_weight == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        status = p.admin.service("web").await.unwrap();
    }
    assert_eq!(status.versions[1].effective_weight, 0.0, "{status:?}");
    assert_eq!(status.versions[0].effective_weight, 100.0);
    assert_eq!(status.versions[1].weight, 30);
    assert_eq!(status.versions[1].healthy_targets, 0);
    let counts = tally(&http_client(), &p.url, 100).await;
    assert_eq!(counts.get("stable"), Some(&100), "{counts:?}");

    // With no healthy target anywhere the proxy says so instead of trying.
    a.healthy.store(false, Ordering::SeqCst);
    let client = http_client();
    let mut last = (0, String::new());
    for _ in 0..500 {
        last = get(&client, &p.url).await.unwrap();
        if last.0 == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(last.0, 503);
    assert_eq!(
        last.1,
        "Service \"web\" has no healthy target to take this request.\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_waits_for_new_targets_and_is_abandoned_when_they_never_pass() {
    let (a, b) = (
        Backend::start("stable").await,
        Backend::start("canary").await,
    );
    let p = start_proxy().await;
    p.admin
        .put_service("web", &checked(spec(&[("v1", 100, &[&a])]), 50))
        .await
        .unwrap();
    b.healthy.store(false, Ordering::SeqCst);
    let mut bad = checked(spec(&[("v1", 90, &[&a]), ("v2", 10, &[&b])]), 50);
    bad.timeouts.deploy = Duration::from_millis(500);
    let err = p.admin.put_service("web", &bad).await.unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::GATEWAY_TIMEOUT));
    assert_eq!(
        err.to_string(),
        format!(
            "admin API answered 504 Gateway Timeout: deploy of \"web\" abandoned: targets not healthy after 500ms: {}",
            b.addr
        )
    );
    // Nothing changed: the old configuration serves and the state file still has it.
    let status = p.admin.service("web").await.unwrap();
    assert_eq!(status.versions.len(), 1);
    let saved = std::fs::read_to_string(p.dir.path().join("proxy-state.json")).unwrap();
    assert!(!saved.contains(&b.target()), "{saved}");
    let counts = tally(&http_client(), &p.url, 10).await;
    assert_eq!(counts.get("stable"), Some(&10));

    // Once the canary passes, the same deploy goes through, and the canary gets traffic.
    b.healthy.store(true, Ordering::SeqCst);
    p.admin.put_service("web", &bad).await.unwrap();
    let counts = tally(&http_client(), &p.url, 100).await;
    assert_eq!(counts.get("canary"), Some(&10), "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_target_is_skipped_and_idempotent_requests_retried() {
    let a = Backend::start("alive").await;
    let dead = Backend::start("dead").await;
    dead.stop();
    // Give the listener a moment to close so the port refuses.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let p = start_proxy().await;
    p.admin
        .put_service("web", &spec(&[("v1", 100, &[&dead, &a])]))
        .await
        .unwrap();
    let client = http_client();
    let counts = tally(&client, &p.url, 30).await;
    assert_eq!(counts.get("alive"), Some(&30), "{counts:?}");
    let m = p
        .admin
        .metrics("web", Duration::from_secs(30))
        .await
        .unwrap();
    assert!(m.versions[0].connect_failures >= 1);
    assert_eq!(m.versions[0].cumulative.errors, 0, "{m:?}");
    let status = p.admin.service("web").await.unwrap();
    assert_eq!(status.versions[0].targets[0].health, Health::Unhealthy);

    // A version whose only target refuses: a clear 502, no other version is tried.
    let p2 = start_proxy().await;
    p2.admin
        .put_service("web", &spec(&[("v1", 100, &[&dead])]))
        .await
        .unwrap();
    let (status, body) = get(&client, &p2.url).await.unwrap();
    assert_eq!(status, 502);
    assert_eq!(
        body,
        format!(
            "Could not connect to target {} of service \"web\" version \"v1\".\n",
            dead.addr
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_with_a_body_is_not_retried() {
    let a = Backend::start("alive").await;
    let dead = Backend::start("dead").await;
    dead.stop();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let p = start_proxy().await;
    p.admin
        .put_service("web", &spec(&[("v1", 100, &[&dead, &a])]))
        .await
        .unwrap();
    let client = http_client();
    // The round-robin starts at the dead target.
    let req = http::Request::post(format!("{}/upload", p.url))
        .body(http_body_util::Full::new(bytes::Bytes::from_static(
            b"payload",
        )))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.status(), 502);
    assert_eq!(a.served.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_closed_without_an_answer_is_retried_for_idempotent_requests_only() {
    let a = Backend::start("alive").await;
    let p = start_proxy().await;
    p.admin
        .put_service("web", &spec(&[("v1", 100, &[&a])]))
        .await
        .unwrap();
    let client = http_client();
    a.drop_next.store(1, Ordering::SeqCst);
    assert_eq!(
        get(&client, &p.url).await.unwrap(),
        (200, "alive".to_string())
    );
    assert_eq!(a.drop_next.load(Ordering::SeqCst), 0);

    a.drop_next.store(1, Ordering::SeqCst);
    let req = http::Request::post(format!("{}/upload", p.url))
        .body(http_body_util::Full::new(bytes::Bytes::from_static(
            b"payload",
        )))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.status(), 502);
    let m = p
        .admin
        .metrics("web", Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        (
            m.versions[0].cumulative.requests,
            m.versions[0].cumulative.errors
        ),
        (2, 1)
    );
}
