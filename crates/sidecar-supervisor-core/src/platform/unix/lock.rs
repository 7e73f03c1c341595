//! An exclusive lock on a file, held for the process's life and dropped by the kernel when the
//! process ends, however it ends (`flock`).

use std::fs::File;
use std::io;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// Held while alive.
#[derive(Debug)]
pub struct InstanceLock {
    _lock: Flock<File>,
}

impl InstanceLock {
    /// Takes the lock on `path` (created 0600 if missing); `None` when another process holds it.
    pub fn try_acquire(path: &Path) -> io::Result<Option<InstanceLock>> {
        let file = super::files::open_lock_file(path)?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Ok(Some(InstanceLock { _lock: lock })),
            Err((_, Errno::EWOULDBLOCK)) => Ok(None),
            Err((_, e)) => Err(e.into()),
        }
    }
}
