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
        let want = raised_soft_limit(hard);
        if soft < want {
            let _ = ORIGINAL_NOFILE.compare_exchange(u64::MAX, soft, Ordering::Relaxed, Ordering::Relaxed);
            if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, want, hard) {
                tracing::warn!("cannot raise the open-files limit from {soft} to {want}: {e}");
            }
        }
    }
}

/// The soft limit to ask for under `hard`: the hard limit itself, except on macOS, where the
/// kernel refuses a soft limit above `OPEN_MAX` (10240) for open files even when the hard limit
/// is unlimited.
fn raised_soft_limit(hard: libc::rlim_t) -> libc::rlim_t {
    #[cfg(target_os = "macos")]
    return hard.min(10240); // OPEN_MAX, <sys/syslimits.h>
    #[cfg(not(target_os = "macos"))]
    return hard;
}

/// The soft limit to give children, when the runtime raised its own (Linux: set in the child
/// before exec. On macOS children keep the raised limit, at most `OPEN_MAX`, so that `std` can
/// start them with `posix_spawn`).
#[cfg(target_os = "linux")]
pub fn original_nofile() -> Option<u64> {
    Some(ORIGINAL_NOFILE.load(Ordering::Relaxed)).filter(|v| *v != u64::MAX)
}
