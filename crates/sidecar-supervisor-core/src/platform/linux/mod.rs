//! Linux: process start with the parent-death signal ([`spawn`]) and process identity from
//! `/proc`.

mod procfs;
mod spawn;
mod usage;

pub use procfs::{look, processes_with_env, start_time};
pub use spawn::{spawn, Child};
pub use usage::group_usage;

/// This OS, as the profile's `os` blocks name it.
pub const OS: crate::profile::Os = crate::profile::Os::Linux;

/// Whether a data dir nobody configured is system-wide (`/var/lib/<app>`): as root, whose home
/// (0700) sidecars that drop to their `user` could not reach.
pub fn system_wide_data_dir() -> bool {
    crate::platform::is_root()
}

/// Waits until `pid` has ended, without a polling loop; `true` if it ended within `timeout`
/// (or was gone already). For tests.
#[cfg(any(test, feature = "testing"))]
pub fn wait_gone(pid: u32, timeout: std::time::Duration) -> bool {
    // SAFETY: raw syscalls with valid arguments; the fd is closed below.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) } as libc::c_int;
    if fd < 0 {
        return crate::platform::start_time(pid).is_none(); // ESRCH: already gone
    }
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    let r = unsafe { libc::poll(&mut pfd, 1, ms) };
    unsafe { libc::close(fd) };
    r == 1 || crate::platform::start_time(pid).is_none()
}
