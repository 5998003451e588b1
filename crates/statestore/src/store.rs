//! [`StateStore`]: weir's versioned store over any [`Backend`]. The backend holds the state of
//! record; the store adds history, apply journals with crash recovery, lock waits, and the
//! rule that nothing changed means nothing written.
//!
//! Each command reads the state of record once (through [`StateStore::read_state`]) and writes
//! it at most once (a whole new version at the end of an apply; journal appends in between).
//! The store remembers what it last read or wrote per workspace ([`Known`]), which is how a
//! write knows the serial to follow and whether anything changed.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use cancel::Cancel;
use states::{
    CheckResult, InstanceObject, ObjectKey, OutputValue, ResourceAddr, ResourceMode, State,
};

use crate::backend::{Backend, BackendError};
use crate::history::{History, JournalHeader, JournalWriter, NewVersion, PendingJournal};
use crate::{
    digest, valid_workspace_name, LocalBackend, LockError, LockInfo, Migrated, Result,
    SqliteHistory, StoreError, VersionInfo, WriteMeta, DEFAULT_WORKSPACE, EXTERNAL_OPERATION,
};

/// What the state of record held when this store last read or wrote it.
#[derive(Clone, Debug)]
struct Known {
    lineage: String,
    serial: u64,
    digest: String,
}

type Opener = Box<dyn Fn() -> Result<Arc<dyn History>> + Send + Sync>;

/// Versioned state storage for one working directory (or one stack of an agent).
pub struct StateStore {
    backend: Box<dyn Backend>,
    history: OnceLock<Arc<dyn History>>,
    open_history: Option<Opener>,
    terraform_version: String,
    /// Per workspace: `Some` = the state of record as last seen, `None` = it had none.
    known: Mutex<HashMap<String, Option<Known>>>,
    migrated: Option<Migrated>,
}

/// A journal folded into a new version by recovery.
#[derive(Clone, Debug)]
pub struct Recovered {
    pub journal: String,
    pub operations: usize,
    /// `None` when replaying changed nothing.
    pub version: Option<VersionInfo>,
}

/// What `state rollback` did.
#[derive(Clone, Debug)]
pub struct Rollback {
    pub version: VersionInfo,
    /// Instances the state of record tracked that the restored version does not: weir no
    /// longer manages their remote objects (empty with `keep_newer`).
    pub forgotten: Vec<String>,
    /// Instances carried over from the state of record because of `keep_newer`.
    pub kept: Vec<String>,
    /// Why the state of record could not be read (the rollback went ahead without it).
    pub current_unreadable: Option<String>,
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Every managed object as Terraform lists it (`addr[key]`, deposed ones marked), with its key.
fn managed_objects(state: &State) -> Vec<(ResourceAddr, ObjectKey, String)> {
    let mut out = Vec::new();
    for (addr, res) in state.resources() {
        if addr.mode != ResourceMode::Managed {
            continue;
        }
        for (key, _) in res.objects() {
            let mut text = addr.to_string();
            if let Some(k) = &key.key {
                text.push_str(&k.to_string());
            }
            if let Some(d) = &key.deposed {
                text.push_str(&format!(" (deposed object {d})"));
            }
            out.push((addr.clone(), key.clone(), text));
        }
    }
    out
}

fn is_empty_state(state: &State) -> bool {
    state.resource_count() == 0 && state.outputs.is_empty()
}

impl StateStore {
    /// A store over `backend` with `history` for its records.
    pub fn new(
        backend: Box<dyn Backend>,
        history: Arc<dyn History>,
        terraform_version: &str,
    ) -> StateStore {
        let cell = OnceLock::new();
        let _ = cell.set(history);
        StateStore {
            backend,
            history: cell,
            open_history: None,
            terraform_version: terraform_version.to_owned(),
            known: Mutex::new(HashMap::new()),
            migrated: None,
        }
    }

    /// A store over `backend` whose history lives in `<workdir>/.weir/` ([`SqliteHistory`]),
    /// opened when first needed. A schema-1 `.weir/state.db` (weir's own state store before
    /// the state of record moved to the backend) is migrated now: see [`StateStore::migrated`].
    pub fn open(
        workdir: &Path,
        backend: Box<dyn Backend>,
        terraform_version: &str,
    ) -> Result<StateStore> {
        let weir_dir = workdir.join(crate::WEIR_DIR);
        let db = weir_dir.join(crate::DB_FILE_NAME);
        let mut migrated = None;
        let history = OnceLock::new();
        if db.exists() {
            match SqliteHistory::open(&weir_dir, "default", backend.as_ref(), terraform_version) {
                Ok((h, m)) => {
                    migrated = m;
                    let _ = history.set(Arc::new(h) as Arc<dyn History>);
                }
                Err(
                    e @ (StoreError::NewerSchema { .. }
                    | StoreError::Corrupt { .. }
                    | StoreError::Migration { .. }
                    | StoreError::Lock(_)),
                ) => return Err(e),
                Err(e) => {
                    // Unusable here (a read-only directory, say): fine for reading, unless
                    // the state still lives in the old store and nothing can be read without
                    // moving it.
                    if crate::sqlite::peek_schema(&db) == Some(1) {
                        return Err(StoreError::Migration {
                            db: db.display().to_string(),
                            location: backend.location(DEFAULT_WORKSPACE),
                            detail: format!("it needs write access to this directory: {e}"),
                        });
                    }
                }
            }
        }
        let tf = terraform_version.to_owned();
        let dir = weir_dir.clone();
        // History needs no backend once migrated; a fresh database has nothing to migrate.
        let nothing = LocalBackend::new(workdir);
        let open_history: Opener = Box::new(move || {
            SqliteHistory::open(&dir, "default", &nothing, &tf)
                .map(|(h, _)| Arc::new(h) as Arc<dyn History>)
        });
        Ok(StateStore {
            backend,
            history,
            open_history: Some(open_history),
            terraform_version: terraform_version.to_owned(),
            known: Mutex::new(HashMap::new()),
            migrated,
        })
    }

    /// Terraform's `local` backend in `workdir` with history in `<workdir>/.weir/`.
    pub fn open_local(workdir: &Path, terraform_version: &str) -> Result<StateStore> {
        StateStore::open(
            workdir,
            Box::new(LocalBackend::new(workdir)),
            terraform_version,
        )
    }

    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// What opening migrated from the schema-1 store, if anything.
    pub fn migrated(&self) -> Option<&Migrated> {
        self.migrated.as_ref()
    }

    /// Where a workspace's state of record lives, for messages.
    pub fn location(&self, workspace: &str) -> String {
        self.backend.location(workspace)
    }

    /// The history, opened on first use. Fails where it cannot be opened (a read-only
    /// directory): reading commands skip history then, writing ones fail.
    pub fn history_store(&self) -> Result<&Arc<dyn History>> {
        if let Some(h) = self.history.get() {
            return Ok(h);
        }
        let open = self
            .open_history
            .as_ref()
            .ok_or_else(|| StoreError::Io(std::io::Error::other("this store has no history")))?;
        let h = open()?;
        Ok(self.history.get_or_init(|| h))
    }

    fn remember(&self, workspace: &str, known: Option<Known>) {
        guard(&self.known).insert(workspace.to_owned(), known);
    }

    fn known(&self, workspace: &str) -> Result<Option<Known>> {
        if let Some(k) = guard(&self.known).get(workspace) {
            return Ok(k.clone());
        }
        self.read_state(workspace)?;
        Ok(guard(&self.known).get(workspace).cloned().flatten())
    }

    // ----- workspaces -----

    /// All workspaces, `default` first, then sorted.
    pub fn workspaces(&self) -> Result<Vec<String>> {
        Ok(self.backend.workspaces()?)
    }

    /// Creates a workspace (Terraform's checks: a valid name that does not exist yet).
    pub fn create_workspace(&self, name: &str) -> Result<()> {
        if !valid_workspace_name(name) {
            return Err(StoreError::InvalidWorkspaceName(name.to_owned()));
        }
        if self.workspaces()?.iter().any(|w| w == name) {
            return Err(StoreError::WorkspaceExists(name.to_owned()));
        }
        Ok(self.backend.create_workspace(name)?)
    }

    /// Deletes a workspace in Terraform's order: it must exist and not be `active`; its state
    /// is read under its lock (unless `lock` is `None`) and, unless `force`, must track no
    /// managed resource instance. Returns whether it did (deleted anyway with `force`).
    /// Its history is kept.
    pub fn delete_workspace(
        &self,
        name: &str,
        force: bool,
        active: &str,
        lock: Option<(&LockInfo, Duration, &Cancel)>,
    ) -> Result<bool> {
        if !self.workspaces()?.iter().any(|w| w == name) {
            return Err(StoreError::NoSuchWorkspace(name.to_owned()));
        }
        if name == active {
            return Err(StoreError::DeleteActiveWorkspace(name.to_owned()));
        }
        if let Some((info, timeout, cancel)) = lock {
            self.lock(name, info, timeout, cancel)?;
        }
        let read = self.read_state(name);
        if let Some((info, ..)) = lock {
            let _ = self.unlock(name, &info.id);
        }
        let state = read?;
        let instances: Vec<String> = state
            .as_ref()
            .map(|s| managed_objects(s).into_iter().map(|(_, _, t)| t).collect())
            .unwrap_or_default();
        if !instances.is_empty() && !force {
            return Err(StoreError::WorkspaceNotEmpty {
                workspace: name.to_owned(),
                instances,
            });
        }
        if name == DEFAULT_WORKSPACE {
            return Err(StoreError::DeleteDefaultWorkspace);
        }
        self.backend.delete_workspace(name)?;
        guard(&self.known).remove(name);
        Ok(!instances.is_empty())
    }

    // ----- reading -----

    /// The exact bytes of the state of record (`None`: the workspace has no state).
    pub fn read_bytes(&self, workspace: &str) -> Result<Option<Vec<u8>>> {
        let bytes = self.backend.get(workspace)?;
        if let Some(b) = &bytes {
            self.observe(workspace, b)?;
        } else {
            self.remember(workspace, None);
        }
        Ok(bytes)
    }

    /// The state of record, parsed once (`None`: the workspace has no state). A version weir
    /// has not recorded yet (Terraform wrote it) goes into history as [`EXTERNAL_OPERATION`];
    /// where history cannot be written (a read-only directory), that is skipped silently.
    pub fn read_state(&self, workspace: &str) -> Result<Option<State>> {
        match self.backend.get(workspace)? {
            Some(b) => Ok(Some(self.observe(workspace, &b)?)),
            None => {
                self.remember(workspace, None);
                Ok(None)
            }
        }
    }

    fn observe(&self, workspace: &str, bytes: &[u8]) -> Result<State> {
        let state = State::from_slice(bytes).map_err(|source| StoreError::Unreadable {
            location: self.location(workspace),
            source,
        })?;
        let known = Known {
            lineage: state.lineage.clone(),
            serial: state.serial,
            digest: digest(bytes),
        };
        if let Ok(h) = self.history_store() {
            let recorded = h
                .contains(workspace, &known.lineage, known.serial, &known.digest)
                .unwrap_or(true);
            if !recorded {
                let _ = h.record(
                    workspace,
                    &NewVersion {
                        lineage: &known.lineage,
                        serial: known.serial,
                        bytes,
                        digest: &known.digest,
                        operation: EXTERNAL_OPERATION,
                        who: "",
                    },
                );
            }
        }
        self.remember(workspace, Some(known));
        Ok(state)
    }

    /// Whether the state of record still holds what this store last read or wrote (one read
    /// and hash of its bytes, no parse). True when nothing was read yet.
    pub fn unchanged_since_read(&self, workspace: &str) -> Result<bool> {
        let Some(known) = guard(&self.known).get(workspace).cloned() else {
            return Ok(true);
        };
        Ok(match (known, self.backend.get(workspace)?) {
            (None, None) => true,
            (Some(k), Some(bytes)) => digest(&bytes) == k.digest,
            _ => false,
        })
    }

    /// Every recorded version of the workspace, in the order recorded.
    pub fn history(&self, workspace: &str) -> Result<Vec<VersionInfo>> {
        self.history_store()?.versions(workspace)
    }

    /// The most recently recorded version with this serial, with its bytes.
    pub fn version(&self, workspace: &str, serial: u64) -> Result<Option<(VersionInfo, Vec<u8>)>> {
        self.history_store()?.version(workspace, serial)
    }

    // ----- writing (the caller holds the lock) -----

    /// Writes `state` as the next version of the state of record unless its content equals
    /// what is there (then nothing is written and `None` returned). The serial becomes
    /// `max(current, state.serial) + 1` and is written back into `state`.
    pub fn write(
        &self,
        workspace: &str,
        state: &mut State,
        meta: &WriteMeta,
    ) -> Result<Option<VersionInfo>> {
        self.history_store()?;
        match self.known(workspace)? {
            Some(k) => {
                let wanted = state.serial;
                state.serial = k.serial;
                if state.lineage == k.lineage && digest(&state.to_vec()) == k.digest {
                    return Ok(None);
                }
                state.serial = wanted;
            }
            None if is_empty_state(state) => return Ok(None),
            None => {}
        }
        self.write_changed(workspace, state, meta).map(Some)
    }

    /// Writes `state`, known to differ from the state of record, as its next version.
    fn write_changed(
        &self,
        workspace: &str,
        state: &mut State,
        meta: &WriteMeta,
    ) -> Result<VersionInfo> {
        let current = self.known(workspace)?.map(|k| k.serial).unwrap_or(0);
        state.serial = current.max(state.serial) + 1;
        if state.lineage.is_empty() {
            state.lineage = states::new_lineage();
        }
        let bytes = state.to_vec();
        self.commit(workspace, &state.lineage, state.serial, &bytes, meta)
    }

    /// Puts bytes to the backend, then records them. History is opened first, so a store that
    /// cannot record fails before it changes anything.
    fn commit(
        &self,
        workspace: &str,
        lineage: &str,
        serial: u64,
        bytes: &[u8],
        meta: &WriteMeta,
    ) -> Result<VersionInfo> {
        let history = self.history_store()?;
        let digest = digest(bytes);
        self.backend.put(workspace, bytes)?;
        self.remember(
            workspace,
            Some(Known {
                lineage: lineage.to_owned(),
                serial,
                digest: digest.clone(),
            }),
        );
        history.record(
            workspace,
            &NewVersion {
                lineage,
                serial,
                bytes,
                digest: &digest,
                operation: &meta.operation,
                who: &meta.who,
            },
        )
    }

    /// Restores recorded version `serial` as a new version, without needing the state of
    /// record (or any later version) to be readable. With `keep_newer`, instances the state
    /// of record tracks and the old version does not are carried over instead of forgotten.
    pub fn rollback(
        &self,
        workspace: &str,
        serial: u64,
        keep_newer: bool,
        meta: &WriteMeta,
    ) -> Result<Rollback> {
        let history = self.history_store()?;
        let Some((_, bytes)) = history.version(workspace, serial)? else {
            let mut known: Vec<u64> = history
                .versions(workspace)?
                .iter()
                .map(|v| v.serial)
                .collect();
            known.sort_unstable();
            known.dedup();
            return Err(StoreError::NoSuchVersion {
                workspace: workspace.to_owned(),
                serial,
                known,
            });
        };
        let mut target = State::from_slice(&bytes).map_err(|e| StoreError::CorruptVersion {
            workspace: workspace.to_owned(),
            serial,
            detail: e.to_string(),
        })?;
        let (current, current_unreadable) = match self.backend.get(workspace) {
            Ok(Some(b)) => match State::from_slice(&b) {
                Ok(s) => (Some(s), None),
                Err(e) => (None, Some(e.to_string())),
            },
            Ok(None) => (None, None),
            Err(e) => (None, Some(e.to_string())),
        };
        let mut forgotten = Vec::new();
        let mut kept = Vec::new();
        if let Some(cur) = &current {
            for (addr, key, text) in managed_objects(cur) {
                if target.object(&addr, &key).is_some() {
                    continue;
                }
                if keep_newer {
                    let res = cur.resource(&addr).expect("listed from it");
                    let obj = res.object(&key).expect("listed from it").clone();
                    target.set_object(&addr, &res.provider, key, Some(obj));
                    kept.push(text);
                } else {
                    forgotten.push(text);
                }
            }
        }
        let recorded_max = history
            .versions(workspace)?
            .iter()
            .map(|v| v.serial)
            .max()
            .unwrap_or(0);
        target.serial = recorded_max
            .max(current.as_ref().map(|c| c.serial).unwrap_or(0))
            .max(serial)
            + 1;
        let bytes = target.to_vec();
        let version = self.commit(workspace, &target.lineage, target.serial, &bytes, meta)?;
        Ok(Rollback {
            version,
            forgotten,
            kept,
            current_unreadable,
        })
    }

    /// `state push` with Terraform's lineage/serial checks (skipped with `force`). A pushed
    /// serial above the current one is kept; otherwise (only possible with `force`) it becomes
    /// current + 1. Pushing what is already there writes nothing.
    pub fn push(
        &self,
        workspace: &str,
        state: &State,
        force: bool,
        meta: &WriteMeta,
    ) -> Result<Option<VersionInfo>> {
        self.history_store()?;
        let current = self.read_state(workspace)?;
        let mut state = state.clone();
        if let Some(cur) = &current {
            if !force {
                if state.lineage != cur.lineage {
                    return Err(StoreError::PushLineage {
                        new: state.lineage.clone(),
                        current: cur.lineage.clone(),
                    });
                }
                if state.serial < cur.serial {
                    return Err(StoreError::PushOlderSerial {
                        new: state.serial,
                        current: cur.serial,
                    });
                }
                if state.serial == cur.serial && !state.same_content(cur) {
                    return Err(StoreError::PushSameSerial(state.serial));
                }
            }
            if state.serial == cur.serial && state.lineage == cur.lineage && state.same_content(cur)
            {
                return Ok(None);
            }
            if state.serial <= cur.serial {
                state.serial = cur.serial + 1;
            }
        }
        if state.lineage.is_empty() {
            state.lineage = states::new_lineage();
        }
        state.serial = state.serial.max(1);
        let bytes = state.to_vec();
        self.commit(workspace, &state.lineage, state.serial, &bytes, meta)
            .map(Some)
    }

    /// Starts journaling an apply whose prior state is `base` (the state of record as read).
    pub fn begin_apply(
        &self,
        workspace: &str,
        base: &State,
        meta: &WriteMeta,
    ) -> Result<ApplyJournal<'_>> {
        let history = self.history_store()?;
        let base_digest = match self.known(workspace)? {
            Some(k) if k.lineage == base.lineage && k.serial == base.serial => {
                // Recovery may need to rebuild the base from history.
                if !history.contains(workspace, &k.lineage, k.serial, &k.digest)? {
                    if let Some(bytes) = self.backend.get(workspace)? {
                        self.observe(workspace, &bytes)?;
                        history.record(
                            workspace,
                            &NewVersion {
                                lineage: &k.lineage,
                                serial: k.serial,
                                bytes: &bytes,
                                digest: &digest(&bytes),
                                operation: EXTERNAL_OPERATION,
                                who: "",
                            },
                        )?;
                    }
                }
                Some(k.digest)
            }
            Some(k) => {
                return Err(StoreError::Io(std::io::Error::other(format!(
                    "the apply's prior state (lineage {}, serial {}) is not the state of record (lineage {}, serial {})",
                    base.lineage, base.serial, k.lineage, k.serial
                ))))
            }
            None => None,
        };
        let header = JournalHeader {
            workspace: workspace.to_owned(),
            operation: meta.operation.clone(),
            who: meta.who.clone(),
            started: crate::sqlite::now(),
            terraform_version: base.terraform_version.clone(),
            base_lineage: base.lineage.clone(),
            base_serial: base.serial,
            base_digest,
        };
        let writer = history.begin_journal(&header)?;
        Ok(ApplyJournal {
            store: self,
            workspace: workspace.to_owned(),
            writer: Some(writer),
            state: base.clone(),
            meta: meta.clone(),
            changed: false,
        })
    }

    // ----- locks -----

    /// Takes the workspace lock, retrying until `timeout` (zero: one attempt) unless `cancel`
    /// stops the wait. Then folds in what interrupted applies left (see [`StateStore::recover`]).
    pub fn lock(
        &self,
        workspace: &str,
        info: &LockInfo,
        timeout: Duration,
        cancel: &Cancel,
    ) -> Result<()> {
        self.lock_without_recovery(workspace, info, timeout, cancel)?;
        if let Err(e) = self.recover(workspace) {
            let _ = self.backend.unlock(workspace, &info.id);
            return Err(e);
        }
        Ok(())
    }

    /// [`StateStore::lock`] without the recovery: for `weir state recover`, which decides
    /// itself what to do with a journal that cannot be recovered automatically.
    pub fn lock_without_recovery(
        &self,
        workspace: &str,
        info: &LockInfo,
        timeout: Duration,
        cancel: &Cancel,
    ) -> Result<()> {
        if cancel.is_stopping() {
            return Err(StoreError::Cancelled);
        }
        let deadline = Instant::now() + timeout;
        let mut delay = Duration::from_millis(20);
        loop {
            match self.backend.lock(workspace, info) {
                Ok(()) => break,
                Err(BackendError::Lock(e @ LockError::Held { .. })) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(e.into());
                    }
                    if cancel.wait_timeout(delay.min(left)) {
                        return Err(StoreError::Cancelled);
                    }
                    delay = (delay * 2).min(Duration::from_secs(1));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Releases a lock this store holds.
    pub fn unlock(&self, workspace: &str, id: &str) -> Result<()> {
        Ok(self.backend.unlock(workspace, id)?)
    }

    /// The recorded holder of the workspace lock, if it is held.
    pub fn lock_holder(&self, workspace: &str) -> Result<Option<LockInfo>> {
        Ok(self.backend.lock_holder(workspace)?)
    }

    // ----- recovery -----

    /// Journals of interrupted applies in the workspace (none where history is unavailable).
    pub fn pending_journals(&self, workspace: &str) -> Result<Vec<PendingJournal>> {
        match self.history_store() {
            Ok(h) => h.pending_journals(workspace),
            Err(_) => Ok(Vec::new()),
        }
    }

    /// Folds interrupted applies into new versions where that is safe: the journal's operations
    /// are already in the state of record (the journal is just removed), or the state of
    /// record is still the one the run started from, or it is gone (rebuilt from history).
    /// Otherwise nothing is changed and [`StoreError::JournalConflict`] says what to run.
    /// Call it with the lock held.
    pub fn recover(&self, workspace: &str) -> Result<Vec<Recovered>> {
        let pending = self.pending_journals(workspace)?;
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        let history = self.history_store()?;
        let mut out = Vec::new();
        for journal in pending {
            if journal.is_empty() {
                history.close_journal(journal, false)?;
                continue;
            }
            let current_bytes = self.backend.get(workspace)?;
            let current = match &current_bytes {
                Some(b) => Some(self.observe(workspace, b)?),
                None => None,
            };
            if let Some(cur) = &current {
                let mut merged = cur.clone();
                journal.replay(&mut merged)?;
                if merged.same_content(cur) {
                    history.close_journal(journal, false)?;
                    continue;
                }
            }
            let h = &journal.header;
            let base = match (&current, &current_bytes, &h.base_digest) {
                (Some(cur), Some(bytes), Some(d)) if digest(bytes) == *d => cur.clone(),
                (None, _, Some(d)) => match history.version_by_digest(workspace, d)? {
                    Some((_, bytes)) => State::from_slice(&bytes)?,
                    None => {
                        return Err(StoreError::CorruptJournal {
                            journal: journal.location.clone(),
                            detail: format!(
                                "the state it started from (lineage {}, serial {}) is neither the state of record nor recorded in history; run \"weir state recover\"",
                                h.base_lineage, h.base_serial
                            ),
                        })
                    }
                },
                (None, _, None) => {
                    let mut s = State::with_lineage(h.terraform_version.clone(), h.base_lineage.clone());
                    s.serial = h.base_serial;
                    s
                }
                (Some(cur), ..) => {
                    return Err(StoreError::JournalConflict(Box::new(crate::JournalConflict {
                        journal: journal.location.clone(),
                        operation: h.operation.clone(),
                        who: h.who.clone(),
                        started: h.started.clone(),
                        entries: journal.len(),
                        location: self.location(workspace),
                        current_lineage: cur.lineage.clone(),
                        current_serial: cur.serial,
                        base_lineage: h.base_lineage.clone(),
                        base_serial: h.base_serial,
                    })))
                }
            };
            out.push(self.fold(workspace, journal, base)?);
        }
        Ok(out)
    }

    fn fold(
        &self,
        workspace: &str,
        journal: PendingJournal,
        mut state: State,
    ) -> Result<Recovered> {
        let before = state.clone();
        let operations = journal.replay(&mut state)?;
        let meta = WriteMeta {
            operation: format!("{} (recovered)", journal.header.operation),
            who: journal.header.who.clone(),
        };
        let version = if state.same_content(&before) && self.known(workspace)?.is_some() {
            None
        } else {
            Some(self.write_changed(workspace, &mut state, &meta)?)
        };
        let location = journal.location.clone();
        self.history_store()?.close_journal(journal, false)?;
        Ok(Recovered {
            journal: location,
            operations,
            version,
        })
    }

    /// `weir state recover -apply`: applies a journal's operations to the state of record as
    /// it is now (or to the run's base when there is none), whatever it started from.
    pub fn recover_onto_current(
        &self,
        workspace: &str,
        journal: PendingJournal,
    ) -> Result<Recovered> {
        let base = match self.read_state(workspace)? {
            Some(s) => s,
            None => {
                let h = &journal.header;
                match &h.base_digest {
                    Some(d) => match self.history_store()?.version_by_digest(workspace, d)? {
                        Some((_, b)) => State::from_slice(&b)?,
                        None => {
                            State::with_lineage(h.terraform_version.clone(), h.base_lineage.clone())
                        }
                    },
                    None => {
                        State::with_lineage(h.terraform_version.clone(), h.base_lineage.clone())
                    }
                }
            }
        };
        self.fold(workspace, journal, base)
    }

    /// `weir state recover -discard`: keeps the journal under another name, never to be
    /// recovered.
    pub fn set_aside(&self, journal: PendingJournal) -> Result<()> {
        self.history_store()?.close_journal(journal, true)
    }

    /// The Terraform version new states and lock infos are written with.
    pub fn terraform_version(&self) -> &str {
        &self.terraform_version
    }
}

/// Incremental persistence during an apply: each record is durable when it returns (it
/// survives the process being killed) and costs an append, not a rewrite of the state. If the
/// journal is dropped without [`ApplyJournal::finish`], or finishing fails, the next command
/// that takes the lock recovers it.
pub struct ApplyJournal<'s> {
    store: &'s StateStore,
    workspace: String,
    writer: Option<Box<dyn JournalWriter>>,
    state: State,
    meta: WriteMeta,
    changed: bool,
}

impl ApplyJournal<'_> {
    fn writer(&mut self) -> Result<&mut Box<dyn JournalWriter>> {
        self.writer.as_mut().ok_or_else(|| {
            StoreError::Io(std::io::Error::other(
                "the apply journal is already finished",
            ))
        })
    }

    /// Sets (Some) or removes (None) one object: the current object of an instance
    /// (`key.deposed == None`) or a deposed one. `provider` is the resource's provider address.
    pub fn record_instance(
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

    /// Sets or removes a root module output.
    pub fn record_output(&mut self, name: &str, output: Option<&OutputValue>) -> Result<()> {
        self.writer()?.output(name, output)?;
        let prev = match output {
            Some(o) => self.state.outputs.insert(name.to_owned(), o.clone()),
            None => self.state.outputs.remove(name),
        };
        self.changed |= prev.as_ref() != output;
        Ok(())
    }

    /// Replaces the check results.
    pub fn record_check_results(&mut self, results: Option<&[CheckResult]>) -> Result<()> {
        self.writer()?.checks(results)?;
        let results = results.map(|r| r.to_vec());
        self.changed |= self.state.check_results != results;
        self.state.check_results = results;
        Ok(())
    }

    /// The state as recorded so far.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Where the journal lives.
    pub fn location(&self) -> String {
        self.writer
            .as_ref()
            .map(|w| w.location())
            .unwrap_or_default()
    }

    /// Writes the recorded state as one new version (nothing if nothing changed) and removes
    /// the journal. Call it also when the apply failed part-way. On error the journal stays
    /// for recovery.
    pub fn finish(&mut self) -> Result<Option<VersionInfo>> {
        let version = if self.changed {
            Some(
                self.store
                    .write_changed(&self.workspace, &mut self.state, &self.meta)?,
            )
        } else {
            None
        };
        if let Some(w) = self.writer.take() {
            w.close()?;
        }
        Ok(version)
    }

    /// The recorded state (with its new serial once [`ApplyJournal::finish`] wrote it).
    pub fn into_state(self) -> State {
        self.state
    }
}
