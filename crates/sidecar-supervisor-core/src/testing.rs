//! Helpers for integration tests against real processes (feature `testing`). They wait on
//! events, never on sleeps: a process's end is awaited with a pidfd (Linux), state changes with
//! the engine's notifications.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::profile::{Overrides, RuntimeConfig};
use crate::runtime::{RuntimeStatus, SupervisorOptions};

/// The `test-sidecar` binary built in this workspace (or `TEST_SIDECAR_BIN`).
pub fn test_sidecar_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("TEST_SIDECAR_BIN") {
        return PathBuf::from(p);
    }
    // <target>/<profile>/deps/<test-exe> → <target>/<profile>/test-sidecar
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join("test-sidecar");
    assert!(
        bin.is_file(),
        "{} is missing: build it first with `cargo build -p test-sidecar` (`cargo xtask test` does this)",
        bin.display()
    );
    bin
}

/// Writes `profile_json` into `dir/profile.json` and resolves it with no environment,
/// data dir `dir/data`.
pub fn config_in(dir: &Path, profile_json: &str) -> RuntimeConfig {
    let path = dir.join("profile.json");
    std::fs::write(&path, profile_json).expect("write profile");
    let cli = Overrides { profile_path: Some(path), data_dir: Some(dir.join("data")), ..Default::default() };
    crate::profile::resolve(&cli, &|_| None, None, "desktop-runtime-test").unwrap_or_else(|e| panic!("{e}"))
}

/// Options that find `test-sidecar` as a bundled sidecar.
pub fn options(config: RuntimeConfig) -> SupervisorOptions {
    let dir = test_sidecar_bin().parent().expect("bin dir").to_path_buf();
    SupervisorOptions { config, bundled_dirs: vec![dir], write_status_file: true }
}

/// Row of `name` in a status.
pub fn row<'a>(st: &'a RuntimeStatus, name: &str) -> &'a crate::runtime::SidecarStatus {
    st.sidecars.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no sidecar {name} in status"))
}

/// Is `pid` alive (exists and is not a zombie)?
pub fn pid_alive(pid: u32) -> bool {
    crate::platform::start_time(pid).is_some()
}

/// Waits until `pid` has ended (pidfd, no polling loop); `true` if it ended within `timeout`.
#[cfg(target_os = "linux")]
pub fn wait_pid_gone(pid: u32, timeout: Duration) -> bool {
    // SAFETY: raw syscalls with valid arguments; the fd is closed below.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) } as libc::c_int;
    if fd < 0 {
        return !pid_alive(pid); // ESRCH: already gone
    }
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    let r = unsafe { libc::poll(&mut pfd, 1, ms) };
    unsafe { libc::close(fd) };
    r == 1 || !pid_alive(pid)
}

/// Parses `GRANDCHILD_PID=<n>` from log lines.
pub fn grandchild_pid(lines: &[crate::logs::LogLine]) -> Option<u32> {
    lines.iter().find_map(|l| l.line.strip_prefix("GRANDCHILD_PID=").and_then(|p| p.trim().parse().ok()))
}

/// Watches a directory with inotify so tests can wait for a file to change without sleeping.
#[cfg(target_os = "linux")]
struct DirWatch(std::os::fd::OwnedFd);

#[cfg(target_os = "linux")]
impl DirWatch {
    fn new(dir: &Path) -> DirWatch {
        use std::os::fd::FromRawFd;
        use std::os::unix::ffi::OsStrExt;
        std::fs::create_dir_all(dir).unwrap();
        // SAFETY: plain syscalls; the fd is owned below.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
        assert!(fd >= 0, "inotify_init1: {}", std::io::Error::last_os_error());
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).unwrap();
        let mask = libc::IN_CREATE | libc::IN_MOVED_TO | libc::IN_MODIFY | libc::IN_CLOSE_WRITE;
        let wd = unsafe { libc::inotify_add_watch(std::os::fd::AsRawFd::as_raw_fd(&fd), c.as_ptr(), mask) };
        assert!(wd >= 0, "inotify_add_watch {}: {}", dir.display(), std::io::Error::last_os_error());
        DirWatch(fd)
    }

    /// Blocks until something changed in the directory (true) or `deadline` passed (false).
    fn wait(&self, deadline: std::time::Instant) -> bool {
        use std::os::fd::AsRawFd;
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        let mut pfd = libc::pollfd { fd: self.0.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: valid pollfd; read into a local buffer until the queue is empty.
        let r = unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(i32::MAX as u128) as i32) };
        let mut buf = [0u8; 4096];
        while unsafe { libc::read(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
        r != 0
    }
}

/// Re-runs `check` on every change in `dir` until it gives a value, or panics after `timeout`
/// naming `what` (Linux: inotify, no sleeping).
#[cfg(target_os = "linux")]
pub fn wait_in_dir<T>(dir: &Path, what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let watch = DirWatch::new(dir);
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        if !watch.wait(deadline) {
            return check().unwrap_or_else(|| panic!("timed out waiting for {what} in {}", dir.display()));
        }
    }
}
