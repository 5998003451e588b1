//! State storage through the CLI: Terraform state round trips (live, where terraform is
//! installed), lock contention, stale plans, crash recovery, history/rollback, workspaces.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{ok, weir};

fn write(dir: &Path, text: &str) {
    std::fs::write(dir.join("main.tf"), text).unwrap();
}

const SIMPLE: &str = r#"
resource "terraform_data" "a" {
  input = "x"
}
resource "terraform_data" "b" {
  count = 2
  input = terraform_data.a.output
}
output "ws" {
  value = terraform.workspace
}
"#;

fn terraform() -> Option<String> {
    let p = std::env::var("PATH").ok()?;
    std::env::split_paths(&p)
        .map(|d| d.join("terraform"))
        .find(|f| f.is_file())
        .map(|f| f.display().to_string())
}

fn tf(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(terraform().unwrap())
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .unwrap()
}

#[test]
fn terraform_and_weir_read_each_others_state() {
    if terraform().is_none() {
        eprintln!("skipped: terraform is not installed");
        return;
    }
    let a = tempfile::tempdir().unwrap();
    write(a.path(), SIMPLE);
    assert!(tf(a.path(), &["init", "-no-color"]).status.success());
    assert!(tf(a.path(), &["apply", "-auto-approve", "-no-color"])
        .status
        .success());
    // weir adopts Terraform's state and plans no changes.
    let b = tempfile::tempdir().unwrap();
    write(b.path(), SIMPLE);
    ok(
        b.path(),
        &[
            "state",
            "push",
            a.path().join("terraform.tfstate").to_str().unwrap(),
        ],
    );
    let out = weir(b.path(), &["plan", "-detailed-exitcode"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Terraform adopts weir's state (after a weir apply) and plans no changes.
    write(b.path(), &SIMPLE.replace("\"x\"", "\"y\""));
    ok(b.path(), &["apply", "-auto-approve"]);
    let pulled = ok(b.path(), &["state", "pull"]);
    write(a.path(), &SIMPLE.replace("\"x\"", "\"y\""));
    std::fs::write(a.path().join("terraform.tfstate"), pulled).unwrap();
    let out = tf(a.path(), &["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_second_apply_fails_fast_or_waits_for_the_lock() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), SIMPLE);
    ok(d.path(), &["apply", "-auto-approve"]);
    let store = statestore::SqliteStore::open_workdir(d.path()).unwrap();
    let info = statestore::LockInfo::new("OperationTypeApply", "1.11.4", "test");
    statestore::StateStore::lock(&store, "default", &info, Duration::ZERO).unwrap();
    let out = weir(d.path(), &["apply", "-auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Error acquiring the state lock"), "{err}");
    assert!(
        err.contains(&info.id),
        "the holder's lock ID is shown: {err}"
    );
    assert!(err.contains("OperationTypeApply"), "{err}");
    // With -lock-timeout the apply waits until the holder lets go.
    let id = info.id.clone();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        statestore::StateStore::unlock(&store, "default", &id).unwrap();
    });
    ok(d.path(), &["apply", "-auto-approve", "-lock-timeout=30s"]);
    releaser.join().unwrap();
}

#[test]
fn a_stale_saved_plan_is_refused() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), SIMPLE);
    ok(d.path(), &["plan", "-out=p.plan"]);
    ok(d.path(), &["apply", "-auto-approve"]);
    let out = weir(d.path(), &["apply", "p.plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Saved plan is stale"));
}

#[test]
fn kill_during_apply_loses_no_completed_resource() {
    let d = tempfile::tempdir().unwrap();
    let n = 40000;
    write(
        d.path(),
        &format!(
            "resource \"terraform_data\" \"x\" {{\n  count = {n}\n  input = count.index\n}}\n"
        ),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["apply", "-auto-approve"])
        .current_dir(d.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill as soon as the journal shows progress.
    let journal = d.path().join(".weir").join("journal");
    let start = Instant::now();
    loop {
        let size: u64 = std::fs::read_dir(&journal)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        if size > 100_000
            || child.try_wait().unwrap().is_some()
            || start.elapsed() > Duration::from_secs(60)
        {
            break;
        }
        std::thread::yield_now();
    }
    let _ = child.kill();
    let _ = child.wait();
    let listed = ok(d.path(), &["state", "list"]).lines().count();
    // The next plan carries on: exactly the missing instances are to be added.
    let plan = ok(d.path(), &["plan", "-no-color"]);
    if listed < n {
        assert!(
            plan.contains(&format!(
                "Plan: {} to add, 0 to change, 0 to destroy.",
                n - listed
            )),
            "{listed} recorded; plan says:\n{}",
            plan.lines().rev().take(3).collect::<Vec<_>>().join("\n")
        );
    }
    ok(d.path(), &["apply", "-auto-approve"]);
    assert_eq!(ok(d.path(), &["state", "list"]).lines().count(), n);
}

#[test]
fn history_and_rollback() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), SIMPLE);
    ok(d.path(), &["apply", "-auto-approve"]);
    write(d.path(), "resource \"terraform_data\" \"only\" {}\n");
    ok(d.path(), &["apply", "-auto-approve"]);
    assert_eq!(
        ok(d.path(), &["state", "list"]).trim(),
        "terraform_data.only"
    );
    let hist = ok(d.path(), &["state", "history"]);
    assert!(hist.lines().count() >= 3, "{hist}");
    assert!(hist.contains("apply"));
    let first = hist
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    ok(d.path(), &["state", "rollback", &first]);
    let listed = ok(d.path(), &["state", "list"]);
    assert!(listed.contains("terraform_data.a"), "{listed}");
    assert!(ok(d.path(), &["state", "history"]).contains(&format!("rollback to {first}")));
}

#[test]
fn workspaces_isolate_state() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), SIMPLE);
    ok(d.path(), &["apply", "-auto-approve"]);
    ok(d.path(), &["workspace", "new", "dev"]);
    assert_eq!(ok(d.path(), &["state", "list"]).trim(), "");
    ok(d.path(), &["apply", "-auto-approve"]);
    assert_eq!(ok(d.path(), &["output", "-raw", "ws"]), "dev");
    assert_eq!(ok(d.path(), &["workspace", "list"]), "  default\n* dev\n\n");
    ok(d.path(), &["workspace", "select", "default"]);
    assert_eq!(ok(d.path(), &["output", "-raw", "ws"]), "default");
    let out = weir(d.path(), &["workspace", "delete", "dev"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Workspace is not empty"));
    ok(d.path(), &["workspace", "delete", "-force", "dev"]);
}
