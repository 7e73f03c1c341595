//! Port assignment against real processes: auto, announce (plain and JSON, and the announced port
//! in a dependent's environment), a fixed port that is taken, and the bind race of `auto` (lost
//! race → new port, budget not charged).

mod common;

use std::net::{TcpListener, TcpStream};

use common::{profile, Rig};
use serde_json::json;
use sidecar_supervisor_core::EventKind;
use sidecar_supervisor_core::State;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_port_is_passed_in_env_and_probed() {
    let rig = Rig::start(profile(json!([
        { "name": "api", "command": "test-sidecar", "port": "auto",
          "args": ["--echo-env", "SIDECAR_PORT"], "ready": { "http": "/health/ready" } },
    ])));
    let r = rig.wait_state("api", State::Ready).await;
    let port = r.port.expect("auto port");
    assert_ne!(port, 0);
    assert_eq!(r.url.as_deref(), Some(format!("http://127.0.0.1:{port}").as_str()));
    let probe = r.last_probe.expect("a probe ran");
    assert!(probe.ok && probe.detail.contains("/health/ready answered 200"), "{probe:?}");
    // The child really listens there, and it was told that port.
    TcpStream::connect(("127.0.0.1", port)).expect("sidecar listens on its port");
    let lines = rig.log_lines("api");
    assert!(lines.contains(&format!("ENV SIDECAR_PORT={port}")), "{lines:#?}");
    let spawned = rig.events_of("api", EventKind::Spawned);
    assert_eq!(spawned[0].port, Some(port));
    rig.shutdown().await;
}

async fn announce_case(child_flag: &str, handshake: impl Fn(u16) -> String) {
    let rig = Rig::start(profile(json!([
        { "name": "api", "command": "test-sidecar", "port": "announce",
          "args": ["--port", child_flag], "ready": { "http": "/health/ready" } },
    ])));
    let r = rig.wait_state("api", State::Ready).await;
    let port = r.port.expect("announced port");
    let lines = rig.log_lines("api");
    assert!(lines.contains(&handshake(port)), "status port {port} is not the announced one: {lines:#?}");
    assert_eq!(rig.events_of("api", EventKind::Ready)[0].port, Some(port));
    TcpStream::connect(("127.0.0.1", port)).expect("sidecar listens on its announced port");
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announced_port_is_the_status_port() {
    announce_case("announce", |p| format!("SIDECAR_PORT={p}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announced_json_port_is_the_status_port() {
    announce_case("announce-json", |p| format!("{{\"port\": {p}}}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_fixed_port_fails_fast_with_a_clear_error() {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let rig = Rig::start(profile(json!([
        { "name": "api", "command": "test-sidecar", "port": port, "ready": { "http": "/health/ready" } },
    ])));
    let r = rig.wait_state("api", State::Failed).await;
    let err = r.last_error.expect("an error");
    assert!(err.contains("already in use") && err.contains(&port.to_string()), "{err}");
    assert!(rig.events_of("api", EventKind::Spawned).is_empty(), "{}", rig.feed_dump());
    let failed = rig.events_of("api", EventKind::Failed);
    assert_eq!(failed.len(), 1, "{}", rig.feed_dump());
    assert!(failed[0].message.contains("already in use"));
    rig.shutdown().await;
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_fixed_port_is_used() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let rig = Rig::start(profile(json!([
        { "name": "api", "command": "test-sidecar", "port": port, "ready": { "http": "/health/ready" } },
    ])));
    let r = rig.wait_state("api", State::Ready).await;
    assert_eq!(r.port, Some(port));
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_port_race_respawns_on_a_new_port_without_charging_the_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let gate = tmp.path().join("gate");
    let rig = Rig::start_in(
        tmp,
        profile(json!([
            { "name": "api", "command": "test-sidecar", "port": "auto",
              "args": ["--bind-gate", gate.to_str().unwrap()],
              "ready": { "http": "/health/ready" },
              "restart": { "max_restarts": 3, "window_secs": 60 } },
        ])),
    );
    // The child waits at the gate: steal its port, then open the gate.
    let first = rig.wait_kind("api", EventKind::Spawned, 0).await;
    let picked = first.port.expect("spawned with a port");
    // The status follows the feed event (published once the spawn is fully applied).
    let r = rig.wait_row("api", "spawned", |r| r.pid.is_some()).await;
    assert_eq!(r.port, Some(picked));
    assert_eq!(r.state, State::Starting);
    let thief = TcpListener::bind(("127.0.0.1", picked)).expect("the picked port is free until the child binds");
    std::fs::write(&gate, b"open").unwrap();

    let conflict = rig.wait_kind("api", EventKind::PortConflict, first.seq).await;
    let r = rig.wait_state("api", State::Ready).await;
    let new_port = r.port.expect("port");
    assert_ne!(new_port, picked, "re-spawned on the stolen port");
    assert_eq!(r.restarts_in_window, 0, "the lost race was charged: {r:?}");
    assert_eq!(r.budget.remaining, 3);

    let exited = rig.events_of("api", EventKind::Exited);
    assert_eq!(exited.len(), 1, "{}", rig.feed_dump());
    assert_eq!(exited[0].code, Some(98));
    assert!(
        sidecar_supervisor_core::testing::internals::ports::is_addr_in_use(&exited[0].message),
        "{}",
        exited[0].message
    );
    assert!(exited[0].seq < conflict.seq);
    assert!(rig.events_of("api", EventKind::Restarting).is_empty(), "{}", rig.feed_dump());
    let spawned = rig.events_of("api", EventKind::Spawned);
    assert_eq!(spawned.len(), 2);
    assert_eq!(spawned[1].port, Some(new_port), "{:#?}", rig.events(None));
    rig.shutdown().await;
    drop(thief);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependents_of_an_announcing_sidecar_get_its_port() {
    let rig = Rig::start(profile(json!([
        { "name": "api", "command": "test-sidecar", "port": "announce",
          "args": ["--port", "announce", "--ready-after-ms", "200"] },
        { "name": "worker", "command": "test-sidecar", "depends_on": ["api"],
          "env": { "API": "{api.url}" }, "args": ["--echo-env", "API", "--print-ready-line", "UP"],
          "ready": { "stdout": "UP" } }
    ])));
    let api = rig.wait_state("api", State::Ready).await;
    let port = api.port.expect("ready means announced");
    rig.wait_state("worker", State::Ready).await;
    let want = format!("ENV API=http://127.0.0.1:{port}");
    assert!(rig.log_lines("worker").contains(&want), "{:?}", rig.log_lines("worker"));
}
