//! The apply journal: incremental records, finish, and recovery after a real SIGKILL.

use std::time::{Duration, Instant};

use states::{InstanceKey, ObjectKey, OutputValue, RawJson, ResourceAddr};
use statestore::{LockInfo, SqliteStore, StateStore, WriteMeta};

use crate::{addr, child, key, object, state_with, PROVIDER};

#[test]
fn journal_records_and_finishes_into_one_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join(".weir"), "default").unwrap();
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
    let expected = j.state().clone();
    let v = j.finish().unwrap();
    assert_eq!(v.serial, 2);
    assert_eq!(v.operation, "apply");

    let cur = store.current("default").unwrap().unwrap();
    assert!(cur.same_content(&expected));
    assert!(cur.instance(&addr(), Some(&InstanceKey::Int(0))).is_none());
    assert!(cur.instance(&addr(), Some(&InstanceKey::Int(2))).is_some());
    assert!(cur.object(&other, &deposed).is_some());
    assert_eq!(cur.outputs["o"], out);
    assert_eq!(cur.check_results, Some(vec![]));

    // An apply that changes nothing writes no version.
    let j = store
        .begin_apply("default", &cur, &WriteMeta::new("apply"))
        .unwrap();
    assert_eq!(j.finish().unwrap().serial, 2);
    assert_eq!(store.history("default").unwrap().len(), 2);
}

#[test]
fn many_small_records_are_fast_and_linear() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join(".weir"), "default").unwrap();
    let base = states::State::new("1.11.4");
    let n = 5_000;
    let objects: Vec<_> = (0..n).map(object).collect();
    let mut j = store
        .begin_apply("default", &base, &WriteMeta::new("apply"))
        .unwrap();
    let t = Instant::now();
    for (i, o) in objects.iter().enumerate() {
        j.record_instance(&addr(), PROVIDER, &key(i), Some(o))
            .unwrap();
    }
    let took = t.elapsed();
    j.finish().unwrap();
    eprintln!("{n} record_instance calls (debug build): {took:?}");
    assert_eq!(store.current("default").unwrap().unwrap().object_count(), n);
    // Generous bound for an unoptimized build on a busy machine; release numbers are in the report.
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn killed_apply_is_recovered_on_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let weir = dir.path().join(".weir");
    {
        let store = SqliteStore::open(&weir, "default").unwrap();
        store
            .write(
                "default",
                &mut state_with(0, "lin"),
                &WriteMeta::new("apply"),
            )
            .unwrap();
    }
    let (mut child, mut lines) = child::spawn("journal", &weir);
    // Let it record a good number of instances, then kill -9 in the middle of recording.
    let mut last = 0;
    while last < 300 {
        last = child::wait_for(&mut lines, "recorded ").parse().unwrap();
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();

    let store = SqliteStore::open(&weir, "default").unwrap();
    let state = store.current("default").unwrap().unwrap();
    // Every record the child announced (it announces after the call returned) is there.
    for i in 0..=last {
        assert!(
            state
                .instance(&addr(), Some(&InstanceKey::Int(i as i64)))
                .is_some(),
            "instance {i} of {last} lost"
        );
    }
    let hist = store.history("default").unwrap();
    assert_eq!(hist.len(), 2);
    assert_eq!(hist[1].operation, "apply (recovered)");
    assert_eq!(hist[1].serial, 2);
    // The dead child's lock died with it.
    let info = LockInfo::new("OperationTypePlan", "test", "");
    store.lock("default", &info, Duration::ZERO).unwrap();
    store.unlock("default", &info.id).unwrap();
    // Recovery happens once.
    drop(store);
    let store = SqliteStore::open(&weir, "default").unwrap();
    assert_eq!(store.history("default").unwrap().len(), 2);
}

#[test]
fn live_journal_is_not_recovered_by_another_handle() {
    let dir = tempfile::tempdir().unwrap();
    let weir = dir.path().join(".weir");
    let store = SqliteStore::open(&weir, "default").unwrap();
    let mut j = store
        .begin_apply("default", &state_with(0, "lin"), &WriteMeta::new("apply"))
        .unwrap();
    j.record_instance(&addr(), PROVIDER, &key(0), Some(&object(0)))
        .unwrap();
    // Opening again while the writer lives must not fold its journal.
    let other = SqliteStore::open(&weir, "default").unwrap();
    assert!(other.recover(None).unwrap().is_empty());
    assert!(other.current("default").unwrap().is_none());
    j.finish().unwrap();
    assert_eq!(other.current("default").unwrap().unwrap().object_count(), 1);
}

#[test]
fn orphan_journal_files_are_removed_but_live_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let weir = dir.path().join(".weir");
    let store = SqliteStore::open(&weir, "default").unwrap();
    let live = store
        .begin_apply("default", &state_with(0, "lin"), &WriteMeta::new("apply"))
        .unwrap();
    let orphan = weir
        .join("journal")
        .join("00000000-dead-beef-0000-000000000000.wj");
    std::fs::write(&orphan, b"left behind").unwrap();
    drop(SqliteStore::open(&weir, "default").unwrap());
    assert!(!orphan.exists());
    let files = std::fs::read_dir(weir.join("journal")).unwrap().count();
    assert_eq!(files, 1, "the live run's journal must stay");
    live.finish().unwrap();
    assert_eq!(std::fs::read_dir(weir.join("journal")).unwrap().count(), 0);
}
