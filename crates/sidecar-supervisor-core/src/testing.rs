//! Helpers for integration tests against real processes (feature `testing`; hidden from the
//! documented API). They wait on events, never on sleeps: a process's end is awaited with a
//! pidfd (Linux), state changes with the engine's notifications. [`internals`] gives the crate's
//! own integration tests the parts they check directly.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::profile::{Overrides, RuntimeConfig};
use crate::runtime::{RuntimeStatus, SupervisorOptions};

/// The crate's private parts that integration tests check directly (the platform's processes,
/// the feed and logs, the instance record, the probes' wire protocols).
pub mod internals {
    pub use crate::domain::NewEvent;
    pub use crate::feed::{Feed, FeedConfig, FeedError};
    pub use crate::logs::{LogConfig, SidecarLog};
    /// Every OS effect (`platform/`).
    pub mod platform {
        pub use crate::platform::*;
    }
    pub use crate::redact::Redactor;
    pub use crate::runtime::doors::jsonrpc;
    pub use crate::runtime::{instance, pg_probe, ports, search_path};
}

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
    crate::runtime::resolve_settings(&cli, &|_| None, None, "desktop-runtime-test").unwrap_or_else(|e| panic!("{e}"))
}

/// Options that find `test-sidecar` as a bundled sidecar.
pub fn options(config: RuntimeConfig) -> SupervisorOptions {
    let dir = test_sidecar_bin().parent().expect("bin dir").to_path_buf();
    SupervisorOptions {
        config,
        bundled_dirs: vec![dir],
        write_status_file: true,
        app_version: "0.0.0-test".into(),
        app_build: String::new(),
    }
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
        cause: None,
        uptime_ms: None,
        last_probe: None,
        identity: None,
        build: None,
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
pub fn wait_pid_gone(pid: u32, timeout: Duration) -> bool {
    crate::platform::wait_gone(pid, timeout)
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
