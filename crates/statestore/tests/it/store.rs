//! Versions and history over the local backend, rollback, push checks, workspaces, corrupt
//! databases and plain files.

use statestore::file::{backup_path, read_state_file, write_state_file};
use statestore::{SqliteHistory, StoreError, WriteMeta, SCHEMA_VERSION};

use crate::{lock, open, state_with, PROVIDER};

#[test]
fn versions_go_to_the_state_of_record_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert!(store.read_state("default").unwrap().is_none());
    lock(&store, "default");

    let mut s = state_with(1, "lin-a");
    let v1 = store
        .write("default", &mut s, &WriteMeta::new("apply"))
        .unwrap()
        .unwrap();
    assert_eq!((v1.serial, s.serial), (1, 1));
    // The state of record holds exactly the bytes of Terraform's writer.
    let file = dir.path().join("terraform.tfstate");
    assert_eq!(std::fs::read(&file).unwrap(), s.to_vec());
    // Unchanged content writes nothing.
    assert!(store
        .write("default", &mut s.clone(), &WriteMeta::new("apply"))
        .unwrap()
        .is_none());

    let mut s2 = state_with(2, "lin-a");
    let v2 = store
        .write(
            "default",
            &mut s2,
            &WriteMeta {
                operation: "import".into(),
                who: "alice@box".into(),
            },
        )
        .unwrap()
        .unwrap();
    assert_eq!(v2.serial, 2);
    // A big state is kept compressed in history but read back byte-identical.
    let mut big = state_with(200, "lin-a");
    let v3 = store
        .write("default", &mut big, &WriteMeta::new("apply"))
        .unwrap()
        .unwrap();
    assert_eq!(v3.serial, 3);
    assert_eq!(store.read_bytes("default").unwrap().unwrap(), big.to_vec());
    assert_eq!(
        store.version("default", 3).unwrap().unwrap().1,
        big.to_vec()
    );

    let hist = store.history("default").unwrap();
    assert_eq!(hist.iter().map(|v| v.serial).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(hist[1].operation, "import");
    assert_eq!(hist[1].who, "alice@box");
    assert!(hist[0].who.contains('@'));
    assert!(hist[0].created.ends_with('Z'));
    assert_eq!(hist[2].digest, statestore::digest(&big.to_vec()));
    assert!(store.version("default", 9).unwrap().is_none());
}

#[test]
fn versions_written_by_others_are_picked_up_as_external() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    lock(&store, "default");
    store
        .write(
            "default",
            &mut state_with(1, "lin"),
            &WriteMeta::new("apply"),
        )
        .unwrap();
    drop(store);
    // Terraform (or anything) writes the next version between weir runs.
    let mut theirs = state_with(3, "lin");
    theirs.serial = 2;
    std::fs::write(dir.path().join("terraform.tfstate"), theirs.to_vec()).unwrap();
    let store = open(dir.path());
    assert_eq!(store.read_state("default").unwrap().unwrap(), theirs);
    let hist = store.history("default").unwrap();
    assert_eq!(hist.len(), 2);
    assert_eq!(
        (hist[1].serial, hist[1].operation.as_str()),
        (2, "external")
    );
    assert_eq!(hist[1].who, "");
    // Found once, not on every read.
    store.read_state("default").unwrap();
    assert_eq!(store.history("default").unwrap().len(), 2);
    // And it can be rolled back to like any other.
    assert_eq!(
        store.version("default", 2).unwrap().unwrap().1,
        theirs.to_vec()
    );
}

#[test]
fn rollback_works_when_the_state_of_record_is_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    lock(&store, "default");
    store
        .write(
            "default",
            &mut state_with(1, "lin"),
            &WriteMeta::new("apply"),
        )
        .unwrap();
    store
        .write(
            "default",
            &mut state_with(3, "lin"),
            &WriteMeta::new("apply"),
        )
        .unwrap();
    drop(store);
    std::fs::write(dir.path().join("terraform.tfstate"), b"{ half a sta").unwrap();
    let store = open(dir.path());
    assert!(matches!(
        store.read_state("default"),
        Err(StoreError::Unreadable { .. })
    ));
    lock(&store, "default");
    let r = store
        .rollback("default", 1, false, &WriteMeta::new("rollback to 1"))
        .unwrap();
    assert_eq!(r.version.serial, 3);
    assert!(r.current_unreadable.is_some());
    assert!(r.forgotten.is_empty());
    let cur = store.read_state("default").unwrap().unwrap();
    assert!(cur.same_content(&state_with(1, "x")));
    assert_eq!(cur.serial, 3);
    // An unknown serial names the ones history has.
    let e = store
        .rollback("default", 42, false, &WriteMeta::new("rollback to 42"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "no state version with serial 42 in workspace \"default\"; recorded serials: 1, 2, 3"
    );
}

#[test]
fn rollback_names_or_keeps_instances_created_later() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    lock(&store, "default");
    store
        .write(
            "default",
            &mut state_with(1, "lin"),
            &WriteMeta::new("apply"),
        )
        .unwrap();
    store
        .write(
            "default",
            &mut state_with(3, "lin"),
            &WriteMeta::new("apply"),
        )
        .unwrap();
    let r = store
        .rollback("default", 1, false, &WriteMeta::new("rollback to 1"))
        .unwrap();
    assert_eq!(r.forgotten, ["terraform_data.r[1]", "terraform_data.r[2]"]);
    assert_eq!(
        store.read_state("default").unwrap().unwrap().object_count(),
        1
    );
    // Back to 2 (three instances) and then to 1 keeping the newer ones.
    store
        .rollback("default", 2, false, &WriteMeta::new("rollback to 2"))
        .unwrap();
    let r = store
        .rollback("default", 1, true, &WriteMeta::new("rollback to 1"))
        .unwrap();
    assert!(r.forgotten.is_empty());
    assert_eq!(r.kept, ["terraform_data.r[1]", "terraform_data.r[2]"]);
    assert_eq!(
        store.read_state("default").unwrap().unwrap().object_count(),
        3
    );
    assert_eq!(r.version.serial, 5);
}

#[test]
fn push_follows_terraform_checks() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    lock(&store, "default");
    let meta = WriteMeta::new("push");
    let mut base = state_with(1, "lin");
    base.serial = 5;
    // Messages below are the ones terraform 1.11.4 printed after "Failed to write state: ".
    // Empty workspace: anything goes, serial kept.
    assert_eq!(
        store
            .push("default", &base, false, &meta)
            .unwrap()
            .unwrap()
            .serial,
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
    assert!(store
        .push("default", &base, false, &meta)
        .unwrap()
        .is_none());
    assert_eq!(store.history("default").unwrap().len(), 1);

    let mut newer = state_with(3, "lin");
    newer.serial = 9;
    assert_eq!(
        store
            .push("default", &newer, false, &meta)
            .unwrap()
            .unwrap()
            .serial,
        9
    );

    // Force: lineage and serial checks are skipped; the serial keeps going up.
    let v = store.push("default", &older, true, &meta).unwrap().unwrap();
    assert_eq!(v.serial, 10);
    let v = store.push("default", &other, true, &meta).unwrap().unwrap();
    assert_eq!((v.serial, v.lineage.as_str()), (11, "other"));
    assert_eq!(store.read_state("default").unwrap().unwrap().serial, 11);
}

#[test]
fn workspaces_follow_terraform_rules() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(store.workspaces().unwrap(), ["default"]);
    store.create_workspace("prod").unwrap();
    store.create_workspace("a-dev").unwrap();
    assert_eq!(store.workspaces().unwrap(), ["default", "a-dev", "prod"]);
    // Terraform's layout: a directory per workspace, no state file until the first write.
    assert!(dir.path().join("terraform.tfstate.d/prod").is_dir());
    assert!(!dir
        .path()
        .join("terraform.tfstate.d/prod/terraform.tfstate")
        .exists());
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
        store.delete_workspace("nope", false, "default", None),
        Err(StoreError::NoSuchWorkspace(_))
    ));
    assert!(matches!(
        store.delete_workspace("prod", true, "prod", None),
        Err(StoreError::DeleteActiveWorkspace(_))
    ));
    assert!(matches!(
        store.delete_workspace("default", true, "a-dev", None),
        Err(StoreError::DeleteDefaultWorkspace)
    ));

    let info = lock(&store, "prod");
    store
        .write("prod", &mut state_with(2, "p"), &WriteMeta::new("apply"))
        .unwrap();
    assert!(dir
        .path()
        .join("terraform.tfstate.d/prod/terraform.tfstate")
        .is_file());
    store.unlock("prod", &info.id).unwrap();
    let mine = statestore::LockInfo::new("OperationTypeInvalid", "1.11.4", "");
    let lock = Some((&mine, std::time::Duration::ZERO, &cancel::Cancel::new()));
    match store.delete_workspace("prod", false, "default", lock) {
        Err(StoreError::WorkspaceNotEmpty { instances, .. }) => {
            assert_eq!(instances, ["terraform_data.r[0]", "terraform_data.r[1]"])
        }
        other => panic!("{other:?}"),
    }
    assert!(store
        .delete_workspace("prod", true, "default", None)
        .unwrap());
    assert_eq!(store.workspaces().unwrap(), ["default", "a-dev"]);
    assert!(!dir.path().join("terraform.tfstate.d/prod").exists());
    // Its history stays (it can still rescue), and a recreated workspace starts empty.
    assert_eq!(store.history("prod").unwrap().len(), 1);
    store.create_workspace("prod").unwrap();
    assert!(store.read_state("prod").unwrap().is_none());
    // Empty workspaces are deleted without force.
    assert!(!store
        .delete_workspace("prod", false, "default", None)
        .unwrap());
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
    // Terraform wraps the detail to the terminal; the CLI's renderer does that.
    let rendered = diagnostics::render::render_all(
        [&diagnostics::Diagnostic::error(
            statestore::WORKSPACE_NOT_EMPTY_SUMMARY,
            e.to_string(),
        )],
        &diagnostics::Sources::new(),
        Default::default(),
    );
    assert_eq!(rendered.trim_end(), golden.trim_end());
}

#[test]
fn corrupt_or_newer_databases_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let weir = dir.path().join(".weir");
    std::fs::create_dir_all(&weir).unwrap();
    let db = weir.join("state.db");
    let backend = statestore::LocalBackend::new(dir.path());

    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&db, &garbage).unwrap();
    let e = SqliteHistory::open(&weir, "default", &backend, "1.11.4")
        .err()
        .unwrap();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
    assert!(e.to_string().contains("nothing was changed"), "{e}");
    assert_eq!(std::fs::read(&db).unwrap(), garbage);
    // Opening the directory refuses too, rather than ignoring the history.
    assert!(matches!(
        statestore::StateStore::open_local(dir.path(), "1.11.4"),
        Err(StoreError::Corrupt { .. })
    ));

    // Someone else's SQLite database.
    std::fs::remove_file(&db).unwrap();
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
    }
    let before = std::fs::read(&db).unwrap();
    assert!(matches!(
        SqliteHistory::open(&weir, "default", &backend, "1.11.4"),
        Err(StoreError::Corrupt { .. })
    ));
    assert_eq!(std::fs::read(&db).unwrap(), before);

    // A database from a newer weir.
    std::fs::remove_file(&db).unwrap();
    drop(SqliteHistory::open(&weir, "default", &backend, "1.11.4").unwrap());
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        c.pragma_update(None, "wal_checkpoint", "TRUNCATE").unwrap();
    }
    let before = std::fs::read(&db).unwrap();
    let e = SqliteHistory::open(&weir, "default", &backend, "1.11.4")
        .err()
        .unwrap();
    assert!(
        matches!(e, StoreError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1),
        "{e:?}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn creating_the_history_is_safe_under_concurrency() {
    // Many openers race on a fresh directory: one creates the schema, none fails.
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let weir = dir.path().join(".weir");
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let weir = weir.clone();
                let root = dir.path().to_owned();
                std::thread::spawn(move || {
                    let backend = statestore::LocalBackend::new(&root);
                    SqliteHistory::open(&weir, "default", &backend, "1.11.4").map(|_| ())
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap().unwrap();
        }
    }
}

#[test]
fn plain_state_files_round_trip_with_backup() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.tfstate");
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

    // Pushed into the store, the bytes stay.
    let store = open(dir.path());
    lock(&store, "default");
    store
        .push("default", &state, false, &WriteMeta::new("push"))
        .unwrap();
    assert_eq!(
        store.read_bytes("default").unwrap().unwrap(),
        std::fs::read(&path).unwrap()
    );
    let _ = PROVIDER;
}
