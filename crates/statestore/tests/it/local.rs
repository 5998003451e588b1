//! The local backend's files, byte for byte where Terraform reads them: layout, lock info,
//! backup, atomic replacement and the tombstone a replaced inode gets.

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use statestore::{Backend, LocalBackend, LockInfo, StoreError, WriteMeta};

use crate::{lock, open, state_with};

#[test]
fn lock_info_is_terraforms_file() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path());
    let info = LockInfo::new("OperationTypeApply", "1.11.4", "ignored");
    b.lock("default", &info).unwrap();
    // Terraform creates the (empty) state file it locks, and writes the holder beside it.
    let state = dir.path().join("terraform.tfstate");
    assert_eq!(std::fs::read(&state).unwrap(), b"");
    let path = dir.path().join(".terraform.tfstate.lock.info");
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let keys: Vec<&str> = written
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "ID",
            "Operation",
            "Info",
            "Who",
            "Version",
            "Created",
            "Path"
        ]
    );
    assert_eq!(written["Path"], "terraform.tfstate");
    assert_eq!(written["ID"], info.id.as_str());
    // Unlocking removes the info, and the state file the lock created and nobody wrote.
    b.unlock("default", &info.id).unwrap();
    assert!(!path.exists());
    assert!(!state.exists());

    // Workspaces: beside their own state file.
    b.create_workspace("dev").unwrap();
    b.lock("dev", &info).unwrap();
    let ws_info = dir
        .path()
        .join("terraform.tfstate.d/dev/.terraform.tfstate.lock.info");
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&ws_info).unwrap()).unwrap();
    assert_eq!(written["Path"], "terraform.tfstate.d/dev/terraform.tfstate");
    b.unlock("dev", &info.id).unwrap();
}

#[test]
fn writes_replace_the_file_atomically_and_keep_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let info = lock(&store, "default");
    let path = dir.path().join("terraform.tfstate");
    let first_inode = std::fs::metadata(&path).unwrap().ino();
    // A process that opened the file before the write (a Terraform waiting for the lock).
    let early = std::fs::File::open(&path).unwrap();
    store
        .write(
            "default",
            &mut state_with(1, "lin"),
            &WriteMeta::new("apply"),
        )
        .unwrap();
    let second_inode = std::fs::metadata(&path).unwrap().ino();
    assert_ne!(
        first_inode, second_inode,
        "a new file was renamed into place"
    );
    // The replaced inode reads as something Terraform refuses, not as an empty state.
    assert_eq!(
        std::fs::read(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&early)
        ))
        .unwrap(),
        statestore::TOMBSTONE
    );
    // The new file is locked already: nobody else gets it between rename and unlock.
    let other = open(dir.path());
    let theirs = LockInfo::new("OperationTypePlan", "1.11.4", "");
    assert!(matches!(
        other.lock("default", &theirs, Duration::ZERO, &cancel::Cancel::new()),
        Err(StoreError::Lock(_))
    ));
    // No temporary files are left.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains("weir-")), "{names:?}");
    store.unlock("default", &info.id).unwrap();
    other
        .lock("default", &theirs, Duration::ZERO, &cancel::Cancel::new())
        .unwrap();
}

#[test]
fn backup_is_the_state_before_the_runs_first_change() {
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("terraform.tfstate.backup");
    let store = open(dir.path());
    let info = lock(&store, "default");
    let mut s = state_with(1, "lin");
    store
        .write("default", &mut s, &WriteMeta::new("apply"))
        .unwrap();
    // No backup of nothing.
    assert!(!backup.exists());
    store.unlock("default", &info.id).unwrap();
    let first = std::fs::read(dir.path().join("terraform.tfstate")).unwrap();

    // A new run: its first change backs up what was there; later changes do not move it.
    let info = lock(&store, "default");
    store
        .write(
            "default",
            &mut state_with(2, "lin"),
            &WriteMeta::new("apply"),
        )
        .unwrap();
    assert_eq!(std::fs::read(&backup).unwrap(), first);
    store
        .write(
            "default",
            &mut state_with(3, "lin"),
            &WriteMeta::new("apply"),
        )
        .unwrap();
    assert_eq!(std::fs::read(&backup).unwrap(), first);
    store.unlock("default", &info.id).unwrap();
}

#[test]
fn a_lock_taken_on_a_replaced_inode_is_retried_on_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("terraform.tfstate");
    std::fs::write(&path, state_with(1, "lin").to_vec()).unwrap();
    let b = LocalBackend::new(dir.path());
    let info = LockInfo::new("OperationTypeApply", "1.11.4", "");
    // Replace the file many times while locking: the lock must end up on the file at the path.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s2 = stop.clone();
    let p2 = path.clone();
    let churn = std::thread::spawn(move || {
        let mut i = 0;
        while !s2.load(std::sync::atomic::Ordering::Relaxed) && i < 2000 {
            let tmp = p2.with_extension(format!("tmp{i}"));
            std::fs::write(&tmp, state_with(1, "lin").to_vec()).unwrap();
            std::fs::rename(&tmp, &p2).unwrap();
            i += 1;
        }
    });
    for _ in 0..50 {
        b.lock("default", &info).unwrap();
        b.unlock("default", &info.id).unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    churn.join().unwrap();
    b.lock("default", &info).unwrap();
    let holder = b.lock_holder("default").unwrap().unwrap();
    assert_eq!(holder.id, info.id);
}
