//! The admin API: authentication, validation, persistence, graceful shutdown.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};

use crate::support::*;

async fn raw(
    client: &HttpClient,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: &str,
) -> (StatusCode, String) {
    let mut req = Request::builder().method(method).uri(url);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = client
        .request(req.body(Full::new(Bytes::from(body.to_string()))).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_but_healthz_needs_the_token() {
    let p = start_proxy().await;
    let base = format!("http://{}", p.proxy.admin_addr());
    let client = http_client();
    assert_eq!(
        raw(&client, "GET", &format!("{base}/healthz"), None, "").await,
        (StatusCode::OK, "ok\n".into())
    );
    let spec_body = r#"{"versions":[{"name":"v1","weight":100,"targets":["127.0.0.1:9"]}]}"#;
    for (method, path, body) in [
        ("GET", "/v1/services", ""),
        ("GET", "/v1/services/web", ""),
        ("PUT", "/v1/services/web", spec_body),
        ("DELETE", "/v1/services/web", ""),
        (
            "POST",
            "/v1/services/web/weights",
            r#"{"weights":{"v1":100}}"#,
        ),
        ("GET", "/v1/services/web/metrics?window=30s", ""),
        ("GET", "/metrics", ""),
    ] {
        for token in [None, Some("wrong"), Some("")] {
            let (status, text) = raw(&client, method, &format!("{base}{path}"), token, body).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {token:?}"
            );
            assert_eq!(text, r#"{"error":"missing or wrong bearer token"}"#);
        }
    }
    // Nothing was created by the refused PUT.
    let (status, _) = raw(
        &client,
        "GET",
        &format!("{base}/v1/services/web"),
        Some(TOKEN),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_errors_and_change_nothing() {
    let a = Backend::start("v1").await;
    let p = start_proxy().await;
    p.admin
        .put_service("web", &spec(&[("v1", 100, &[&a])]))
        .await
        .unwrap();
    let base = format!("http://{}", p.proxy.admin_addr());
    let client = http_client();
    let cases = [
        (
            "PUT",
            "/v1/services/web",
            "{\"versions\": [",
            StatusCode::BAD_REQUEST,
            "invalid service spec: EOF while parsing a list at line 1 column 14",
        ),
        (
            "PUT",
            "/v1/services/web",
            r#"{"versions":[{"name":"v1","weight":60,"targets":["127.0.0.1:1"]}]}"#,
            StatusCode::BAD_REQUEST,
            "weights must sum to 100, not 60",
        ),
        (
            "PUT",
            "/v1/services/bad%20name",
            r#"{"versions":[{"name":"v1","weight":100,"targets":["127.0.0.1:1"]}]}"#,
            StatusCode::BAD_REQUEST,
            "invalid service name \"bad name\": letters, digits, '-', '_' and '.', at most 128",
        ),
        (
            "POST",
            "/v1/services/web/weights",
            r#"{"weights":{"v1":100,"v9":0}}"#,
            StatusCode::BAD_REQUEST,
            "no version \"v9\" in this service",
        ),
        (
            "POST",
            "/v1/services/nope/weights",
            r#"{"weights":{"v1":100}}"#,
            StatusCode::NOT_FOUND,
            "no service \"nope\"",
        ),
        (
            "GET",
            "/v1/services/web/metrics?window=1h",
            "",
            StatusCode::BAD_REQUEST,
            "invalid window \"1h\": a duration from 1s to 300s",
        ),
        (
            "DELETE",
            "/v1/services/nope",
            "",
            StatusCode::NOT_FOUND,
            "no service \"nope\"",
        ),
    ];
    for (method, path, body, want_status, want) in cases {
        let (status, text) =
            raw(&client, method, &format!("{base}{path}"), Some(TOKEN), body).await;
        assert_eq!(status, want_status, "{method} {path}: {text}");
        let err: proxy::api::ErrorBody = serde_json::from_str(&text).unwrap();
        assert_eq!(err.error, want, "{method} {path}");
    }
    let status = p.admin.service("web").await.unwrap();
    assert_eq!(status.spec, spec(&[("v1", 100, &[&a])]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_proxy_resumes_from_its_state_file() {
    let (a, b) = (
        Backend::start("stable").await,
        Backend::start("canary").await,
    );
    let p = start_proxy().await;
    let s = checked(spec(&[("v1", 75, &[&a]), ("v2", 25, &[&b])]), 50);
    p.admin.put_service("web", &s).await.unwrap();
    p.admin
        .set_weights("web", &weights(&[("v1", 60), ("v2", 40)]))
        .await
        .unwrap();
    let TestProxy { proxy, dir, .. } = p;
    proxy.shutdown().await;

    let p = start_proxy_with(dir, None).await;
    let status = p.admin.service("web").await.unwrap();
    let mut want = s.clone();
    want.versions[0].weight = 60;
    want.versions[1].weight = 40;
    assert_eq!(status.spec, want);
    // Targets are gated again after the restart; once checked, traffic splits as before.
    let client = http_client();
    eventually_async(|| async {
        let s = p.admin.service("web").await.unwrap();
        s.versions.iter().all(|v| v.healthy_targets == 1)
    })
    .await;
    let counts = tally(&client, &p.url, 100).await;
    assert_eq!(
        (counts.get("stable"), counts.get("canary")),
        (Some(&60), Some(&40))
    );

    p.admin.delete_service("web").await.unwrap();
    let TestProxy { proxy, dir, .. } = p;
    proxy.shutdown().await;
    let p = start_proxy_with(dir, None).await;
    assert!(p.admin.services().await.unwrap().services.is_empty());
}

async fn eventually_async<F, Fut>(mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..500 {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("condition never held");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_in_flight_requests_finish_and_refuses_new_ones() {
    let a = Backend::start("slow").await;
    a.delay_ms.store(400, std::sync::atomic::Ordering::SeqCst);
    let p = start_proxy().await;
    p.admin
        .put_service("web", &spec(&[("v1", 100, &[&a])]))
        .await
        .unwrap();
    let url = p.url.clone();
    let in_flight = tokio::spawn(async move { get(&http_client(), &url).await });
    eventually("request in flight", || {
        a.served.load(std::sync::atomic::Ordering::SeqCst) == 1
    })
    .await;
    let TestProxy { proxy, .. } = p;
    let addr = proxy.listen_addr();
    let stopping = tokio::spawn(proxy.shutdown());
    assert_eq!(in_flight.await.unwrap().unwrap(), (200, "slow".to_string()));
    stopping.await.unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
