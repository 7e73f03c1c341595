//! The platform's spawn arms the parent-death signal: a child dies with the thread that started
//! it (the signal follows the parent *thread*: never start a sidecar from a pool thread that may
//! exit), also after it dropped to its `user` (a credential change clears the signal, so the
//! drop must come first). Linux: the parent-death signal is Linux's.
#![cfg(target_os = "linux")]

use std::path::Path;
use std::time::Duration;

use sidecar_supervisor_core::testing::internals::platform::{self, SpawnRequest};
use sidecar_supervisor_core::testing::{pid_alive, wait_pid_gone};

/// Starts `sleep 600` from a thread, lets `check` look at it while that thread lives, ends the
/// thread, and returns the pid. The lifeline is kept open, so only the death signal can end it.
fn sleep_from_a_thread_that_ends(user: Option<(u32, u32)>, check: impl FnOnce(u32)) -> u32 {
    let (tx, rx) = std::sync::mpsc::channel();
    let (go_tx, go) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let args = vec!["600".to_string()];
            let req =
                SpawnRequest { program: Path::new("/bin/sleep"), args: &args, env: &[], cwd: Path::new("/"), user };
            let s = platform::spawn(&req).unwrap();
            tx.send(s.pid).unwrap();
            std::mem::forget(s.lifeline);
            std::mem::forget(s.child);
        });
        let _ = go.recv();
    });
    let pid = rx.recv().unwrap();
    assert!(pid_alive(pid), "sleep runs while its thread lives");
    check(pid);
    go_tx.send(()).unwrap();
    thread.join().unwrap();
    pid
}

#[test]
fn the_child_dies_with_the_thread_that_started_it() {
    let pid = sleep_from_a_thread_that_ends(None, |_| {});
    assert!(wait_pid_gone(pid, Duration::from_secs(10)), "sleep outlived the thread that spawned it");
}

#[test]
#[ignore = "needs root"]
fn the_death_signal_survives_the_privilege_drop() {
    assert!(platform::is_root(), "this test needs root (it drops to `nobody`): run the tests as root");
    let user = platform::lookup_user("nobody").unwrap().expect("root finds `nobody`");
    let pid = sleep_from_a_thread_that_ends(Some(user), |pid| {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        assert_eq!(uid.split_whitespace().nth(1), Some(user.0.to_string().as_str()), "runs as nobody: {uid}");
    });
    assert!(wait_pid_gone(pid, Duration::from_secs(10)), "sleep (as nobody) outlived the thread that spawned it");
}
