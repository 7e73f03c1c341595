//! A sidecar nobody here wrote, as users ship one: the Python reference sidecar (FastAPI)
//! packaged with PyInstaller `--onefile`, whose bootloader runs the real Python program as its
//! child. Run by the headless runner: ready with a proven identity; a `kill -9` of the
//! bootloader takes its Python child with it and the sidecar comes back; a `kill -9` of the
//! runner leaves neither process. `cargo xtask python` builds it (`cargo xtask test` does).
#![cfg(target_os = "linux")]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use serde_json::Value;
use sidecar_supervisor_core::testing::{pid_alive, wait_pid_gone};

const PROFILE: &str = r#"{
  "sidecars": [
    { "name": "py", "command": "desktop-runtime-executor", "port": "announce",
      "ready": { "http": "/health/ready" }, "live": { "http": "/health/live" },
      "startup_timeout_ms": 60000 }
  ]
}"#;

fn python_reference() -> PathBuf {
    let bin = bundled_dir().join("desktop-runtime-executor");
    assert!(
        bin.is_file(),
        "{} is missing: build it with `cargo xtask python` (`cargo xtask test` does)",
        bin.display()
    );
    bin
}

/// `GET /runtime/info` of the server on `port`: the Python process's own view.
fn info(port: u64) -> Value {
    let url = format!("http://127.0.0.1:{port}/runtime/info");
    reqwest::blocking::get(&url).and_then(|r| r.json()).unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// The PyInstaller unpack dirs (`_MEI…`) in the sidecar's own temp dir.
fn unpacked(data: &Path) -> Vec<String> {
    let tmp = sidecar_supervisor_core::DataDirLayout::new(data).sidecar_dir("py").join("tmp");
    let mut v: Vec<String> = std::fs::read_dir(&tmp)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.retain(|n| n.starts_with("_MEI"));
    v
}

fn parent_of(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // pid (comm) state ppid ...: comm may hold spaces, so count from the last ')'.
    stat.rsplit_once(')').unwrap().1.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Starts the runner and waits for `py` ready: (runner, status row, bootloader pid, Python pid).
fn start(dir: &Path) -> (Runner, Value, u32, u32) {
    python_reference();
    let profile = write_profile(dir, PROFILE);
    let mut r = Runner::start(&profile, &dir.join("data"));
    r.wait_ready(&["py"]);
    let (st, pids) = wait_all_ready(&dir.join("data"));
    let row = sidecars(&st)[0].clone();
    let boot = pids["py"];
    let child = info(row["port"].as_u64().unwrap())["pid"].as_u64().unwrap() as u32;
    (r, row, boot, child)
}

#[test]
fn the_onefile_sidecar_is_ready_proven_and_a_killed_bootloader_takes_its_child_and_comes_back() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut r, row, boot, child) = start(tmp.path());
    assert_eq!(row["identity"], "proven", "{row:#}");
    assert_ne!(boot, child, "the onefile bootloader runs Python as a child");
    assert_eq!(parent_of(child), boot);
    let before = unpacked(&r.data_dir);
    assert_eq!(before.len(), 1, "the onefile program unpacks into its own temp dir: {before:?}");

    // SAFETY: signalling a process of the test's own runner.
    assert_eq!(unsafe { libc::kill(boot as i32, libc::SIGKILL) }, 0);
    assert!(wait_pid_gone(child, Duration::from_secs(10)), "the Python child {child} outlived its bootloader");
    let st = wait_status(&r.data_dir, "py ready again with a new process", |v| {
        sidecars(v)[0]["state"] == "ready" && sidecars(v)[0]["pid"].as_u64().is_some_and(|p| p as u32 != boot)
    });
    let again = &sidecars(&st)[0];
    assert_eq!(again["identity"], "proven");
    let new_child = info(again["port"].as_u64().unwrap())["pid"].as_u64().unwrap() as u32;
    assert!(new_child != child && pid_alive(new_child));
    assert_eq!(again["restarts_in_window"], 1, "{again:#}");
    let after = unpacked(&r.data_dir);
    assert!(after.len() == 1 && after != before, "what the killed one unpacked was cleared: {before:?} → {after:?}");
    r.stop_cleanly();
    assert!(wait_pid_gone(new_child, Duration::from_secs(10)), "a clean stop leaves no Python process");
}

#[test]
fn sigkill_of_the_runner_leaves_neither_the_bootloader_nor_its_python_child() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut r, _, boot, child) = start(tmp.path());
    r.signal(libc::SIGKILL);
    r.wait_exit();
    for (what, pid) in [("bootloader", boot), ("Python child", child)] {
        assert!(wait_pid_gone(pid, Duration::from_secs(10)), "the {what} (pid {pid}) outlived the killed runner");
    }
}
