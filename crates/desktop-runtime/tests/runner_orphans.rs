//! No orphans: a `kill -9`ed runner leaves no child or grandchild alive, and the next runner
//! kills a dead instance's leftovers but never a process that merely reuses a recorded pid.
#![cfg(target_os = "linux")]

mod common;

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use sidecar_supervisor_core::testing::internals::instance::{ChildRecord, InstanceRecord};
use sidecar_supervisor_core::testing::{pid_alive, test_sidecar_bin, wait_pid_gone};
use sidecar_supervisor_core::DataDirLayout;

/// `stubborn` ignores stdin EOF and SIGTERM and forks a grandchild that ignores SIGTERM too;
/// it is ready once it printed the grandchild's pid. `normal` is a plain HTTP sidecar.
const STUBBORN: &str = r#"{
  "sidecars": [
    { "name": "stubborn", "command": "test-sidecar",
      "args": ["--ignore-stdin-eof", "--ignore-sigterm", "--fork-grandchild", "--grandchild-ignore-sigterm"],
      "ready": { "stdout": "GRANDCHILD_PID=" }, "stop_timeout_ms": 200 },
    { "name": "normal", "command": "test-sidecar", "port": "auto", "ready": { "http": "/health/ready" } }
  ]
}"#;

/// `GRANDCHILD_PID=<n>` from `<data_dir>/logs/<name>.log` (lines are `<at> <stream> <text>`).
fn grandchild_from_log(data_dir: &Path, name: &str) -> u32 {
    let logs = data_dir.join("logs");
    let path = logs.join(format!("{name}.log"));
    wait_in_dir(&logs, "GRANDCHILD_PID in the log", || {
        let text = std::fs::read_to_string(&path).ok()?;
        text.lines().find_map(|l| {
            let (_, rest) = l.split_once("GRANDCHILD_PID=")?;
            rest.trim().parse().ok()
        })
    })
}

#[test]
fn sigkill_of_the_runner_leaves_no_child_or_grandchild_alive() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = write_profile(tmp.path(), STUBBORN);
    let data = tmp.path().join("data");
    let mut r = Runner::start(&profile, &data);
    r.wait_started();
    r.wait_ready(&["stubborn", "normal"]);
    let (_, pids) = wait_all_ready(&data);
    let grandchild = grandchild_from_log(&data, "stubborn");
    let mut victims: Vec<(String, u32)> = pids.into_iter().collect();
    victims.push(("stubborn's grandchild".into(), grandchild));
    assert_eq!(victims.len(), 3, "{victims:?}");
    for (what, pid) in &victims {
        assert!(pid_alive(*pid), "{what} (pid {pid}) should be running before the kill");
        assert_ne!(*pid, r.pid());
    }

    r.signal(libc::SIGKILL);
    let st = r.wait_exit(); // reaped before checking the others
    assert_eq!(st.signal(), Some(libc::SIGKILL), "{st:?}");
    for (what, pid) in &victims {
        assert!(wait_pid_gone(*pid, Duration::from_secs(10)), "{what} (pid {pid}) outlived the killed runner");
    }
}

#[test]
fn next_start_kills_a_dead_instances_leftovers_but_not_a_recycled_pid() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let runtime = DataDirLayout::new(&data).runtime_dir();
    std::fs::create_dir_all(&runtime).unwrap();

    let spawn = |instance_id: Option<&str>| {
        let mut c = Command::new(test_sidecar_bin());
        c.arg("--ignore-stdin-eof")
            .env_remove("SIDECAR_PORT")
            .env_remove("SIDECAR_INSTANCE_ID")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        if let Some(id) = instance_id {
            c.env("SIDECAR_INSTANCE_ID", id);
        }
        c.spawn().unwrap()
    };
    let mut procs = Procs::default();
    procs.0.push(spawn(Some("dead-instance-1")));
    procs.0.push(spawn(None));
    let (leftover, innocent) = (procs.0[0].id(), procs.0[1].id());
    let leftover_ticks =
        sidecar_supervisor_core::testing::internals::platform::start_time(leftover).expect("leftover is running");
    let innocent_ticks =
        sidecar_supervisor_core::testing::internals::platform::start_time(innocent).expect("innocent is running");

    let record = InstanceRecord {
        instance_id: "dead-instance-1".into(),
        pid: 999_999,
        start_ticks: None,
        started_at: String::new(),
        children: vec![
            ChildRecord { name: "old".into(), pid: leftover, pgid: leftover, start_ticks: Some(leftover_ticks) },
            // The recorded process died and its pid went to an unrelated process: the start
            // time gives it away.
            ChildRecord {
                name: "recycled".into(),
                pid: innocent,
                pgid: innocent,
                start_ticks: Some(innocent_ticks + 7),
            },
        ],
    };
    std::fs::write(runtime.join("instance.json"), serde_json::to_vec_pretty(&record).unwrap()).unwrap();

    let profile = write_profile(tmp.path(), TWO_SIDECARS);
    let mut r = Runner::start(&profile, &data);
    r.wait_started(); // printed after the leftovers were dealt with
    assert!(wait_pid_gone(leftover, Duration::from_secs(10)), "leftover pid {leftover} survived");
    let st = procs.0[0].wait().unwrap();
    assert_eq!(st.signal(), Some(libc::SIGKILL), "leftover ended by {st:?}");
    r.wait_ready(&["database", "backend"]);
    assert!(procs.0[1].try_wait().unwrap().is_none(), "the innocent process was killed");
    assert!(pid_alive(innocent));

    wait_event(&data, "orphan_killed");
    let evs = events_json(&data, None);
    let orphans = kinds(&evs, "orphan_killed");
    assert_eq!(orphans.len(), 1, "{evs:#?}");
    assert_eq!(orphans[0]["pid"], leftover, "{:#}", orphans[0]);
    assert!(orphans[0]["message"].as_str().unwrap().contains("dead-instance-1"), "{:#}", orphans[0]);
    assert!(!evs.iter().any(|e| e["pid"] == innocent), "{evs:#?}");

    // The new instance replaced the record with its own.
    let rec = wait_runtime_file(&data, "instance.json", "the new instance record", |v| v["pid"] == r.pid());
    assert_ne!(rec["instance_id"], "dead-instance-1");
    r.stop_cleanly();
    assert!(procs.0[1].try_wait().unwrap().is_none(), "the innocent process was killed at stop");
}
