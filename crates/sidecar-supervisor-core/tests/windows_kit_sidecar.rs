//! A sidecar-kit sidecar on Windows (the reference backend, with no database to reach): its
//! lifeline is the stdin pipe the runtime holds — closing it ends the process by itself — and
//! the runtime stops it gracefully with `sidecar.v1.Control/Shutdown` (what a sidecar with a
//! port gets on Windows, where there are no signals). Runs under Wine here (`cargo xtask wine`
//! builds the backend for Windows) and natively on the workflow's Windows runner.
#![cfg(windows)]

mod common;

use std::path::Path;

use common::{profile, Rig, T};
use serde_json::json;
use sidecar_supervisor_core::testing::internals::platform::{self, SpawnRequest};
use sidecar_supervisor_core::testing::test_sidecar_bin;
use sidecar_supervisor_core::EventKind;
use sidecar_supervisor_core::State;
use sidecar_supervisor_core::Verb;

/// The reference backend, built next to test-sidecar.
fn backend_bin() -> std::path::PathBuf {
    test_sidecar_bin().with_file_name("desktop-runtime-backend.exe")
}

/// Nothing listens on port 1: the backend runs, not ready, which is all these tests need.
const NO_DATABASE: &str = "postgres://app@127.0.0.1:1/app";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kit_sidecar_exits_by_itself_when_its_lifeline_closes() {
    use tokio::io::AsyncBufReadExt;
    let env: Vec<(String, String)> = [
        ("SIDECAR_NAME", "backend"),
        ("SIDECAR_INSTANCE_NAME", "backend"),
        ("SIDECAR_INSTANCE_ID", "launch-42"),
        ("SIDECAR_API_KEY", "0123456789abcdef0123456789abcdef"),
        ("DATABASE_URL", NO_DATABASE),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let bin = backend_bin();
    let req = SpawnRequest { program: &bin, args: &[], env: &env, cwd: Path::new("."), user: None };
    let mut s = platform::spawn(&req).expect("the backend starts");
    let mut lines = tokio::io::BufReader::new(&mut s.stdout).lines();
    let first = tokio::time::timeout(T, lines.next_line()).await.expect("a handshake line in time").unwrap();
    assert!(first.as_deref().is_some_and(|l| l.starts_with("SIDECAR_PORT=")), "the port handshake: {first:?}");
    drop(s.lifeline); // the runtime's end of the stdin pipe: as if the runtime were gone
    let exit = tokio::time::timeout(T, s.child.wait()).await.expect("it exits by itself").unwrap();
    assert_eq!(exit.code, Some(0), "a clean exit, not the job's termination (code 1): {exit:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kit_sidecar_stops_gracefully_through_control_shutdown() {
    let rig = Rig::start(profile(json!([{
        "name": "backend", "command": "desktop-runtime-backend", "port": "announce",
        "env": { "DATABASE_URL": NO_DATABASE }, "stop_timeout_ms": 60000
    }])));
    rig.wait_row("backend", "its port announced", |r| r.port.is_some()).await;
    rig.command(Verb::Stop, "backend").await.unwrap();
    let row = rig.wait_state("backend", State::Stopped).await;
    assert_eq!(row.last_exit.as_deref(), Some("exited with code 0"), "{}", rig.feed_dump());
    let stopping = rig.events_of("backend", EventKind::Stopping);
    assert!(stopping[0].message.contains("sidecar.v1.Control/Shutdown"), "{}", stopping[0].message);
    assert!(rig.events_of("backend", EventKind::KillEscalated).is_empty(), "{}", rig.feed_dump());
    let log = rig.log_lines("backend").join("\n");
    assert!(log.contains("shutdown requested over gRPC"), "the kit saw the call: {log}");
}
