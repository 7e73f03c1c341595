//! An exclusive lock on a file, held for the process's life and dropped by the OS when the
//! process ends, however it ends (`File::try_lock`: `flock` on Unix, `LockFileEx` on Windows).

use std::fs::{File, TryLockError};
use std::io;
use std::path::Path;

/// Held while alive.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

impl InstanceLock {
    /// Takes the lock on `path` (created if missing, private to the runtime's user); `None` when
    /// another process holds it.
    pub fn try_acquire(path: &Path) -> io::Result<Option<InstanceLock>> {
        let file = super::open_lock_file(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(InstanceLock { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("instance.lock");
        let first = InstanceLock::try_acquire(&path).unwrap().expect("free");
        assert!(InstanceLock::try_acquire(&path).unwrap().is_none(), "held");
        drop(first);
        assert!(InstanceLock::try_acquire(&path).unwrap().is_some(), "released");
    }
}
