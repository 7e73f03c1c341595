//! Stopping against real processes: SIGKILL escalation for a process that ignores SIGTERM,
//! no orphaned grandchildren, reverse dependency order (also with a dependent in backoff), and
//! group cleanup when a leader dies.

mod common;

use common::{profile, Rig, T};
use serde_json::json;
use sidecar_supervisor_core::testing::{grandchild_pid, pid_alive, wait_pid_gone};
use sidecar_supervisor_core::EventKind;
use sidecar_supervisor_core::State;
use sidecar_supervisor_core::Verb;

/// A sidecar that forks a grandchild and is ready once `GRANDCHILD_PID=` is in its log (the
/// ready line comes after it on the same pipe).
fn with_grandchild(name: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--fork-grandchild", "--print-ready-line", "READY"];
    args.extend_from_slice(extra);
    json!({ "name": name, "command": "test-sidecar", "args": args, "ready": { "stdout": "READY" },
            "stop_timeout_ms": 500 })
}

/// (child pid, grandchild pid) of a ready sidecar.
async fn pids(rig: &Rig, name: &str) -> (u32, u32) {
    let r = rig.wait_state(name, State::Ready).await;
    let child = r.pid.expect("child pid");
    let grandchild = grandchild_pid(&rig.logs(name, 100).unwrap()).expect("GRANDCHILD_PID logged");
    assert!(pid_alive(child) && pid_alive(grandchild));
    (child, grandchild)
}

#[cfg(unix)] // uses sh, or Unix signal semantics
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_escalates_to_sigkill_and_leaves_no_orphan() {
    let rig = Rig::start(profile(json!([with_grandchild(
        "stubborn",
        &["--ignore-sigterm", "--grandchild-ignore-sigterm", "--ignore-stdin-eof"]
    )])));
    let (child, grandchild) = pids(&rig, "stubborn").await;

    rig.shutdown().await;
    assert!(wait_pid_gone(child, T), "child {child} survived the shutdown");
    assert!(wait_pid_gone(grandchild, T), "grandchild {grandchild} survived the shutdown");

    let stopping = rig.events_of("stubborn", EventKind::Stopping);
    let escalated = rig.events_of("stubborn", EventKind::KillEscalated);
    let stopped = rig.events_of("stubborn", EventKind::Stopped);
    assert_eq!((stopping.len(), escalated.len(), stopped.len()), (1, 1, 1), "{}", rig.feed_dump());
    assert!(stopping[0].seq < escalated[0].seq && escalated[0].seq < stopped[0].seq, "{}", rig.feed_dump());
    assert!(escalated[0].message.contains("500 ms"), "{}", escalated[0].message);
    assert_eq!(escalated[0].pid, Some(child));
    assert_eq!(stopped[0].signal.as_deref(), Some("SIGKILL"));
    assert_eq!(rig.row("stubborn").state, State::Stopped);
    assert!(rig.status().stopped);
    let last = rig.events(None).pop().unwrap();
    assert_eq!(last.kind, EventKind::RuntimeStopped);
}

#[cfg(unix)] // uses sh, or Unix signal semantics
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polite_sidecar_stops_on_sigterm_without_escalation() {
    let rig = Rig::start(profile(json!([with_grandchild("polite", &[])])));
    let (child, grandchild) = pids(&rig, "polite").await;
    rig.shutdown().await;
    assert!(wait_pid_gone(child, T));
    assert!(wait_pid_gone(grandchild, T));
    assert!(rig.events_of("polite", EventKind::KillEscalated).is_empty(), "{}", rig.feed_dump());
    let stopped = rig.events_of("polite", EventKind::Stopped);
    assert_eq!(stopped.len(), 1);
    assert_eq!(stopped[0].code, Some(0), "{}", rig.feed_dump());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_dependents_before_their_dependencies() {
    let side = |name: &str, deps: &[&str]| {
        json!({ "name": name, "command": "test-sidecar", "depends_on": deps,
                // A slow stop makes an out-of-order shutdown visible.
                "args": ["--stop-delay-ms", "100"] })
    };
    let rig = Rig::start(profile(json!([
        side("db", &[]),
        side("api", &["db"]),
        side("worker", &["api"]),
        side("cron", &["db"]),
    ])));
    for n in ["db", "api", "worker", "cron"] {
        rig.wait_state(n, State::Ready).await;
    }
    let before = rig.last_seq();
    rig.shutdown().await;

    let seq = |name: &str, kind: EventKind| {
        let evs: Vec<_> = rig.events_of(name, kind).into_iter().filter(|e| e.seq > before).collect();
        assert_eq!(evs.len(), 1, "{name} {}: {}", kind.as_str(), rig.feed_dump());
        evs[0].seq
    };
    assert!(seq("worker", EventKind::Stopped) < seq("api", EventKind::Stopping), "{}", rig.feed_dump());
    assert!(seq("api", EventKind::Stopped) < seq("db", EventKind::Stopping), "{}", rig.feed_dump());
    assert!(seq("cron", EventKind::Stopped) < seq("db", EventKind::Stopping), "{}", rig.feed_dump());
    // Independent branches stop together: cron does not wait for worker/api.
    assert!(seq("cron", EventKind::Stopping) < seq("worker", EventKind::Stopped), "{}", rig.feed_dump());
    for n in ["db", "api", "worker", "cron"] {
        assert_eq!(rig.row(n).state, State::Stopped);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_leader_takes_its_grandchild_along_and_is_restarted() {
    let rig = Rig::start(profile(json!([with_grandchild("leader", &["--grandchild-ignore-sigterm"])])));
    let (child, grandchild) = pids(&rig, "leader").await;
    let before = rig.last_seq();

    assert!(sidecar_supervisor_core::testing::internals::platform::kill_process(child));
    assert!(wait_pid_gone(grandchild, T), "grandchild {grandchild} outlived its killed leader");

    let exited = rig.wait_kind("leader", EventKind::Exited, before).await;
    assert!(common::force_killed(&exited), "{exited:?}");
    assert_eq!(exited.pid, Some(child));
    rig.wait_kind("leader", EventKind::Restarting, exited.seq).await;
    let r = rig.wait_row("leader", "ready again", |r| r.state == State::Ready && r.pid != Some(child)).await;
    assert_eq!(r.restarts_in_window, 1);
    // The new leader has a new grandchild of its own.
    let lines = rig.logs("leader", 100).unwrap();
    let new_gc: Vec<u32> = lines.iter().filter_map(|l| l.line.strip_prefix("GRANDCHILD_PID=")?.parse().ok()).collect();
    assert_eq!(new_gc.len(), 2, "{lines:?}");
    assert_ne!(new_gc[1], grandchild);
    assert!(pid_alive(new_gc[1]));
    rig.shutdown().await;
    assert!(wait_pid_gone(new_gc[1], T));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_during_a_hung_prepare_step_kills_it_and_stops() {
    // The prepare step (think `initdb`) never ends and ignores SIGTERM.
    let rig = Rig::start(profile(json!([{
        "name": "db", "command": "test-sidecar", "stop_timeout_ms": 300,
        "prepare": { "command": "test-sidecar", "args": ["--ignore-sigterm", "--ignore-stdin-eof"] }
    }])));
    let prepared = rig.wait_event("prepare step running", |e| e.kind == EventKind::Prepared).await;
    let prepare_pid = prepared.pid.unwrap_or_else(|| panic!("no pid: {}", rig.feed_dump()));
    assert!(pid_alive(prepare_pid));
    rig.wait_state("db", State::Starting).await;
    rig.command(Verb::Stop, "db").await.unwrap();
    rig.wait_state("db", State::Stopped).await;
    assert!(wait_pid_gone(prepare_pid, T), "the prepare step must not outlive the stop");
    assert!(rig.events_of("db", EventKind::Spawned).is_empty(), "no spawn after a stop: {}", rig.feed_dump());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_while_a_dependent_waits_in_backoff() {
    // `db` has no probe (no timer), `api` crash-loops in a long backoff: the stop of `api` is
    // immediate and must free `db` in the same turn, or nothing ever wakes the engine again.
    let rig = Rig::start(profile(json!([
        { "name": "db", "command": "test-sidecar" },
        { "name": "api", "command": "test-sidecar", "depends_on": ["db"], "args": ["--crash-after-ms", "0"],
          "restart": { "backoff_initial_ms": 5000, "backoff_max_ms": 5000 } }
    ])));
    rig.wait_state("api", State::Backoff).await;
    tokio::time::timeout(T, rig.shutdown()).await.expect("shutdown finishes");
    assert_eq!(rig.row("db").state, State::Stopped);
}

/// A `stop_command` is how the sidecar is asked to stop, instead of its signal: it runs with the
/// sidecar's environment and templates. This sidecar would exit at once on SIGTERM; the command
/// only leaves a note, so it is still there when `stop_timeout_ms` runs out and is killed.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_command_is_run_instead_of_the_stop_signal() {
    let rig = Rig::start(profile(json!([{
        "name": "svc", "command": "test-sidecar", "stop_timeout_ms": 300,
        "args": ["--print-ready-line", "UP"], "ready": { "stdout": "UP" },
        "stop_command": { "command": "sh", "args": ["-c", "echo \"$SIDECAR_NAME\" > {sidecar_data_dir}/stop-asked"] }
    }])));
    let row = rig.wait_state("svc", State::Ready).await;
    rig.command(Verb::Stop, "svc").await.unwrap();
    rig.wait_state("svc", State::Stopped).await;
    let stopping = rig.events_of("svc", EventKind::Stopping);
    assert!(stopping[0].message.contains("running its stop_command"), "{}", stopping[0].message);
    let marker = rig.tmp.path().join("data/svc/stop-asked");
    assert_eq!(std::fs::read_to_string(&marker).unwrap().trim(), "svc", "it ran with the sidecar's environment");
    let stopped = rig.events_of("svc", EventKind::Stopped);
    assert_eq!(stopped[0].signal.as_deref(), Some("SIGKILL"), "no SIGTERM was sent: {}", rig.feed_dump());
    assert_eq!(rig.events_of("svc", EventKind::KillEscalated).len(), 1);
    assert!(wait_pid_gone(row.pid.unwrap(), T));
}
