//! Versioned, locked state storage. The [`StateStore`] trait is what the operations layer
//! uses; [`SqliteStore`] is the embedded implementation in `<workdir>/.weir/state.db`
//! (PostgreSQL can implement the same trait later). [`file`] reads and writes plain
//! `terraform.tfstate` files for `-state` paths and migration.
//!
//! **Architecture Invariant:** versions are only ever appended. Rollback, push and recovery
//! write a new version; nothing rewrites an old one.

pub mod backend;
pub mod file;
mod journal;
mod lock;
mod sqlite;

use std::time::Duration;

pub use backend::{Backend, BackendError};
pub use lock::LockInfo;
pub use sqlite::{SqliteStore, DB_FILE_NAME, SCHEMA_VERSION};
use states::{CheckResult, InstanceObject, ObjectKey, OutputValue, ResourceAddr, State};

/// The workspace that always exists.
pub const DEFAULT_WORKSPACE: &str = "default";

/// Metadata of one persisted state version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionInfo {
    pub serial: u64,
    pub lineage: String,
    /// RFC 3339 UTC time the version was written.
    pub created: String,
    /// What wrote it: `apply`, `destroy`, `import`, `push`, `rollback`, `state-mv`, … A version
    /// folded from the journal of an interrupted run gets ` (recovered)` appended.
    pub operation: String,
    /// `user@host`.
    pub who: String,
    /// Size of the state file in bytes (uncompressed).
    pub size: u64,
}

/// Who writes a version and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteMeta {
    pub operation: String,
    pub who: String,
}

impl WriteMeta {
    /// `operation` by the current `user@host`.
    pub fn new(operation: impl Into<String>) -> WriteMeta {
        WriteMeta {
            operation: operation.into(),
            who: who(),
        }
    }
}

/// The current `user@host`, as Terraform puts in lock info.
pub fn who() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(user_from_passwd)
        .unwrap_or_else(|| "unknown".to_owned());
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    format!("{user}@{host}")
}

/// Looks the effective uid up in /etc/passwd (like Go's `os/user` without cgo).
#[cfg(unix)]
fn user_from_passwd() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // The owner of /proc/self is the process's uid, which avoids an unsafe libc call.
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let id = f.nth(1)?;
        (id.parse::<u32>().ok()? == uid).then(|| name.to_owned())
    })
}

#[cfg(not(unix))]
fn user_from_passwd() -> Option<String> {
    None
}

/// Errors from a state store. Messages for user mistakes follow Terraform's wording.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The lock is held by someone else (see [`LockError`]).
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("Workspace {0:?} doesn't exist.")]
    NoSuchWorkspace(String),
    #[error("Workspace {0:?} already exists")]
    WorkspaceExists(String),
    #[error("The workspace name {0:?} is not allowed. The name must contain only URL safe\ncharacters, and no path separators.")]
    InvalidWorkspaceName(String),
    #[error("Workspace {0:?} is your active workspace.\n\nYou cannot delete the currently active workspace. Please switch\nto another workspace and try again.")]
    DeleteActiveWorkspace(String),
    #[error("cannot delete default state")]
    DeleteDefaultWorkspace,
    /// The workspace still tracks managed resource instances (their addresses are listed).
    /// Display is Terraform's diagnostic detail; its summary is [`WORKSPACE_NOT_EMPTY_SUMMARY`].
    #[error(
        "Workspace {workspace:?} is currently tracking the following resource instances:\n{}\n\n\
         Deleting this workspace would cause Terraform to lose track of any associated\n\
         remote objects, which would then require you to delete them manually outside\n\
         of Terraform. You should destroy these objects with Terraform before deleting\n\
         the workspace.\n\n\
         If you want to delete this workspace anyway, and have Terraform forget about\n\
         these managed objects, use the -force option to disable this safety check.",
        instances.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n")
    )]
    WorkspaceNotEmpty {
        workspace: String,
        instances: Vec<String>,
    },
    #[error("no state version with serial {serial} in workspace {workspace:?}")]
    NoSuchVersion { workspace: String, serial: u64 },
    /// `state push` refused: lineage or serial checks (message as Terraform's).
    #[error(
        "cannot import state with lineage {new:?} over unrelated state with lineage {current:?}"
    )]
    PushLineage { new: String, current: String },
    #[error("cannot import state with serial {new} over newer state with serial {current}")]
    PushOlderSerial { new: u64, current: u64 },
    #[error("cannot overwrite existing state with serial {0} with a different state that has the same serial")]
    PushSameSerial(u64),
    /// The database was written by a newer weir; nothing was changed.
    #[error("the state database {path} uses schema version {found}, but this weir supports up to version {supported}; upgrade weir to use it (nothing was changed)")]
    NewerSchema {
        path: String,
        found: i64,
        supported: i64,
    },
    /// The database file is damaged or not a database; nothing was changed.
    #[error("the state database {path} is corrupt or not a weir state database: {detail} (nothing was changed)")]
    Corrupt { path: String, detail: String },
    /// A stored state version cannot be decoded.
    #[error("stored state (workspace {workspace:?}, serial {serial}) is unreadable: {detail}")]
    CorruptVersion {
        workspace: String,
        serial: u64,
        detail: String,
    },
    #[error(transparent)]
    State(#[from] states::StateError),
    #[error("state database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Lock failures. `Held` renders like Terraform's "Error acquiring the state lock" detail.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else holds the lock. Display is the diagnostic detail (see [`LOCK_ERROR_SUMMARY`]).
    #[error("Error message: {reason}\n{}\n\n{LOCK_ERROR_HINT}", holder.as_ref().map(|h| h.render()).unwrap_or_else(|| "Lock Info: (the holder did not record any)".into()))]
    Held {
        reason: String,
        holder: Option<Box<LockInfo>>,
    },
    #[error("lock ID {given:?} does not match existing lock ID {held:?}")]
    IdMismatch { given: String, held: String },
    #[error("LocalState not locked")]
    NotLocked,
    #[error("local state cannot be unlocked by another process")]
    OtherProcess,
}

/// The diagnostic summary Terraform prints above [`StoreError::WorkspaceNotEmpty`].
pub const WORKSPACE_NOT_EMPTY_SUMMARY: &str = "Workspace is not empty";

/// The diagnostic summary Terraform prints above [`LockError::Held`].
pub const LOCK_ERROR_SUMMARY: &str = "Error acquiring the state lock";

/// The advice Terraform prints after the lock info.
pub const LOCK_ERROR_HINT: &str =
    "Terraform acquires a state lock to protect the state from being written\n\
by multiple users at the same time. Please resolve the issue above and try\n\
again. For most commands, you can disable locking with the \"-lock=false\"\n\
flag, but this is not recommended.";

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Versioned state storage for one stack, with workspaces and locks.
///
/// Implementations are shared between threads; every method takes `&self`.
pub trait StateStore: Send + Sync {
    /// All workspaces, sorted, `default` included.
    fn workspaces(&self) -> Result<Vec<String>>;
    fn create_workspace(&self, name: &str) -> Result<()>;
    /// Refuses the active workspace, `default`, and (unless `force`) one that still tracks
    /// managed resource instances. Deletes its history too.
    fn delete_workspace(&self, name: &str, force: bool) -> Result<()>;
    fn selected_workspace(&self) -> Result<String>;
    fn select_workspace(&self, name: &str) -> Result<()>;

    /// The latest version's state (None if the workspace has none yet).
    fn current(&self, workspace: &str) -> Result<Option<State>>;
    /// The latest version's metadata and exact bytes (what `state pull` prints).
    fn current_bytes(&self, workspace: &str) -> Result<Option<(VersionInfo, Vec<u8>)>>;
    /// Every version, oldest first.
    fn history(&self, workspace: &str) -> Result<Vec<VersionInfo>>;
    /// One version's metadata and bytes.
    fn get(&self, workspace: &str, serial: u64) -> Result<Option<(VersionInfo, Vec<u8>)>>;

    /// Persists `state` as a new version unless its content equals the current one.
    /// The serial becomes `max(latest, state.serial) + 1` and is written back into `state`.
    /// Returns the version now current.
    fn write(&self, workspace: &str, state: &mut State, meta: &WriteMeta) -> Result<VersionInfo>;
    /// Writes the content of version `serial` as a new version (serial = latest + 1).
    fn rollback(&self, workspace: &str, serial: u64, meta: &WriteMeta) -> Result<VersionInfo>;
    /// `state push` with Terraform's lineage/serial checks (skipped with `force`). A pushed
    /// serial above the latest is kept; otherwise (only possible with `force`) the version
    /// gets latest + 1 so serials stay unique in the history. Pushing the current content
    /// again is a no-op.
    fn push(
        &self,
        workspace: &str,
        state: &State,
        force: bool,
        meta: &WriteMeta,
    ) -> Result<VersionInfo>;

    /// Starts journaling an apply whose prior state is `base`. See [`ApplyJournal`].
    fn begin_apply(
        &self,
        workspace: &str,
        base: &State,
        meta: &WriteMeta,
    ) -> Result<Box<dyn ApplyJournal>>;

    /// Takes the workspace lock, waiting up to `timeout` (zero: fail at once). The lock dies
    /// with the process. An interrupted apply's journal is folded in once the lock is held.
    fn lock(&self, workspace: &str, info: &LockInfo, timeout: Duration) -> Result<()>;
    /// Releases a lock this store holds.
    fn unlock(&self, workspace: &str, id: &str) -> Result<()>;
    /// Removes a lock whose holder is gone (stale info) or that this process holds; a live
    /// holder in another process cannot be unlocked, as with Terraform's local backend.
    fn force_unlock(&self, workspace: &str, id: &str) -> Result<()>;
    /// The recorded holder of the workspace lock, if the lock is currently held.
    fn lock_holder(&self, workspace: &str) -> Result<Option<LockInfo>>;
}

/// Incremental persistence during an apply: each call is durable when it returns (it survives
/// the process being killed), and costs a small append, not a rewrite of the whole state.
pub trait ApplyJournal: Send {
    /// Sets (Some) or removes (None) one object: the current object of an instance
    /// (`key.deposed == None`) or a deposed one. `provider` is the resource's provider address.
    fn record_instance(
        &mut self,
        addr: &ResourceAddr,
        provider: &str,
        key: &ObjectKey,
        object: Option<&InstanceObject>,
    ) -> Result<()>;
    /// Sets or removes a root module output.
    fn record_output(&mut self, name: &str, output: Option<&OutputValue>) -> Result<()>;
    /// Replaces the check results.
    fn record_check_results(&mut self, results: Option<&[CheckResult]>) -> Result<()>;
    /// The state as recorded so far.
    fn state(&self) -> &State;
    /// Folds the journal into a new full version (none if nothing changed) and returns the
    /// version now current. Call it also when the apply failed part-way.
    fn finish(self: Box<Self>) -> Result<VersionInfo>;
}

/// Checks a workspace name the way Terraform does (URL path-segment safe, non-empty).
pub fn valid_workspace_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'_' | b'.' | b'~' | b'$' | b'&' | b'+' | b'=' | b':' | b'@'
                )
        })
}
