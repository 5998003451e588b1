//! The embedded [`History`]: every recorded version in one SQLite database (WAL mode),
//! `<workdir>/.weir/state.db`, and apply journals as files in `<workdir>/.weir/journal/`.
//!
//! Opening is safe under concurrency: ten first runs in a fresh directory race to create the
//! database, and exactly one creates the schema inside a write transaction while the others
//! wait for it and find it made. Schema 1 (weir's store before the state of record moved to
//! Terraform's layout) is migrated on open, see [`crate::migrate`].

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use fs4::fs_std::FileExt;
use rusqlite::{params, Connection, ErrorCode, OptionalExtension};
use states::{CheckResult, InstanceObject, ObjectKey, OutputValue, ResourceAddr};

use crate::backend::Backend;
use crate::history::{History, JournalHeader, JournalWriter, NewVersion, PendingJournal};
use crate::journal::{self, JournalWriter as Frames};
use crate::{Migrated, Result, StoreError, VersionInfo};

/// The directory beside the state of record where weir keeps its own records.
pub const WEIR_DIR: &str = ".weir";
/// File name of the database inside [`WEIR_DIR`].
pub const DB_FILE_NAME: &str = "state.db";
/// Schema version written to `PRAGMA user_version`; a newer one is refused, untouched.
/// 1: weir kept the state itself (versions, workspaces, selection, locks, runs).
/// 2: history only; the state of record is the backend's.
pub const SCHEMA_VERSION: i64 = 2;
/// States larger than this are stored zstd-compressed.
const COMPRESS_OVER: usize = 4096;
/// How long to wait for another process's write transaction on the database.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) const SCHEMA: &str = "
CREATE TABLE versions (
    id INTEGER PRIMARY KEY,
    stack TEXT NOT NULL, workspace TEXT NOT NULL, serial INTEGER NOT NULL, lineage TEXT NOT NULL,
    created TEXT NOT NULL, operation TEXT NOT NULL, who TEXT NOT NULL,
    encoding TEXT NOT NULL, size INTEGER NOT NULL, digest TEXT NOT NULL, data BLOB NOT NULL);
CREATE INDEX versions_by_serial ON versions (stack, workspace, serial);
CREATE INDEX versions_by_digest ON versions (stack, workspace, digest);
";

/// History and journals in `<workdir>/.weir/`.
pub struct SqliteHistory {
    dir: PathBuf,
    db_path: PathBuf,
    stack: String,
    conn: Mutex<Connection>,
}

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
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

pub(crate) fn encode(bytes: &[u8]) -> std::io::Result<(&'static str, Vec<u8>)> {
    if bytes.len() > COMPRESS_OVER {
        Ok(("zstd", zstd::bulk::compress(bytes, 3)?))
    } else {
        Ok(("identity", bytes.to_vec()))
    }
}

pub(crate) fn decode(
    encoding: &str,
    data: Vec<u8>,
    size: u64,
) -> std::result::Result<Vec<u8>, String> {
    match encoding {
        "identity" => Ok(data),
        "zstd" => zstd::bulk::decompress(&data, size as usize).map_err(|e| e.to_string()),
        other => Err(format!("unknown encoding {other:?}")),
    }
}

fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
    )
}

pub(crate) fn map_sql(path: &Path, e: rusqlite::Error) -> StoreError {
    if is_corruption(&e) {
        StoreError::Corrupt {
            path: path.display().to_string(),
            detail: e.to_string(),
        }
    } else {
        StoreError::Database {
            path: path.display().to_string(),
            detail: e.to_string(),
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Runs `f` again while SQLite answers "busy" without calling its busy handler (switching to
/// WAL, or a reader becoming a writer), up to [`BUSY_TIMEOUT`].
fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    let mut delay = Duration::from_millis(1);
    loop {
        match f() {
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

const VERSION_COLS: &str = "serial, lineage, created, operation, who, size, digest";

fn version_info(row: &rusqlite::Row<'_>) -> rusqlite::Result<VersionInfo> {
    Ok(VersionInfo {
        serial: row.get::<_, i64>(0)? as u64,
        lineage: row.get(1)?,
        created: row.get(2)?,
        operation: row.get(3)?,
        who: row.get(4)?,
        size: row.get::<_, i64>(5)? as u64,
        digest: row.get(6)?,
    })
}

/// The schema version of an existing database, read without changing anything (`None` if it
/// cannot be read at all).
pub(crate) fn peek_schema(db_path: &Path) -> Option<i64> {
    let conn =
        Connection::open_with_flags(db_path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    conn.query_row("PRAGMA user_version", [], |r| r.get(0)).ok()
}

/// Inserts one version row (no duplicate check).
pub(crate) fn insert_version(
    conn: &Connection,
    db_path: &Path,
    stack: &str,
    workspace: &str,
    v: &NewVersion<'_>,
    created: &str,
) -> Result<VersionInfo> {
    let (encoding, data) = encode(v.bytes)?;
    conn.execute(
        "INSERT INTO versions (stack, workspace, serial, lineage, created, operation, who, encoding, size, digest, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![stack, workspace, v.serial as i64, v.lineage, created, v.operation, v.who, encoding, v.bytes.len() as i64, v.digest, data],
    )
    .map_err(|e| map_sql(db_path, e))?;
    Ok(VersionInfo {
        serial: v.serial,
        lineage: v.lineage.to_owned(),
        created: created.to_owned(),
        operation: v.operation.to_owned(),
        who: v.who.to_owned(),
        size: v.bytes.len() as u64,
        digest: v.digest.to_owned(),
    })
}

impl SqliteHistory {
    /// Opens (creating if needed) `<weir_dir>/state.db` for `stack`. Refuses a corrupt database
    /// or one from a newer weir without changing it. A schema-1 database is migrated: its
    /// latest versions become the state of record in `backend` (see [`Migrated`]).
    pub fn open(
        weir_dir: &Path,
        stack: &str,
        backend: &dyn Backend,
        terraform_version: &str,
    ) -> Result<(SqliteHistory, Option<Migrated>)> {
        match SqliteHistory::open_writable(weir_dir, stack, backend, terraform_version) {
            Err(StoreError::Database { .. }) if weir_dir.join(DB_FILE_NAME).is_file() => {
                // A directory the user may read but not write: history can still be listed
                // (and rolled back from elsewhere); recording fails, and reading commands skip it.
                SqliteHistory::open_read_only(weir_dir, stack).map(|h| (h, None))
            }
            other => other,
        }
    }

    fn open_read_only(weir_dir: &Path, stack: &str) -> Result<SqliteHistory> {
        use rusqlite::OpenFlags;
        let db_path = weir_dir.join(DB_FILE_NAME);
        let sql = |e| map_sql(&db_path, e);
        let version_of =
            |conn: &Connection| conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0));
        let conn =
            Connection::open_with_flags(&db_path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sql)?;
        let (conn, version) = match version_of(&conn) {
            Ok(v) => (conn, v),
            // A WAL database whose shared-memory file cannot be created here: read the file
            // as it is (commits still in a WAL file someone else holds are not seen).
            Err(_) => {
                let uri = format!(
                    "file:{}?immutable=1",
                    db_path
                        .display()
                        .to_string()
                        .replace('%', "%25")
                        .replace('?', "%3f")
                        .replace('#', "%23")
                );
                let conn = Connection::open_with_flags(
                    &uri,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
                )
                .map_err(sql)?;
                let v = version_of(&conn).map_err(sql)?;
                (conn, v)
            }
        };
        if version != SCHEMA_VERSION {
            return Err(StoreError::Database {
                path: db_path.display().to_string(),
                detail: format!("schema version {version} cannot be used read-only"),
            });
        }
        Ok(SqliteHistory {
            dir: weir_dir.to_owned(),
            db_path,
            stack: stack.to_owned(),
            conn: Mutex::new(conn),
        })
    }

    fn open_writable(
        weir_dir: &Path,
        stack: &str,
        backend: &dyn Backend,
        terraform_version: &str,
    ) -> Result<(SqliteHistory, Option<Migrated>)> {
        std::fs::create_dir_all(weir_dir)?;
        let db_path = weir_dir.join(DB_FILE_NAME);
        let sql = |e| map_sql(&db_path, e);
        let mut conn = Connection::open(&db_path).map_err(sql)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        // Read-only checks first, so a file we refuse is left exactly as it was. Version and
        // tables come from one snapshot: read apart, another process creating the schema in
        // between would make a fresh database look like someone else's.
        let snapshot = |conn: &Connection| -> Result<(i64, i64)> {
            retry_busy(|| {
                conn.query_row(
                    "SELECT user_version, (SELECT count(*) FROM sqlite_master) FROM pragma_user_version()",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
            })
            .map_err(sql)
        };
        let foreign = |(version, tables): (i64, i64)| -> Result<()> {
            if version == 0 && tables > 0 {
                return Err(StoreError::Corrupt {
                    path: db_path.display().to_string(),
                    detail: "the file is an SQLite database of something else".into(),
                });
            }
            Ok(())
        };
        let (version, tables) = snapshot(&conn)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: db_path.display().to_string(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        // Before switching to WAL, which rewrites the file header.
        foreign((version, tables))?;
        // WAL + NORMAL: a commit is in the WAL (OS page cache) when it returns, so it survives
        // the process being killed; only an OS crash can lose the last commits, never corrupt.
        retry_busy(|| conn.pragma_update(None, "journal_mode", "WAL")).map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        let mut migrated = None;
        if version != SCHEMA_VERSION {
            // Decide again inside a write transaction: another process may have just created
            // or migrated the schema, and only one may do it.
            // BEGIN IMMEDIATE waits through the busy handler for another process's writes.
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(sql)?;
            let (version, tables) = snapshot(&tx)?;
            match version {
                0 => {
                    foreign((version, tables))?;
                    tx.execute_batch(&format!("{SCHEMA} PRAGMA user_version = {SCHEMA_VERSION};"))
                        .map_err(sql)?;
                }
                1 => {
                    migrated = Some(crate::migrate::v1_to_v2(
                        &tx,
                        weir_dir,
                        &db_path,
                        backend,
                        terraform_version,
                    )?);
                }
                SCHEMA_VERSION => {}
                found => {
                    return Err(StoreError::NewerSchema {
                        path: db_path.display().to_string(),
                        found,
                        supported: SCHEMA_VERSION,
                    })
                }
            }
            tx.commit().map_err(sql)?;
            if let Some(m) = &migrated {
                crate::migrate::clean_up_after(weir_dir, m);
            }
        } else {
            let ok: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type='table' AND name = 'versions'",
                    [],
                    |r| r.get(0),
                )
                .map_err(sql)?;
            if ok != 1 {
                return Err(StoreError::Corrupt {
                    path: db_path.display().to_string(),
                    detail: "tables are missing".into(),
                });
            }
        }
        Ok((
            SqliteHistory {
                dir: weir_dir.to_owned(),
                db_path,
                stack: stack.to_owned(),
                conn: Mutex::new(conn),
            },
            migrated,
        ))
    }

    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the mutex leaves SQLite consistent (transactions roll back).
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sql(&self, e: rusqlite::Error) -> StoreError {
        map_sql(&self.db_path, e)
    }

    fn journal_dir(&self) -> PathBuf {
        self.dir.join("journal")
    }

    fn one_version(
        &self,
        workspace: &str,
        column: &str,
        value: &dyn rusqlite::ToSql,
    ) -> Result<Option<(VersionInfo, Vec<u8>)>> {
        let conn = self.conn();
        let row = conn
            .query_row(
                &format!("SELECT {VERSION_COLS}, encoding, data FROM versions WHERE stack = ?1 AND workspace = ?2 AND {column} = ?3 ORDER BY id DESC LIMIT 1"),
                params![self.stack, workspace, value],
                |r| Ok((version_info(r)?, r.get::<_, String>(7)?, r.get::<_, Vec<u8>>(8)?)),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
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
}

impl History for SqliteHistory {
    fn location(&self) -> String {
        self.db_path.display().to_string()
    }

    fn record(&self, workspace: &str, v: &NewVersion<'_>) -> Result<VersionInfo> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.sql(e))?;
        let existing = tx
            .query_row(
                &format!("SELECT {VERSION_COLS} FROM versions WHERE stack = ?1 AND workspace = ?2 AND lineage = ?3 AND serial = ?4 AND digest = ?5 ORDER BY id DESC LIMIT 1"),
                params![self.stack, workspace, v.lineage, v.serial as i64, v.digest],
                version_info,
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        if let Some(info) = existing {
            return Ok(info);
        }
        let info = insert_version(&tx, &self.db_path, &self.stack, workspace, v, &now())?;
        tx.commit().map_err(|e| self.sql(e))?;
        Ok(info)
    }

    fn contains(&self, workspace: &str, lineage: &str, serial: u64, digest: &str) -> Result<bool> {
        Ok(self
            .conn()
            .query_row(
                "SELECT 1 FROM versions WHERE stack = ?1 AND workspace = ?2 AND lineage = ?3 AND serial = ?4 AND digest = ?5 LIMIT 1",
                params![self.stack, workspace, lineage, serial as i64, digest],
                |_| Ok(()),
            )
            .optional()
            .map_err(|e| self.sql(e))?
            .is_some())
    }

    fn versions(&self, workspace: &str) -> Result<Vec<VersionInfo>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {VERSION_COLS} FROM versions WHERE stack = ?1 AND workspace = ?2 ORDER BY id"
            ))
            .map_err(|e| self.sql(e))?;
        let out = stmt
            .query_map(params![self.stack, workspace], version_info)
            .map_err(|e| self.sql(e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.sql(e))?;
        Ok(out)
    }

    fn version(&self, workspace: &str, serial: u64) -> Result<Option<(VersionInfo, Vec<u8>)>> {
        self.one_version(workspace, "serial", &(serial as i64))
    }

    fn version_by_digest(
        &self,
        workspace: &str,
        digest: &str,
    ) -> Result<Option<(VersionInfo, Vec<u8>)>> {
        self.one_version(workspace, "digest", &digest)
    }

    fn begin_journal(&self, header: &JournalHeader) -> Result<Box<dyn JournalWriter>> {
        let dir = self.journal_dir();
        std::fs::create_dir_all(&dir)?;
        let token = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("{}.{token}.wj", fs_safe(&header.workspace));
        let path = dir.join(&name);
        // Written and locked under a name recovery ignores, then renamed: recovery never sees
        // a journal whose writer has not locked it yet.
        let tmp = dir.join(format!(".{name}.new"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        if !FileExt::try_lock_exclusive(&file)? {
            return Err(StoreError::Io(std::io::Error::other(
                "a fresh journal file is already locked",
            )));
        }
        let mut frames = Frames::new(file);
        let started = (|| {
            frames.header(header)?;
            frames.sync()?;
            std::fs::rename(&tmp, &path)
        })();
        if let Err(e) = started {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(Box::new(FileJournal { frames, path }))
    }

    fn pending_journals(&self, workspace: &str) -> Result<Vec<PendingJournal>> {
        let dir = self.journal_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let prefix = format!("{}.", fs_safe(workspace));
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with(&prefix) || !name.ends_with(".wj") {
                continue;
            }
            let path = entry.path();
            let mut file = match File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            // flock needs no write access: this works in a read-only directory too.
            if !FileExt::try_lock_exclusive(&file)? {
                continue; // its writer is alive
            }
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut bytes)?;
            let location = path.display().to_string();
            let Some((header, frames)) =
                journal::split_header(&bytes).map_err(|detail| StoreError::CorruptJournal {
                    journal: location.clone(),
                    detail,
                })?
            else {
                continue;
            };
            if header.workspace != workspace {
                continue;
            }
            out.push(PendingJournal {
                id: name,
                location,
                header,
                frames: frames.to_vec(),
                _claim: Some(file),
            });
        }
        out.sort_by(|a, b| a.header.started.cmp(&b.header.started));
        Ok(out)
    }

    fn close_journal(&self, journal: PendingJournal, set_aside: bool) -> Result<()> {
        let path = self.journal_dir().join(&journal.id);
        if set_aside {
            let aside = self.journal_dir().join(format!("{}.set-aside", journal.id));
            std::fs::rename(&path, aside)?;
        } else {
            std::fs::remove_file(&path)?;
        }
        drop(journal);
        Ok(())
    }
}

/// One apply's journal file, exclusively locked by its writer for as long as it runs.
struct FileJournal {
    frames: Frames,
    path: PathBuf,
}

impl JournalWriter for FileJournal {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn object(
        &mut self,
        addr: &ResourceAddr,
        provider: &str,
        key: &ObjectKey,
        object: Option<&InstanceObject>,
    ) -> Result<()> {
        Ok(self.frames.object(addr, provider, key, object)?)
    }

    fn output(&mut self, name: &str, output: Option<&OutputValue>) -> Result<()> {
        Ok(self.frames.output(name, output)?)
    }

    fn checks(&mut self, results: Option<&[CheckResult]>) -> Result<()> {
        let results = results.map(|r| r.to_vec());
        Ok(self
            .frames
            .checks(&states::check_results_to_compact_json(&results))?)
    }

    fn close(self: Box<Self>) -> Result<()> {
        // Removed while still locked, so no recovery can pick it up in between.
        std::fs::remove_file(&self.path)?;
        let _ = self.frames.file();
        Ok(())
    }
}
