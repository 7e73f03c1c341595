//! A dependency that comes back on another port (an `announce` sidecar picks a new one at each
//! start) makes its running dependents stale: their arguments and environment name the old
//! port. They are restarted with the new one, free of charge.

mod common;

use common::{profile, Rig};
use serde_json::json;
use sidecar_supervisor_core::EventKind;
use sidecar_supervisor_core::State;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependents_of_a_sidecar_back_on_a_new_port_are_restarted_with_it() {
    let rig = Rig::start(profile(json!([
        { "name": "api", "command": "test-sidecar", "args": ["--port", "announce"],
          "port": "announce", "ready": { "http": "/health/ready" } },
        { "name": "client", "command": "test-sidecar", "args": ["--echo-env", "UPSTREAM"],
          "depends_on": ["api"], "env": { "UPSTREAM": "http://127.0.0.1:{api.port}" },
          "ready": { "stdout": "ENV UPSTREAM=" } },
    ])));
    let client = rig.wait_state("client", State::Ready).await;
    let mut api = rig.row("api");
    let first_port = api.port.unwrap();
    assert!(rig.log_lines("client").contains(&format!("ENV UPSTREAM=http://127.0.0.1:{first_port}")));

    // Kill the api until it comes back on another port (the kernel picks; almost always at once).
    let mut client_pid = client.pid.unwrap();
    for _ in 0..5 {
        let old = api.pid.unwrap();
        let seq = rig.last_seq();
        assert!(sidecar_supervisor_core::testing::internals::platform::kill_group(old));
        api = rig.wait_row("api", "ready on a new pid", |r| r.state == State::Ready && r.pid != Some(old)).await;
        if api.port != Some(first_port) {
            let new_port = api.port.unwrap();
            let restarting = rig
                .wait_event("the client's restart", |e| {
                    e.seq > seq && e.sidecar.as_deref() == Some("client") && e.kind == EventKind::Restarting
                })
                .await;
            assert!(
                restarting.message.contains(&format!("`api` came back on port {new_port}")),
                "{}",
                restarting.message
            );
            let c = rig.wait_row("client", "respawned", |r| r.state == State::Ready && r.pid != Some(client_pid)).await;
            assert_eq!(c.restarts_in_window, 0, "a moved dependency is not the client's fault");
            assert!(rig.log_lines("client").contains(&format!("ENV UPSTREAM=http://127.0.0.1:{new_port}")));
            rig.shutdown().await;
            return;
        }
        // Same port again: the client's environment is still right and it must be left alone.
        assert_eq!(rig.row("client").pid, Some(client_pid), "{}", rig.feed_dump());
        client_pid = rig.row("client").pid.unwrap();
    }
    panic!("the api came back on the same port five times in a row\n{}", rig.feed_dump());
}

/// Templates read the first replica of a replicated dependency (`{api.port}` is `api#1`'s): a
/// restart of another replica must leave the dependent alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_replica_moving_leaves_the_dependent_alone() {
    let rig = Rig::start(profile(json!([
        { "name": "api", "command": "test-sidecar", "args": ["--port", "announce"], "replicas": 2,
          "port": "announce", "ready": { "http": "/health/ready" } },
        { "name": "client", "command": "test-sidecar", "args": ["--echo-env", "UPSTREAM"],
          "depends_on": ["api"], "env": { "UPSTREAM": "http://127.0.0.1:{api.port}" },
          "ready": { "stdout": "ENV UPSTREAM=" } },
    ])));
    let client = rig.wait_state("client", State::Ready).await;
    let second = rig.row("api#2");
    let old = second.pid.unwrap();
    let seq = rig.last_seq();
    assert!(sidecar_supervisor_core::testing::internals::platform::kill_group(old));
    let back = rig.wait_row("api#2", "ready on a new pid", |r| r.state == State::Ready && r.pid != Some(old)).await;
    // Its readiness is what would trigger the restart; by now the engine has decided.
    let after: Vec<_> =
        rig.sup.events(None).into_iter().filter(|e| e.seq > seq && e.sidecar.as_deref() == Some("client")).collect();
    assert!(after.is_empty(), "api#2 moved from {:?} to {:?}; client events: {after:?}", second.port, back.port);
    assert_eq!(rig.row("client").pid, client.pid);
    rig.shutdown().await;
}
