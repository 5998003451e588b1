//! Lock contention between processes, waiting, and locks dying with their process.

use std::io::Write;
use std::time::{Duration, Instant};

use statestore::{LockError, LockInfo, SqliteStore, StateStore, StoreError, LOCK_ERROR_HINT};

use crate::child;

fn lock_err(r: statestore::Result<()>) -> LockError {
    match r {
        Err(StoreError::Lock(e)) => e,
        other => panic!("expected a lock error, got {other:?}"),
    }
}

#[test]
fn lock_contention_between_processes() {
    let dir = tempfile::tempdir().unwrap();
    let weir = dir.path().join(".weir");
    let store = SqliteStore::open(&weir, "default").unwrap();
    let (mut child, mut lines) = child::spawn("hold", &weir);
    let child_id = child::wait_for(&mut lines, "locked ");

    // Fail fast, naming the holder like Terraform does.
    let mine = LockInfo::new("OperationTypePlan", "test", "");
    let e = lock_err(store.lock("default", &mine, Duration::ZERO));
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
    assert!(
        text.contains("  Path:      weir-test\n") && text.contains("  Info:      held by child\n"),
        "{text}"
    );
    assert!(text.ends_with(LOCK_ERROR_HINT), "{text}");
    assert_eq!(store.lock_holder("default").unwrap().unwrap().id, child_id);

    // Waiting gives up after the timeout, not much later.
    let t = Instant::now();
    lock_err(store.lock("default", &mine, Duration::from_millis(300)));
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(3),
        "{waited:?}"
    );

    // Another process cannot unlock a live holder.
    assert!(matches!(
        lock_err(store.force_unlock("default", &child_id)),
        LockError::OtherProcess
    ));
    assert!(matches!(
        lock_err(store.unlock("default", &child_id)),
        LockError::OtherProcess
    ));

    // A waiter gets the lock soon after the holder releases it.
    let t = Instant::now();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        let _ = stdin.write_all(b"go\n");
    });
    store
        .lock("default", &mine, Duration::from_secs(20))
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(10));
    child::wait_for(&mut lines, "unlocked");
    child.wait().unwrap();
    assert_eq!(store.lock_holder("default").unwrap().unwrap().id, mine.id);
    // Relocking in the same process fails; unlock needs the right ID.
    assert!(matches!(
        lock_err(store.lock("default", &LockInfo::new("x", "", ""), Duration::ZERO)),
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
fn lock_dies_with_a_killed_holder_and_stale_info_is_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let weir = dir.path().join(".weir");
    let store = SqliteStore::open(&weir, "default").unwrap();
    let (mut child, mut lines) = child::spawn("hold", &weir);
    let child_id = child::wait_for(&mut lines, "locked ");
    child.kill().unwrap();
    child.wait().unwrap();
    // The OS lock is gone; the holder row is stale and no longer reported.
    assert!(store.lock_holder("default").unwrap().is_none());
    // force-unlock clears the stale row when the ID matches.
    assert!(matches!(
        lock_err(store.force_unlock("default", "other-id")),
        LockError::IdMismatch { .. }
    ));
    store.force_unlock("default", &child_id).unwrap();
    let mine = LockInfo::new("OperationTypeApply", "test", "");
    store.lock("default", &mine, Duration::ZERO).unwrap();
    store.unlock("default", &mine.id).unwrap();
}

#[test]
fn locks_are_per_workspace_and_per_handle() {
    let dir = tempfile::tempdir().unwrap();
    let weir = dir.path().join(".weir");
    let a = SqliteStore::open(&weir, "default").unwrap();
    let b = SqliteStore::open(&weir, "default").unwrap();
    a.create_workspace("w2").unwrap();
    let la = LockInfo::new("OperationTypeApply", "test", "");
    a.lock("default", &la, Duration::ZERO).unwrap();
    // A second handle in the same process is a different holder (OS locks are per open file).
    let lb = LockInfo::new("OperationTypeApply", "test", "");
    assert!(matches!(
        lock_err(b.lock("default", &lb, Duration::ZERO)),
        LockError::Held { .. }
    ));
    b.lock("w2", &lb, Duration::ZERO).unwrap();
    a.unlock("default", &la.id).unwrap();
    b.lock("default", &lb, Duration::ZERO).unwrap();
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
}
