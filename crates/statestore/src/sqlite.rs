//! The embedded store: one SQLite database (WAL mode) per working directory holding every
//! state version of every workspace, apply journals, lock holder rows and the selected
//! workspace; plus OS file locks next to it, which die with their process.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use fs4::fs_std::FileExt;
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Transaction};
use states::{
    CheckResult, InstanceObject, ObjectKey, OutputValue, ResourceAddr, ResourceMode, State,
};

use crate::journal::JournalWriter;
use crate::{
    valid_workspace_name, ApplyJournal, LockError, LockInfo, Result, StateStore, StoreError,
    VersionInfo, WriteMeta, DEFAULT_WORKSPACE,
};

/// File name of the database inside the `.weir` directory.
pub const DB_FILE_NAME: &str = "state.db";
/// Schema version written to `PRAGMA user_version`; a newer one is refused, untouched.
pub const SCHEMA_VERSION: i64 = 1;
/// States larger than this are stored zstd-compressed.
const COMPRESS_OVER: usize = 4096;

const SCHEMA: &str = "
CREATE TABLE workspaces (
    stack TEXT NOT NULL, name TEXT NOT NULL, created TEXT NOT NULL,
    PRIMARY KEY (stack, name));
CREATE TABLE selected (stack TEXT PRIMARY KEY, workspace TEXT NOT NULL);
CREATE TABLE versions (
    id INTEGER PRIMARY KEY,
    stack TEXT NOT NULL, workspace TEXT NOT NULL, serial INTEGER NOT NULL, lineage TEXT NOT NULL,
    created TEXT NOT NULL, operation TEXT NOT NULL, who TEXT NOT NULL,
    encoding TEXT NOT NULL, size INTEGER NOT NULL, data BLOB NOT NULL,
    UNIQUE (stack, workspace, serial));
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    stack TEXT NOT NULL, workspace TEXT NOT NULL, token TEXT NOT NULL UNIQUE,
    operation TEXT NOT NULL, who TEXT NOT NULL, started TEXT NOT NULL,
    encoding TEXT NOT NULL, base BLOB NOT NULL);
CREATE TABLE locks (
    stack TEXT NOT NULL, workspace TEXT NOT NULL, id TEXT NOT NULL, info TEXT NOT NULL,
    PRIMARY KEY (stack, workspace));
";

struct HeldLock {
    id: String,
    // Holding the open file holds the OS lock; dropping it releases the lock.
    _file: File,
}

/// The embedded SQLite state store for one stack.
pub struct SqliteStore {
    dir: PathBuf,
    db_path: PathBuf,
    stack: String,
    conn: Mutex<Connection>,
    held: Mutex<HashMap<String, HeldLock>>,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

fn lock_mutex<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the mutex leaves SQLite consistent (transactions roll back).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps file names portable: `[A-Za-z0-9._-]` as is, anything else as `%XX`.
fn fs_safe(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn encode(bytes: &[u8]) -> Result<(&'static str, Vec<u8>)> {
    if bytes.len() > COMPRESS_OVER {
        Ok(("zstd", zstd::bulk::compress(bytes, 3)?))
    } else {
        Ok(("identity", bytes.to_vec()))
    }
}

fn decode(encoding: &str, data: Vec<u8>, size: u64) -> std::result::Result<Vec<u8>, String> {
    match encoding {
        "identity" => Ok(data),
        "zstd" => zstd::bulk::decompress(&data, size as usize).map_err(|e| e.to_string()),
        other => Err(format!("unknown encoding {other:?}")),
    }
}

fn open_lock_file(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    Ok(OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)?)
}

fn try_lock(file: &File) -> Result<bool> {
    Ok(FileExt::try_lock_exclusive(file)?)
}

fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
    )
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(30))?;
    // WAL + NORMAL: a commit is written to the WAL (OS page cache) before it returns, so it
    // survives the process being killed; only an OS crash or power loss can lose the last
    // commits (never corrupting the database). FULL would fsync every commit (milliseconds each).
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

const VERSION_COLS: &str = "serial, lineage, created, operation, who, size";

fn version_info(row: &rusqlite::Row<'_>) -> rusqlite::Result<VersionInfo> {
    Ok(VersionInfo {
        serial: row.get::<_, i64>(0)? as u64,
        lineage: row.get(1)?,
        created: row.get(2)?,
        operation: row.get(3)?,
        who: row.get(4)?,
        size: row.get::<_, i64>(5)? as u64,
    })
}

/// What the version-writing helpers need; shared by the store and its journals.
struct Ctx<'a> {
    stack: &'a str,
    db_path: &'a Path,
}

impl Ctx<'_> {
    fn map_sql(&self, e: rusqlite::Error) -> StoreError {
        if is_corruption(&e) {
            StoreError::Corrupt {
                path: self.db_path.display().to_string(),
                detail: e.to_string(),
            }
        } else {
            StoreError::Sqlite(e)
        }
    }

    fn latest(&self, conn: &Connection, workspace: &str) -> Result<Option<(VersionInfo, Vec<u8>)>> {
        self.version_where(conn, workspace, "ORDER BY serial DESC LIMIT 1", None)
    }

    fn version_where(
        &self,
        conn: &Connection,
        workspace: &str,
        tail: &str,
        serial: Option<u64>,
    ) -> Result<Option<(VersionInfo, Vec<u8>)>> {
        let sql = format!(
            "SELECT {VERSION_COLS}, encoding, data FROM versions WHERE stack = ?1 AND workspace = ?2 {} {tail}",
            if serial.is_some() { "AND serial = ?3" } else { "AND ?3 IS NULL" }
        );
        let row = conn
            .query_row(
                &sql,
                params![self.stack, workspace, serial.map(|s| s as i64)],
                |r| {
                    Ok((
                        version_info(r)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, Vec<u8>>(7)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.map_sql(e))?;
        let Some((info, encoding, data)) = row else {
            return Ok(None);
        };
        let bytes =
            decode(&encoding, data, info.size).map_err(|detail| StoreError::CorruptVersion {
                workspace: workspace.to_owned(),
                serial: info.serial,
                detail,
            })?;
        Ok(Some((info, bytes)))
    }

    /// Persists `state` as the next version. Unless `changed`, first checks whether the content
    /// equals the latest version and writes nothing then.
    fn persist(
        &self,
        tx: &Transaction<'_>,
        workspace: &str,
        state: &mut State,
        meta: &WriteMeta,
        changed: bool,
    ) -> Result<VersionInfo> {
        let latest = self.latest(tx, workspace)?;
        let wanted = state.serial;
        if let (Some((info, bytes)), false) = (&latest, changed) {
            state.serial = info.serial;
            if state.lineage == info.lineage && state.to_vec() == *bytes {
                return Ok(info.clone());
            }
        }
        state.serial = latest
            .as_ref()
            .map(|(i, _)| i.serial)
            .unwrap_or(0)
            .max(wanted)
            + 1;
        if state.lineage.is_empty() {
            state.lineage = states::new_lineage();
        }
        self.insert_version(
            tx,
            workspace,
            state.serial,
            &state.lineage,
            &state.to_vec(),
            meta,
        )
    }

    fn insert_version(
        &self,
        tx: &Transaction<'_>,
        workspace: &str,
        serial: u64,
        lineage: &str,
        bytes: &[u8],
        meta: &WriteMeta,
    ) -> Result<VersionInfo> {
        let (encoding, data) = encode(bytes)?;
        let info = VersionInfo {
            serial,
            lineage: lineage.to_owned(),
            created: now(),
            operation: meta.operation.clone(),
            who: meta.who.clone(),
            size: bytes.len() as u64,
        };
        tx.execute(
            "INSERT INTO versions (stack, workspace, serial, lineage, created, operation, who, encoding, size, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![self.stack, workspace, serial as i64, lineage, info.created, info.operation, info.who, encoding, bytes.len() as i64, data],
        )
        .map_err(|e| self.map_sql(e))?;
        Ok(info)
    }
}

impl SqliteStore {
    /// Opens (creating if needed) `<weir_dir>/state.db` for `stack`. Refuses a corrupt database
    /// or one from a newer weir without changing it. Interrupted applies whose process is gone
    /// are folded into new versions.
    pub fn open(weir_dir: &Path, stack: &str) -> Result<SqliteStore> {
        std::fs::create_dir_all(weir_dir)?;
        let db_path = weir_dir.join(DB_FILE_NAME);
        let path_str = db_path.display().to_string();
        let corrupt = |e: rusqlite::Error| {
            if is_corruption(&e) {
                StoreError::Corrupt {
                    path: path_str.clone(),
                    detail: e.to_string(),
                }
            } else {
                StoreError::Sqlite(e)
            }
        };
        let conn = Connection::open(&db_path).map_err(corrupt)?;
        // Read-only checks first, so a file we refuse is left exactly as it was.
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(corrupt)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: path_str,
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(corrupt)?;
        if version == 0 && tables > 0 {
            return Err(StoreError::Corrupt {
                path: path_str,
                detail: "the file is an SQLite database of something else".into(),
            });
        }
        if version == SCHEMA_VERSION {
            let ok: i64 = conn
                .query_row("SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN ('workspaces','selected','versions','runs','locks')", [], |r| r.get(0))
                .map_err(corrupt)?;
            if ok != 5 {
                return Err(StoreError::Corrupt {
                    path: path_str,
                    detail: "tables are missing".into(),
                });
            }
        }
        configure(&conn).map_err(corrupt)?;
        if version == 0 {
            conn.execute_batch(&format!(
                "BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            ))
            .map_err(corrupt)?;
        }
        conn.execute(
            "INSERT OR IGNORE INTO workspaces (stack, name, created) VALUES (?1, ?2, ?3)",
            params![stack, DEFAULT_WORKSPACE, now()],
        )
        .map_err(corrupt)?;
        let store = SqliteStore {
            dir: weir_dir.to_owned(),
            db_path,
            stack: stack.to_owned(),
            conn: Mutex::new(conn),
            held: Mutex::new(HashMap::new()),
        };
        store.recover(None)?;
        Ok(store)
    }

    /// Opens the store of a working directory: `<workdir>/.weir/state.db`, stack `default`.
    pub fn open_workdir(workdir: &Path) -> Result<SqliteStore> {
        SqliteStore::open(&workdir.join(".weir"), "default")
    }

    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    pub fn stack(&self) -> &str {
        &self.stack
    }

    fn lock_path(&self, workspace: &str) -> PathBuf {
        self.dir.join("locks").join(format!(
            "{}.{}.lock",
            fs_safe(&self.stack),
            fs_safe(workspace)
        ))
    }

    fn journal_path(dir: &Path, token: &str) -> PathBuf {
        dir.join("journal").join(format!("{token}.wj"))
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        lock_mutex(&self.conn)
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            stack: &self.stack,
            db_path: &self.db_path,
        }
    }

    fn map_sql(&self, e: rusqlite::Error) -> StoreError {
        self.ctx().map_sql(e)
    }
    fn ensure_workspace(&self, conn: &Connection, workspace: &str) -> Result<()> {
        let exists: bool = conn
            .query_row(
                "SELECT 1 FROM workspaces WHERE stack = ?1 AND name = ?2",
                params![self.stack, workspace],
                |_| Ok(true),
            )
            .optional()
            .map_err(|e| self.map_sql(e))?
            .unwrap_or(false);
        if exists {
            Ok(())
        } else {
            Err(StoreError::NoSuchWorkspace(workspace.to_owned()))
        }
    }

    /// Folds journals of interrupted applies (whose writer process is gone) into new versions;
    /// `workspace` limits it to one. Returns what was recovered.
    pub fn recover(&self, workspace: Option<&str>) -> Result<Vec<(String, VersionInfo)>> {
        let runs: Vec<(i64, String, String)> = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare("SELECT id, workspace, token FROM runs WHERE stack = ?1 AND (?2 IS NULL OR workspace = ?2) ORDER BY id")
                .map_err(|e| self.map_sql(e))?;
            let rows = stmt
                .query_map(params![self.stack, workspace], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .map_err(|e| self.map_sql(e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.map_sql(e))?
        };
        let mut out = Vec::new();
        for (run, ws, token) in runs {
            let path = Self::journal_path(&self.dir, &token);
            let mut file = open_lock_file(&path)?;
            if !try_lock(&file)? {
                continue; // its writer is alive
            }
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut bytes)?;
            if let Some(info) = self.fold_run(run, &ws, &bytes)? {
                out.push((ws, info));
            }
            drop(file);
            let _ = std::fs::remove_file(&path);
        }
        self.remove_orphan_journals()?;
        Ok(out)
    }

    /// Deletes journal files no run refers to (left when a process died between committing
    /// its version and deleting the file). A file still locked belongs to a run being started.
    fn remove_orphan_journals(&self) -> Result<()> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("journal")) else {
            return Ok(());
        };
        let tokens: std::collections::HashSet<String> = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare("SELECT token FROM runs")
                .map_err(|e| self.map_sql(e))?;
            let rows = stmt
                .query_map([], |r| r.get(0))
                .map_err(|e| self.map_sql(e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.map_sql(e))?
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(token) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".wj"))
            else {
                continue;
            };
            if tokens.contains(token) {
                continue;
            }
            if let Ok(file) = File::open(&path) {
                if try_lock(&file).unwrap_or(false) {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        Ok(())
    }

    fn fold_run(&self, run: i64, workspace: &str, journal: &[u8]) -> Result<Option<VersionInfo>> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.map_sql(e))?;
        // Another process may have folded it between our listing and taking its lock.
        let row = tx
            .query_row(
                "SELECT operation, who, encoding, base FROM runs WHERE id = ?1",
                [run],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.map_sql(e))?;
        let Some((operation, who, encoding, base)) = row else {
            return Ok(None);
        };
        let corrupt = |detail: String| StoreError::CorruptVersion {
            workspace: workspace.to_owned(),
            serial: 0,
            detail: format!("interrupted apply journal: {detail}"),
        };
        let base = decode(&encoding, base, u32::MAX as u64).map_err(corrupt)?;
        let mut state = State::from_slice(&base)?;
        crate::journal::replay(journal, &mut state).map_err(corrupt)?;
        let meta = WriteMeta {
            operation: format!("{operation} (recovered)"),
            who,
        };
        let info = self
            .ctx()
            .persist(&tx, workspace, &mut state, &meta, false)?;
        tx.execute("DELETE FROM runs WHERE id = ?1", [run])
            .map_err(|e| self.map_sql(e))?;
        tx.commit().map_err(|e| self.map_sql(e))?;
        Ok(Some(info))
    }

    fn read_lock_row(&self, workspace: &str) -> Result<Option<LockInfo>> {
        let conn = self.conn();
        let info: Option<String> = conn
            .query_row(
                "SELECT info FROM locks WHERE stack = ?1 AND workspace = ?2",
                params![self.stack, workspace],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.map_sql(e))?;
        Ok(info.and_then(|i| serde_json::from_str(&i).ok()))
    }

    fn delete_lock_row(&self, workspace: &str) -> Result<()> {
        self.conn()
            .execute(
                "DELETE FROM locks WHERE stack = ?1 AND workspace = ?2",
                params![self.stack, workspace],
            )
            .map_err(|e| self.map_sql(e))?;
        Ok(())
    }

    fn state_of(&self, workspace: &str, bytes: &[u8], serial: u64) -> Result<State> {
        State::from_slice(bytes).map_err(|e| StoreError::CorruptVersion {
            workspace: workspace.to_owned(),
            serial,
            detail: e.to_string(),
        })
    }
}

impl StateStore for SqliteStore {
    fn workspaces(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT name FROM workspaces WHERE stack = ?1 ORDER BY name")
            .map_err(|e| self.map_sql(e))?;
        let names: Vec<String> = stmt
            .query_map([&self.stack], |r| r.get(0))
            .map_err(|e| self.map_sql(e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.map_sql(e))?;
        // Terraform lists "default" first, then the rest sorted.
        let mut out = vec![DEFAULT_WORKSPACE.to_owned()];
        out.extend(names.into_iter().filter(|n| n != DEFAULT_WORKSPACE));
        Ok(out)
    }

    fn create_workspace(&self, name: &str) -> Result<()> {
        if !valid_workspace_name(name) {
            return Err(StoreError::InvalidWorkspaceName(name.to_owned()));
        }
        let n = self
            .conn()
            .execute(
                "INSERT OR IGNORE INTO workspaces (stack, name, created) VALUES (?1, ?2, ?3)",
                params![self.stack, name, now()],
            )
            .map_err(|e| self.map_sql(e))?;
        if n == 0 {
            return Err(StoreError::WorkspaceExists(name.to_owned()));
        }
        Ok(())
    }

    fn delete_workspace(&self, name: &str, force: bool) -> Result<()> {
        self.ensure_workspace(&self.conn(), name)?;
        if self.selected_workspace()? == name {
            return Err(StoreError::DeleteActiveWorkspace(name.to_owned()));
        }
        if name == DEFAULT_WORKSPACE {
            return Err(StoreError::DeleteDefaultWorkspace);
        }
        // Hold the workspace lock so nobody is applying to it while it disappears.
        let info = LockInfo::new("OperationTypeInvalid", "", "");
        self.lock(name, &info, Duration::ZERO)?;
        let result = (|| {
            if !force {
                if let Some(state) = self.current(name)? {
                    let instances: Vec<String> = state
                        .resources()
                        .filter(|(a, _)| a.mode == ResourceMode::Managed)
                        .flat_map(|(a, r)| {
                            r.objects()
                                .filter(|(k, _)| k.deposed.is_none())
                                .map(move |(k, _)| match &k.key {
                                    Some(key) => format!("{a}{key}"),
                                    None => a.to_string(),
                                })
                        })
                        .collect();
                    if state.has_managed_objects() {
                        return Err(StoreError::WorkspaceNotEmpty {
                            workspace: name.to_owned(),
                            instances,
                        });
                    }
                }
            }
            let mut conn = self.conn();
            let tx = conn.transaction().map_err(|e| self.map_sql(e))?;
            for sql in [
                "DELETE FROM runs WHERE stack = ?1 AND workspace = ?2",
                "DELETE FROM versions WHERE stack = ?1 AND workspace = ?2",
                "DELETE FROM workspaces WHERE stack = ?1 AND name = ?2",
            ] {
                tx.execute(sql, params![self.stack, name])
                    .map_err(|e| self.map_sql(e))?;
            }
            tx.commit().map_err(|e| self.map_sql(e))?;
            Ok(())
        })();
        self.unlock(name, &info.id)?;
        let _ = std::fs::remove_file(self.lock_path(name));
        result
    }

    fn selected_workspace(&self) -> Result<String> {
        let ws: Option<String> = self
            .conn()
            .query_row(
                "SELECT workspace FROM selected WHERE stack = ?1",
                [&self.stack],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.map_sql(e))?;
        Ok(ws.unwrap_or_else(|| DEFAULT_WORKSPACE.to_owned()))
    }

    fn select_workspace(&self, name: &str) -> Result<()> {
        let conn = self.conn();
        self.ensure_workspace(&conn, name)?;
        conn.execute(
            "INSERT OR REPLACE INTO selected (stack, workspace) VALUES (?1, ?2)",
            params![self.stack, name],
        )
        .map_err(|e| self.map_sql(e))?;
        Ok(())
    }

    fn current(&self, workspace: &str) -> Result<Option<State>> {
        match self.current_bytes(workspace)? {
            Some((info, bytes)) => Ok(Some(self.state_of(workspace, &bytes, info.serial)?)),
            None => Ok(None),
        }
    }

    fn current_bytes(&self, workspace: &str) -> Result<Option<(VersionInfo, Vec<u8>)>> {
        let conn = self.conn();
        self.ensure_workspace(&conn, workspace)?;
        self.ctx().latest(&conn, workspace)
    }

    fn history(&self, workspace: &str) -> Result<Vec<VersionInfo>> {
        let conn = self.conn();
        self.ensure_workspace(&conn, workspace)?;
        let mut stmt = conn
            .prepare(&format!("SELECT {VERSION_COLS} FROM versions WHERE stack = ?1 AND workspace = ?2 ORDER BY serial"))
            .map_err(|e| self.map_sql(e))?;
        let out = stmt
            .query_map(params![self.stack, workspace], version_info)
            .map_err(|e| self.map_sql(e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.map_sql(e))?;
        Ok(out)
    }

    fn get(&self, workspace: &str, serial: u64) -> Result<Option<(VersionInfo, Vec<u8>)>> {
        let conn = self.conn();
        self.ensure_workspace(&conn, workspace)?;
        self.ctx().version_where(&conn, workspace, "", Some(serial))
    }

    fn write(&self, workspace: &str, state: &mut State, meta: &WriteMeta) -> Result<VersionInfo> {
        let mut conn = self.conn();
        self.ensure_workspace(&conn, workspace)?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.map_sql(e))?;
        let info = self.ctx().persist(&tx, workspace, state, meta, false)?;
        tx.commit().map_err(|e| self.map_sql(e))?;
        Ok(info)
    }

    fn rollback(&self, workspace: &str, serial: u64, meta: &WriteMeta) -> Result<VersionInfo> {
        let mut conn = self.conn();
        self.ensure_workspace(&conn, workspace)?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.map_sql(e))?;
        let (_, bytes) = self
            .ctx()
            .version_where(&tx, workspace, "", Some(serial))?
            .ok_or_else(|| StoreError::NoSuchVersion {
                workspace: workspace.to_owned(),
                serial,
            })?;
        let mut state = self.state_of(workspace, &bytes, serial)?;
        // Always a new version, even if the content equals the latest: the history shows the rollback.
        let latest = self
            .ctx()
            .latest(&tx, workspace)?
            .map(|(i, _)| i.serial)
            .unwrap_or(0);
        state.serial = latest + 1;
        let info = self.ctx().insert_version(
            &tx,
            workspace,
            state.serial,
            &state.lineage,
            &state.to_vec(),
            meta,
        )?;
        tx.commit().map_err(|e| self.map_sql(e))?;
        Ok(info)
    }

    fn push(
        &self,
        workspace: &str,
        state: &State,
        force: bool,
        meta: &WriteMeta,
    ) -> Result<VersionInfo> {
        let mut conn = self.conn();
        self.ensure_workspace(&conn, workspace)?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.map_sql(e))?;
        let latest = self.ctx().latest(&tx, workspace)?;
        let mut state = state.clone();
        if let Some((info, bytes)) = &latest {
            let current = self.state_of(workspace, bytes, info.serial)?;
            if !force {
                if state.lineage != info.lineage {
                    return Err(StoreError::PushLineage {
                        new: state.lineage.clone(),
                        current: info.lineage.clone(),
                    });
                }
                if state.serial < info.serial {
                    return Err(StoreError::PushOlderSerial {
                        new: state.serial,
                        current: info.serial,
                    });
                }
                if state.serial == info.serial && !state.same_content(&current) {
                    return Err(StoreError::PushSameSerial(state.serial));
                }
            }
            if state.serial == info.serial
                && state.lineage == info.lineage
                && state.same_content(&current)
            {
                return Ok(info.clone());
            }
            if state.serial <= info.serial {
                state.serial = info.serial + 1;
            }
        }
        if state.lineage.is_empty() {
            state.lineage = states::new_lineage();
        }
        // Serials start at 1 in the history, as after a first apply.
        state.serial = state.serial.max(1);
        let bytes = state.to_vec();
        let info = self.ctx().insert_version(
            &tx,
            workspace,
            state.serial,
            &state.lineage,
            &bytes,
            meta,
        )?;
        tx.commit().map_err(|e| self.map_sql(e))?;
        Ok(info)
    }

    fn begin_apply(
        &self,
        workspace: &str,
        base: &State,
        meta: &WriteMeta,
    ) -> Result<Box<dyn ApplyJournal>> {
        self.ensure_workspace(&self.conn(), workspace)?;
        // The journal file is created and locked before its run row exists, so recovery never
        // mistakes a starting run for a dead one.
        let token = uuid::Uuid::new_v4().to_string();
        let path = Self::journal_path(&self.dir, &token);
        let file = open_lock_file(&path)?;
        if !try_lock(&file)? {
            return Err(StoreError::Io(std::io::Error::other(
                "a fresh journal file is already locked",
            )));
        }
        let (encoding, data) = encode(&base.to_compact_vec())?;
        let run = {
            // One guard for both calls: another thread's insert must not change the rowid.
            let conn = self.conn();
            conn.execute(
                "INSERT INTO runs (stack, workspace, token, operation, who, started, encoding, base) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![self.stack, workspace, token, meta.operation, meta.who, now(), encoding, data],
            )
            .map_err(|e| self.map_sql(e))?;
            conn.last_insert_rowid()
        };
        Ok(Box::new(SqliteJournal {
            writer: Some(JournalWriter::new(file)),
            path,
            run,
            stack: self.stack.clone(),
            workspace: workspace.to_owned(),
            db_path: self.db_path.clone(),
            state: base.clone(),
            meta: meta.clone(),
            changed: false,
        }))
    }

    fn lock(&self, workspace: &str, info: &LockInfo, timeout: Duration) -> Result<()> {
        self.ensure_workspace(&self.conn(), workspace)?;
        let deadline = Instant::now() + timeout;
        let mut delay = Duration::from_millis(2);
        let path = self.lock_path(workspace);
        loop {
            if lock_mutex(&self.held).contains_key(workspace) {
                return Err(LockError::Held {
                    reason: "the state is already locked by this process".into(),
                    holder: self.read_lock_row(workspace)?.map(Box::new),
                }
                .into());
            }
            let file = open_lock_file(&path)?;
            if try_lock(&file)? {
                let json = serde_json::to_string(info)
                    .map_err(|e| StoreError::Io(std::io::Error::other(e)))?;
                self.conn()
                    .execute("INSERT OR REPLACE INTO locks (stack, workspace, id, info) VALUES (?1, ?2, ?3, ?4)", params![self.stack, workspace, info.id, json])
                    .map_err(|e| self.map_sql(e))?;
                lock_mutex(&self.held).insert(
                    workspace.to_owned(),
                    HeldLock {
                        id: info.id.clone(),
                        _file: file,
                    },
                );
                // The previous holder may have died mid-apply: make its work visible now.
                if let Err(e) = self.recover(Some(workspace)) {
                    let _ = self.unlock(workspace, &info.id);
                    return Err(e);
                }
                return Ok(());
            }
            drop(file);
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(LockError::Held {
                    reason: "resource temporarily unavailable".into(),
                    holder: self.read_lock_row(workspace)?.map(Box::new),
                }
                .into());
            }
            std::thread::sleep(delay.min(left));
            delay = (delay * 2).min(Duration::from_millis(100));
        }
    }

    fn unlock(&self, workspace: &str, id: &str) -> Result<()> {
        let mut held = lock_mutex(&self.held);
        match held.get(workspace) {
            Some(h) if h.id == id => {
                self.delete_lock_row(workspace)?;
                held.remove(workspace);
                Ok(())
            }
            Some(h) => Err(LockError::IdMismatch {
                given: id.to_owned(),
                held: h.id.clone(),
            }
            .into()),
            None => {
                drop(held);
                let file = open_lock_file(&self.lock_path(workspace))?;
                if try_lock(&file)? {
                    Err(LockError::NotLocked.into())
                } else {
                    Err(LockError::OtherProcess.into())
                }
            }
        }
    }

    fn force_unlock(&self, workspace: &str, id: &str) -> Result<()> {
        if lock_mutex(&self.held).contains_key(workspace) {
            return self.unlock(workspace, id);
        }
        let file = open_lock_file(&self.lock_path(workspace))?;
        if !try_lock(&file)? {
            return Err(LockError::OtherProcess.into());
        }
        // Nobody holds the OS lock: whatever row is left is stale holder info.
        match self.read_lock_row(workspace)? {
            Some(row) if row.id == id => self.delete_lock_row(workspace),
            Some(row) => Err(LockError::IdMismatch {
                given: id.to_owned(),
                held: row.id,
            }
            .into()),
            None => Err(LockError::NotLocked.into()),
        }
    }

    fn lock_holder(&self, workspace: &str) -> Result<Option<LockInfo>> {
        if lock_mutex(&self.held).contains_key(workspace) {
            return self.read_lock_row(workspace);
        }
        let file = open_lock_file(&self.lock_path(workspace))?;
        if try_lock(&file)? {
            return Ok(None);
        }
        self.read_lock_row(workspace)
    }
}

/// Journal of one apply: frames appended to its journal file (see [`crate::journal`]).
struct SqliteJournal {
    /// Owns the locked journal file; `None` after finish.
    writer: Option<JournalWriter>,
    path: PathBuf,
    run: i64,
    stack: String,
    workspace: String,
    db_path: PathBuf,
    state: State,
    meta: WriteMeta,
    changed: bool,
}

impl SqliteJournal {
    fn writer(&mut self) -> Result<&mut JournalWriter> {
        self.writer.as_mut().ok_or_else(|| {
            StoreError::Io(std::io::Error::other(
                "the apply journal is already finished",
            ))
        })
    }
}

impl ApplyJournal for SqliteJournal {
    fn record_instance(
        &mut self,
        addr: &ResourceAddr,
        provider: &str,
        key: &ObjectKey,
        object: Option<&InstanceObject>,
    ) -> Result<()> {
        self.writer()?.object(addr, provider, key, object)?;
        let prev = self
            .state
            .set_object(addr, provider, key.clone(), object.cloned());
        self.changed |= prev.as_ref() != object;
        Ok(())
    }

    fn record_output(&mut self, name: &str, output: Option<&OutputValue>) -> Result<()> {
        self.writer()?.output(name, output)?;
        let prev = match output {
            Some(o) => self.state.outputs.insert(name.to_owned(), o.clone()),
            None => self.state.outputs.remove(name),
        };
        self.changed |= prev.as_ref() != output;
        Ok(())
    }

    fn record_check_results(&mut self, results: Option<&[CheckResult]>) -> Result<()> {
        let results = results.map(|r| r.to_vec());
        self.writer()?
            .checks(&states::check_results_to_compact_json(&results))?;
        self.changed |= self.state.check_results != results;
        self.state.check_results = results;
        Ok(())
    }

    fn state(&self) -> &State {
        &self.state
    }

    fn finish(mut self: Box<Self>) -> Result<VersionInfo> {
        let ctx = Ctx {
            stack: &self.stack,
            db_path: &self.db_path,
        };
        let mut conn = Connection::open(&self.db_path).map_err(|e| ctx.map_sql(e))?;
        configure(&conn).map_err(|e| ctx.map_sql(e))?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| ctx.map_sql(e))?;
        let info = ctx.persist(
            &tx,
            &self.workspace,
            &mut self.state,
            &self.meta,
            self.changed,
        )?;
        tx.execute("DELETE FROM runs WHERE id = ?1", [self.run])
            .map_err(|e| ctx.map_sql(e))?;
        tx.commit().map_err(|e| ctx.map_sql(e))?;
        // Committed: the journal is no longer needed. Unlock (drop) before removing it.
        self.writer.take();
        let _ = std::fs::remove_file(&self.path);
        Ok(info)
    }
}
