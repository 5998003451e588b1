//! State storage through the CLI: the state of record in Terraform's layout, lock contention,
//! stale plans, crash recovery, history/rollback, workspaces.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{ok, weir};

pub fn write(dir: &Path, text: &str) {
    std::fs::write(dir.join("main.tf"), text).unwrap();
}

pub const SIMPLE: &str = r#"
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

#[test]
fn a_second_apply_fails_fast_or_waits_for_the_lock() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), SIMPLE);
    ok(d.path(), &["apply", "-auto-approve"]);
    let store = statestore::StateStore::open_local(d.path(), "1.11.4").unwrap();
    let info = statestore::LockInfo::new("OperationTypeApply", "1.11.4", "test");
    store
        .lock("default", &info, Duration::ZERO, &cancel::Cancel::new())
        .unwrap();
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
        store.unlock("default", &id).unwrap();
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
    assert_eq!(hist.lines().count(), 3, "{hist}");
    assert!(hist.contains("apply"));
    // The state of record is marked.
    assert!(hist.lines().nth(2).unwrap().starts_with("* 2 "), "{hist}");
    let first = hist
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(first, "1");
    let out = weir(d.path(), &["state", "rollback", &first]);
    assert!(out.status.success());
    // Rolling back forgets what the later version tracked: named in a warning.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Warning: Resource instances are no longer tracked")
            && stdout.contains("  - terraform_data.only\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Restored the state of serial 1 as serial 3."),
        "{stdout}"
    );
    let listed = ok(d.path(), &["state", "list"]);
    assert!(listed.contains("terraform_data.a"), "{listed}");
    let pulled = ok(d.path(), &["state", "pull"]);
    assert!(pulled.contains("\"serial\": 3,"), "{pulled}");
    assert!(ok(d.path(), &["state", "history"]).contains(&format!("rollback to {first}")));
    // -keep-newer carries later instances over instead.
    let out = ok(d.path(), &["state", "rollback", "-keep-newer", "2"]);
    assert!(
        out.contains("Restored the state of serial 2 as serial 4."),
        "{out}"
    );
    let listed = ok(d.path(), &["state", "list"]);
    assert!(
        listed.contains("terraform_data.only") && listed.contains("terraform_data.b[1]"),
        "{listed}"
    );
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

#[test]
fn the_state_of_record_is_terraform_tfstate_with_terraforms_backup() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), SIMPLE);
    ok(d.path(), &["apply", "-auto-approve"]);
    let state = d.path().join("terraform.tfstate");
    let first = std::fs::read(&state).unwrap();
    // Terraform's writer, byte for byte: what parsing and writing again gives.
    assert_eq!(states::State::from_slice(&first).unwrap().to_vec(), first);
    // Terraform writes no backup before there was a state.
    assert!(!d.path().join("terraform.tfstate.backup").exists());
    // `state pull` prints the state of record, plus the newline Terraform's output adds.
    assert_eq!(
        ok(d.path(), &["state", "pull"]).into_bytes(),
        [&first[..], b"\n"].concat()
    );

    // A plan or apply that changes nothing writes nothing: same inode, same bytes, no history.
    let ino = |p: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
    let before = ino(&state);
    ok(d.path(), &["plan"]);
    ok(d.path(), &["apply", "-auto-approve"]);
    assert_eq!(ino(&state), before);
    assert_eq!(ok(d.path(), &["state", "history"]).lines().count(), 2);

    // The first change of a run keeps what the file said before as the backup.
    write(d.path(), &SIMPLE.replace("\"x\"", "\"y\""));
    ok(d.path(), &["apply", "-auto-approve"]);
    assert_eq!(
        std::fs::read(d.path().join("terraform.tfstate.backup")).unwrap(),
        first
    );
    assert_ne!(std::fs::read(&state).unwrap(), first);
    // No lock file is left behind.
    assert!(!d.path().join(".terraform.tfstate.lock.info").exists());
}
