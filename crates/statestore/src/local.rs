//! The `local` backend, laid out and locked exactly as Terraform's: `terraform.tfstate` in the
//! working directory for `default`, `terraform.tfstate.d/<workspace>/terraform.tfstate` for the
//! others, a `fcntl` write lock on the state file itself with the holder written beside it in
//! `.terraform.tfstate.lock.info`, and `terraform.tfstate.backup` holding what the file said
//! before a run's first change.
//!
//! One difference, on purpose: Terraform rewrites the file in place (truncate, then write), so a
//! crash mid-write leaves half a state. weir writes a temporary file, syncs it, takes the lock on
//! it and renames it into place, so readers see the old bytes or the new ones and the file is
//! never unlocked during a run. A rename gives the path a new inode, though, and a Terraform
//! process that opened the old one while waiting for the lock would, once weir lets go, read
//! and write a file nobody will ever see again. So before weir releases a replaced (or removed)
//! inode it overwrites it with a [`TOMBSTONE`]: such a Terraform fails to read it and asks for
//! the command to be run again, instead of losing its work. weir itself checks, after locking,
//! that the inode it locked is still the one at the path, and starts over when it is not.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::backend::{Backend, BackendError};
use crate::{oslock, valid_workspace_name, LockError, LockInfo, DEFAULT_WORKSPACE};

/// Terraform's default state file name.
pub const STATE_FILE: &str = "terraform.tfstate";
/// Where Terraform keeps non-default workspaces.
pub const WORKSPACE_DIR: &str = "terraform.tfstate.d";

/// What a replaced state inode is overwritten with. Terraform 1.11.4 refuses it with "The state
/// file uses format version 99, which is not supported by Terraform 1.11.4. This state file was
/// created by Terraform 0.0.0-replaced-…"; weir never reads it (it re-checks the inode).
pub const TOMBSTONE: &[u8] = b"{\"version\": 99, \"terraform_version\": \"0.0.0-replaced-by-weir-while-this-process-waited-for-the-lock-run-the-command-again\"}\n";

/// How long to wait for a lock holder that has just taken the lock to write its info file.
const HOLDER_INFO_WAIT: Duration = Duration::from_millis(250);

struct Held {
    id: String,
    /// The locked state file; reads go through it while the lock is held.
    file: File,
    /// The file did not exist before the lock created it.
    created: bool,
}

/// Terraform's local backend over one working directory.
pub struct LocalBackend {
    dir: PathBuf,
    /// `path` relative to `dir` (Terraform's default `terraform.tfstate`).
    path: PathBuf,
    /// `workspace_dir` relative to `dir` (Terraform's default `terraform.tfstate.d`).
    workspace_dir: PathBuf,
    held: Mutex<HashMap<String, Held>>,
    /// Workspaces whose `.backup` this session already wrote (Terraform writes it once per run:
    /// the state as it was before the run's first change).
    backed_up: Mutex<HashMap<String, bool>>,
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn io(context: &str, path: &Path, e: std::io::Error) -> BackendError {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => {
            BackendError::Refused(format!("{context} {}: {e}", path.display()))
        }
        _ => BackendError::Io(std::io::Error::new(
            e.kind(),
            format!("{context} {}: {e}", path.display()),
        )),
    }
}

fn read_all(file: &mut File) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(0))?;
    let mut bytes = Vec::with_capacity(file.metadata().map(|m| m.len() as usize).unwrap_or(0));
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Same device and inode: the locked file is still the one at the path.
fn same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Overwrites an inode that no path names any more, so a process still holding it open (a
/// Terraform waiting for the lock) cannot mistake it for the state.
fn bury(mut file: &File) {
    if file.metadata().map(|m| m.nlink() == 0).unwrap_or(false) {
        let _ = file.set_len(0);
        let _ = file.seek(SeekFrom::Start(0));
        let _ = file.write_all(TOMBSTONE);
        let _ = file.sync_data();
    }
}

fn sync_dir(dir: &Path) {
    // Makes the rename itself durable; failure (some filesystems refuse) costs only durability
    // across a power loss, not atomicity.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

impl LocalBackend {
    /// Terraform's defaults: `terraform.tfstate` and `terraform.tfstate.d` in `dir`.
    pub fn new(dir: &Path) -> LocalBackend {
        LocalBackend::with_paths(dir, Path::new(STATE_FILE), Path::new(WORKSPACE_DIR))
    }

    /// A `backend "local"` block's `path` and `workspace_dir`, relative to `dir` unless absolute.
    pub fn with_paths(dir: &Path, path: &Path, workspace_dir: &Path) -> LocalBackend {
        LocalBackend {
            dir: dir.to_owned(),
            path: path.to_owned(),
            workspace_dir: workspace_dir.to_owned(),
            held: Mutex::new(HashMap::new()),
            backed_up: Mutex::new(HashMap::new()),
        }
    }

    /// The state file of a workspace relative to the working directory, as Terraform names it
    /// in lock info and messages.
    pub fn relative_path(&self, workspace: &str) -> PathBuf {
        if workspace == DEFAULT_WORKSPACE {
            self.path.clone()
        } else {
            let name = self.path.file_name().unwrap_or(STATE_FILE.as_ref());
            self.workspace_dir.join(workspace).join(name)
        }
    }

    /// The state file of a workspace.
    pub fn state_path(&self, workspace: &str) -> PathBuf {
        self.dir.join(self.relative_path(workspace))
    }

    /// `terraform.tfstate.backup` beside the state file.
    pub fn backup_path(&self, workspace: &str) -> PathBuf {
        crate::file::backup_path(&self.state_path(workspace))
    }

    /// Terraform's lock info file: `.terraform.tfstate.lock.info` beside the state file, and
    /// its path relative to the working directory for messages.
    fn lock_info_paths(&self, workspace: &str) -> (PathBuf, String) {
        let rel = self.relative_path(workspace);
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = name.strip_prefix('.').unwrap_or(&name);
        let info_rel = rel
            .parent()
            .unwrap_or(Path::new(""))
            .join(format!(".{name}.lock.info"));
        (self.dir.join(&info_rel), info_rel.display().to_string())
    }

    fn read_holder(&self, workspace: &str) -> Result<LockInfo, String> {
        let (path, shown) = self.lock_info_paths(workspace);
        let text = std::fs::read(&path).map_err(|e| {
            let e = std::io::Error::from(e.kind());
            // Go's *PathError text, which Terraform joins to the lock error.
            format!("open {shown}: {}", go_errno_text(&e))
        })?;
        serde_json::from_slice(&text).map_err(|e| {
            format!(
                "state file {:?} locked, but could not unmarshal lock info: {e}",
                self.relative_path(workspace).display().to_string()
            )
        })
    }

    /// The holder's info, waiting briefly for a holder that has only just taken the lock.
    fn holder_after_contention(&self, workspace: &str) -> (Option<LockInfo>, Option<String>) {
        let deadline = Instant::now() + HOLDER_INFO_WAIT;
        loop {
            match self.read_holder(workspace) {
                Ok(info) => return (Some(info), None),
                Err(e) if Instant::now() >= deadline => return (None, Some(e)),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    fn write_holder(&self, workspace: &str, info: &LockInfo) -> Result<(), BackendError> {
        let (path, _) = self.lock_info_paths(workspace);
        let json = serde_json::to_vec(info).map_err(|e| BackendError::Io(e.into()))?;
        // Temporary file + rename: a reader never sees half of the holder's info.
        let tmp = tmp_name(&path);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| io("could not write lock info for", &path, e))?;
        f.write_all(&json)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                io("could not write lock info for", &path, e)
            })
    }

    /// Copies the state as it was before this session's first change to `.backup`, as
    /// Terraform does on a run's first write of a different state.
    fn backup_before_first_change(
        &self,
        workspace: &str,
        old: Option<&[u8]>,
    ) -> Result<(), BackendError> {
        let mut done = guard(&self.backed_up);
        if done.get(workspace).copied().unwrap_or(false) {
            return Ok(());
        }
        if let Some(old) = old.filter(|b| !b.is_empty()) {
            let path = self.backup_path(workspace);
            write_atomic(&path, old, false)?;
        }
        done.insert(workspace.to_owned(), true);
        Ok(())
    }
}

fn go_errno_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::ReadOnlyFilesystem => "read-only file system".into(),
        _ => e.to_string(),
    }
}

fn tmp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(
        ".{name}.weir-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ))
}

/// Writes `bytes` to a synced temporary file beside `path` (with `path`'s permissions if it
/// exists), then (with `lock`) locks it, and renames it over `path`. Returns the new file, open.
fn write_atomic(path: &Path, bytes: &[u8], lock: bool) -> Result<File, BackendError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io("failed to create", dir, e))?;
    let tmp = tmp_name(path);
    let result = (|| {
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o666)
            .open(&tmp)?;
        if let Ok(m) = std::fs::metadata(path) {
            let _ = f.set_permissions(std::fs::Permissions::from_mode(m.mode() & 0o7777));
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        if lock && !oslock::try_lock(&f)? {
            return Err(std::io::Error::other(
                "the new state file is locked already",
            ));
        }
        std::fs::rename(&tmp, path)?;
        Ok(f)
    })();
    match result {
        Ok(f) => {
            sync_dir(dir);
            Ok(f)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(io("failed to write state to", path, e))
        }
    }
}

impl Backend for LocalBackend {
    fn kind(&self) -> &'static str {
        "local"
    }

    fn location(&self, workspace: &str) -> String {
        self.relative_path(workspace).display().to_string()
    }

    fn workspaces(&self) -> Result<Vec<String>, BackendError> {
        let mut out = vec![DEFAULT_WORKSPACE.to_owned()];
        let dir = self.dir.join(&self.workspace_dir);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io("failed to list workspaces in", &dir, e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io("failed to list workspaces in", &dir, e))?;
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        out.extend(names);
        Ok(out)
    }

    fn create_workspace(&self, workspace: &str) -> Result<(), BackendError> {
        if workspace == DEFAULT_WORKSPACE {
            return Ok(());
        }
        if !valid_workspace_name(workspace) {
            return Err(BackendError::InvalidConfig(format!(
                "invalid workspace name {workspace:?}"
            )));
        }
        // Terraform's local backend makes the directory only; the state file comes with the
        // first write.
        let dir = self.dir.join(&self.workspace_dir).join(workspace);
        std::fs::create_dir_all(&dir).map_err(|e| io("failed to create", &dir, e))
    }

    fn delete_workspace(&self, workspace: &str) -> Result<(), BackendError> {
        if workspace == DEFAULT_WORKSPACE {
            return Err(BackendError::Refused("cannot delete default state".into()));
        }
        let dir = self.dir.join(&self.workspace_dir).join(workspace);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("failed to delete", &dir, e)),
        }
    }

    fn get(&self, workspace: &str) -> Result<Option<Vec<u8>>, BackendError> {
        let path = self.state_path(workspace);
        let bytes = {
            let mut held = guard(&self.held);
            match held.get_mut(workspace) {
                // Through the locked file: the path could name another inode only if someone
                // ignored the lock, and then the locked one is still what this run owns.
                Some(h) => read_all(&mut h.file).map_err(|e| io("failed to read", &path, e))?,
                None => match std::fs::read(&path) {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(io("failed to read", &path, e)),
                },
            }
        };
        // Terraform treats an empty file (one a lock created) as no state.
        Ok(Some(bytes).filter(|b| !b.is_empty()))
    }

    fn put(&self, workspace: &str, bytes: &[u8]) -> Result<(), BackendError> {
        let path = self.state_path(workspace);
        let mut held = guard(&self.held);
        if !guard(&self.backed_up)
            .get(workspace)
            .copied()
            .unwrap_or(false)
        {
            let old = match held.get_mut(workspace) {
                Some(h) => Some(read_all(&mut h.file).map_err(|e| io("failed to read", &path, e))?),
                None => match std::fs::read(&path) {
                    Ok(b) => Some(b),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => return Err(io("failed to read", &path, e)),
                },
            };
            self.backup_before_first_change(workspace, old.as_deref())?;
        }
        match held.get_mut(workspace) {
            Some(h) => {
                let new = write_atomic(&path, bytes, true)?;
                let old = std::mem::replace(&mut h.file, new);
                h.created = false;
                bury(&old);
            }
            None => {
                write_atomic(&path, bytes, false)?;
            }
        }
        Ok(())
    }

    fn lock(&self, workspace: &str, info: &LockInfo) -> Result<(), BackendError> {
        if let Some(h) = guard(&self.held).get(workspace) {
            return Err(LockError::Held {
                reason: format!(
                    "state {:?} already locked",
                    self.relative_path(workspace).display().to_string()
                ),
                holder: self.read_holder(workspace).ok().map(Box::new).or_else(|| {
                    let mut i = info.clone();
                    i.id = h.id.clone();
                    Some(Box::new(i))
                }),
            }
            .into());
        }
        let path = self.state_path(workspace);
        // Terraform's words for a state file it cannot open or lock: "Error acquiring the
        // state lock" with Go's error text.
        let unavailable = |op: &str, e: std::io::Error| -> BackendError {
            LockError::Unavailable {
                reason: format!(
                    "{op} {}: {}",
                    self.relative_path(workspace).display(),
                    go_errno_text(&e)
                ),
            }
            .into()
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| unavailable("mkdir", e))?;
        }
        // The path may be replaced between open and lock (a writer renames a new file in):
        // then the lock is on a dead inode, so start over.
        for _ in 0..100 {
            let created = !path.exists();
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o666)
                .open(&path)
                .map_err(|e| unavailable("open", e))?;
            if !oslock::try_lock(&file).map_err(|e| unavailable("lock", e))? {
                let (holder, why) = self.holder_after_contention(workspace);
                let mut reason = "resource temporarily unavailable".to_owned();
                if let Some(why) = why {
                    reason.push('\n');
                    reason.push_str(&why);
                }
                return Err(LockError::Held {
                    reason,
                    holder: holder.map(Box::new),
                }
                .into());
            }
            if !same_file(&file, &path) {
                continue;
            }
            let mut info = info.clone();
            info.path = self.location(workspace);
            info.created = chrono::Utc::now();
            if let Err(e) = self.write_holder(workspace, &info) {
                let _ = oslock::unlock(&file);
                if created {
                    let _ = std::fs::remove_file(&path);
                }
                return Err(e);
            }
            guard(&self.held).insert(
                workspace.to_owned(),
                Held {
                    id: info.id.clone(),
                    file,
                    created,
                },
            );
            // A new lock is a new run: its first change writes a fresh backup.
            guard(&self.backed_up).remove(workspace);
            return Ok(());
        }
        Err(BackendError::Io(std::io::Error::other(format!(
            "{} kept being replaced while it was being locked",
            path.display()
        ))))
    }

    fn unlock(&self, workspace: &str, id: &str) -> Result<(), BackendError> {
        let mut held = guard(&self.held);
        let Some(h) = held.get(workspace) else {
            return Err(LockError::NotLocked.into());
        };
        if h.id != id {
            return Err(LockError::IdMismatch {
                given: id.to_owned(),
                held: h.id.clone(),
            }
            .into());
        }
        let h = held.remove(workspace).expect("checked above");
        let (info_path, _) = self.lock_info_paths(workspace);
        let _ = std::fs::remove_file(info_path);
        // Like Terraform, remove a state file the lock created and nobody wrote; but while
        // still holding the lock, and burying the inode for anyone who opened it meanwhile.
        let path = self.state_path(workspace);
        if h.created
            && h.file.metadata().map(|m| m.len() == 0).unwrap_or(false)
            && same_file(&h.file, &path)
        {
            let _ = std::fs::remove_file(&path);
            bury(&h.file);
        }
        oslock::unlock(&h.file).map_err(|e| io("failed to unlock", &path, e))
    }

    fn lock_holder(&self, workspace: &str) -> Result<Option<LockInfo>, BackendError> {
        if guard(&self.held).contains_key(workspace) {
            return Ok(self.read_holder(workspace).ok());
        }
        let path = self.state_path(workspace);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("failed to open", &path, e)),
        };
        if !oslock::is_locked_by_other(&file)
            .map_err(|e| io("failed to test the lock on", &path, e))?
        {
            return Ok(None);
        }
        Ok(self.read_holder(workspace).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_terraform() {
        let b = LocalBackend::new(Path::new("/w"));
        assert_eq!(b.location("default"), "terraform.tfstate");
        assert_eq!(
            b.location("dev"),
            "terraform.tfstate.d/dev/terraform.tfstate"
        );
        assert_eq!(
            b.lock_info_paths("default").1,
            ".terraform.tfstate.lock.info"
        );
        assert_eq!(
            b.lock_info_paths("dev").1,
            "terraform.tfstate.d/dev/.terraform.tfstate.lock.info"
        );
        assert_eq!(
            b.backup_path("dev"),
            Path::new("/w/terraform.tfstate.d/dev/terraform.tfstate.backup")
        );
    }
}
