//! The state of record: where Terraform keeps a workspace's `terraform.tfstate`, as a `backend`
//! block configures it (`local`, `s3`, `pg`, `http`). A [`Backend`] stores opaque state bytes per
//! workspace and takes Terraform-compatible locks, so Terraform and weir can share one backend
//! during a migration: a lock held by one is seen (with its holder) by the other.
//!
//! What a backend does *not* do: history, journals, crash recovery, waiting for locks. The
//! versioned [`crate::StateStore`] layers those on top of any backend, so every backend gets the
//! same guarantees from one implementation.
//!
//! **Architecture Invariant:** a backend never assumes a local file or a process-wide context:
//! everything it needs (paths, credentials, endpoints) comes from its constructor, and one
//! process may hold many backends at once (the agent runs many stacks).

use crate::{LockError, LockInfo};

/// What can go wrong talking to a backend. Messages are for users: they name the backend and
/// what it answered, never a credential.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Someone else holds the lock ([`LockError::Held`] names the holder).
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The backend answered and refused: wrong credentials, missing bucket or table, permission
    /// denied, a conditional write lost. Retrying will not help until something changes.
    #[error("{0}")]
    Refused(String),
    /// The backend could not be reached (connection refused, DNS, TLS, timeout).
    #[error("{0}")]
    Unreachable(String),
    /// The stored bytes are not something this weir can use (damaged, or a newer format).
    #[error("{0}")]
    Corrupt(String),
    /// The backend's configuration is invalid (a missing or malformed argument).
    #[error("{0}")]
    InvalidConfig(String),
    /// The operation was cancelled before it completed; nothing was changed.
    #[error("the operation was cancelled")]
    Cancelled,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// One configured backend: the state of record for every workspace of a working directory.
///
/// Implementations are shared between threads; every method takes `&self` and makes one attempt
/// (the store above retries lock acquisition with backoff until its timeout or cancellation).
pub trait Backend: Send + Sync {
    /// The backend type as a `backend` block names it: `local`, `s3`, `pg`, `http`.
    fn kind(&self) -> &'static str;

    /// Where a workspace's state lives, for messages and the lock's `Path` (e.g.
    /// `terraform.tfstate`, `s3://bucket/env:/dev/key`).
    fn location(&self, workspace: &str) -> String;

    /// Whether named workspaces exist here (Terraform's `http` backend has only `default`).
    fn supports_workspaces(&self) -> bool {
        true
    }

    /// The workspaces that exist, sorted, `default` always included.
    fn workspaces(&self) -> Result<Vec<String>, BackendError>;

    /// Makes a new workspace exist (as Terraform does: some backends write an empty state).
    fn create_workspace(&self, workspace: &str) -> Result<(), BackendError>;

    /// Removes a workspace's state. The caller has already refused `default`, the active
    /// workspace and (unless forced) a workspace that still tracks resources.
    fn delete_workspace(&self, workspace: &str) -> Result<(), BackendError>;

    /// The exact bytes of the workspace's state; `None` if it has none yet.
    fn get(&self, workspace: &str) -> Result<Option<Vec<u8>>, BackendError>;

    /// Replaces the workspace's state with `bytes`, atomically: a reader sees the old bytes or
    /// the new ones, never a mix, whatever happens to this process.
    fn put(&self, workspace: &str, bytes: &[u8]) -> Result<(), BackendError>;

    /// Whether [`Backend::lock`] does anything (an `http` backend without `lock_address` does not).
    fn supports_locking(&self) -> bool {
        true
    }

    /// One attempt to take the workspace's lock, recorded with `info` in the place and shape
    /// Terraform uses, so Terraform sees weir's locks and weir sees Terraform's. When someone
    /// else holds it: `Err(Lock(Held { holder }))` with the holder's info when it can be read.
    fn lock(&self, workspace: &str, info: &LockInfo) -> Result<(), BackendError>;

    /// Releases the lock with this ID (also what `force-unlock ID` calls). A lock with another
    /// ID is left alone: `Err(Lock(IdMismatch))`.
    fn unlock(&self, workspace: &str, id: &str) -> Result<(), BackendError>;

    /// The recorded holder of the workspace's lock, if it is held (best effort: `None` when
    /// the backend cannot tell).
    fn lock_holder(&self, workspace: &str) -> Result<Option<LockInfo>, BackendError>;
}
