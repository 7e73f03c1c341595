//! macOS: process start through `std` (`posix_spawn` when nothing runs before exec) into a
//! process group of its own, the exit awaited through kqueue, process identity from libproc.
//! macOS has no parent-death signal: the guardian and the lifeline are the death watch.

mod proc;
mod spawn;
mod usage;

pub use proc::{look, processes_with_env, start_time};
pub use spawn::{spawn, Child};
pub use usage::group_usage;

/// This OS, as the profile's `os` blocks name it.
pub const OS: crate::profile::Os = crate::profile::Os::Macos;

/// Whether a data dir nobody configured is system-wide: never on macOS (the app's data dir is
/// the user's).
pub fn system_wide_data_dir() -> bool {
    false
}

/// Waits until `pid` has ended, without a polling loop; `true` if it ended within `timeout`
/// (or was gone already). For tests.
#[cfg(any(test, feature = "testing"))]
pub fn wait_gone(pid: u32, timeout: std::time::Duration) -> bool {
    // SAFETY: kqueue and kevent with valid arguments; the descriptor is closed below.
    unsafe {
        let kq = libc::kqueue();
        if kq < 0 {
            return crate::platform::start_time(pid).is_none();
        }
        let mut ev: libc::kevent = std::mem::zeroed();
        ev.ident = pid as libc::uintptr_t;
        ev.filter = libc::EVFILT_PROC;
        ev.flags = libc::EV_ADD | libc::EV_ONESHOT;
        ev.fflags = libc::NOTE_EXIT;
        if libc::kevent(kq, &ev, 1, std::ptr::null_mut(), 0, std::ptr::null()) < 0 {
            libc::close(kq);
            return crate::platform::start_time(pid).is_none(); // ESRCH: already gone
        }
        let ts = libc::timespec { tv_sec: timeout.as_secs() as libc::time_t, tv_nsec: timeout.subsec_nanos() as _ };
        let mut out: libc::kevent = std::mem::zeroed();
        let n = libc::kevent(kq, std::ptr::null(), 0, &mut out, 1, &ts);
        libc::close(kq);
        n == 1 || crate::platform::start_time(pid).is_none()
    }
}
