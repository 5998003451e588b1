//! The http backend against a small state server written here from Terraform's documented
//! protocol (GET/POST the state, LOCK/UNLOCK with the lock info, 423 with the holder when
//! locked, `?ID=` on writes), and against Terraform 1.11.4 sharing that server.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use remotestate::{Backend, BackendError, Env, Map};
use value::Value;

use crate::common::*;

#[derive(Default)]
struct Store {
    state: Option<Vec<u8>>,
    lock: Option<(String, Vec<u8>)>,
    requests: Vec<String>,
}

/// The state server; it runs until the test process ends (its thread only accepts).
pub struct Server {
    pub port: u16,
    store: Arc<Mutex<Store>>,
}

struct Request {
    method: String,
    path: String,
    query: HashMap<String, String>,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut r = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    let (path, q) = target.split_once('?').unwrap_or((&target, ""));
    let query = q
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Some(Request {
        method,
        path: path.to_owned(),
        query,
        headers,
        body,
    })
}

fn respond(stream: &mut TcpStream, status: u16, body: &[u8]) {
    let reason = match status {
        200 => "OK",
        204 => "No Content",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        423 => "Locked",
        _ => "Other",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

fn lock_id(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v["ID"].as_str().map(str::to_owned)
}

fn handle(store: &Mutex<Store>, auth: &Option<String>, mut stream: TcpStream) {
    let Some(req) = read_request(&mut stream) else {
        return;
    };
    let mut st = store.lock().unwrap();
    st.requests.push(format!("{} {}", req.method, req.path));
    if let Some(want) = auth {
        match req.headers.get("authorization") {
            None => return respond(&mut stream, 401, b""),
            Some(got) if got != want => return respond(&mut stream, 403, b""),
            _ => {}
        }
    }
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/state") => match &st.state {
            Some(s) => {
                let s = s.clone();
                respond(&mut stream, 200, &s)
            }
            None => respond(&mut stream, 404, b""),
        },
        ("POST", "/state") => {
            if let Some((held, _)) = &st.lock {
                if req.query.get("ID") != Some(held) {
                    let body = st.lock.as_ref().unwrap().1.clone();
                    return respond(&mut stream, 409, &body);
                }
            }
            st.state = Some(req.body);
            respond(&mut stream, 200, b"")
        }
        ("DELETE", "/state") => {
            st.state = None;
            respond(&mut stream, 200, b"")
        }
        ("LOCK", "/lock") => match &st.lock {
            Some((_, info)) => {
                let info = info.clone();
                respond(&mut stream, 423, &info)
            }
            None => {
                let id = lock_id(&req.body).unwrap_or_default();
                st.lock = Some((id, req.body));
                respond(&mut stream, 200, b"")
            }
        },
        ("UNLOCK", "/lock") => {
            let given = lock_id(&req.body);
            match &st.lock {
                Some((held, info)) if given.as_ref() != Some(held) => {
                    let info = info.clone();
                    respond(&mut stream, 409, &info)
                }
                _ => {
                    st.lock = None;
                    respond(&mut stream, 200, b"")
                }
            }
        }
        _ => respond(&mut stream, 404, b""),
    }
}

impl Server {
    /// Starts the server; with `auth = Some((user, password))` every request needs that
    /// basic auth (401 without, 403 with other credentials).
    pub fn start(auth: Option<(&str, &str)>) -> Server {
        use base64::Engine;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let store = Arc::new(Mutex::new(Store::default()));
        let auth = auth.map(|(u, p)| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        });
        let s = store.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = s.clone();
                let auth = auth.clone();
                std::thread::spawn(move || handle(&s, &auth, stream));
            }
        });
        Server { port, store }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self) -> Vec<String> {
        self.store.lock().unwrap().requests.clone()
    }
}

fn cfg(srv: &Server, extra: &[(&str, Value)]) -> Map {
    let mut m = map(&[
        ("address", s(&srv.url("/state"))),
        ("lock_address", s(&srv.url("/lock"))),
        ("unlock_address", s(&srv.url("/lock"))),
    ]);
    for (k, v) in extra {
        m.insert(k.to_string(), v.clone());
    }
    m
}

fn open(c: &Map, env: &Env) -> Box<dyn Backend> {
    remotestate::open("http", c, env).unwrap_or_else(|e| panic!("open http: {e}"))
}

#[test]
fn http_backend_against_state_server() {
    let srv = Server::start(None);
    let b = open(&cfg(&srv, &[]), &Env::new());
    assert!(!b.supports_workspaces());
    exercise_backend(b.as_ref(), "default");
    assert_eq!(b.workspaces().unwrap(), vec!["default"]);
    assert!(b.get("dev").is_err(), "no workspaces but default");

    // A write while another process holds the lock carries our ID and is refused.
    let other = open(&cfg(&srv, &[]), &Env::new());
    let theirs = lock_info("erin@elsewhere");
    other.lock("default", &theirs).unwrap();
    match b.put("default", b"{}") {
        Err(BackendError::Refused(m)) => assert_eq!(m, "HTTP error: 409"),
        r => panic!("{r:?}"),
    }
    let (reason, holder) = assert_held(b.lock("default", &lock_info("me@here")), Some(&theirs.id));
    assert_eq!(
        reason,
        format!("HTTP remote state already locked: ID={}", theirs.id)
    );
    assert_eq!(holder.unwrap().who, "erin@elsewhere");
    other.unlock("default", &theirs.id).unwrap();

    // Without lock_address there is no locking; methods and address from TF_HTTP_*.
    let env = Env::from([
        ("TF_HTTP_ADDRESS".to_owned(), srv.url("/state")),
        ("TF_HTTP_UPDATE_METHOD".to_owned(), "POST".to_owned()),
    ]);
    let plain = open(&Map::new(), &env);
    assert!(!plain.supports_locking());
    plain.lock("default", &lock_info("x@y")).unwrap();
    assert_eq!(plain.get("default").unwrap(), b.get("default").unwrap());
    let n = srv
        .requests()
        .iter()
        .filter(|r| r.starts_with("LOCK"))
        .count();
    plain.lock("default", &lock_info("x@y")).unwrap();
    assert_eq!(
        srv.requests()
            .iter()
            .filter(|r| r.starts_with("LOCK"))
            .count(),
        n
    );

    // Configuration errors as Terraform words them.
    let err = remotestate::open("http", &Map::new(), &Env::new())
        .err()
        .unwrap();
    assert_eq!(err.to_string(), "address argument is required");
    let err = remotestate::open("http", &map(&[("address", s("ftp://x"))]), &Env::new())
        .err()
        .unwrap();
    assert_eq!(err.to_string(), "address must be HTTP or HTTPS");
    let err = remotestate::open(
        "http",
        &map(&[
            ("address", s("http://x")),
            ("client_certificate_pem", s("x")),
        ]),
        &Env::new(),
    )
    .err()
    .unwrap();
    assert_eq!(
        err.to_string(),
        "client_certificate_pem is set but client_private_key_pem is not"
    );
}

#[test]
fn http_auth_and_unreachable() {
    let srv = Server::start(Some(("user", "pa55")));
    let good = open(
        &cfg(&srv, &[("username", s("user")), ("password", s("pa55"))]),
        &Env::new(),
    );
    exercise_backend(good.as_ref(), "default");
    let wrong = open(
        &cfg(&srv, &[("username", s("user")), ("password", s("nope"))]),
        &Env::new(),
    );
    match wrong.get("default") {
        Err(BackendError::Refused(m)) => assert_eq!(m, "HTTP remote state endpoint invalid auth"),
        r => panic!("{r:?}"),
    }
    let none = open(&cfg(&srv, &[]), &Env::new());
    match none.get("default") {
        Err(BackendError::Refused(m)) => assert_eq!(m, "HTTP remote state endpoint requires auth"),
        r => panic!("{r:?}"),
    }
    // The password from TF_HTTP_PASSWORD works the same.
    let env = Env::from([("TF_HTTP_PASSWORD".to_owned(), "pa55".to_owned())]);
    let from_env = open(&cfg(&srv, &[("username", s("user"))]), &env);
    assert!(from_env.get("default").unwrap().is_some());

    let port = free_port();
    let c = map(&[
        ("address", s(&format!("http://u:p@127.0.0.1:{port}/state"))),
        ("retry_max", Value::number(1i64)),
        ("retry_wait_min", Value::number(0i64)),
    ]);
    let b = open(&c, &Env::new());
    match b.get("default") {
        Err(BackendError::Unreachable(m)) => {
            assert!(m.starts_with("Failed to get state: GET "), "{m}");
            assert!(
                m.contains(&format!("127.0.0.1:{port}")) && m.contains("connection refused"),
                "{m}"
            );
            assert!(m.contains("giving up after 2 attempt(s)"), "{m}");
            assert!(!m.contains("u:p"), "no credentials in messages: {m}");
        }
        r => panic!("{r:?}"),
    }
}

#[test]
fn http_terraform_interop() {
    let Some(tf_exe) = terraform() else { return };
    let srv = Server::start(None);
    let root = tempfile::tempdir().unwrap();
    let hcl = format!(
        "  backend \"http\" {{\n    address = \"{}\"\n    lock_address = \"{}\"\n    unlock_address = \"{}\"\n  }}",
        srv.url("/state"),
        srv.url("/lock"),
        srv.url("/lock")
    );
    let tf = TfDir::new(root.path(), "tf", &tf_exe, &hcl, crate::s3::BODY);
    let b = open(&cfg(&srv, &[]), &Env::new());
    crate::s3::interop(&tf, b.as_ref(), true);
    wait_until("no lock", Duration::from_secs(5), || {
        srv.store.lock().unwrap().lock.is_none()
    });
    let recorded = std::fs::read_to_string(tf.dir.join(".terraform/terraform.tfstate")).unwrap();
    let ours =
        remotestate::backend_state::file_contents("http", &cfg(&srv, &[]), "1.11.4").unwrap();
    assert_eq!(ours, recorded);
}
