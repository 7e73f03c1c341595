//! `desktop-runtime run` end to end: state lines, status.json, `status`, SIGINT, `events`, and
//! the feed persisted across runs.
#![cfg(target_os = "linux")]

mod common;

use std::time::Duration;

use common::*;
use sidecar_supervisor_core::testing::{pid_alive, wait_pid_gone};

fn line_index(lines: &[String], name: &str, state: &str) -> usize {
    lines
        .iter()
        .position(|l| is_state_line(l, name, state))
        .unwrap_or_else(|| panic!("no `{name} {state}` line in:\n{}", lines.join("\n")))
}

#[test]
fn run_prints_states_serves_status_and_stops_cleanly_on_sigint() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = write_profile(tmp.path(), TWO_SIDECARS);
    let data = tmp.path().join("data");
    let mut r = Runner::start(&profile, &data);
    let instance_id = r.wait_started();
    r.wait_ready(&["database", "backend"]);

    // One line per state change, in dependency order.
    let db_ready = line_index(&r.seen, "database", "ready");
    assert!(line_index(&r.seen, "database", "starting") < db_ready, "{:#?}", r.seen);
    assert!(db_ready < line_index(&r.seen, "backend", "starting"), "backend started before its dependency");
    for name in ["database", "backend"] {
        let n = r.seen.iter().filter(|l| is_state_line(l, name, "ready")).count();
        assert_eq!(n, 1, "one `ready` line per state change for {name}: {:#?}", r.seen);
    }

    // status.json while running.
    let (st, pids) = wait_all_ready(&data);
    assert_eq!(st["instance_id"], instance_id.as_str());
    assert_eq!(st["stopped"], false);
    assert_eq!(st["pid"], r.pid());
    assert_eq!(pids.len(), 2, "{st:#}");
    for (name, pid) in &pids {
        assert!(pid_alive(*pid), "{name} pid {pid} should be alive");
    }
    let backend_port = sidecars(&st).iter().find(|s| s["name"] == "backend").unwrap()["port"].as_u64().unwrap();
    assert!(r.seen.iter().any(|l| is_state_line(l, "backend", "ready") && l.contains(&format!("port {backend_port}"))));

    // `status`, human and JSON.
    let out = cli(&["status", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let human = text(&out.stdout);
    assert!(human.contains(&instance_id) && human.contains("(running)"), "{human}");
    for name in ["database", "backend"] {
        let row = human.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no row {name}: {human}"));
        assert!(row.contains("ready") && row.contains(&pids[name].to_string()), "{row}");
    }
    let js = status_cmd_json(&data);
    assert_eq!(js["running"], true, "{js:#}");
    assert!(all_in_state(&js, "ready"), "{js:#}");

    // SIGINT: graceful stop in reverse dependency order, exit 0.
    r.stop_cleanly();
    assert!(
        line_index(&r.seen, "backend", "stopped") < line_index(&r.seen, "database", "stopping"),
        "dependents stop first: {:#?}",
        r.seen
    );
    for (name, pid) in &pids {
        assert!(wait_pid_gone(*pid, Duration::from_secs(10)), "{name} pid {pid} still alive after stop");
    }
    let js = status_cmd_json(&data);
    assert_eq!(js["running"], false, "{js:#}");
    assert_eq!(js["stopped"], true, "{js:#}");
    assert!(all_in_state(&js, "stopped"), "{js:#}");
    assert!(sidecars(&js).iter().all(|s| s["pid"].is_null()), "{js:#}");
    let human = text(&cli(&["status", "--data-dir", data.to_str().unwrap()]).stdout);
    assert!(human.contains("not running"), "{human}");

    // `events --limit 3 --json`: the newest three, oldest first, ending with runtime_stopped.
    let evs = events_json(&data, Some(3));
    assert_eq!(evs.len(), 3, "{evs:#?}");
    assert_eq!(evs[2]["kind"], "runtime_stopped", "{evs:#?}");
    let seqs: Vec<u64> = evs.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    let all = events_json(&data, None);
    assert!(all.len() > 3);
    assert_eq!(all[all.len() - 3..], evs[..]);
    let out = cli(&["events", "--data-dir", data.to_str().unwrap(), "--limit", "3"]);
    assert_eq!(text(&out.stdout).lines().count(), 3, "{}", text(&out.stdout));
}

#[test]
fn feed_is_persisted_across_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = write_profile(tmp.path(), TWO_SIDECARS);
    let data = tmp.path().join("data");
    let mut ids = Vec::new();
    for _ in 0..2 {
        let mut r = Runner::start(&profile, &data);
        ids.push(r.wait_started());
        r.wait_ready(&["database", "backend"]);
        r.stop_cleanly();
    }
    assert_ne!(ids[0], ids[1], "each launch has its own instance id");

    let evs = events_json(&data, None);
    let seqs: Vec<u64> = evs.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "seq strictly increasing: {seqs:?}");
    let started = kinds(&evs, "runtime_started");
    assert_eq!(started.len(), 2, "{evs:#?}");
    assert_eq!(kinds(&evs, "runtime_stopped").len(), 2, "{evs:#?}");
    for (e, id) in started.iter().zip(&ids) {
        assert!(e["message"].as_str().unwrap().contains(id.as_str()), "{e}");
    }
    // The second run appended after the first run's last event.
    let first_stop = kinds(&evs, "runtime_stopped")[0]["seq"].as_u64().unwrap();
    assert!(started[1]["seq"].as_u64().unwrap() > first_stop, "{evs:#?}");
    assert_eq!(kinds(&evs, "ready").len(), 4, "two sidecars ready twice: {evs:#?}");
    assert!(kinds(&evs, "orphan_killed").is_empty(), "a clean stop leaves no leftovers: {evs:#?}");
}

/// Ctrl-C twice: the first starts the graceful stop; a second one, while a sidecar that ignores
/// its stop signal keeps that stop waiting, exits at once with 130, and the death watch takes
/// the sidecar down (it ignores its lifeline's EOF too).
#[test]
fn a_second_sigint_during_the_graceful_stop_exits_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = write_profile(
        tmp.path(),
        r#"{ "sidecars": [ { "name": "stubborn", "command": "test-sidecar", "stop_timeout_ms": 60000,
                             "args": ["--ignore-sigterm", "--ignore-stdin-eof"] } ] }"#,
    );
    let data = tmp.path().join("data");
    let mut r = Runner::start(&profile, &data);
    r.wait_started();
    r.wait_ready(&["stubborn"]);
    let (_, pids) = wait_all_ready(&data);
    r.signal(libc::SIGINT);
    r.wait_state("stubborn", "stopping");
    assert!(pid_alive(pids["stubborn"]), "it ignores SIGTERM: the graceful stop waits for it");
    r.signal(libc::SIGINT);
    let st = r.wait_exit();
    assert_eq!(st.code(), Some(130), "{st:?}\n{}", r.stderr());
    assert!(r.stderr().contains("forced exit"), "{}", r.stderr());
    assert!(wait_pid_gone(pids["stubborn"], Duration::from_secs(10)), "the sidecar outlived the forced exit");
}
