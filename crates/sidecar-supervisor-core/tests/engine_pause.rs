//! Pause and resume against real processes: the whole tree is suspended (a forked grandchild
//! too), probes do not count and liveness never kills it while paused, resume brings it back to
//! ready, and stop and restart of a paused sidecar work. Unix: the tree's state is read from
//! `/proc` (Linux) or `ps` (macOS).
#![cfg(unix)]

mod common;

use std::time::Duration;

use common::{profile, Rig};
use serde_json::json;
use sidecar_supervisor_core::testing::grandchild_pid;
use sidecar_supervisor_core::CommandError;
use sidecar_supervisor_core::EventKind;
use sidecar_supervisor_core::State;
use sidecar_supervisor_core::Verb;

/// The one-letter process state (`T`: stopped), as `ps -o stat=` shows it.
fn proc_state(pid: u32) -> char {
    let out = std::process::Command::new("ps").args(["-o", "stat=", "-p", &pid.to_string()]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().chars().next().unwrap_or('?')
}

async fn wait_proc_state(pid: u32, want: char) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while proc_state(pid) != want {
        assert!(tokio::time::Instant::now() < deadline, "pid {pid} never reached state {want} ({})", proc_state(pid));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn api() -> serde_json::Value {
    json!({ "name": "api", "command": "test-sidecar", "port": "auto",
            "args": ["--fork-grandchild"],
            "ready": { "http": "/health/ready", "interval_ms": 100 },
            "live": { "http": "/health/live", "interval_ms": 100, "timeout_ms": 100, "failure_threshold": 2 } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_tree_is_suspended_never_killed_by_liveness_and_resumes_to_ready() {
    let rig = Rig::start(profile(json!([api()])));
    let ready = rig.wait_state("api", State::Ready).await;
    let pid = ready.pid.unwrap();
    rig.wait_row("api", "the grandchild's pid in the log", |_| {
        grandchild_pid(&rig.sup.logs("api", 100).unwrap()).is_some()
    })
    .await;
    let gc = grandchild_pid(&rig.sup.logs("api", 100).unwrap()).unwrap();

    rig.sup.command(Verb::Pause, "api").await.unwrap();
    let paused = rig.wait_state("api", State::Paused).await;
    assert_eq!(paused.pid, Some(pid));
    wait_proc_state(pid, 'T').await;
    wait_proc_state(gc, 'T').await;
    let probe_before = paused.last_probe.clone();
    // Ten liveness intervals, five times the threshold: a running probe would have killed it.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let row = rig.row("api");
    assert_eq!((row.state, row.pid), (State::Paused, Some(pid)), "{}", rig.feed_dump());
    assert_eq!(row.last_probe, probe_before, "no probe ran while paused");
    assert!(rig.events_of("api", EventKind::LivenessFailed).is_empty(), "{}", rig.feed_dump());
    assert_eq!(rig.events_of("api", EventKind::Paused).len(), 1);

    let e = rig.sup.command(Verb::Start, "api").await;
    assert!(e.is_ok(), "start of a running (paused) sidecar is a no-op, as for a ready one: {e:?}");
    rig.sup.command(Verb::Resume, "api").await.unwrap();
    wait_proc_state(pid, 'S').await;
    let resumed = rig.wait_kind("api", EventKind::Resumed, 0).await;
    assert!(resumed.message.contains("ready"), "{}", resumed.message);
    let row = rig.wait_row("api", "probed again after the resume", |r| r.last_probe != probe_before).await;
    assert_eq!((row.state, row.pid), (State::Ready, Some(pid)));
    assert_ne!(proc_state(gc), 'T', "the grandchild was continued too");
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_and_restart_of_a_paused_sidecar_work_and_bad_pauses_are_refused() {
    let rig = Rig::start(profile(json!([api()])));
    let pid = rig.wait_state("api", State::Ready).await.pid.unwrap();
    rig.sup.command(Verb::Pause, "api").await.unwrap();
    wait_proc_state(pid, 'T').await;
    rig.sup.command(Verb::Restart, "api").await.unwrap();
    let exited = rig.wait_kind("api", EventKind::Exited, 0).await;
    assert_eq!(exited.pid, Some(pid));
    assert_eq!(exited.code, Some(0), "SIGTERM reached it once continued: {exited:?}");
    let again =
        rig.wait_row("api", "ready with a new process", |r| r.state == State::Ready && r.pid != Some(pid)).await;

    rig.sup.command(Verb::Pause, "api").await.unwrap();
    rig.wait_state("api", State::Paused).await;
    rig.sup.command(Verb::Stop, "api").await.unwrap();
    let stopped = rig.wait_state("api", State::Stopped).await;
    assert!(stopped.last_exit.unwrap_or_default().contains("code 0"), "a graceful stop, not a kill");
    assert!(again.pid.is_some());

    let e = rig.sup.command(Verb::Pause, "api").await.unwrap_err();
    assert!(matches!(&e, CommandError::WrongState { .. }), "{e:?}");
    assert_eq!(e.to_string(), "cannot pause `api`: it is stopped (only a running sidecar can be paused)");
    let e = rig.sup.command(Verb::Resume, "api").await.unwrap_err();
    assert!(e.to_string().contains("only a paused sidecar can be resumed"), "{e}");
    let e = rig.sup.command(Verb::Pause, "nope").await.unwrap_err();
    assert!(matches!(e, CommandError::UnknownSidecar { .. }), "{e:?}");
    rig.shutdown().await;
}
