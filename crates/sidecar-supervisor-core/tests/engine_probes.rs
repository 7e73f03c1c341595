//! Readiness and liveness probes against real processes: HTTP, gRPC health, TCP, exec, stdout
//! line, identity (a foreign server is never ready), liveness (a hung process is replaced), and
//! probe output that carries the API key (redacted before it reaches the status).

mod common;

use common::{profile, Rig};
use serde_json::{json, Value};
use sidecar_supervisor_core::EventKind;
use sidecar_supervisor_core::State;

/// `ready after N ms (...)` → N.
fn ready_after_ms(message: &str) -> u64 {
    let rest = message.strip_prefix("ready after ").unwrap_or_else(|| panic!("{message}"));
    rest.split(' ').next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{message}"))
}

/// Starts one sidecar `s` that becomes ready after ~300 ms with probe `ready` and returns the
/// detail of its `ready` event, checking that it was not taken as ready before the child was.
async fn ready_late(name: &str, args: Value, ready: Value) -> (Rig, String) {
    let rig = Rig::start(profile(json!([
        { "name": name, "command": "test-sidecar", "port": "auto", "args": args, "ready": ready },
    ])));
    let r = rig.wait_state(name, State::Ready).await;
    let probe = r.last_probe.expect("probe result recorded");
    assert!(probe.ok, "{probe:?}");
    let ev = rig.events_of(name, EventKind::Ready);
    assert_eq!(ev.len(), 1, "{}", rig.feed_dump());
    // The child answers "not ready" for its first 300 ms (margin for when the spawn was timed).
    assert!(ready_after_ms(&ev[0].message) >= 200, "ready too early: {}", ev[0].message);
    let msg = ev[0].message.clone();
    (rig, msg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_probe_waits_for_2xx() {
    let (rig, msg) = ready_late("web", json!(["--ready-after-ms", "300"]), json!({ "http": "/health/ready" })).await;
    assert!(msg.contains("GET /health/ready answered 200"), "{msg}");
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_health_probe_waits_for_serving() {
    let (rig, msg) =
        ready_late("rpc", json!(["--protocol", "grpc", "--ready-after-ms", "300"]), json!({ "grpc": "" })).await;
    assert!(msg.contains("grpc health Serving"), "{msg}");
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_probe_waits_for_accept() {
    let (rig, msg) =
        ready_late("raw", json!(["--protocol", "tcp", "--ready-after-ms", "300"]), json!({ "tcp": true })).await;
    assert!(msg.contains("accepted"), "{msg}");
    rig.shutdown().await;
}

#[cfg(unix)] // uses sh, or Unix signal semantics
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_probe_passes_once_the_command_succeeds() {
    let rig = Rig::start(profile(json!([
        { "name": "db", "command": "test-sidecar",
          "ready": { "exec": { "command": "sh", "args": ["-c", "test -e {data_dir}/flag"] } } },
    ])));
    // The probe runs and fails while the flag is missing.
    let r = rig.wait_row("db", "probed and failing", |r| r.last_probe.as_ref().is_some_and(|p| !p.ok)).await;
    assert_eq!(r.state, State::Starting);
    assert!(rig.events_of("db", EventKind::Ready).is_empty());
    let data_dir = rig.status().data_dir;
    std::fs::write(std::path::Path::new(&data_dir).join("flag"), b"").unwrap();

    let r = rig.wait_state("db", State::Ready).await;
    let probe = r.last_probe.expect("probe");
    assert!(probe.ok && probe.detail.contains("exited 0"), "{probe:?}");
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdout_line_probe_passes_on_the_line() {
    let rig = Rig::start(profile(json!([
        { "name": "pg", "command": "test-sidecar",
          "args": ["--ready-after-ms", "300", "--print-ready-line", "database system is READY now"],
          "ready": { "stdout": "READY" } },
    ])));
    rig.wait_state("pg", State::Ready).await;
    let ev = rig.events_of("pg", EventKind::Ready);
    assert_eq!(ev.len(), 1);
    assert!(ev[0].message.contains("stdout said \"READY\""), "{}", ev[0].message);
    assert!(ready_after_ms(&ev[0].message) >= 200, "{}", ev[0].message);
    assert!(rig.log_lines("pg").iter().any(|l| l == "database system is READY now"));
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_instance_is_never_ready_and_times_out() {
    let rig = Rig::start(profile(json!([
        { "name": "api", "command": "test-sidecar", "port": "auto",
          "args": ["--foreign-instance-id", "someone-else"],
          "ready": { "http": "/health/ready" }, "startup_timeout_ms": 1500 },
    ])));
    // /health/ready answers 200, but the identity check says the server is not ours.
    let r = rig
        .wait_row("api", "probed by a foreign answer", |r| {
            r.last_probe.as_ref().is_some_and(|p| !p.ok && p.detail.contains("another program or an older instance"))
        })
        .await;
    assert_eq!(r.identity, Some(sidecar_supervisor_core::Identity::Foreign));
    assert_eq!(r.state, State::Starting);

    let timeout = rig.wait_kind("api", EventKind::StartupTimeout, 0).await;
    assert!(timeout.message.contains("1500 ms"), "{}", timeout.message);
    assert!(
        timeout.message.contains("last probe: port") && timeout.message.contains("someone-else"),
        "{}",
        timeout.message
    );
    let first_pid = rig.events_of("api", EventKind::Spawned)[0].pid;
    assert_eq!(timeout.pid, first_pid);
    let exited = rig.wait_kind("api", EventKind::Exited, timeout.seq).await;
    assert!(exited.message.contains("after the startup timeout"), "{}", exited.message);
    assert!(common::force_killed(&exited), "{exited:?}");
    assert!(rig.events_of("api", EventKind::Ready).is_empty(), "{}", rig.feed_dump());
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_liveness_replaces_a_hung_process() {
    let rig = Rig::start(profile(json!([
        { "name": "api", "command": "test-sidecar", "port": "auto",
          "args": ["--hang-after-ms", "500"],
          "ready": { "http": "/health/ready" },
          "live": { "http": "/health/live", "interval_ms": 200, "timeout_ms": 200, "failure_threshold": 2 } },
    ])));
    let first = rig.wait_state("api", State::Ready).await;
    let old_pid = first.pid.expect("pid");

    let lf = rig.wait_kind("api", EventKind::LivenessFailed, 0).await;
    assert_eq!(lf.pid, Some(old_pid));
    assert!(lf.message.contains("2 times"), "{}", lf.message);
    let r = rig.wait_row("api", "ready with a new pid", |r| r.state == State::Ready && r.pid != Some(old_pid)).await;
    assert!(r.pid.is_some());

    let exited = rig.events_of("api", EventKind::Exited);
    let ex = exited.iter().find(|e| e.pid == Some(old_pid)).unwrap_or_else(|| panic!("{}", rig.feed_dump()));
    assert!(ex.seq > lf.seq);
    assert!(common::force_killed(ex), "{ex:?}");
    assert!(ex.message.contains("after failed liveness probes"), "{}", ex.message);
    assert!(!rig.events_of("api", EventKind::Restarting).is_empty());
    assert_eq!(r.restarts_in_window, 1, "{r:?}");
    rig.shutdown().await;
}

#[cfg(unix)] // uses sh, or Unix signal semantics
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_output_never_leaks_the_api_key_into_the_status() {
    let rig = Rig::start(profile(json!([
        { "name": "leaky", "command": "test-sidecar", "startup_timeout_ms": 60000,
          "ready": { "exec": { "command": "sh", "args": ["-c", "echo \"key=$SIDECAR_API_KEY\" >&2; exit 1"] } } }
    ])));
    let row = rig.wait_row("leaky", "a failed exec probe", |r| r.last_probe.as_ref().is_some_and(|p| !p.ok)).await;
    let detail = row.last_probe.unwrap().detail;
    assert!(detail.contains("key=[redacted]"), "{detail}");
    let status = serde_json::to_string(&rig.status()).unwrap();
    assert!(!common::has_hex_run(&status, 64), "the API key reached the status: {status}");
}
