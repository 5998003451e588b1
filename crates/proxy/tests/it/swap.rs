//! Zero-downtime changes: target swaps and weight changes under concurrent keep-alive load.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::support::*;

const CLIENTS: usize = 32;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapping_targets_under_load_fails_no_request_and_drains_the_old_ones() {
    let old = Backend::start("old").await;
    let new = Backend::start("new").await;
    let newer = Backend::start("newer").await;
    // Slow enough that requests are in flight at the moment of each swap.
    for b in [&old, &new, &newer] {
        b.delay_ms.store(5, Ordering::SeqCst);
    }
    let p = start_proxy().await;
    p.admin
        .put_service("web", &checked(spec(&[("r1", 100, &[&old])]), 50))
        .await
        .unwrap();
    let load = Load::start(&p.url, CLIENTS);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Deploy: a new release replaces the old one's targets entirely. Like a booting container,
    // it passes its health check only after a while; the deploy must wait for that.
    boot_later(&new);
    p.admin
        .put_service("web", &checked(spec(&[("r2", 100, &[&new])]), 50))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // And again, this time swapping the target of an existing version.
    boot_later(&newer);
    p.admin
        .put_service("web", &checked(spec(&[("r2", 100, &[&newer])]), 50))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let result = load.finish().await;

    assert!(
        result.failures.is_empty(),
        "{} failed: {:?}",
        result.failures.len(),
        &result.failures[..result.failures.len().min(5)]
    );
    for name in ["old", "new", "newer"] {
        assert!(
            result.by_body.get(name).copied().unwrap_or(0) > 0,
            "{name} got no traffic: {result:?}"
        );
    }
    assert!(result.ok > 500, "{result:?}");
    // Drained targets get nothing more, and the proxy closes its idle connections to them.
    eventually("old targets' connections closed", || {
        old.open_connections.load(Ordering::SeqCst) == 0
            && new.open_connections.load(Ordering::SeqCst) == 0
    })
    .await;
    assert!(newer.open_connections.load(Ordering::SeqCst) > 0);
    let status = p.admin.service("web").await.unwrap();
    assert!(status.draining.is_empty(), "{status:?}");
}

fn boot_later(b: &std::sync::Arc<Backend>) {
    b.healthy.store(false, Ordering::SeqCst);
    let b = b.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        b.healthy.store(true, Ordering::SeqCst);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_weights_under_load_fails_no_request() {
    let a = Backend::start("stable").await;
    let b = Backend::start("canary").await;
    let p = start_proxy().await;
    p.admin
        .put_service(
            "web",
            &checked(spec(&[("v1", 100, &[&a]), ("v2", 0, &[&b])]), 50),
        )
        .await
        .unwrap();
    let load = Load::start(&p.url, CLIENTS);
    for step in [1, 5, 10, 25, 50, 75, 100, 50, 0, 100] {
        p.admin
            .set_weights("web", &weights(&[("v1", 100 - step), ("v2", step)]))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    // Ends at 100% canary: the stable version is no longer asked.
    let before = a.served.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let result = load.finish().await;
    assert!(
        result.failures.is_empty(),
        "{:?}",
        &result.failures[..result.failures.len().min(5)]
    );
    assert!(result.ok > 500, "{result:?}");
    assert!(a.served.load(Ordering::SeqCst) - before <= CLIENTS as u64);
    assert!(result.by_body["stable"] > 0 && result.by_body["canary"] > 0);
}
