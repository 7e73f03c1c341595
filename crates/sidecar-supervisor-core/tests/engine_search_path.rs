//! `search_path` and `install_hint`: a program that is neither bundled nor on PATH is found in
//! the search path (globbed directories, highest version first; directories printed by a
//! command), helpers too, evaluated once per sidecar; and a program found nowhere fails the
//! sidecar at once with where the runtime looked and the profile's hint, charging no restart
//! and leaving its dependents waiting.
//!
//! The programs here are symlinks to system tools (a script written by a test could hit
//! "text file busy" when another test thread forks meanwhile).

#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};

use common::{profile, Rig, T};
use serde_json::json;
use sidecar_supervisor_core::testing::wait_in_dir;
use sidecar_supervisor_core::EventKind;
use sidecar_supervisor_core::State;
use sidecar_supervisor_core::Verb;

/// The system tool `name` from PATH.
fn on_path(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").expect("PATH");
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file()).unwrap_or_else(|| panic!("no {name}"))
}

/// `dir/name` → the system tool `target`.
fn link(dir: &Path, name: &str, target: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::os::unix::fs::symlink(on_path(target), dir.join(name)).unwrap();
}

/// The program path a process was started with. A spawn returns once the child's `execve` has
/// begun (the vfork parent is released there), but the new image's arguments are set up a
/// moment later, and nothing signals that: until then `/proc/<pid>/cmdline` reads empty, so
/// this rereads it for up to 5 s.
fn argv0(pid: u32) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
        let first = String::from_utf8_lossy(cmdline.split(|b| *b == 0).next().unwrap()).into_owned();
        if !first.is_empty() || std::time::Instant::now() > deadline {
            return first;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn program_is_found_in_a_globbed_search_path_highest_version_first() {
    let tmp = tempfile::tempdir().unwrap();
    for v in ["9.6", "16", "15"] {
        link(&tmp.path().join(format!("opt/{v}/bin")), "sp-server-xyz", "sleep");
    }
    let pattern = tmp.path().join("opt/*/bin").display().to_string();
    let rig = Rig::start_in(
        tmp,
        profile(json!([{
            "name": "server", "command": "sp-server-xyz", "args": ["600"],
            "search_path": [ { "command": "no-such-command-xyz" }, { "command": "false" }, pattern ]
        }])),
    );
    let row = rig.wait_state("server", State::Ready).await;
    let program = argv0(row.pid.unwrap());
    assert!(program.ends_with("/opt/16/bin/sp-server-xyz"), "16 beats 15 and 9.6: {program}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helpers_come_from_a_command_named_dir_evaluated_once_per_sidecar() {
    let tmp = tempfile::tempdir().unwrap();
    let helpers = tmp.path().join("helpers");
    link(&helpers, "sp-prep-xyz", "true");
    link(&helpers, "sp-probe-xyz", "sh");
    let evaluations = tmp.path().join("evaluations");
    let print_dir = format!("echo run >> {}; echo {}", evaluations.display(), helpers.display());
    // Two replicas share the sidecar's search path; the probe runs every 20 ms once ready.
    let rig = Rig::start_in(
        tmp,
        profile(json!([{
            "name": "db", "command": "test-sidecar", "replicas": 2,
            "search_path": [ { "command": "sh", "args": ["-c", print_dir] } ],
            "prepare": { "command": "sp-prep-xyz" },
            "ready": { "exec": { "command": "sp-probe-xyz", "args": ["-c", "echo probe >> {sidecar_data_dir}/probes"] },
                       "interval_ms": 20 }
        }])),
    );
    rig.wait_state("db#1", State::Ready).await;
    rig.wait_state("db#2", State::Ready).await;
    assert_eq!(rig.events_of("db#1", EventKind::Prepared).len(), 1, "{}", rig.feed_dump());
    let data = rig.tmp.path().join("data/db");
    let probes = |n: usize| std::fs::read_to_string(data.join("probes")).unwrap_or_default().lines().count() >= n;
    wait_in_dir(&data, "20 probe runs", T, || probes(20).then_some(()));
    let runs = std::fs::read_to_string(&evaluations).unwrap();
    assert_eq!(runs.lines().count(), 1, "the search path's command ran once for both replicas and every probe");
}

fn hint() -> &'static str {
    "NoSuchDB is not installed: run `sudo apt install nosuchdb` or set NOSUCHDB_BIN"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_program_fails_at_once_with_where_it_looked_and_the_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let pattern = tmp.path().join("none/*/bin").display().to_string();
    let rig = Rig::start_in(
        tmp,
        profile(json!([
            { "name": "database", "command": "nosuchdb-xyz", "port": "auto",
              "search_path": [ { "command": "sh", "args": ["-c", "exit 1"] }, pattern ],
              "install_hint": hint(),
              "prepare": { "command": "nosuchdb-init-xyz" },
              "ready": { "exec": { "command": "nosuchdb-ready-xyz" } } },
            { "name": "api", "command": "test-sidecar", "depends_on": ["database"] }
        ])),
    );
    let row = rig.wait_state("database", State::Failed).await;
    let err = row.last_error.clone().unwrap_or_default();
    assert!(
        err.starts_with("command `nosuchdb-xyz` of sidecar `database` not found: "),
        "the program, not its helper: {err}"
    );
    for part in [
        "not a bundled sidecar (looked in ",
        "not on PATH (",
        "`sh -c exit 1`: failed",
        &format!("{pattern}: no such directory"),
    ] {
        assert!(err.contains(part), "{part:?} missing in: {err}");
    }
    assert!(err.contains("DATABASE_BIN or NOSUCHDB_XYZ_BIN"), "{err}");
    assert!(err.ends_with(&format!("; {}", hint())), "{err}");
    // Nothing ran, nothing is retried, no restart was charged.
    assert_eq!(row.restarts_in_window, 0);
    assert_eq!(row.budget.remaining, row.budget.max);
    assert!(!row.auto_restart, "failed: auto-restart is off until a manual start");
    assert!(rig.events_of("database", EventKind::Spawned).is_empty(), "{}", rig.feed_dump());
    assert!(rig.events_of("database", EventKind::Prepared).is_empty(), "{}", rig.feed_dump());
    assert!(rig.events_of("database", EventKind::Restarting).is_empty(), "{}", rig.feed_dump());
    assert_eq!(rig.events_of("database", EventKind::Failed).len(), 1, "{}", rig.feed_dump());
    // The dependent waits; it is not started, and not failed.
    let api = rig.row("api");
    assert_eq!(api.state, State::WaitingForDeps, "{api:?}");
    assert_eq!(api.pid, None);
    assert!(rig.events_of("api", EventKind::Spawned).is_empty(), "{}", rig.feed_dump());
    // A manual start looks again (the user may have installed it meanwhile) and says the same.
    let seq = rig.last_seq();
    rig.command(Verb::Start, "database").await.unwrap();
    let again = rig.wait_kind("database", EventKind::Failed, seq).await;
    assert!(again.message.ends_with(hint()), "{}", again.message);
    assert_eq!(rig.row("api").state, State::WaitingForDeps);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_helper_fails_with_where_it_looked_and_the_hint() {
    let rig = Rig::start(profile(json!([{
        "name": "database", "command": "test-sidecar", "install_hint": hint(),
        "prepare": { "command": "nosuchdb-init-xyz" }
    }])));
    let row = rig.wait_state("database", State::Failed).await;
    let err = row.last_error.unwrap_or_default();
    assert!(
        err.contains("helper command `nosuchdb-init-xyz` of sidecar `database` not found: not next to its program in "),
        "{err}"
    );
    assert!(err.contains("DATABASE_BIN"), "{err}");
    assert!(err.ends_with(&format!("; {}", hint())), "{err}");
    assert!(rig.events_of("database", EventKind::Spawned).is_empty(), "{}", rig.feed_dump());
    assert_eq!(row.budget.remaining, row.budget.max);
}

/// A stop while the search path is being evaluated stops the sidecar at once; the late result
/// resumes only the spawn of the start that followed, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_during_the_search_path_evaluation() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    link(&bin, "sp-slow-xyz", "sleep");
    let slow = format!("sleep 1; echo {}", bin.display());
    let rig = Rig::start_in(
        tmp,
        profile(json!([{
            "name": "slow", "command": "sp-slow-xyz", "args": ["600"],
            "search_path": [ { "command": "sh", "args": ["-c", slow] } ]
        }])),
    );
    rig.wait_state("slow", State::Starting).await;
    rig.command(Verb::Stop, "slow").await.unwrap();
    let row = rig.wait_state("slow", State::Stopped).await;
    assert_eq!(row.last_error, None);
    assert!(rig.events_of("slow", EventKind::Spawned).is_empty(), "{}", rig.feed_dump());
    rig.command(Verb::Start, "slow").await.unwrap();
    rig.wait_state("slow", State::Ready).await;
    assert_eq!(rig.events_of("slow", EventKind::Spawned).len(), 1, "{}", rig.feed_dump());
}
