//! Restarts against real crashing processes: the budget trips after exactly `max_restarts`, a
//! manual restart resets it, and a sidecar stopped on purpose is not restarted.

mod common;

use common::{next_row_matching, profile, Rig};
use serde_json::json;
use sidecar_supervisor_core::State;
use sidecar_supervisor_core::Verb;
use sidecar_supervisor_core::{EventKind, RuntimeEvent};

fn crashy() -> serde_json::Value {
    profile(json!([
        { "name": "crashy", "command": "test-sidecar", "args": ["--crash-after-ms", "0", "--exit-code", "3"],
          "restart": { "max_restarts": 3, "window_secs": 60, "backoff_initial_ms": 10, "backoff_max_ms": 50 } },
    ]))
}

fn kinds_between(rig: &Rig, name: &str, after: u64, until: u64, kind: EventKind) -> Vec<RuntimeEvent> {
    rig.events_of(name, kind).into_iter().filter(|e| e.seq > after && e.seq < until).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_loop_spends_the_budget_then_fails() {
    let rig = Rig::start(crashy());
    let exhausted = rig.wait_kind("crashy", EventKind::BudgetExhausted, 0).await;
    let r = rig.wait_state("crashy", State::Failed).await;

    assert_eq!(rig.events_of("crashy", EventKind::Restarting).len(), 3, "{}", rig.feed_dump());
    assert_eq!(rig.events_of("crashy", EventKind::Spawned).len(), 4, "{}", rig.feed_dump());
    let exits = rig.events_of("crashy", EventKind::Exited);
    assert_eq!(exits.len(), 4, "{}", rig.feed_dump());
    assert!(exits.iter().all(|e| e.code == Some(3) && e.pid.is_some()), "{}", rig.feed_dump());
    assert!(exhausted.message.contains("restart budget spent (3 restarts in 60 s)"), "{}", exhausted.message);
    assert_eq!(exhausted.code, Some(3));

    assert!(!r.auto_restart);
    assert_eq!(r.pid, None);
    assert_eq!(r.restarts_in_window, 3);
    assert_eq!(r.budget.remaining, 0);
    assert_eq!(r.budget.max, 3);
    let err = r.last_error.expect("last error");
    assert!(err.contains("exited with code 3"), "{err}");
    assert!(err.contains("crashing on purpose"), "{err}");
    assert_eq!(r.last_exit.as_deref(), Some("exited with code 3"));
    // Nothing happens after the budget is spent.
    assert_eq!(rig.events(None).last().map(|e| e.seq), Some(exhausted.seq), "{}", rig.feed_dump());
    rig.shutdown().await;
    let after: Vec<_> = rig.events(None).into_iter().filter(|e| e.seq > exhausted.seq).collect();
    assert!(after.iter().all(|e| e.kind != EventKind::Spawned), "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_restart_resets_the_budget() {
    let rig = Rig::start(crashy());
    let first = rig.wait_kind("crashy", EventKind::BudgetExhausted, 0).await;
    rig.wait_state("crashy", State::Failed).await;

    let mut rx = rig.subscribe();
    rig.command(Verb::Restart, "crashy").await.expect("restart accepted");
    // The manual restart re-arms the whole budget and auto-restart...
    let r = next_row_matching(&mut rx, "crashy", |r| r.state == State::Ready).await;
    assert_eq!(r.budget.remaining, 3, "{r:?}");
    assert_eq!(r.restarts_in_window, 0);
    assert!(r.auto_restart);
    let spawned = rig.wait_kind("crashy", EventKind::Spawned, first.seq).await;
    assert_ne!(spawned.pid, None);
    let cmd = rig.events_of("crashy", EventKind::Command);
    assert_eq!(cmd.len(), 1);
    assert!(cmd[0].message.contains("restart requested") && cmd[0].seq < spawned.seq);

    // ...so the still-crashing sidecar gets exactly 3 more restarts before failing again.
    let second = rig.wait_kind("crashy", EventKind::BudgetExhausted, first.seq).await;
    rig.wait_state("crashy", State::Failed).await;
    let restarts = kinds_between(&rig, "crashy", first.seq, second.seq, EventKind::Restarting);
    assert_eq!(restarts.len(), 3, "{}", rig.feed_dump());
    let spawns = kinds_between(&rig, "crashy", first.seq, second.seq, EventKind::Spawned);
    assert_eq!(spawns.len(), 4, "{}", rig.feed_dump());
    rig.shutdown().await;
}

#[cfg(unix)] // uses sh, or Unix signal semantics
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_sidecar_is_not_restarted_and_can_be_started_again() {
    let rig = Rig::start(profile(json!([
        { "name": "svc", "command": "test-sidecar", "port": "auto", "ready": { "http": "/health/ready" } },
    ])));
    let r = rig.wait_state("svc", State::Ready).await;
    let pid = r.pid.expect("pid");

    rig.command(Verb::Stop, "svc").await.expect("stop accepted");
    let r = rig.wait_state("svc", State::Stopped).await;
    assert_eq!(r.pid, None);
    assert!(sidecar_supervisor_core::testing::wait_pid_gone(pid, common::T));
    let stopped = rig.events_of("svc", EventKind::Stopped);
    assert_eq!(stopped.len(), 1);
    assert!(stopped[0].message.contains("exited with code 0"), "{}", stopped[0].message);
    let stopping = rig.events_of("svc", EventKind::Stopping);
    assert_eq!(stopping.len(), 1);
    assert!(stopping[0].message.contains("SIGTERM"), "{}", stopping[0].message);
    let restarts = rig.events_of("svc", EventKind::Restarting);
    assert!(restarts.is_empty(), "{}", rig.feed_dump());
    assert_eq!(rig.events_of("svc", EventKind::Spawned).len(), 1);

    // A manual start brings it back.
    rig.command(Verb::Start, "svc").await.expect("start accepted");
    let r = rig.wait_row("svc", "ready again", |r| r.state == State::Ready && r.pid != Some(pid)).await;
    assert!(r.port.is_some());
    assert_eq!(rig.events_of("svc", EventKind::Spawned).len(), 2);
    assert_eq!(r.restarts_in_window, 0);
    rig.shutdown().await;
    assert!(rig.events_of("svc", EventKind::Restarting).is_empty(), "{}", rig.feed_dump());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sporadic_crash_of_a_long_ready_sidecar_restarts_at_once() {
    let rig = Rig::start(profile(json!([
        { "name": "svc", "command": "test-sidecar", "args": ["--crash-after-ms", "400"],
          "restart": { "max_restarts": 2, "window_secs": 60, "min_uptime_ms": 200 } },
    ])));
    let first = rig.wait_kind("svc", EventKind::Exited, 0).await;
    assert_eq!(first.code, Some(1));
    let restarting = rig.wait_kind("svc", EventKind::Restarting, first.seq).await;
    assert!(restarting.message.starts_with("restarting at once"), "{}", restarting.message);
    rig.wait_kind("svc", EventKind::Spawned, restarting.seq).await;
    rig.shutdown().await;
}
