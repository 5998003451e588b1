//! Lock contention between processes, waiting, cancelling, and locks dying with their process.

use std::io::Write;
use std::time::{Duration, Instant};

use statestore::{LockError, LockInfo, StateStore, StoreError, LOCK_ERROR_HINT};

use crate::{child, open};

fn lock_err<T: std::fmt::Debug>(r: statestore::Result<T>) -> LockError {
    match r {
        Err(StoreError::Lock(e)) => e,
        other => panic!("expected a lock error, got {other:?}"),
    }
}

fn try_lock(store: &StateStore, info: &LockInfo, timeout: Duration) -> statestore::Result<()> {
    store.lock("default", info, timeout, &cancel::Cancel::new())
}

#[test]
fn lock_contention_between_processes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (mut child, mut lines) = child::spawn("hold", dir.path());
    let child_id = child::wait_for(&mut lines, "locked ");

    // Fail fast, naming the holder like Terraform does.
    let mine = LockInfo::new("OperationTypePlan", "test", "");
    let e = lock_err(try_lock(&store, &mine, Duration::ZERO));
    let text = e.to_string();
    assert!(
        text.starts_with("Error message: resource temporarily unavailable\nLock Info:\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("  ID:        {child_id}\n")),
        "{text}"
    );
    assert!(
        text.contains("  Operation: OperationTypeApply\n  Who:       "),
        "{text}"
    );
    // The backend records where the state is, as Terraform's local backend does.
    assert!(
        text.contains("  Path:      terraform.tfstate\n")
            && text.contains("  Info:      held by child\n"),
        "{text}"
    );
    assert!(text.ends_with(LOCK_ERROR_HINT), "{text}");
    assert_eq!(store.lock_holder("default").unwrap().unwrap().id, child_id);

    // Waiting gives up after the timeout (and not long after).
    let t = Instant::now();
    lock_err(try_lock(&store, &mine, Duration::from_millis(300)));
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(10),
        "{waited:?}"
    );

    // Another process cannot unlock a live holder (Terraform: "LocalState not locked").
    assert!(matches!(
        lock_err(store.unlock("default", &child_id)),
        LockError::NotLocked
    ));

    // A waiter gets the lock soon after the holder releases it.
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        let _ = stdin.write_all(b"go\n");
    });
    try_lock(&store, &mine, Duration::from_secs(60)).unwrap();
    child::wait_for(&mut lines, "unlocked");
    child.wait().unwrap();
    assert_eq!(store.lock_holder("default").unwrap().unwrap().id, mine.id);
    // Relocking through the same store fails; unlock needs the right ID.
    assert!(matches!(
        lock_err(try_lock(
            &store,
            &LockInfo::new("x", "", ""),
            Duration::ZERO
        )),
        LockError::Held { .. }
    ));
    assert!(matches!(
        lock_err(store.unlock("default", "wrong")),
        LockError::IdMismatch { .. }
    ));
    store.unlock("default", &mine.id).unwrap();
    assert!(store.lock_holder("default").unwrap().is_none());
    assert!(matches!(
        lock_err(store.unlock("default", &mine.id)),
        LockError::NotLocked
    ));
}

#[test]
fn a_cancelled_wait_returns_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let holder = open(dir.path());
    crate::lock(&holder, "default");
    let waiter = open(dir.path());
    let cancel = cancel::Cancel::new();
    let stopper = cancel.clone();
    let t = Instant::now();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        stopper.stop();
    });
    let info = LockInfo::new("OperationTypeApply", "test", "");
    let e = waiter
        .lock("default", &info, Duration::from_secs(600), &cancel)
        .unwrap_err();
    assert!(matches!(e, StoreError::Cancelled), "{e:?}");
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    // Already stopped: no attempt at all.
    assert!(matches!(
        waiter.lock("default", &info, Duration::ZERO, &cancel),
        Err(StoreError::Cancelled)
    ));
}

#[test]
fn lock_dies_with_a_killed_holder() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (mut child, mut lines) = child::spawn("hold", dir.path());
    child::wait_for(&mut lines, "locked ");
    child.kill().unwrap();
    child.wait().unwrap();
    // The OS lock is gone: the info file it left is not a holder.
    assert!(dir.path().join(".terraform.tfstate.lock.info").exists());
    assert!(store.lock_holder("default").unwrap().is_none());
    let mine = crate::lock(&store, "default");
    assert_eq!(store.lock_holder("default").unwrap().unwrap().id, mine.id);
    store.unlock("default", &mine.id).unwrap();
}

#[test]
fn locks_are_per_workspace_and_per_store_even_in_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path());
    let b = open(dir.path());
    a.create_workspace("w2").unwrap();
    let la = crate::lock(&a, "default");
    // A second store in the same process is a different holder (open file description locks).
    let lb = LockInfo::new("OperationTypeApply", "test", "");
    assert!(matches!(
        lock_err(try_lock(&b, &lb, Duration::ZERO)),
        LockError::Held { .. }
    ));
    b.lock("w2", &lb, Duration::ZERO, &cancel::Cancel::new())
        .unwrap();
    // Reading the state file elsewhere in the process does not drop the lock.
    let _ = std::fs::read(dir.path().join("terraform.tfstate"));
    assert!(matches!(
        lock_err(try_lock(&b, &lb, Duration::ZERO)),
        LockError::Held { .. }
    ));
    a.unlock("default", &la.id).unwrap();
    try_lock(&b, &lb, Duration::ZERO).unwrap();
}

#[test]
fn lock_error_text_matches_terraform() {
    // Recorded from terraform 1.11.4: `terraform plan -no-color` while an apply held the lock.
    let golden = include_str!("golden/terraform-lock-error.txt");
    let holder = LockInfo {
        id: "3fca3c56-6bb8-4e68-8390-ab3416d8bb5d".into(),
        operation: "OperationTypeApply".into(),
        info: String::new(),
        who: "root@vm".into(),
        version: "1.11.4".into(),
        created: "2026-11-24T19:41:04.196255187Z".parse().unwrap(),
        path: "terraform.tfstate".into(),
    };
    let err = LockError::Held {
        reason: "resource temporarily unavailable".into(),
        holder: Some(Box::new(holder)),
    };
    // Terraform's diagnostic layout: blank line, "Error: <summary>", blank line, detail.
    let rendered = format!("\nError: {}\n\n{err}\n", statestore::LOCK_ERROR_SUMMARY);
    assert_eq!(rendered, golden);
    // Without holder info Terraform joins why it could not read it (recorded the same way).
    let err = LockError::Held {
        reason: "resource temporarily unavailable\nopen .terraform.tfstate.lock.info: no such file or directory".into(),
        holder: None,
    };
    assert_eq!(
        err.to_string(),
        format!("Error message: resource temporarily unavailable\nopen .terraform.tfstate.lock.info: no such file or directory\n\n{LOCK_ERROR_HINT}")
    );
}
