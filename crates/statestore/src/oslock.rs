//! Whole-file `fcntl` write locks that Terraform's local backend sees (and that see its own).
//!
//! Terraform locks `terraform.tfstate` with a classic POSIX record lock (`F_SETLK`, whole file,
//! write). On Linux weir takes an *open file description* lock (`F_OFD_SETLK`) instead: the
//! kernel keeps both kinds in one list, so each conflicts with the other, but an OFD lock
//! belongs to the open file rather than to the process. That removes the two traps of classic
//! locks: closing *any* descriptor of the inode (say, a `std::fs::read` of the state file by
//! another part of the process) silently drops a classic lock, and two lockers inside one
//! process (the agent runs many stacks) never exclude each other. Other Unixes, which lack OFD
//! locks, fall back to classic locks.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

#[cfg(target_os = "linux")]
const SETLK: libc::c_int = libc::F_OFD_SETLK;
#[cfg(target_os = "linux")]
const GETLK: libc::c_int = libc::F_OFD_GETLK;
#[cfg(all(unix, not(target_os = "linux")))]
const SETLK: libc::c_int = libc::F_SETLK;
#[cfg(all(unix, not(target_os = "linux")))]
const GETLK: libc::c_int = libc::F_GETLK;

fn whole_file(kind: libc::c_short) -> libc::flock {
    // SAFETY: `flock` is a plain C struct of integers; all-zero is a valid value.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = 0;
    // Zero length: to the end of the file, however far it grows. `l_pid` must stay 0 for OFD locks.
    fl.l_len = 0;
    fl
}

fn fcntl(file: &File, cmd: libc::c_int, fl: &mut libc::flock) -> io::Result<()> {
    // SAFETY: the descriptor is open for the lifetime of `file`, and `fl` is a valid, exclusively
    // borrowed `flock` that the kernel reads (and, for GETLK, writes) during the call only.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), cmd, fl as *mut libc::flock) };
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn is_contention(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EACCES))
}

/// Tries to take a whole-file write lock on `file` (opened for writing). `Ok(false)` when
/// another process (or another open file of this one) holds a conflicting lock.
pub(crate) fn try_lock(file: &File) -> io::Result<bool> {
    let mut fl = whole_file(libc::F_WRLCK as libc::c_short);
    match fcntl(file, SETLK, &mut fl) {
        Ok(()) => Ok(true),
        Err(e) if is_contention(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Releases a lock taken with [`try_lock`] (closing the file releases it too).
pub(crate) fn unlock(file: &File) -> io::Result<()> {
    let mut fl = whole_file(libc::F_UNLCK as libc::c_short);
    fcntl(file, SETLK, &mut fl)
}

/// Whether someone else holds a lock that would stop a write lock on `file`, without taking
/// one (works on a file opened read-only).
pub(crate) fn is_locked_by_other(file: &File) -> io::Result<bool> {
    let mut fl = whole_file(libc::F_WRLCK as libc::c_short);
    fcntl(file, GETLK, &mut fl)?;
    Ok(fl.l_type != libc::F_UNLCK as libc::c_short)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::OpenOptions;

    fn open(path: &std::path::Path) -> File {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .unwrap()
    }

    #[test]
    fn locks_exclude_each_other_inside_one_process_and_survive_other_closes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let a = open(&path);
        let b = open(&path);
        assert!(try_lock(&a).unwrap());
        assert!(!try_lock(&b).unwrap(), "a second open file is refused");
        assert!(is_locked_by_other(&b).unwrap());
        // Opening and closing another descriptor of the inode keeps the lock (a classic
        // POSIX lock would be gone now).
        drop(std::fs::read(&path).unwrap());
        drop(open(&path));
        assert!(!try_lock(&b).unwrap());
        unlock(&a).unwrap();
        assert!(!is_locked_by_other(&b).unwrap());
        assert!(try_lock(&b).unwrap());
        drop(b);
        assert!(
            try_lock(&a).unwrap(),
            "closing the holder releases the lock"
        );
    }
}
