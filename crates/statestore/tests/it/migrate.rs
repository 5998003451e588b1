//! The schema-1 store (weir's own `.weir/state.db` as the state of record) moves to Terraform's
//! layout on first use. The fixture was written by weir before this change
//! (`scripts/record_schema1_fixture.sh`).

use std::path::{Path, PathBuf};

use statestore::{Backend, StoreError, SCHEMA_VERSION};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/tests/migrate/schema1")
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".weir")).unwrap();
    std::fs::copy(
        fixture().join("state.db"),
        dir.path().join(".weir/state.db"),
    )
    .unwrap();
    dir
}

#[test]
fn latest_versions_become_the_state_of_record_and_the_rest_history() {
    let dir = setup();
    let store = crate::open(dir.path());
    let m = store.migrated().expect("migrated").clone();
    assert_eq!(m.selected.as_deref(), Some("dev"));
    assert_eq!(
        m.workspaces,
        [
            ("default".to_owned(), Some(2)),
            ("dev".to_owned(), Some(1)),
            ("empty".to_owned(), None)
        ]
    );
    // The very bytes the old store held (what `weir state pull` printed before).
    assert_eq!(
        std::fs::read(dir.path().join("terraform.tfstate")).unwrap(),
        std::fs::read(fixture().join("default.tfstate")).unwrap()
    );
    assert_eq!(
        std::fs::read(dir.path().join("terraform.tfstate.d/dev/terraform.tfstate")).unwrap(),
        std::fs::read(fixture().join("dev.tfstate")).unwrap()
    );
    assert_eq!(store.workspaces().unwrap(), ["default", "dev", "empty"]);
    let hist = store.history("default").unwrap();
    assert_eq!(hist.iter().map(|v| v.serial).collect::<Vec<_>>(), [1, 2]);
    assert!(hist.iter().all(|v| v.operation == "apply"));
    // Reading does not record the migrated version again: it is in history already.
    store.read_state("default").unwrap();
    assert_eq!(store.history("default").unwrap().len(), 2);
    assert_eq!(store.history("dev").unwrap().len(), 1);
    // Old lock files are gone; the database is history now (schema 2).
    assert!(!dir.path().join(".weir/locks").exists());
    let c = rusqlite::Connection::open(dir.path().join(".weir/state.db")).unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    // Once only.
    drop(store);
    assert!(crate::open(dir.path()).migrated().is_none());
}

#[test]
fn an_existing_different_state_file_is_not_overwritten() {
    let dir = setup();
    let mut other = crate::state_with(1, "unrelated");
    other.serial = 9;
    std::fs::write(dir.path().join("terraform.tfstate"), other.to_vec()).unwrap();
    let before = std::fs::read(dir.path().join(".weir/state.db")).unwrap();
    let e = statestore::StateStore::open_local(dir.path(), "1.11.4")
        .err()
        .unwrap();
    assert!(matches!(e, StoreError::Migration { .. }), "{e:?}");
    assert!(e.to_string().contains("nothing was changed"), "{e}");
    // Nothing moved: the file and the old database are as they were.
    assert_eq!(
        std::fs::read(dir.path().join("terraform.tfstate")).unwrap(),
        other.to_vec()
    );
    assert_eq!(
        std::fs::read(dir.path().join(".weir/state.db")).unwrap(),
        before
    );
    let backend = statestore::LocalBackend::new(dir.path());
    assert_eq!(backend.workspaces().unwrap(), ["default"]);
}
