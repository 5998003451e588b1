//! TLS on the data plane, with a certificate made by the `openssl` command.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::support::*;

/// A self-signed certificate for localhost and 127.0.0.1, or `None` without openssl.
fn make_cert(dir: &Path) -> Option<proxy::TlsFiles> {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    match out {
        Ok(o) if o.status.success() => Some(proxy::TlsFiles { cert, key }),
        Ok(o) => panic!("openssl failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let Some(files) = make_cert(dir.path()) else {
        eprintln!("skipping tls_round_trip: openssl is not installed");
        return;
    };
    let a = Backend::start("secure").await;
    let p = start_proxy_with(dir, Some(files.clone())).await;
    p.admin
        .put_service("web", &spec(&[("v1", 100, &[&a])]))
        .await
        .unwrap();

    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&files.cert).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(p.proxy.listen_addr())
        .await
        .unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let resp = send
        .send_request(
            Request::get("/echo-headers")
                .header("host", "localhost")
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let body = String::from_utf8_lossy(&body);
    assert!(
        body.lines().any(|l| l == "x-forwarded-proto: https"),
        "{body}"
    );

    // Plain HTTP on the TLS port gets nothing served.
    let plain = get(&http_client(), &p.url).await;
    assert!(plain.is_err(), "{plain:?}");
}

#[tokio::test]
async fn unusable_tls_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let err = proxy::Proxy::start(proxy::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        admin_listen: "127.0.0.1:0".parse().unwrap(),
        token: TOKEN.into(),
        state_file: None,
        tls: Some(proxy::TlsFiles {
            cert: missing.clone(),
            key: missing.clone(),
        }),
        access_log: false,
        shutdown_timeout: std::time::Duration::from_secs(1),
        workers: 1,
    })
    .await
    .err()
    .unwrap();
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "TLS: reading certificates from {}",
            missing.display()
        )),
        "{msg}"
    );
}
