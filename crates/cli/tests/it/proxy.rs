//! `weir proxy` as a process: it resumes from its state file after being killed, and exits 0
//! after a graceful stop on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use proxy::client::AdminClient;

const TOKEN: &str = "cli-test-token";

/// A minimal HTTP/1.1 backend on a thread: answers every request with `body`.
fn backend(body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            std::thread::spawn(move || serve(stream, body));
        }
    });
    addr
}

fn serve(stream: TcpStream, body: &str) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        // Request line and headers; requests here have no body.
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" => break,
                Ok(_) => {}
            }
        }
        let resp = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if out.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

/// One GET through the proxy on a fresh connection.
fn get(addr: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET / HTTP/1.1\r\nhost: app.example\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text
}

struct Running {
    child: Child,
    listen: String,
    admin: String,
}

/// Starts `weir proxy` on ephemeral ports and reads the addresses from its first log line.
fn start(state_file: &Path, token_file: &Path) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weir"))
        .args([
            "proxy",
            "-listen",
            "127.0.0.1:0",
            "-admin-listen",
            "127.0.0.1:0",
        ])
        .arg("-token-file")
        .arg(token_file)
        .arg("-state-file")
        .arg(state_file)
        .env_remove("TF_LOG")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().expect("weir proxy printed nothing").unwrap();
    // Keep draining the log so the proxy never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let field = |name: &str| -> String {
        first
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name}= in {first:?}"))
            .to_string()
    };
    Running {
        listen: field("listen"),
        admin: field("admin"),
        child,
    }
}

fn admin(r: &Running) -> AdminClient {
    AdminClient::new(
        &format!("http://{}", r.admin),
        TOKEN,
        Duration::from_secs(30),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_resumes_after_kill_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (state, token) = (dir.path().join("state.json"), dir.path().join("token"));
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    let (stable, canary) = (backend("stable"), backend("canary"));
    let spec: proxy::ServiceSpec = serde_json::from_value(serde_json::json!({
        "hosts": ["app.example"],
        "versions": [
            {"name": "v1", "weight": 50, "targets": [stable]},
            {"name": "v2", "weight": 50, "targets": [canary]},
        ],
    }))
    .unwrap();

    let mut first = start(&state, &token);
    let a = admin(&first);
    a.put_service("app", &spec).await.unwrap();
    let w = [("v1".to_string(), 0), ("v2".to_string(), 100)].into();
    a.set_weights("app", &w).await.unwrap();
    assert!(get(&first.listen).ends_with("canary"));
    // No shutdown at all: the process dies on the spot.
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    let mut second = start(&state, &token);
    let status = admin(&second).service("app").await.unwrap();
    assert_eq!(status.spec.hosts, ["app.example"]);
    assert_eq!(
        status
            .versions
            .iter()
            .map(|v| (v.name.as_str(), v.weight))
            .collect::<Vec<_>>(),
        [("v1", 0), ("v2", 100)]
    );
    assert_eq!(status.versions[0].targets[0].address, stable);
    for _ in 0..5 {
        let answer = get(&second.listen);
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(answer.ends_with("canary"), "{answer}");
    }
    // A wrong token is refused by the real binary too.
    let wrong = AdminClient::new(
        &format!("http://{}", second.admin),
        "nope",
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(
        wrong.services().await.unwrap_err().status(),
        Some(http_status(401))
    );

    let pid = second.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let code = second.child.wait().unwrap();
    assert_eq!(code.code(), Some(0), "{code:?}");
}

fn http_status(code: u16) -> proxy::client::StatusCode {
    proxy::client::StatusCode::from_u16(code).unwrap()
}
