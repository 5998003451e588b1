//! Shared fixtures: free ports, polling, a generated state, and Terraform working directories
//! (with the same backend block weir is configured with) driven as a subprocess.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use remotestate::{Backend, BackendError, Map};
use statestore::{LockError, LockInfo};
use value::Value;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Waits until `f` is true (polling), panicking with `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn wait_port(port: u16, timeout: Duration) {
    wait_until(&format!("port {port}"), timeout, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
}

pub fn s(v: &str) -> Value {
    Value::string(v)
}

pub fn map(pairs: &[(&str, Value)]) -> Map {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// A state of `n` `terraform_data` resources with one output, in Terraform's format (serial
/// and lineage given).
pub fn sample_state(n: usize, serial: u64, lineage: &str) -> Vec<u8> {
    let mut resources = Vec::new();
    for i in 0..n {
        resources.push(serde_json::json!({
            "mode": "managed",
            "type": "terraform_data",
            "name": format!("r{i}"),
            "provider": "provider[\"terraform.io/builtin/terraform\"]",
            "instances": [{
                "schema_version": 0,
                "attributes": {
                    "id": format!("00000000-0000-0000-0000-{i:012}"),
                    "input": format!("value-{i}"),
                    "output": format!("value-{i}"),
                    "triggers_replace": null
                },
                "sensitive_attributes": []
            }]
        }));
    }
    let doc = serde_json::json!({
        "version": 4,
        "terraform_version": "1.11.4",
        "serial": serial,
        "lineage": lineage,
        "outputs": {"greeting": {"value": "hello", "type": "string"}},
        "resources": resources,
        "check_results": null
    });
    let mut out = serde_json::to_vec_pretty(&doc).unwrap();
    out.push(b'\n');
    out
}

pub fn lock_info(who: &str) -> LockInfo {
    let mut info = LockInfo::new("OperationTypeApply", "1.11.4", "");
    info.who = who.to_owned();
    info
}

/// Asserts `r` is a held-lock error naming `holder_id` (when given) and returns the reason.
pub fn assert_held(
    r: Result<(), BackendError>,
    holder_id: Option<&str>,
) -> (String, Option<LockInfo>) {
    match r {
        Err(BackendError::Lock(LockError::Held { reason, holder })) => {
            if let Some(id) = holder_id {
                assert_eq!(
                    holder.as_ref().map(|h| h.id.as_str()),
                    Some(id),
                    "holder: {holder:?}"
                );
            }
            (reason, holder.map(|h| *h))
        }
        other => panic!("expected a held lock, got {other:?}"),
    }
}

/// The checks every backend passes: byte-exact round-trip, locks (held → the holder, wrong ID
/// refused, release), lock holder reporting.
pub fn exercise_backend(b: &dyn Backend, workspace: &str) {
    assert_eq!(
        b.get(workspace).unwrap(),
        None,
        "a fresh workspace has no state"
    );
    let state = sample_state(3, 1, "11111111-2222-3333-4444-555555555555");
    b.put(workspace, &state).unwrap();
    assert_eq!(b.get(workspace).unwrap().as_deref(), Some(&state[..]));
    let state2 = sample_state(4, 2, "11111111-2222-3333-4444-555555555555");
    b.put(workspace, &state2).unwrap();
    assert_eq!(b.get(workspace).unwrap().as_deref(), Some(&state2[..]));

    if !b.supports_locking() {
        return;
    }
    let first = lock_info("alice@host");
    b.lock(workspace, &first).unwrap();
    // The holder writes while it holds the lock (the http backend sends `?ID=`).
    b.put(workspace, &state).unwrap();
    assert_eq!(b.get(workspace).unwrap().as_deref(), Some(&state[..]));
    let second = lock_info("bob@host");
    let (_, holder) = assert_held(b.lock(workspace, &second), Some(&first.id));
    let holder = holder.unwrap();
    assert_eq!(holder.who, "alice@host");
    assert_eq!(holder.operation, "OperationTypeApply");
    match b.unlock(workspace, &second.id) {
        Err(BackendError::Lock(LockError::IdMismatch { given, held })) => {
            assert_eq!(
                (given.as_str(), held.as_str()),
                (second.id.as_str(), first.id.as_str())
            )
        }
        other => panic!("unlock with the wrong ID: {other:?}"),
    }
    b.unlock(workspace, &first.id).unwrap();
    b.lock(workspace, &second).unwrap();
    b.unlock(workspace, &second.id).unwrap();
}

/// A Terraform working directory whose `terraform { backend … }` block is `backend_hcl`.
pub struct TfDir {
    pub dir: PathBuf,
    pub exe: PathBuf,
    pub env: Vec<(String, String)>,
}

impl TfDir {
    pub fn new(root: &Path, name: &str, exe: &Path, backend_hcl: &str, body: &str) -> TfDir {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("main.tf"),
            format!("terraform {{\n{backend_hcl}\n}}\n\n{body}\n"),
        )
        .unwrap();
        std::fs::write(root.join("empty.tfrc"), "").unwrap();
        TfDir {
            env: vec![(
                "TF_CLI_CONFIG_FILE".into(),
                root.join("empty.tfrc").display().to_string(),
            )],
            dir,
            exe: exe.to_owned(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.exe);
        c.args(args)
            .current_dir(&self.dir)
            .env("CHECKPOINT_DISABLE", "1")
            .env("NO_COLOR", "1")
            .env_remove("TF_LOG")
            .env_remove("TF_WORKSPACE");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .stdin(Stdio::null())
            .output()
            .expect("run terraform")
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "terraform {args:?} failed: {}",
            text(&o)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Starts `terraform apply` without auto-approval: it takes the lock and waits at its
    /// prompt while stdin stays open.
    pub fn apply_waiting(&self) -> Child {
        // Our probe may hold the lock for a moment when Terraform first tries it.
        // `-replace` so there is a change to confirm (a no-op apply never prompts).
        self.command(&[
            "apply",
            "-input=true",
            "-no-color",
            "-lock-timeout=60s",
            "-replace=terraform_data.a[0]",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start terraform apply")
    }
}

/// Ends a waiting `terraform apply` by answering "no" at its prompt.
pub fn finish_apply(mut child: Child) {
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"no\n");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Polls `lock` until it reports a held lock (Terraform is starting up and taking it).
pub fn wait_held(b: &dyn Backend, workspace: &str) -> (String, Option<LockInfo>) {
    let probe = lock_info("weir-probe@host");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match b.lock(workspace, &probe) {
            Err(BackendError::Lock(LockError::Held { reason, holder })) => {
                return (reason, holder.map(|h| *h))
            }
            Ok(()) => {
                b.unlock(workspace, &probe.id).unwrap();
            }
            Err(e) => panic!("lock while waiting for Terraform's: {e}"),
        }
        assert!(Instant::now() < deadline, "Terraform never took the lock");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn terraform() -> Option<PathBuf> {
    let t = which("terraform");
    if t.is_none() {
        eprintln!("SKIPPED (interop part): terraform is not installed");
    }
    t
}
