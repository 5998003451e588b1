//! The package cache shared by working directories: one directory per normalised package
//! address, filled through a temporary directory and renamed into place so a reader never sees
//! half a package. A git package remembers the commit it checked out and is fetched again when
//! its branch or tag now names another commit (`git ls-remote`, no download); a full commit id,
//! archives and registry versions are taken as they are.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::fsutil::remove_any;
use crate::getter::{getter_name, Getter, TerraformDst};
use crate::git::GitSource;

/// The cache directory name for a package address.
pub fn entry_name(package: &str) -> String {
    hex::encode(&Sha256::digest(package.as_bytes())[..16])
}

fn meta_path(entry: &Path) -> PathBuf {
    entry.with_extension("commit")
}

/// Whether a cached git checkout of `package` is still what the remote serves.
fn git_entry_fresh(getter: &Getter, package: &str, entry: &Path) -> bool {
    let Ok(cached) = std::fs::read_to_string(meta_path(entry)) else {
        return false;
    };
    let Some(git) = &getter.git else { return false };
    let url = package.strip_prefix("git::").unwrap_or(package);
    let Ok(src) = GitSource::parse(url) else {
        return false;
    };
    match git.remote_commit(&src) {
        Ok(None) => true,
        Ok(Some(now)) => now == cached.trim(),
        // Offline or the ref vanished: fetching again gives the answer Terraform would.
        Err(_) => false,
    }
}

/// Returns the cache entry for `package`, fetching it first when absent, stale, or when
/// `refresh` asks for a new copy.
pub fn obtain(
    cache: &Path,
    package: &str,
    refresh: bool,
    getter: &Getter,
    tf: &TerraformDst,
) -> Result<PathBuf, String> {
    let entry = cache.join(entry_name(package));
    let is_git = getter_name(package) == "git";
    if !refresh && entry.is_dir() && (!is_git || git_entry_fresh(getter, package, &entry)) {
        return Ok(entry);
    }
    std::fs::create_dir_all(cache).map_err(|e| e.to_string())?;
    let tmp = tempfile::Builder::new()
        .prefix(".fetch-")
        .tempdir_in(cache)
        .map_err(|e| e.to_string())?;
    let dst = tmp.path().join("pkg");
    getter.fetch(package, &dst, Some(tf))?;
    let commit = if is_git {
        getter.git.as_ref().and_then(|g| g.checked_out_commit(&dst))
    } else {
        None
    };
    let _ = remove_any(&entry);
    let _ = std::fs::remove_file(meta_path(&entry));
    match std::fs::rename(&dst, &entry) {
        Ok(()) => {}
        // Another process filled it meanwhile; theirs is as good as ours.
        Err(_) if entry.is_dir() => {}
        Err(e) => return Err(e.to_string()),
    }
    if let Some(c) = commit {
        let _ = std::fs::write(meta_path(&entry), c);
    }
    Ok(entry)
}
