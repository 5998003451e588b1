//! Versions, history, rollback, push checks, workspaces, corrupt databases and plain files.

use statestore::file::{backup_path, read_state_file, write_state_file};
use statestore::{SqliteStore, StateStore, StoreError, WriteMeta, SCHEMA_VERSION};

use crate::{state_with, PROVIDER};

fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join(".weir"), "default").unwrap()
}

#[test]
fn versions_history_get_and_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    assert!(store.current("default").unwrap().is_none());

    let mut s = state_with(1, "lin-a");
    let v1 = store
        .write("default", &mut s, &WriteMeta::new("apply"))
        .unwrap();
    assert_eq!((v1.serial, s.serial), (1, 1));
    // Unchanged content writes nothing.
    let again = store
        .write("default", &mut s.clone(), &WriteMeta::new("apply"))
        .unwrap();
    assert_eq!(again, v1);

    let mut s2 = state_with(2, "lin-a");
    s2.serial = 1;
    let v2 = store
        .write(
            "default",
            &mut s2,
            &WriteMeta {
                operation: "import".into(),
                who: "alice@box".into(),
            },
        )
        .unwrap();
    assert_eq!(v2.serial, 2);
    // A big state is stored compressed but read back byte-identical.
    let mut big = state_with(200, "lin-a");
    let v3 = store
        .write("default", &mut big, &WriteMeta::new("apply"))
        .unwrap();
    assert_eq!(v3.serial, 3);
    assert_eq!(
        store.current_bytes("default").unwrap().unwrap().1,
        big.to_vec()
    );

    let hist = store.history("default").unwrap();
    assert_eq!(hist.iter().map(|v| v.serial).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(hist[1].operation, "import");
    assert_eq!(hist[1].who, "alice@box");
    assert!(hist[0].who.contains('@'));
    assert!(hist[0].created.ends_with('Z'));

    let (info, bytes) = store.get("default", 2).unwrap().unwrap();
    assert_eq!(info, v2);
    assert_eq!(bytes, s2.to_vec());
    assert!(store.get("default", 9).unwrap().is_none());

    let rb = store
        .rollback("default", 1, &WriteMeta::new("rollback"))
        .unwrap();
    assert_eq!(rb.serial, 4);
    let cur = store.current("default").unwrap().unwrap();
    assert_eq!(cur.serial, 4);
    assert!(cur.same_content(&state_with(1, "x")));
    // Old versions are untouched.
    let mut first = state_with(1, "lin-a");
    first.serial = 1;
    assert_eq!(store.get("default", 1).unwrap().unwrap().1, first.to_vec());
    assert!(matches!(
        store.rollback("default", 42, &WriteMeta::new("rollback")),
        Err(StoreError::NoSuchVersion { serial: 42, .. })
    ));
    assert_eq!(store.history("default").unwrap().len(), 4);
}

#[test]
fn push_follows_terraform_checks() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let meta = WriteMeta::new("push");
    let mut base = state_with(1, "lin");
    base.serial = 5;
    // Messages below are the ones terraform 1.11.4 printed after "Failed to write state: ".
    // Empty workspace: anything goes, serial kept.
    assert_eq!(
        store.push("default", &base, false, &meta).unwrap().serial,
        5
    );

    let mut other = base.clone();
    other.lineage = "other".into();
    let e = store.push("default", &other, false, &meta).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot import state with lineage \"other\" over unrelated state with lineage \"lin\""
    );

    let mut older = base.clone();
    older.serial = 4;
    let e = store.push("default", &older, false, &meta).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot import state with serial 4 over newer state with serial 5"
    );

    let mut same_serial = state_with(2, "lin");
    same_serial.serial = 5;
    let e = store
        .push("default", &same_serial, false, &meta)
        .unwrap_err();
    assert_eq!(e.to_string(), "cannot overwrite existing state with serial 5 with a different state that has the same serial");

    // Identical content at the same serial is a no-op.
    assert_eq!(
        store.push("default", &base, false, &meta).unwrap().serial,
        5
    );
    assert_eq!(store.history("default").unwrap().len(), 1);

    let mut newer = state_with(3, "lin");
    newer.serial = 9;
    assert_eq!(
        store.push("default", &newer, false, &meta).unwrap().serial,
        9
    );

    // Force: lineage and serial checks are skipped; the serial stays unique in the history.
    let v = store.push("default", &older, true, &meta).unwrap();
    assert_eq!(v.serial, 10);
    let v = store.push("default", &other, true, &meta).unwrap();
    assert_eq!((v.serial, v.lineage.as_str()), (11, "other"));
    assert_eq!(store.current("default").unwrap().unwrap().serial, 11);
}

#[test]
fn workspaces_follow_terraform_rules() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    assert_eq!(store.workspaces().unwrap(), ["default"]);
    assert_eq!(store.selected_workspace().unwrap(), "default");
    store.create_workspace("prod").unwrap();
    store.create_workspace("a-dev").unwrap();
    assert_eq!(store.workspaces().unwrap(), ["default", "a-dev", "prod"]);
    assert_eq!(
        store.create_workspace("prod").unwrap_err().to_string(),
        "Workspace \"prod\" already exists"
    );
    assert!(matches!(
        store.create_workspace("a/b"),
        Err(StoreError::InvalidWorkspaceName(_))
    ));
    assert!(matches!(
        store.create_workspace(""),
        Err(StoreError::InvalidWorkspaceName(_))
    ));
    assert!(matches!(
        store.select_workspace("nope"),
        Err(StoreError::NoSuchWorkspace(_))
    ));
    assert!(matches!(
        store.current("nope"),
        Err(StoreError::NoSuchWorkspace(_))
    ));

    store.select_workspace("prod").unwrap();
    assert_eq!(store.selected_workspace().unwrap(), "prod");
    // Selection is persistent.
    drop(store);
    let store = open(&dir);
    assert_eq!(store.selected_workspace().unwrap(), "prod");

    assert!(matches!(
        store.delete_workspace("prod", true),
        Err(StoreError::DeleteActiveWorkspace(_))
    ));
    store.select_workspace("a-dev").unwrap();
    assert!(matches!(
        store.delete_workspace("default", true),
        Err(StoreError::DeleteDefaultWorkspace)
    ));

    store
        .write("prod", &mut state_with(2, "p"), &WriteMeta::new("apply"))
        .unwrap();
    match store.delete_workspace("prod", false) {
        Err(StoreError::WorkspaceNotEmpty { instances, .. }) => {
            assert_eq!(instances, ["terraform_data.r[0]", "terraform_data.r[1]"])
        }
        other => panic!("{other:?}"),
    }
    store.delete_workspace("prod", true).unwrap();
    assert_eq!(store.workspaces().unwrap(), ["default", "a-dev"]);
    // Recreated workspaces start empty.
    store.create_workspace("prod").unwrap();
    assert!(store.current("prod").unwrap().is_none());
    // Empty workspaces are deleted without force.
    store.delete_workspace("prod", false).unwrap();
    // Workspaces are per stack.
    let other = SqliteStore::open(&dir.path().join(".weir"), "stack-b").unwrap();
    assert_eq!(other.workspaces().unwrap(), ["default"]);
    assert_eq!(other.selected_workspace().unwrap(), "default");
}

#[test]
fn workspace_not_empty_text_matches_terraform() {
    // Recorded from terraform 1.11.4: `terraform workspace delete w3` with two instances.
    let golden = include_str!("golden/terraform-workspace-not-empty.txt");
    let e = StoreError::WorkspaceNotEmpty {
        workspace: "w3".into(),
        instances: vec![
            "terraform_data.a[\"one\"]".into(),
            "terraform_data.a[\"two\"]".into(),
        ],
    };
    // The CLI adds the trailing blank line after a diagnostic.
    let rendered = format!(
        "\nError: {}\n\n{e}",
        statestore::WORKSPACE_NOT_EMPTY_SUMMARY
    );
    assert_eq!(rendered, golden.trim_end());
}

#[test]
fn corrupt_or_newer_databases_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let weir = dir.path().join(".weir");
    std::fs::create_dir_all(&weir).unwrap();
    let db = weir.join("state.db");

    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&db, &garbage).unwrap();
    let e = SqliteStore::open(&weir, "default").err().unwrap();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
    assert!(e.to_string().contains("nothing was changed"), "{e}");
    assert_eq!(std::fs::read(&db).unwrap(), garbage);

    // Someone else's SQLite database.
    std::fs::remove_file(&db).unwrap();
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
    }
    let before = std::fs::read(&db).unwrap();
    assert!(matches!(
        SqliteStore::open(&weir, "default"),
        Err(StoreError::Corrupt { .. })
    ));
    assert_eq!(std::fs::read(&db).unwrap(), before);

    // A database from a newer weir.
    std::fs::remove_file(&db).unwrap();
    drop(SqliteStore::open(&weir, "default").unwrap());
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        c.pragma_update(None, "wal_checkpoint", "TRUNCATE").unwrap();
    }
    let before = std::fs::read(&db).unwrap();
    let e = SqliteStore::open(&weir, "default").err().unwrap();
    assert!(
        matches!(e, StoreError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1),
        "{e:?}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn plain_state_files_round_trip_with_backup() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("terraform.tfstate");
    assert!(read_state_file(&path).unwrap().is_none());
    std::fs::write(&path, "").unwrap();
    assert!(read_state_file(&path).unwrap().is_none());

    let fixture = std::fs::read(format!(
        "{}/../states/tests/fixtures/full.tfstate",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    std::fs::write(&path, &fixture).unwrap();
    let mut state = read_state_file(&path).unwrap().unwrap();
    state.serial += 1;
    write_state_file(&path, &state, true).unwrap();
    assert_eq!(std::fs::read(backup_path(&path)).unwrap(), fixture);
    assert_eq!(read_state_file(&path).unwrap().unwrap(), state);

    // Migration into the store keeps the bytes.
    let store = SqliteStore::open(&dir.path().join(".weir"), "default").unwrap();
    store
        .push("default", &state, false, &WriteMeta::new("migrate"))
        .unwrap();
    assert_eq!(
        store.current_bytes("default").unwrap().unwrap().1,
        std::fs::read(&path).unwrap()
    );
    let _ = PROVIDER;
}
