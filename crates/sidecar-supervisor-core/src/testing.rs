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
    let bin = dir.join(format!("test-sidecar{}", std::env::consts::EXE_SUFFIX));
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

/// A status row of `name` in `state` with nothing else known (no process, full budget), for
/// unit tests of code that reads rows.
pub fn status_row(name: &str, state: crate::domain::State) -> crate::runtime::SidecarStatus {
    crate::runtime::SidecarStatus {
        name: name.into(),
        role: None,
        state,
        pid: None,
        port: None,
        url: None,
        restarts_in_window: 0,
        budget: crate::runtime::Budget { max: 6, window_secs: 90, remaining: 6 },
        auto_restart: true,
        last_exit: None,
        last_error: None,
        uptime_ms: None,
        last_probe: None,
        identity: None,
        depends_on: Vec::new(),
        resources: None,
    }
}

/// Row of `name` in a status.
pub fn row<'a>(st: &'a RuntimeStatus, name: &str) -> &'a crate::runtime::SidecarStatus {
    st.sidecars.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no sidecar {name} in status"))
}

/// Is `pid` alive (exists and is not a zombie)?
pub fn pid_alive(pid: u32) -> bool {
    crate::platform::start_time(pid).is_some()
}

/// Waits until `pid` has ended (an OS wait, no polling loop: a pidfd on Linux, kqueue on
/// macOS, the process handle on Windows); `true` if it ended within `timeout`.
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

#[cfg(target_os = "macos")]
pub fn wait_pid_gone(pid: u32, timeout: Duration) -> bool {
    // SAFETY: kqueue and kevent with valid arguments; the descriptor is closed below.
    unsafe {
        let kq = libc::kqueue();
        if kq < 0 {
            return !pid_alive(pid);
        }
        let mut ev: libc::kevent = std::mem::zeroed();
        ev.ident = pid as libc::uintptr_t;
        ev.filter = libc::EVFILT_PROC;
        ev.flags = libc::EV_ADD | libc::EV_ONESHOT;
        ev.fflags = libc::NOTE_EXIT;
        if libc::kevent(kq, &ev, 1, std::ptr::null_mut(), 0, std::ptr::null()) < 0 {
            libc::close(kq);
            return !pid_alive(pid); // ESRCH: already gone
        }
        let ts = libc::timespec { tv_sec: timeout.as_secs() as libc::time_t, tv_nsec: timeout.subsec_nanos() as _ };
        let mut out: libc::kevent = std::mem::zeroed();
        let n = libc::kevent(kq, std::ptr::null(), 0, &mut out, 1, &ts);
        libc::close(kq);
        n == 1 || !pid_alive(pid)
    }
}

#[cfg(windows)]
pub fn wait_pid_gone(pid: u32, timeout: Duration) -> bool {
    use windows_sys::Win32::Foundation::{CloseHandle, WAIT_OBJECT_0};
    use windows_sys::Win32::System::Threading::{OpenProcess, WaitForSingleObject, PROCESS_SYNCHRONIZE};
    // SAFETY: plain calls on a handle we open and close here.
    unsafe {
        let h = OpenProcess(PROCESS_SYNCHRONIZE, 0, pid);
        if h.is_null() {
            return true; // no such process
        }
        let ms = timeout.as_millis().min(u32::MAX as u128 - 1) as u32;
        let r = WaitForSingleObject(h, ms);
        CloseHandle(h);
        r == WAIT_OBJECT_0
    }
}

/// Parses `GRANDCHILD_PID=<n>` from log lines.
pub fn grandchild_pid(lines: &[crate::logs::LogLine]) -> Option<u32> {
    lines.iter().find_map(|l| l.line.strip_prefix("GRANDCHILD_PID=").and_then(|p| p.trim().parse().ok()))
}

/// Re-runs `check` on every change in `dir` until it gives a value, or panics after `timeout`
/// naming `what`. The directory is watched by the OS (`notify`: inotify, FSEvents,
/// ReadDirectoryChangesW), so nothing sleeps.
pub fn wait_in_dir<T>(dir: &Path, what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    use notify::Watcher;
    std::fs::create_dir_all(dir).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |e| {
        let _ = tx.send(e);
    })
    .unwrap_or_else(|e| panic!("cannot watch {}: {e}", dir.display()));
    watcher
        .watch(dir, notify::RecursiveMode::NonRecursive)
        .unwrap_or_else(|e| panic!("cannot watch {}: {e}", dir.display()));
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if rx.recv_timeout(left).is_err() {
            return check().unwrap_or_else(|| panic!("timed out waiting for {what} in {}", dir.display()));
        }
    }
}
