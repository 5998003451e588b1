//! Moves a schema-1 store (weir's own `.weir/state.db` as the state of record) to Terraform's
//! layout: the latest version of each workspace becomes the backend's state, the old versions
//! become history, and the workspace selection is handed back for `.terraform/environment`.
//!
//! Everything happens in the database's write transaction, which commits only after every
//! state file is written and synced; until then the old tables are untouched, so an interrupted
//! migration simply runs again (finding the files it already wrote identical).

use std::path::Path;

use fs4::fs_std::FileExt;
use rusqlite::{params, OptionalExtension, Transaction};
use states::State;

use crate::backend::Backend;
use crate::history::NewVersion;
use crate::sqlite::{decode, insert_version, map_sql, now, SCHEMA, SCHEMA_VERSION};
use crate::{LockInfo, Result, StoreError, DEFAULT_WORKSPACE};

/// What a migration from the schema-1 store did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migrated {
    /// The old database (now history only).
    pub db: String,
    /// Each workspace with the serial that became its state of record (`None`: it had none).
    pub workspaces: Vec<(String, Option<u64>)>,
    /// The workspace the old store had selected, for `.terraform/environment`.
    pub selected: Option<String>,
    /// Interrupted applies whose journals were folded in first.
    pub recovered: usize,
    /// Journal files of schema 1 that were folded and can go once the migration committed.
    pub(crate) old_journals: Vec<std::path::PathBuf>,
}

/// Only the `default` stack of a working directory's database becomes its state of record.
const STACK: &str = "default";

fn migration_error(db: &Path, location: String, detail: impl Into<String>) -> StoreError {
    StoreError::Migration {
        db: db.display().to_string(),
        location,
        detail: detail.into(),
    }
}

/// An older weir still running here holds one of its OS locks: refuse rather than move the
/// state under it.
fn refuse_if_old_weir_runs(weir_dir: &Path, db: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(weir_dir.join("locks")) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let Ok(file) = std::fs::File::open(entry.path()) else {
            continue;
        };
        if !FileExt::try_lock_exclusive(&file).unwrap_or(true) {
            return Err(migration_error(
                db,
                "terraform.tfstate".into(),
                format!(
                    "a weir from before this version is running in this directory (it holds {}); let it finish first",
                    entry.path().display()
                ),
            ));
        }
    }
    Ok(())
}

fn latest(
    tx: &Transaction<'_>,
    db: &Path,
    workspace: &str,
) -> Result<Option<(u64, String, Vec<u8>)>> {
    let row = tx
        .query_row(
            "SELECT serial, lineage, encoding, size, data FROM versions WHERE stack = ?1 AND workspace = ?2 ORDER BY serial DESC LIMIT 1",
            params![STACK, workspace],
            |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)? as u64,
                    r.get::<_, Vec<u8>>(4)?,
                ))
            },
        )
        .optional()
        .map_err(|e| map_sql(db, e))?;
    let Some((serial, lineage, encoding, size, data)) = row else {
        return Ok(None);
    };
    let bytes = decode(&encoding, data, size).map_err(|detail| StoreError::CorruptVersion {
        workspace: workspace.to_owned(),
        serial,
        detail,
    })?;
    Ok(Some((serial, lineage, bytes)))
}

/// Folds schema 1's interrupted applies (runs table + journal files) into new versions, as the
/// old store would have on its next open.
fn fold_old_runs(
    tx: &Transaction<'_>,
    weir_dir: &Path,
    db: &Path,
    old_journals: &mut Vec<std::path::PathBuf>,
) -> Result<usize> {
    let runs: Vec<(String, String, String, String, String, Vec<u8>)> = {
        let mut stmt = tx
            .prepare("SELECT workspace, token, operation, who, encoding, base FROM runs WHERE stack = ?1 ORDER BY id")
            .map_err(|e| map_sql(db, e))?;
        let rows = stmt
            .query_map([STACK], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .map_err(|e| map_sql(db, e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| map_sql(db, e))?
    };
    let mut folded = 0;
    for (workspace, token, operation, who, encoding, base) in runs {
        let path = weir_dir.join("journal").join(format!("{token}.wj"));
        let journal = match std::fs::File::open(&path) {
            Ok(f) => {
                if !FileExt::try_lock_exclusive(&f)? {
                    return Err(migration_error(
                        db,
                        "terraform.tfstate".into(),
                        "an apply by a weir from before this version is still running here; let it finish first",
                    ));
                }
                std::fs::read(&path)?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let corrupt = |detail: String| StoreError::CorruptJournal {
            journal: path.display().to_string(),
            detail,
        };
        let base = decode(&encoding, base, u32::MAX as u64).map_err(corrupt)?;
        let mut state = State::from_slice(&base)?;
        crate::journal::replay(&journal, &mut state).map_err(corrupt)?;
        let latest = latest(tx, db, &workspace)?;
        let changed = match &latest {
            Some((_, lineage, bytes)) => {
                *lineage != state.lineage
                    || !State::from_slice(bytes)
                        .map(|s| s.same_content(&state))
                        .unwrap_or(false)
            }
            None => state.resource_count() > 0 || !state.outputs.is_empty(),
        };
        if changed {
            state.serial = latest.as_ref().map(|l| l.0).unwrap_or(0).max(state.serial) + 1;
            let (enc, data) = crate::sqlite::encode(&state.to_vec())?;
            tx.execute(
                "INSERT INTO versions (stack, workspace, serial, lineage, created, operation, who, encoding, size, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![STACK, workspace, state.serial as i64, state.lineage, now(), format!("{operation} (recovered)"), who, enc, state.to_vec().len() as i64, data],
            )
            .map_err(|e| map_sql(db, e))?;
            folded += 1;
        }
        old_journals.push(path);
    }
    Ok(folded)
}

/// Makes `bytes` the backend's state of `workspace`, under the backend's lock. A state already
/// there is kept if it is the same or a newer serial of the same lineage; anything else is a
/// conflict the user must settle.
fn install(
    backend: &dyn Backend,
    db: &Path,
    workspace: &str,
    serial: u64,
    lineage: &str,
    bytes: &[u8],
    terraform_version: &str,
) -> Result<()> {
    let location = backend.location(workspace);
    backend.create_workspace(workspace)?;
    let info = LockInfo::new("OperationTypeInvalid", terraform_version, location.clone());
    backend
        .lock(workspace, &info)
        .map_err(|e| migration_error(db, location.clone(), format!("it is locked: {e}")))?;
    let result = (|| {
        match backend.get(workspace)? {
            None => backend.put(workspace, bytes)?,
            Some(existing) if existing == bytes => {}
            Some(existing) => {
                let keep = State::from_slice(&existing)
                    .map(|s| s.lineage == lineage && s.serial > serial)
                    .unwrap_or(false);
                if !keep {
                    return Err(migration_error(
                        db,
                        location.clone(),
                        format!(
                            "{location} already holds a different state than the latest version weir kept (lineage {lineage}, serial {serial}); move {location} aside to keep weir's, or move {} aside to keep {location}",
                            db.display()
                        ),
                    ));
                }
            }
        }
        Ok(())
    })();
    let unlocked = backend.unlock(workspace, &info.id);
    result?;
    unlocked?;
    Ok(())
}

pub(crate) fn v1_to_v2(
    tx: &Transaction<'_>,
    weir_dir: &Path,
    db: &Path,
    backend: &dyn Backend,
    terraform_version: &str,
) -> Result<Migrated> {
    refuse_if_old_weir_runs(weir_dir, db)?;
    let mut old_journals = Vec::new();
    let recovered = fold_old_runs(tx, weir_dir, db, &mut old_journals)?;

    let names: Vec<String> = {
        let mut stmt = tx
            .prepare("SELECT name FROM workspaces WHERE stack = ?1 ORDER BY name")
            .map_err(|e| map_sql(db, e))?;
        let rows = stmt
            .query_map([STACK], |r| r.get(0))
            .map_err(|e| map_sql(db, e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| map_sql(db, e))?
    };
    let mut workspaces = Vec::new();
    for name in names {
        let serial = match latest(tx, db, &name)? {
            Some((serial, lineage, bytes)) => {
                install(
                    backend,
                    db,
                    &name,
                    serial,
                    &lineage,
                    &bytes,
                    terraform_version,
                )?;
                Some(serial)
            }
            None => {
                if name != DEFAULT_WORKSPACE {
                    backend.create_workspace(&name)?;
                }
                None
            }
        };
        workspaces.push((name, serial));
    }
    let selected: Option<String> = tx
        .query_row(
            "SELECT workspace FROM selected WHERE stack = ?1",
            [STACK],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| map_sql(db, e))?;

    // History: every old version (all stacks), now with its digest.
    tx.execute_batch("ALTER TABLE versions RENAME TO versions_v1;")
        .map_err(|e| map_sql(db, e))?;
    tx.execute_batch(SCHEMA).map_err(|e| map_sql(db, e))?;
    {
        let mut stmt = tx
            .prepare("SELECT stack, workspace, serial, lineage, created, operation, who, encoding, size, data FROM versions_v1 ORDER BY id")
            .map_err(|e| map_sql(db, e))?;
        let mut rows = stmt.query([]).map_err(|e| map_sql(db, e))?;
        while let Some(r) = rows.next().map_err(|e| map_sql(db, e))? {
            let get = |i| -> rusqlite::Result<String> { r.get(i) };
            let (stack, workspace) = (
                get(0).map_err(|e| map_sql(db, e))?,
                get(1).map_err(|e| map_sql(db, e))?,
            );
            let serial = r.get::<_, i64>(2).map_err(|e| map_sql(db, e))? as u64;
            let (lineage, created, operation, who, encoding) = (
                get(3).map_err(|e| map_sql(db, e))?,
                get(4).map_err(|e| map_sql(db, e))?,
                get(5).map_err(|e| map_sql(db, e))?,
                get(6).map_err(|e| map_sql(db, e))?,
                get(7).map_err(|e| map_sql(db, e))?,
            );
            let size = r.get::<_, i64>(8).map_err(|e| map_sql(db, e))? as u64;
            let data: Vec<u8> = r.get(9).map_err(|e| map_sql(db, e))?;
            let bytes =
                decode(&encoding, data, size).map_err(|detail| StoreError::CorruptVersion {
                    workspace: workspace.clone(),
                    serial,
                    detail,
                })?;
            let digest = crate::digest(&bytes);
            insert_version(
                tx,
                db,
                &stack,
                &workspace,
                &NewVersion {
                    lineage: &lineage,
                    serial,
                    bytes: &bytes,
                    digest: &digest,
                    operation: &operation,
                    who: &who,
                },
                &created,
            )?;
        }
    }
    tx.execute_batch(&format!(
        "DROP TABLE versions_v1; DROP TABLE runs; DROP TABLE locks; DROP TABLE selected; DROP TABLE workspaces; PRAGMA user_version = {SCHEMA_VERSION};"
    ))
    .map_err(|e| map_sql(db, e))?;
    Ok(Migrated {
        db: db.display().to_string(),
        workspaces,
        selected,
        recovered,
        old_journals,
    })
}

/// After the migration committed: the old journals (folded) and lock files (weir now locks the
/// state file itself) are no longer needed.
pub(crate) fn clean_up_after(weir_dir: &Path, migrated: &Migrated) {
    for j in &migrated.old_journals {
        let _ = std::fs::remove_file(j);
    }
    if let Ok(entries) = std::fs::read_dir(weir_dir.join("locks")) {
        for entry in entries.flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let _ = std::fs::remove_dir(weir_dir.join("locks"));
}
