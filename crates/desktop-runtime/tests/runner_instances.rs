//! Runners on different data dirs are independent: starting one never touches the other's
//! sidecars (leftover cleanup only ever looks at its own data dir's dead instance).
#![cfg(target_os = "linux")]

mod common;

use common::*;
use sidecar_supervisor_core::testing::pid_alive;

#[test]
fn two_runners_on_different_data_dirs_run_side_by_side() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = write_profile(tmp.path(), TWO_SIDECARS);
    let (data_a, data_b) = (tmp.path().join("a"), tmp.path().join("b"));

    let mut a = Runner::start(&profile, &data_a);
    let id_a = a.wait_started();
    a.wait_ready(&["database", "backend"]);
    let (_, pids_a) = wait_all_ready(&data_a);
    let a_pid = a.pid();
    wait_runtime_file(&data_a, "instance.json", "A's instance record", |v| {
        v["pid"] == a_pid && v["children"].as_array().is_some_and(|c| c.len() == 2)
    });

    let mut b = Runner::start(&profile, &data_b);
    let id_b = b.wait_started();
    assert_ne!(id_a, id_b);
    b.wait_ready(&["database", "backend"]);
    let (_, pids_b) = wait_all_ready(&data_b);
    assert!(pids_a.values().all(|p| !pids_b.values().any(|q| q == p)), "{pids_a:?} vs {pids_b:?}");

    // A is undisturbed: same instance, same pids, alive and ready.
    let st_a = read_json(&status_path(&data_a)).unwrap();
    assert_eq!(st_a["instance_id"], id_a.as_str());
    assert_eq!(pids(&st_a), pids_a, "A's sidecars were restarted");
    assert!(all_in_state(&st_a, "ready"), "{st_a:#}");
    for (name, pid) in pids_a.iter().chain(&pids_b) {
        assert!(pid_alive(*pid), "{name} pid {pid} is not alive");
    }
    a.drain();
    assert!(!a.seen.iter().any(|l| l.contains("exited") || l.contains("stopping")), "{:#?}", a.seen);
    assert_eq!(status_cmd_json(&data_a)["running"], true);
    assert_eq!(status_cmd_json(&data_b)["running"], true);

    b.stop_cleanly();
    // Stopping B leaves A running.
    for (name, pid) in &pids_a {
        assert!(pid_alive(*pid), "{name} pid {pid} of A died when B stopped");
    }
    assert_eq!(pids(&read_json(&status_path(&data_a)).unwrap()), pids_a);
    a.stop_cleanly();
    for data in [&data_a, &data_b] {
        let evs = events_json(data, None);
        assert_eq!(kinds(&evs, "runtime_started").len(), 1, "{evs:#?}");
        assert!(kinds(&evs, "orphan_killed").is_empty(), "{evs:#?}");
        assert!(kinds(&evs, "exited").is_empty() && kinds(&evs, "restarting").is_empty(), "{evs:#?}");
    }
}
