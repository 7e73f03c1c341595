//! The open-files limit: each sidecar holds a few descriptors (three pipes and a pidfd), and
//! the common soft limit of 1024 would cap a profile near 250 sidecars. The runtime raises its
//! soft limit to the hard one; children get the original back, as programs that close every
//! possible descriptor up to the limit slow down with a huge one.

use std::sync::atomic::{AtomicU64, Ordering};

use nix::sys::resource::{getrlimit, setrlimit, Resource};

static ORIGINAL_NOFILE: AtomicU64 = AtomicU64::new(u64::MAX);

/// Raises the soft open-files limit to the hard one, remembering the original for children.
pub fn raise_fd_limit() {
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = ORIGINAL_NOFILE.compare_exchange(u64::MAX, soft, Ordering::Relaxed, Ordering::Relaxed);
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

/// The soft limit to give children, when the runtime raised its own.
pub fn original_nofile() -> Option<u64> {
    Some(ORIGINAL_NOFILE.load(Ordering::Relaxed)).filter(|v| *v != u64::MAX)
}
