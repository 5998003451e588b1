//! Routing, weighted split, forwarded headers, streaming, h2c, timeouts, sticky sessions.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_split_requests_across_versions_and_targets() {
    let (a1, a2, b1) = (
        Backend::start("stable").await,
        Backend::start("stable").await,
        Backend::start("canary").await,
    );
    let p = start_proxy().await;
    p.admin
        .put_service("web", &spec(&[("v1", 80, &[&a1, &a2]), ("v2", 20, &[&b1])]))
        .await
        .unwrap();
    let client = http_client();
    let counts = tally(&client, &p.url, 1000).await;
    let stable = counts.get("stable").copied().unwrap_or(0);
    let canary = counts.get("canary").copied().unwrap_or(0);
    assert_eq!(stable + canary, 1000, "{counts:?}");
    // Smooth weighted round-robin is exact over every 100 requests; allow 2% anyway.
    assert!((780..=820).contains(&stable), "{counts:?}");
    // Round-robin within the version.
    let (n1, n2) = (
        a1.served.load(Ordering::SeqCst),
        a2.served.load(Ordering::SeqCst),
    );
    assert!(n1.abs_diff(n2) <= 2, "{n1} vs {n2}");

    p.admin
        .set_weights("web", &weights(&[("v1", 5), ("v2", 95)]))
        .await
        .unwrap();
    let counts = tally(&client, &p.url, 200).await;
    assert_eq!(counts.get("canary"), Some(&190), "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_route_to_services_and_unknown_hosts_get_404() {
    let (a, b) = (Backend::start("app-a").await, Backend::start("app-b").await);
    let p = start_proxy().await;
    let mut sa = spec(&[("v1", 100, &[&a])]);
    sa.default = false;
    sa.hosts = vec!["a.example".into()];
    let mut sb = spec(&[("v1", 100, &[&b])]);
    sb.default = false;
    sb.hosts = vec!["b.example".into()];
    p.admin.put_service("a", &sa).await.unwrap();
    p.admin.put_service("b", &sb).await.unwrap();
    let client = http_client();
    for (host, want) in [("a.example", "app-a"), ("B.Example:8080", "app-b")] {
        let req = Request::get(&p.url)
            .header("host", host)
            .body(Full::new(Bytes::new()))
            .unwrap();
        let resp = client.request(req).await.unwrap();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, want);
    }
    let req = Request::get(&p.url)
        .header("host", "nobody.example")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.status(), 404);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        body,
        "No service is configured for host \"nobody.example\".\n"
    );
    // A second service claiming a taken host is refused.
    let mut sc = spec(&[("v1", 100, &[&b])]);
    sc.default = false;
    sc.hosts = vec!["A.example".into()];
    let err = p.admin.put_service("c", &sc).await.unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::CONFLICT), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_headers_are_set_and_hop_by_hop_headers_dropped() {
    let a = Backend::start("v1").await;
    let p = start_proxy().await;
    p.admin
        .put_service("web", &spec(&[("v1", 100, &[&a])]))
        .await
        .unwrap();
    let req = Request::get(format!("{}/echo-headers", p.url))
        .header("host", "shop.example")
        .header("x-forwarded-for", "203.0.113.7")
        .header("connection", "keep-alive, x-private")
        .header("x-private", "secret")
        .header("keep-alive", "timeout=5")
        .header("x-app", "kept")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = http_client().request(req).await.unwrap();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let body = String::from_utf8_lossy(&body);
    let lines: Vec<&str> = body.lines().collect();
    for want in [
        "host: shop.example",
        "x-app: kept",
        "x-forwarded-for: 203.0.113.7, 127.0.0.1",
        "x-forwarded-host: shop.example",
        "x-forwarded-proto: http",
    ] {
        assert!(lines.contains(&want), "{want} missing in\n{body}");
    }
    assert!(!body.contains("x-private"), "{body}");
    assert!(!body.contains("keep-alive"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_stream_both_ways() {
    let a = Backend::start("v1").await;
    let p = start_proxy().await;
    p.admin
        .put_service("web", &spec(&[("v1", 100, &[&a])]))
        .await
        .unwrap();
    let client = http_client();

    // Download: the first chunk reaches the client while the backend still holds the second.
    let resp = client
        .request(
            Request::get(format!("{}/stream", p.url))
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    let mut body = resp.into_body();
    let first = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("first chunk not streamed")
        .unwrap()
        .unwrap();
    assert_eq!(first.into_data().unwrap(), "first,");
    a.release.notify_one();
    let rest = body.collect().await.unwrap().to_bytes();
    assert_eq!(rest, "second");

    // Upload: 16 MiB sent in chunks without a length arrives whole.
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    tokio::spawn(async move {
        for _ in 0..256 {
            if tx.send(Bytes::from(vec![b'x'; 64 * 1024])).await.is_err() {
                return;
            }
        }
    });
    let upload = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<ChannelBody>();
    let resp = upload
        .request(
            Request::post(format!("{}/upload", p.url))
                .body(ChannelBody(rx))
                .unwrap(),
        )
        .await
        .unwrap();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, (16 * 1024 * 1024).to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_prior_knowledge_clients_are_served() {
    let a = Backend::start("v1").await;
    let p = start_proxy().await;
    p.admin
        .put_service("web", &spec(&[("v1", 100, &[&a])]))
        .await
        .unwrap();
    let h2 = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<Bytes>>();
    let resp = h2
        .request(
            Request::get(format!("{}/echo-headers", p.url))
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_2);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let body = String::from_utf8_lossy(&body);
    // The target speaks HTTP/1.1 and gets a Host header built from :authority.
    assert!(
        body.contains(&format!("host: {}", p.proxy.listen_addr())),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_target_gets_a_504_after_the_response_timeout() {
    let a = Backend::start("v1").await;
    a.delay_ms.store(3000, Ordering::SeqCst);
    let p = start_proxy().await;
    let mut s = spec(&[("v1", 100, &[&a])]);
    s.timeouts.response = Duration::from_millis(200);
    p.admin.put_service("web", &s).await.unwrap();
    let started = Instant::now();
    let (status, body) = get(&http_client(), &p.url).await.unwrap();
    assert_eq!(status, 504);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(body.contains("did not answer within 200ms"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sticky_cookie_keeps_a_client_on_its_version() {
    let (a, b) = (
        Backend::start("stable").await,
        Backend::start("canary").await,
    );
    let p = start_proxy().await;
    let mut s = spec(&[("v1", 50, &[&a]), ("v2", 50, &[&b])]);
    s.sticky_cookie = Some("weir_version".into());
    p.admin.put_service("web", &s).await.unwrap();
    let client = http_client();
    let resp = client
        .request(Request::get(&p.url).body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    let first = resp.into_body().collect().await.unwrap().to_bytes();
    let pair = cookie.split(';').next().unwrap().to_string();
    for _ in 0..20 {
        let resp = client
            .request(
                Request::get(&p.url)
                    .header("cookie", &pair)
                    .body(Full::new(Bytes::new()))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert!(resp.headers().get("set-cookie").is_none());
        assert_eq!(resp.into_body().collect().await.unwrap().to_bytes(), first);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_leaves_nothing_in_flight() {
    let a = Backend::start("v1").await;
    a.delay_ms.store(2000, Ordering::SeqCst);
    let p = start_proxy().await;
    p.admin
        .put_service("web", &spec(&[("v1", 100, &[&a])]))
        .await
        .unwrap();
    let in_flight =
        || async { p.admin.service("web").await.unwrap().versions[0].targets[0].in_flight };
    // The client gives up (its connection closes) while the target is still working.
    let gave_up =
        tokio::time::timeout(Duration::from_millis(300), get(&http_client(), &p.url)).await;
    assert!(gave_up.is_err());
    assert_eq!(a.served.load(Ordering::SeqCst), 1);
    let mut left = in_flight().await;
    for _ in 0..50 {
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        left = in_flight().await;
    }
    assert_eq!(left, 0);
}
