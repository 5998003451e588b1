//! The apply journal: incremental records, finish, and recovery after a real SIGKILL, also
//! when the state of record was deleted or replaced while the apply ran.

use std::time::Duration;

use states::{InstanceKey, ObjectKey, OutputValue, RawJson, ResourceAddr, State};
use statestore::{StoreError, WriteMeta};

use crate::{addr, child, key, lock, object, open, state_with, PROVIDER};

#[test]
fn journal_records_and_finishes_into_one_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    lock(&store, "default");
    let mut base = state_with(2, "lin");
    store
        .write("default", &mut base, &WriteMeta::new("apply"))
        .unwrap();

    let mut j = store
        .begin_apply("default", &base, &WriteMeta::new("apply"))
        .unwrap();
    j.record_instance(&addr(), PROVIDER, &key(2), Some(&object(2)))
        .unwrap();
    j.record_instance(&addr(), PROVIDER, &key(0), None).unwrap();
    let other = ResourceAddr::new(
        "module.m",
        states::ResourceMode::Managed,
        "terraform_data",
        "x",
    );
    let deposed = ObjectKey {
        key: None,
        deposed: Some("abcd1234".into()),
    };
    j.record_instance(&other, PROVIDER, &deposed, Some(&object(9)))
        .unwrap();
    let out = OutputValue::new(
        RawJson::from_json_str("\"v\"").unwrap(),
        RawJson::from_json_str("\"string\"").unwrap(),
        false,
    );
    j.record_output("o", Some(&out)).unwrap();
    j.record_check_results(Some(&[])).unwrap();
    // Nothing is a new version until finish.
    assert_eq!(store.history("default").unwrap().len(), 1);
    assert_eq!(
        std::fs::read(dir.path().join("terraform.tfstate")).unwrap(),
        base.to_vec()
    );
    let expected = j.state().clone();
    let v = j.finish().unwrap().unwrap();
    assert_eq!(v.serial, 2);
    assert_eq!(v.operation, "apply");
    // The journal is gone once its version is written.
    assert_eq!(
        std::fs::read_dir(dir.path().join(".weir/journal"))
            .unwrap()
            .count(),
        0
    );

    let cur = store.read_state("default").unwrap().unwrap();
    assert!(cur.same_content(&expected));
    assert!(cur.instance(&addr(), Some(&InstanceKey::Int(0))).is_none());
    assert!(cur.instance(&addr(), Some(&InstanceKey::Int(2))).is_some());
    assert!(cur.object(&other, &deposed).is_some());
    assert_eq!(cur.outputs["o"], out);
    assert_eq!(cur.check_results, Some(vec![]));

    // An apply that changes nothing writes nothing (no version, no new file).
    let before = std::fs::metadata(dir.path().join("terraform.tfstate")).unwrap();
    let mut j = store
        .begin_apply("default", &cur, &WriteMeta::new("apply"))
        .unwrap();
    j.record_instance(&addr(), PROVIDER, &key(2), Some(&object(2)))
        .unwrap();
    assert!(j.finish().unwrap().is_none());
    assert_eq!(store.history("default").unwrap().len(), 2);
    let after = std::fs::metadata(dir.path().join("terraform.tfstate")).unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::ino(&before),
        std::os::unix::fs::MetadataExt::ino(&after)
    );
}

/// Starts a child that journals instances until killed after `n` durable records; returns
/// the last one it announced.
fn kill_mid_apply(dir: &std::path::Path, n: usize) -> usize {
    let (mut child, mut lines) = child::spawn("journal", dir);
    let mut last = 0;
    while last < n {
        last = child::wait_for(&mut lines, "recorded ").parse().unwrap();
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    last
}

fn assert_all_recorded(state: &State, last: usize) {
    for i in 0..=last {
        assert!(
            state
                .instance(&addr(), Some(&InstanceKey::Int(i as i64)))
                .is_some(),
            "instance {i} of {last} lost"
        );
    }
}

#[test]
fn killed_apply_is_recovered_when_the_lock_is_next_taken() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        lock(&store, "default");
        store
            .write(
                "default",
                &mut state_with(1, "lin"),
                &WriteMeta::new("apply"),
            )
            .unwrap();
    }
    let last = kill_mid_apply(dir.path(), 300);
    let store = open(dir.path());
    // The dead child's lock died with it; taking it recovers the journal.
    let info = lock(&store, "default");
    let state = store.read_state("default").unwrap().unwrap();
    // Every record the child announced (it announces after the call returned) is there.
    assert_all_recorded(&state, last);
    let hist = store.history("default").unwrap();
    assert_eq!(hist.len(), 2);
    assert_eq!(hist[1].operation, "apply (recovered)");
    assert_eq!(hist[1].serial, 2);
    store.unlock("default", &info.id).unwrap();
    // Recovery happens once.
    lock(&store, "default");
    assert_eq!(store.history("default").unwrap().len(), 2);
}

#[test]
fn a_deleted_state_of_record_is_rebuilt_from_history_and_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        lock(&store, "default");
        store
            .write(
                "default",
                &mut state_with(1, "lin"),
                &WriteMeta::new("apply"),
            )
            .unwrap();
    }
    let last = kill_mid_apply(dir.path(), 50);
    std::fs::remove_file(dir.path().join("terraform.tfstate")).unwrap();
    let store = open(dir.path());
    lock(&store, "default");
    let state = store.read_state("default").unwrap().unwrap();
    assert_all_recorded(&state, last);
    assert_eq!((state.lineage.as_str(), state.serial), ("lin", 2));
}

#[test]
fn a_replaced_state_of_record_is_not_merged_and_the_journal_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        lock(&store, "default");
        store
            .write(
                "default",
                &mut state_with(1, "lin"),
                &WriteMeta::new("apply"),
            )
            .unwrap();
    }
    let last = kill_mid_apply(dir.path(), 50);
    // Someone put an unrelated state in place while the apply ran.
    let mut theirs = state_with(0, "theirs");
    theirs.serial = 7;
    std::fs::write(dir.path().join("terraform.tfstate"), theirs.to_vec()).unwrap();
    let store = open(dir.path());
    let info = statestore::LockInfo::new("OperationTypePlan", "1.11.4", "");
    let e = store
        .lock("default", &info, Duration::ZERO, &cancel::Cancel::new())
        .unwrap_err();
    let StoreError::JournalConflict(conflict) = &e else {
        panic!("{e:?}")
    };
    // The child recorded at least what it announced before it was killed.
    let entries = conflict.entries;
    assert!(entries > last, "{entries} <= {last}");
    assert!(std::path::Path::new(&conflict.journal).exists());
    let text = e.to_string();
    assert!(text.contains("weir state recover"), "{text}");
    assert!(text.contains("lineage theirs, serial 7"), "{text}");
    // Nothing changed, and the lock was let go.
    assert_eq!(store.read_state("default").unwrap().unwrap(), theirs);
    assert!(store.lock_holder("default").unwrap().is_none());

    // `state recover -apply`: the operations go onto the state as it is now.
    store
        .lock_without_recovery("default", &info, Duration::ZERO, &cancel::Cancel::new())
        .unwrap();
    let pending = store.pending_journals("default").unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].describe().unwrap()[0], "+ terraform_data.r[0]");
    let r = store
        .recover_onto_current("default", pending.into_iter().next().unwrap())
        .unwrap();
    assert_eq!(r.operations, entries);
    let state = store.read_state("default").unwrap().unwrap();
    assert_eq!((state.lineage.as_str(), state.serial), ("theirs", 8));
    assert_all_recorded(&state, last);
    assert!(store.pending_journals("default").unwrap().is_empty());
}

#[test]
fn live_journal_is_not_recovered_by_another_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    lock(&store, "default");
    let mut j = store
        .begin_apply("default", &state_with(0, "lin"), &WriteMeta::new("apply"))
        .unwrap();
    j.record_instance(&addr(), PROVIDER, &key(0), Some(&object(0)))
        .unwrap();
    // Another store (in this process) sees no pending journal while the writer lives.
    let other = open(dir.path());
    assert!(other.pending_journals("default").unwrap().is_empty());
    assert!(other.recover("default").unwrap().is_empty());
    assert!(other.read_state("default").unwrap().is_none());
    j.finish().unwrap();
    assert_eq!(
        other.read_state("default").unwrap().unwrap().object_count(),
        1
    );
}

#[test]
fn a_failed_finish_keeps_the_journal_for_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let info = lock(&store, "default");
    let mut j = store
        .begin_apply("default", &State::new("1.11.4"), &WriteMeta::new("apply"))
        .unwrap();
    j.record_instance(&addr(), PROVIDER, &key(0), Some(&object(0)))
        .unwrap();
    // The directory cannot take the new state file: finishing fails, the journal stays.
    let blocker = dir.path().join("terraform.tfstate");
    std::fs::remove_file(&blocker).ok();
    std::fs::create_dir(&blocker).unwrap();
    assert!(j.finish().is_err());
    drop(j);
    store.unlock("default", &info.id).ok();
    std::fs::remove_dir(&blocker).unwrap();
    let store = open(dir.path());
    lock(&store, "default");
    assert_eq!(
        store.read_state("default").unwrap().unwrap().object_count(),
        1
    );
}
