//! Versioned, locked state storage.
//!
//! The **state of record** is wherever Terraform keeps a workspace's state: a [`Backend`]
//! (`local`: `terraform.tfstate` in the working directory, exactly as Terraform lays it out;
//! `s3`/`pg`/`http` elsewhere). Terraform and weir can take turns on it: they read and write the
//! same bytes and see each other's locks.
//!
//! [`StateStore`] layers weir's own guarantees over any backend: a [`History`] of every version
//! weir wrote or found (so `state rollback` can rescue a broken state), an append-only apply
//! journal so a killed apply loses nothing it completed, lock waits with a timeout and a
//! [`cancel::Cancel`], and "nothing changed, nothing written". [`SqliteHistory`] keeps history
//! and journals in `<workdir>/.weir/` (PostgreSQL can implement [`History`] later).
//! [`file`] reads plain state files for `-state` paths.
//!
//! **Architecture Invariant:** history is only ever appended. Rollback, push and recovery write
//! a new version; nothing rewrites an old one.

pub mod backend;
pub mod file;
pub mod history;
mod journal;
mod local;
mod lock;
mod migrate;
mod oslock;
mod sqlite;
mod store;

pub use backend::{Backend, BackendError};
pub use history::{History, JournalHeader, JournalWriter, NewVersion, PendingJournal};
pub use local::{LocalBackend, TOMBSTONE};
pub use lock::LockInfo;
pub use migrate::Migrated;
pub use sqlite::{SqliteHistory, DB_FILE_NAME, SCHEMA_VERSION, WEIR_DIR};
pub use store::{ApplyJournal, Recovered, Rollback, StateStore};

/// The workspace that always exists.
pub const DEFAULT_WORKSPACE: &str = "default";

/// What a history entry records about a version found in the state of record that weir did not
/// write itself (Terraform, or anything else, wrote it between weir runs).
pub const EXTERNAL_OPERATION: &str = "external";

/// Metadata of one recorded state version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionInfo {
    pub serial: u64,
    pub lineage: String,
    /// RFC 3339 UTC time the version was recorded.
    pub created: String,
    /// What wrote it: `apply`, `destroy`, `import`, `push`, `rollback to N`, `state-mv`, …;
    /// [`EXTERNAL_OPERATION`] for a version found in the state of record. A version folded from
    /// the journal of an interrupted run gets ` (recovered)` appended.
    pub operation: String,
    /// `user@host` (empty when unknown, as for external versions).
    pub who: String,
    /// Size of the state file in bytes.
    pub size: u64,
    /// Hex SHA-256 of the state file bytes.
    pub digest: String,
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

/// Hex SHA-256 of state bytes: how history recognises a version it already has.
pub fn digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Errors from a state store. Messages for user mistakes follow Terraform's wording.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The lock is held by someone else (see [`LockError`]).
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The state of record could not be read or written.
    #[error(transparent)]
    Backend(BackendError),
    /// Terraform's text (the CLI trims it for `workspace delete`, as Terraform does).
    #[error("\nWorkspace {0:?} doesn't exist.\n\nYou can create this workspace with the \"new\" subcommand \nor include the \"-or-create\" flag with the \"select\" subcommand.")]
    NoSuchWorkspace(String),
    #[error("Workspace {0:?} already exists")]
    WorkspaceExists(String),
    #[error("\nThe workspace name {0:?} is not allowed. The name must contain only URL safe\ncharacters, and no path separators.\n")]
    InvalidWorkspaceName(String),
    #[error("\nWorkspace {0:?} is your active workspace.\n\nYou cannot delete the currently active workspace. Please switch\nto another workspace and try again.\n")]
    DeleteActiveWorkspace(String),
    #[error("cannot delete default state")]
    DeleteDefaultWorkspace,
    /// The workspace still tracks managed resource instances (their addresses are listed).
    /// Display is Terraform's diagnostic detail; its summary is [`WORKSPACE_NOT_EMPTY_SUMMARY`].
    #[error(
        "Workspace {workspace:?} is currently tracking the following resource instances:{}\n\n\
         Deleting this workspace would cause Terraform to lose track of any associated remote \
         objects, which would then require you to delete them manually outside of Terraform. \
         You should destroy these objects with Terraform before deleting the workspace.\n\n\
         If you want to delete this workspace anyway, and have Terraform forget about these \
         managed objects, use the -force option to disable this safety check.",
        instances.iter().map(|i| format!("\n  - {i}")).collect::<String>()
    )]
    WorkspaceNotEmpty {
        workspace: String,
        instances: Vec<String>,
    },
    /// `state rollback N` named a serial history does not have.
    #[error("no state version with serial {serial} in workspace {workspace:?}{}", match known.as_slice() {
        [] => " (weir has recorded no versions of it)".to_owned(),
        k => format!("; recorded serials: {}", k.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")),
    })]
    NoSuchVersion {
        workspace: String,
        serial: u64,
        known: Vec<u64>,
    },
    /// `state push` refused: lineage or serial checks (message as Terraform's).
    #[error(
        "cannot import state with lineage {new:?} over unrelated state with lineage {current:?}"
    )]
    PushLineage { new: String, current: String },
    #[error("cannot import state with serial {new} over newer state with serial {current}")]
    PushOlderSerial { new: u64, current: u64 },
    #[error("cannot overwrite existing state with serial {0} with a different state that has the same serial")]
    PushSameSerial(u64),
    /// The history database was written by a newer weir; nothing was changed.
    #[error("the state database {path} uses schema version {found}, but this weir supports up to version {supported}; upgrade weir to use it (nothing was changed)")]
    NewerSchema {
        path: String,
        found: i64,
        supported: i64,
    },
    /// The history database is damaged or not a weir database; nothing was changed.
    #[error("the state database {path} is corrupt or not a weir state database: {detail} (nothing was changed)")]
    Corrupt { path: String, detail: String },
    /// The history database failed (I/O, permissions, disk full).
    #[error("the state database {path} failed: {detail}")]
    Database { path: String, detail: String },
    /// A recorded state version cannot be decoded.
    #[error("recorded state (workspace {workspace:?}, serial {serial}) is unreadable: {detail}")]
    CorruptVersion {
        workspace: String,
        serial: u64,
        detail: String,
    },
    /// The state of record is not a state weir can read.
    #[error("{location}: {source}")]
    Unreadable {
        location: String,
        source: states::StateError,
    },
    /// The old store could not be moved to Terraform's layout; nothing was changed.
    #[error("cannot move the state in {db} to {location}: {detail} (nothing was changed)")]
    Migration {
        db: String,
        location: String,
        detail: String,
    },
    /// An interrupted apply's journal holds operations the state of record lacks, and the state
    /// is no longer the one that apply started from, so weir will not merge them by itself.
    #[error(transparent)]
    JournalConflict(Box<JournalConflict>),
    /// An interrupted apply's journal cannot be read or replayed.
    #[error("the apply journal {journal} is unreadable: {detail}")]
    CorruptJournal { journal: String, detail: String },
    /// A lock wait (or another wait) was cancelled; nothing was changed.
    #[error("the operation was cancelled")]
    Cancelled,
    #[error(transparent)]
    State(#[from] states::StateError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<BackendError> for StoreError {
    fn from(e: BackendError) -> StoreError {
        match e {
            BackendError::Lock(l) => StoreError::Lock(l),
            BackendError::Cancelled => StoreError::Cancelled,
            other => StoreError::Backend(other),
        }
    }
}

/// What [`StoreError::JournalConflict`] reports: the journal, its run, and both states.
#[derive(Debug, thiserror::Error)]
#[error(
    "An interrupted {operation} (by {who}, started {started}) recorded {entries} operation(s) in\n\
     {journal}\n\
     that the state of record ({location}, lineage {current_lineage}, serial {current_serial}) does not contain.\n\
     That state is not the one the interrupted run started from (lineage {base_lineage}, serial\n\
     {base_serial}): it was replaced while the run was in progress, so weir will not merge the\n\
     journal by itself. Run \"weir state recover\" to see the recorded operations, then\n\
     \"weir state recover -apply\" to apply them to the current state or \"weir state recover\n\
     -discard\" to set the journal aside."
)]
pub struct JournalConflict {
    pub journal: String,
    pub operation: String,
    pub who: String,
    pub started: String,
    pub entries: usize,
    pub location: String,
    pub current_lineage: String,
    pub current_serial: u64,
    pub base_lineage: String,
    pub base_serial: u64,
}

/// Lock failures. `Held` renders like Terraform's "Error acquiring the state lock" detail.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else holds the lock. Display is the diagnostic detail (see [`LOCK_ERROR_SUMMARY`]).
    /// Without holder info, `reason` carries why it could not be read (as Terraform joins
    /// both errors).
    #[error("Error message: {reason}{}\n\n{LOCK_ERROR_HINT}", holder.as_ref().map(|h| format!("\n{}", h.render())).unwrap_or_default())]
    Held {
        reason: String,
        holder: Option<Box<LockInfo>>,
    },
    /// The lock could not be taken for another reason (the state file cannot be opened for
    /// writing, say). Renders as Terraform's lock failure does.
    #[error("Error message: {reason}\n\n{LOCK_ERROR_HINT}")]
    Unavailable { reason: String },
    #[error("lock ID {given:?} does not match existing lock ID {held:?}")]
    IdMismatch { given: String, held: String },
    /// Terraform's local backend message when the state is not locked by this process.
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
