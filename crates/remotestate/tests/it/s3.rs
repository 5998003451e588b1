//! The s3 backend against a real moto server (S3, DynamoDB, STS) on 127.0.0.1, and against
//! Terraform 1.11.4 sharing the same bucket and table where it is installed.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use md5::{Digest, Md5};
use remotestate::{Backend, BackendError, ConfigError, Env, Map};
use value::Value;

use crate::common::*;

/// A moto server on a free port, killed on drop.
pub struct Moto {
    child: Child,
    pub port: u16,
}

impl Moto {
    pub fn start() -> Option<Moto> {
        let Some(exe) = which("moto_server") else {
            eprintln!("SKIPPED: moto_server is not on PATH (scripts/install-test-deps.sh installs moto[server])");
            return None;
        };
        let port = free_port();
        let child = Command::new(exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        wait_port(port, Duration::from_secs(60));
        Some(Moto { child, port })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A raw, unsigned request (moto does not check signatures); returns status and body.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.port,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        s.write_all(req.as_bytes()).unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        let status = resp[9..12].parse().unwrap();
        let body = resp
            .split_once("\r\n\r\n")
            .map(|x| x.1)
            .unwrap_or("")
            .to_owned();
        (status, body)
    }

    pub fn create_bucket(&self, name: &str) {
        let (st, body) = self.raw("PUT", &format!("/{name}"), &[], "");
        assert_eq!(st, 200, "create bucket: {body}");
    }

    pub fn dynamodb(&self, op: &str, body: serde_json::Value) -> serde_json::Value {
        let (st, text) = self.raw(
            "POST",
            "/",
            &[
                ("X-Amz-Target", &format!("DynamoDB_20120810.{op}")),
                ("Content-Type", "application/x-amz-json-1.0"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x",
                ),
            ],
            &body.to_string(),
        );
        assert_eq!(st, 200, "dynamodb {op}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    pub fn create_table(&self, name: &str) {
        self.dynamodb(
            "CreateTable",
            serde_json::json!({
                "TableName": name,
                "KeySchema": [{"AttributeName": "LockID", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "LockID", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST"
            }),
        );
    }

    /// Keys in a bucket (ListObjectsV2, unsigned).
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let (_, body) = self.raw("GET", &format!("/{bucket}?list-type=2"), &[], "");
        body.split("<Key>")
            .skip(1)
            .map(|p| p.split("</Key>").next().unwrap().to_owned())
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn s3_config(url: &str, bucket: &str, extra: &[(&str, Value)]) -> Map {
    let mut m = map(&[
        ("bucket", s(bucket)),
        ("key", s("path/to/state.tfstate")),
        ("region", s("us-east-1")),
        (
            "endpoints",
            Value::object([
                ("s3".to_owned(), s(url)),
                ("dynamodb".to_owned(), s(url)),
                ("sts".to_owned(), s(url)),
            ]),
        ),
        ("use_path_style", Value::bool(true)),
        ("access_key", s("test")),
        ("secret_key", s("test")),
        ("skip_credentials_validation", Value::bool(true)),
        ("skip_requesting_account_id", Value::bool(true)),
        ("skip_metadata_api_check", Value::bool(true)),
    ]);
    for (k, v) in extra {
        m.insert(k.to_string(), v.clone());
    }
    m
}

fn open(cfg: &Map) -> Box<dyn Backend> {
    remotestate::open("s3", cfg, &Env::new()).unwrap_or_else(|e| panic!("open s3: {e}"))
}

#[test]
fn s3_backend_against_moto() {
    let Some(moto) = Moto::start() else { return };
    let url = moto.url();
    moto.create_bucket("weir-state");
    moto.create_table("locks");

    // S3-native locking: round-trip, workspaces, key layout.
    let b = open(&s3_config(
        &url,
        "weir-state",
        &[("use_lockfile", Value::bool(true))],
    ));
    exercise_backend(b.as_ref(), "default");
    exercise_backend(b.as_ref(), "dev");
    assert_eq!(b.workspaces().unwrap(), vec!["default", "dev"]);
    let mut keys = moto.keys("weir-state");
    keys.sort();
    assert_eq!(
        keys,
        vec!["env:/dev/path/to/state.tfstate", "path/to/state.tfstate"]
    );
    assert_eq!(
        b.location("dev"),
        "s3://weir-state/env:/dev/path/to/state.tfstate"
    );
    b.create_workspace("staging").unwrap();
    let empty: serde_json::Value =
        serde_json::from_slice(&b.get("staging").unwrap().unwrap()).unwrap();
    assert_eq!(empty["serial"], 1);
    assert_eq!(empty["resources"], serde_json::json!([]));
    assert_eq!(b.workspaces().unwrap(), vec!["default", "dev", "staging"]);
    b.delete_workspace("staging").unwrap();
    assert_eq!(b.workspaces().unwrap(), vec!["default", "dev"]);

    // A lock file someone else wrote: the conditional put loses and names them.
    let other = open(&s3_config(
        &url,
        "weir-state",
        &[("use_lockfile", Value::bool(true))],
    ));
    let theirs = lock_info("carol@elsewhere");
    other.lock("default", &theirs).unwrap();
    let (reason, holder) = assert_held(b.lock("default", &lock_info("me@here")), Some(&theirs.id));
    assert!(reason.contains("PreconditionFailed"), "{reason}");
    let holder = holder.unwrap();
    assert_eq!(holder.who, "carol@elsewhere");
    assert_eq!(holder.path, "weir-state/path/to/state.tfstate");
    assert_eq!(b.lock_holder("default").unwrap().unwrap().id, theirs.id);
    other.unlock("default", &theirs.id).unwrap();
    assert_eq!(b.lock_holder("default").unwrap(), None);

    // DynamoDB locking, with the digest item Terraform checks on read.
    let d = open(&s3_config(
        &url,
        "weir-state",
        &[
            ("dynamodb_table", s("locks")),
            ("workspace_key_prefix", s("ws")),
            ("key", s("d.tfstate")),
        ],
    ));
    exercise_backend(d.as_ref(), "default");
    exercise_backend(d.as_ref(), "qa");
    let state = d.get("qa").unwrap().unwrap();
    let item = moto.dynamodb(
        "GetItem",
        serde_json::json!({"TableName": "locks", "Key": {"LockID": {"S": "weir-state/ws/qa/d.tfstate-md5"}}}),
    );
    assert_eq!(
        item["Item"]["Digest"]["S"],
        hex::encode(Md5::digest(&state))
    );
    assert_eq!(d.workspaces().unwrap(), vec!["default", "qa"]);
    let theirs = lock_info("dave@elsewhere");
    d.lock("qa", &theirs).unwrap();
    let lock_item = moto.dynamodb(
        "GetItem",
        serde_json::json!({"TableName": "locks", "Key": {"LockID": {"S": "weir-state/ws/qa/d.tfstate"}}}),
    );
    let recorded: serde_json::Value =
        serde_json::from_str(lock_item["Item"]["Info"]["S"].as_str().unwrap()).unwrap();
    assert_eq!(recorded["ID"], theirs.id.as_str());
    assert_eq!(recorded["Who"], "dave@elsewhere");
    assert_eq!(recorded["Path"], "weir-state/ws/qa/d.tfstate");
    d.unlock("qa", &theirs.id).unwrap();

    // Both lock kinds at once, as Terraform 1.11 allows.
    let both = open(&s3_config(
        &url,
        "weir-state",
        &[
            ("dynamodb_table", s("locks")),
            ("use_lockfile", Value::bool(true)),
            ("key", s("both.tfstate")),
        ],
    ));
    exercise_backend(both.as_ref(), "default");

    // A digest that does not match what S3 holds: Terraform's "expected content" error.
    moto.dynamodb(
        "PutItem",
        serde_json::json!({"TableName": "locks", "Item": {
            "LockID": {"S": "weir-state/ws/qa/d.tfstate-md5"},
            "Digest": {"S": "00000000000000000000000000000000"}}}),
    );
    let err = d.get("qa").unwrap_err().to_string();
    assert!(
        err.contains("state data in S3 does not have the expected content"),
        "{err}"
    );
    assert!(err.contains(&hex::encode(Md5::digest(&state))), "{err}");

    // A missing bucket.
    let missing = open(&s3_config(&url, "no-such-bucket", &[]));
    let err = missing.get("default").unwrap_err().to_string();
    assert!(
        err.starts_with("S3 bucket \"no-such-bucket\" does not exist."),
        "{err}"
    );
    let err = missing.workspaces().unwrap_err().to_string();
    assert!(err.contains("does not exist"), "{err}");

    // Credentials validated with STS, and the account checked against the allow list.
    let cfg = s3_config(
        &url,
        "weir-state",
        &[
            ("skip_credentials_validation", Value::bool(false)),
            ("skip_requesting_account_id", Value::bool(false)),
        ],
    );
    open(&cfg);
    let mut denied = cfg.clone();
    denied.insert(
        "allowed_account_ids".into(),
        Value::Set(value::Type::String, vec![s("999999999999")]),
    );
    match remotestate::open("s3", &denied, &Env::new()) {
        Err(e) => assert!(
            e.to_string()
                .contains("AWS account ID not allowed: 123456789012"),
            "{e}"
        ),
        Ok(_) => panic!("an account outside allowed_account_ids was accepted"),
    }
}

#[test]
fn s3_unreachable_endpoint_is_a_clear_error() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let b = open(&s3_config(
        &url,
        "b",
        &[("max_retries", Value::number(0i64))],
    ));
    match b.get("default") {
        Err(BackendError::Unreachable(m)) => {
            assert!(
                m.contains(&format!("127.0.0.1:{port}")) && m.contains("connection refused"),
                "{m}"
            );
            assert!(!m.contains("test"), "no credential in messages: {m}");
        }
        other => panic!("expected unreachable, got {other:?}"),
    }
    // Missing credentials are reported before anything is sent.
    let mut cfg = s3_config(&url, "b", &[]);
    cfg.remove("access_key");
    cfg.remove("secret_key");
    let env = Env::from([("HOME".to_owned(), "/nonexistent".to_owned())]);
    match remotestate::open("s3", &cfg, &env) {
        Err(ConfigError::Invalid(d)) => {
            assert_eq!(d[0].summary, "No valid credential sources found")
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("opened without credentials"),
    }
}

fn backend_hcl(url: &str, extra: &str) -> String {
    format!(
        r#"  backend "s3" {{
    bucket = "tf-interop"
    key    = "path/to/state.tfstate"
    region = "us-east-1"
    endpoints = {{ s3 = "{url}", dynamodb = "{url}", sts = "{url}" }}
    use_path_style = true
    access_key = "test"
    secret_key = "test"
    skip_credentials_validation = true
    skip_requesting_account_id = true
    skip_metadata_api_check = true
{extra}  }}"#
    )
}

pub const BODY: &str = r#"resource "terraform_data" "a" {
  count = 3
  input = "v${count.index}"
}

output "greeting" {
  value = "hello"
}"#;

/// Replaces `"serial": N` with N + 1: a newer state in exactly Terraform's layout.
pub fn bump_serial(state: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(state.to_vec()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let n = v["serial"].as_u64().unwrap();
    text.replacen(
        &format!("\"serial\": {n},"),
        &format!("\"serial\": {},", n + 1),
        1,
    )
    .into_bytes()
}

/// The shared interop checks: Terraform's apply read back exactly, weir's put read by
/// Terraform, each side's lock stopping the other.
pub fn interop(tf: &TfDir, b: &dyn Backend, expect_holder: bool) {
    tf.ok(&["init", "-input=false", "-no-color"]);
    tf.ok(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    // `state pull` prints the stored state and a newline.
    let pulled = tf.ok(&["state", "pull"]);
    let stored = b.get("default").unwrap().unwrap();
    assert_eq!(
        format!("{}\n", String::from_utf8(stored.clone()).unwrap()),
        pulled,
        "weir reads what terraform apply wrote"
    );

    let newer = bump_serial(&stored);
    b.put("default", &newer).unwrap();
    assert_eq!(
        tf.ok(&["state", "pull"]),
        format!("{}\n", String::from_utf8(newer).unwrap()),
        "terraform reads what weir put"
    );
    let plan = tf.run(&["plan", "-input=false", "-no-color", "-detailed-exitcode"]);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "terraform plans on weir's state: {}",
        text(&plan)
    );

    if b.supports_locking() {
        let ours = lock_info("weir@interop");
        b.lock("default", &ours).unwrap();
        let plan = tf.run(&["plan", "-input=false", "-no-color", "-lock-timeout=0s"]);
        let err = String::from_utf8_lossy(&plan.stderr);
        assert_eq!(plan.status.code(), Some(1), "{}", text(&plan));
        assert!(err.contains("Error acquiring the state lock"), "{err}");
        if expect_holder {
            assert!(err.contains(&ours.id), "Terraform names weir's lock: {err}");
        }
        b.unlock("default", &ours.id).unwrap();

        let apply = tf.apply_waiting();
        let (reason, holder) = wait_held(b, "default");
        finish_apply(apply);
        if expect_holder {
            let holder = holder.unwrap_or_else(|| panic!("no holder: {reason}"));
            assert_eq!(holder.operation, "OperationTypeApply");
            assert!(holder.who.contains('@'), "{holder:?}");
        } else {
            assert!(holder.is_none());
            assert!(
                reason.contains("Terraform records no lock info"),
                "{reason}"
            );
        }
        wait_until(
            "terraform to release its lock",
            Duration::from_secs(30),
            || {
                b.lock_holder("default")
                    .map(|h| h.is_none())
                    .unwrap_or(false)
                    && b.lock("default", &ours).is_ok()
            },
        );
        b.unlock("default", &ours.id).unwrap();
    }
}

#[test]
fn s3_terraform_interop() {
    let Some(tf_exe) = terraform() else { return };
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("tf-interop");
    moto.create_table("tf-locks");
    let url = moto.url();
    let root = tempfile::tempdir().unwrap();
    let hcl = backend_hcl(
        &url,
        "    dynamodb_table = \"tf-locks\"\n    use_lockfile = true\n",
    );
    let tf = TfDir::new(root.path(), "tf", &tf_exe, &hcl, BODY);
    let cfg = s3_config(
        &url,
        "tf-interop",
        &[
            ("dynamodb_table", s("tf-locks")),
            ("use_lockfile", Value::bool(true)),
        ],
    );
    let b = open(&cfg);
    interop(&tf, b.as_ref(), true);

    // Workspaces: Terraform lists weir's, weir lists Terraform's.
    b.create_workspace("from-weir").unwrap();
    tf.ok(&["workspace", "new", "from-tf"]);
    assert_eq!(
        b.workspaces().unwrap(),
        vec!["default", "from-tf", "from-weir"]
    );
    let list = tf.ok(&["workspace", "list"]);
    assert!(list.contains("from-weir"), "{list}");

    // The backend state file: what init recorded is what weir computes (and the golden).
    let recorded = std::fs::read_to_string(tf.dir.join(".terraform/terraform.tfstate")).unwrap();
    let ours = remotestate::backend_state::file_contents("s3", &cfg, "1.11.4").unwrap();
    assert_eq!(ours, recorded);
}
