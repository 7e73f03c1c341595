//! The gRPC client app code gets (`Supervisor::grpc_channel`) against a real gRPC sidecar that
//! announces a new port at every start: calls carry the key, and keep working across restarts
//! (a manual one and a crash), the channel following the sidecar to its new port.

mod common;

use std::time::Duration;

use common::{profile, Rig};
use serde_json::json;
use sidecar_supervisor_core::call_info;
use sidecar_supervisor_core::State;
use sidecar_supervisor_core::Verb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_carry_the_key_and_follow_the_sidecar_across_restarts() {
    let rig = Rig::start(profile(json!([
        { "name": "api", "command": "test-sidecar", "port": "announce",
          "args": ["--protocol", "grpc", "--port", "announce"], "ready": { "grpc": "" } },
    ])));
    let first = rig.wait_state("api", State::Ready).await;
    let ch = rig.sup.grpc_channel("api").unwrap();
    let ask = |ch| async move { tokio::time::timeout(Duration::from_secs(10), call_info(ch, "")).await.unwrap() };

    let info = ask(ch.clone()).await.unwrap();
    assert_eq!(info.version, "key-ok", "the launch's key rides along");
    assert_eq!(info.pid, first.pid.unwrap());

    rig.sup.command(Verb::Restart, "api").await.unwrap();
    let second = rig.wait_row("api", "ready again", |r| r.state == State::Ready && r.pid != first.pid).await;
    assert_ne!(second.port, first.port, "announced a new port");
    let info = ask(ch.clone()).await.unwrap();
    assert_eq!((info.pid, info.version.as_str()), (second.pid.unwrap(), "key-ok"), "followed to the new port");

    // A crash: the same channel finds the replacement.
    sidecar_supervisor_core::testing::internals::platform::kill_process(second.pid.unwrap());
    let third = rig.wait_row("api", "back after the crash", |r| r.state == State::Ready && r.pid != second.pid).await;
    assert_eq!(ask(ch.clone()).await.unwrap().pid, third.pid.unwrap());

    // A call made while the sidecar is down waits for it rather than failing on a dead port.
    rig.sup.command(Verb::Stop, "api").await.unwrap();
    rig.wait_state("api", State::Stopped).await;
    let pending = tokio::spawn(ask(ch.clone()));
    rig.sup.command(Verb::Start, "api").await.unwrap();
    let fourth = rig.wait_row("api", "started again", |r| r.state == State::Ready && r.pid != third.pid).await;
    assert_eq!(pending.await.unwrap().unwrap().pid, fourth.pid.unwrap());

    assert!(rig.sup.grpc_channel("nope").is_err());
    rig.shutdown().await;
}
