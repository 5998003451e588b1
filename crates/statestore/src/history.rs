//! weir's own records beside the state of record: every version it wrote or found, and the
//! journal of each running apply. [`crate::StateStore`] talks to them only through [`History`],
//! which assumes no local file, so the embedded [`crate::SqliteHistory`] (`.weir/` in the working
//! directory) can be joined by a PostgreSQL one for an agent that runs many stacks in one
//! process.

use states::{CheckResult, InstanceObject, ObjectKey, OutputValue, ResourceAddr, State};

use crate::{Result, StoreError, VersionInfo};

/// A version to record.
#[derive(Clone, Copy, Debug)]
pub struct NewVersion<'a> {
    pub lineage: &'a str,
    pub serial: u64,
    pub bytes: &'a [u8],
    /// [`crate::digest`] of `bytes`.
    pub digest: &'a str,
    pub operation: &'a str,
    pub who: &'a str,
}

/// What an apply journal starts from: enough to rebuild its base from history, and to tell
/// whether the state of record is still that base.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JournalHeader {
    pub workspace: String,
    pub operation: String,
    pub who: String,
    /// RFC 3339 UTC.
    pub started: String,
    /// `terraform_version` of the base when there was no state yet.
    pub terraform_version: String,
    pub base_lineage: String,
    pub base_serial: u64,
    /// [`crate::digest`] of the base's bytes; `None` when the workspace had no state.
    pub base_digest: Option<String>,
}

/// Appends one apply's completed operations. Each call is durable against the process being
/// killed when it returns, and costs an append, not a rewrite of the state.
pub trait JournalWriter: Send {
    /// Where the journal lives, for messages.
    fn location(&self) -> String;
    fn object(
        &mut self,
        addr: &ResourceAddr,
        provider: &str,
        key: &ObjectKey,
        object: Option<&InstanceObject>,
    ) -> Result<()>;
    fn output(&mut self, name: &str, output: Option<&OutputValue>) -> Result<()>;
    fn checks(&mut self, results: Option<&[CheckResult]>) -> Result<()>;
    /// The journal's operations are in the state of record now: remove it.
    fn close(self: Box<Self>) -> Result<()>;
}

/// The journal of a run whose writer is gone (killed, crashed, or failed before saving).
pub struct PendingJournal {
    /// Identifies the journal to [`History::close_journal`].
    pub id: String,
    /// Where it lives, for messages.
    pub location: String,
    pub header: JournalHeader,
    /// Recorded operations in the frame encoding of [`crate::journal`].
    pub(crate) frames: Vec<u8>,
    /// Keeps the journal claimed (its OS lock) while it is being recovered.
    pub(crate) _claim: Option<std::fs::File>,
}

impl PendingJournal {
    /// Applies the recorded operations to `state`; returns how many there were.
    pub fn replay(&self, state: &mut State) -> Result<usize> {
        crate::journal::replay(&self.frames, state).map_err(|detail| StoreError::CorruptJournal {
            journal: self.location.clone(),
            detail,
        })
    }

    /// One line per recorded operation (`+ addr`, `- addr`, `+ output.name`, …).
    pub fn describe(&self) -> Result<Vec<String>> {
        crate::journal::describe(&self.frames).map_err(|detail| StoreError::CorruptJournal {
            journal: self.location.clone(),
            detail,
        })
    }

    /// Number of recorded operations.
    pub fn len(&self) -> usize {
        crate::journal::count(&self.frames)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// History and journals of one stack. Implementations are shared between threads.
pub trait History: Send + Sync {
    /// Where the records live, for messages (e.g. `.weir/state.db`).
    fn location(&self) -> String;

    /// Records a version unless the workspace already has one with the same lineage, serial
    /// and digest; returns the entry either way.
    fn record(&self, workspace: &str, version: &NewVersion<'_>) -> Result<VersionInfo>;

    /// Whether that exact version is recorded.
    fn contains(&self, workspace: &str, lineage: &str, serial: u64, digest: &str) -> Result<bool>;

    /// Every recorded version of the workspace, in the order recorded.
    fn versions(&self, workspace: &str) -> Result<Vec<VersionInfo>>;

    /// The most recently recorded version with this serial, with its bytes.
    fn version(&self, workspace: &str, serial: u64) -> Result<Option<(VersionInfo, Vec<u8>)>>;

    /// The version with these bytes (by digest), with its bytes.
    fn version_by_digest(
        &self,
        workspace: &str,
        digest: &str,
    ) -> Result<Option<(VersionInfo, Vec<u8>)>>;

    /// Starts the journal of a run. The header is durable when this returns.
    fn begin_journal(&self, header: &JournalHeader) -> Result<Box<dyn JournalWriter>>;

    /// Journals of the workspace whose writer is gone, oldest first, each claimed by the caller
    /// until dropped. A journal still being written is not listed.
    fn pending_journals(&self, workspace: &str) -> Result<Vec<PendingJournal>>;

    /// Removes a recovered journal, or (with `set_aside`) keeps it out of the way under another
    /// name so it is never recovered again but not lost either.
    fn close_journal(&self, journal: PendingJournal, set_aside: bool) -> Result<()>;
}
