//! File-tree helpers for installed packages: copying a package (symlinks kept, modes kept),
//! subdirectory globs, and Go's `filepath.EvalSymlinks` on a path relative to a directory.

use std::io;
use std::path::{Component, Path, PathBuf};

/// Copies the tree at `src` to `dst` (created; must not exist).
pub fn copy_tree(src: &Path, dst: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dst)?;
    let meta = std::fs::metadata(src)?;
    std::fs::set_permissions(dst, meta.permissions())?;
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let from = e.path();
        let to = dst.join(e.file_name());
        let ft = e.file_type()?;
        if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?;
        } else if ft.is_dir() {
            copy_tree(&from, &to)?;
        } else {
            std::fs::copy(&from, &to)?;
        }
    }
    Ok(())
}

/// Replaces `dst` with a copy of `src`.
pub fn replace_with_copy(src: &Path, dst: &Path) -> io::Result<()> {
    remove_any(dst)?;
    if let Some(p) = dst.parent() {
        std::fs::create_dir_all(p)?;
    }
    copy_tree(src, dst)
}

/// Removes a file, symlink or directory tree; absent is fine.
pub fn remove_any(p: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(p) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
    }
}

fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| go(&p[1..], &n[i..])),
            Some('?') => !n.is_empty() && go(&p[1..], &n[1..]),
            Some(c) => n.first() == Some(c) && go(&p[1..], &n[1..]),
        }
    }
    go(&p, &n)
}

/// go-getter's `SubdirGlob` / Terraform's `ExpandSubdirGlobs`: `subdir` may hold `*` and `?`
/// and must match exactly one path under `root`.
pub fn expand_subdir_glob(root: &Path, subdir: &str) -> Result<PathBuf, String> {
    if subdir.is_empty() {
        return Ok(root.to_path_buf());
    }
    let mut current = vec![root.to_path_buf()];
    for part in subdir.split('/').filter(|p| !p.is_empty() && *p != ".") {
        let mut next = Vec::new();
        for dir in &current {
            if part.contains(['*', '?', '[']) {
                if let Ok(rd) = std::fs::read_dir(dir) {
                    let mut names: Vec<String> = rd
                        .flatten()
                        .map(|e| e.file_name().to_string_lossy().to_string())
                        .filter(|n| glob_match(part, n))
                        .collect();
                    names.sort();
                    next.extend(names.into_iter().map(|n| dir.join(n)));
                }
            } else {
                let p = dir.join(part);
                if std::fs::symlink_metadata(&p).is_ok() {
                    next.push(p);
                }
            }
        }
        current = next;
    }
    match current.len() {
        0 => Err(format!("subdir {subdir:?} not found")),
        1 => Ok(current.remove(0)),
        _ => Err(format!("subdir {subdir:?} matches multiple paths")),
    }
}

/// Go's `filepath.EvalSymlinks(filepath.Join(base, rel))` where `rel` is relative to the
/// working directory `cwd`: the result stays relative unless a link points somewhere absolute.
pub fn eval_symlinks(cwd: &Path, rel: &str) -> io::Result<String> {
    let mut out = PathBuf::new();
    let mut pending: Vec<String> = Path::new(rel)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    pending.reverse();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        match part.as_str() {
            "." => continue,
            ".." => {
                if out.as_os_str().is_empty()
                    || out.components().next_back() == Some(Component::ParentDir)
                {
                    out.push("..");
                } else {
                    out.pop();
                }
                continue;
            }
            "/" => {
                out = PathBuf::from("/");
                continue;
            }
            _ => {}
        }
        let candidate = out.join(&part);
        let full = cwd.join(&candidate);
        let meta = std::fs::symlink_metadata(&full)?;
        if meta.file_type().is_symlink() {
            links += 1;
            if links > 255 {
                return Err(io::Error::other("EvalSymlinks: too many links"));
            }
            let target = std::fs::read_link(&full)?;
            if target.is_absolute() {
                out = PathBuf::from("/");
            }
            let mut more: Vec<String> = target
                .components()
                .filter(|c| !matches!(c, Component::RootDir))
                .map(|c| c.as_os_str().to_string_lossy().to_string())
                .collect();
            more.reverse();
            pending.extend(more);
        } else {
            out = candidate;
        }
    }
    let s = out.to_string_lossy().to_string();
    Ok(if s.is_empty() { ".".into() } else { s })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_resolve_like_go() {
        let d = tempfile::tempdir().unwrap();
        let target = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(target.path().join("sub")).unwrap();
        std::fs::create_dir_all(d.path().join(".terraform/modules")).unwrap();
        std::os::unix::fs::symlink(target.path(), d.path().join(".terraform/modules/abs")).unwrap();
        std::fs::create_dir_all(d.path().join("child")).unwrap();
        assert_eq!(eval_symlinks(d.path(), "child").unwrap(), "child");
        assert_eq!(
            eval_symlinks(d.path(), ".terraform/modules/abs/sub").unwrap(),
            target.path().join("sub").to_string_lossy()
        );
        assert!(eval_symlinks(d.path(), "missing").is_err());
    }

    #[test]
    fn subdir_globs() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("pkg-1.0/modules/a")).unwrap();
        assert_eq!(
            expand_subdir_glob(d.path(), "*/modules/a").unwrap(),
            d.path().join("pkg-1.0/modules/a")
        );
        assert_eq!(
            expand_subdir_glob(d.path(), "nope").unwrap_err(),
            "subdir \"nope\" not found"
        );
    }
}
