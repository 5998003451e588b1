//! Plain `terraform.tfstate` files: the `-state` path and migration to and from the store.

use std::io::Write;
use std::path::{Path, PathBuf};

use states::State;

use crate::Result;

/// Reads a state file. A missing or empty file is `Ok(None)` (Terraform's "no state").
pub fn read_state_file(path: &Path) -> Result<Option<State>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    match State::from_slice(&bytes) {
        Ok(s) => Ok(Some(s)),
        Err(states::StateError::NoState) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Writes a state file atomically (temporary file + rename, so a crash leaves the old or the
/// new file, never half of one). With `backup`, the previous file is kept as `<path>.backup`
/// like Terraform's local backend does.
pub fn write_state_file(path: &Path, state: &State, backup: bool) -> Result<()> {
    let bytes = state.to_vec();
    if backup && path.exists() {
        std::fs::copy(path, backup_path(path))?;
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// `<path>.backup`.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".backup");
    PathBuf::from(s)
}
