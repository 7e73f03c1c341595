//! Start order against real processes: dependencies first, independent sidecars in parallel,
//! templated environment resolved from a dependency's port, and a dependent whose restart comes
//! while its dependency is down waits for it.

mod common;

use common::{profile, Rig};
use serde_json::json;
use sidecar_supervisor_core::testing::row;
use sidecar_supervisor_core::EventKind;
use sidecar_supervisor_core::State;
use sidecar_supervisor_core::Verb;

fn seq_of(rig: &Rig, name: &str, kind: EventKind) -> u64 {
    let evs = rig.events_of(name, kind);
    assert_eq!(evs.len(), 1, "expected one {} event of {name}: {}", kind.as_str(), rig.feed_dump());
    evs[0].seq
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependent_spawns_only_after_its_dependency_is_ready() {
    let rig = Rig::start(profile(json!([
        // Listed first on purpose: the order in the file must not matter.
        { "name": "b", "command": "test-sidecar", "depends_on": ["a"] },
        { "name": "a", "command": "test-sidecar", "port": "auto",
          "args": ["--ready-after-ms", "300"], "ready": { "http": "/health/ready" } },
    ])));
    // Before `a` is ready, `b` waits for it.
    let st = rig
        .wait_for(common::T, |st| row(st, "a").state == State::Starting)
        .await
        .unwrap_or_else(|st| panic!("a never starting: {st:#?}"));
    assert!(row(&st, "a").pid.is_some());
    assert!(matches!(row(&st, "b").state, State::Pending | State::WaitingForDeps), "{st:#?}");
    assert_eq!(row(&st, "b").pid, None);

    rig.wait_state("b", State::Ready).await;
    let a_ready = seq_of(&rig, "a", EventKind::Ready);
    let b_spawned = seq_of(&rig, "b", EventKind::Spawned);
    let a_spawned = seq_of(&rig, "a", EventKind::Spawned);
    assert!(a_spawned < a_ready, "{}", rig.feed_dump());
    assert!(a_ready < b_spawned, "b spawned before a was ready: {}", rig.feed_dump());
    assert_eq!(rig.row("a").state, State::Ready);
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_sidecars_start_in_parallel() {
    let side = |name: &str| {
        json!({ "name": name, "command": "test-sidecar", "port": "auto",
                "args": ["--ready-after-ms", "300"], "ready": { "http": "/health/ready" } })
    };
    let rig = Rig::start(profile(json!([side("x"), side("y")])));
    rig.wait_state("x", State::Ready).await;
    rig.wait_state("y", State::Ready).await;
    let (xs, ys) = (seq_of(&rig, "x", EventKind::Spawned), seq_of(&rig, "y", EventKind::Spawned));
    let (xr, yr) = (seq_of(&rig, "x", EventKind::Ready), seq_of(&rig, "y", EventKind::Ready));
    assert!(xs.max(ys) < xr.min(yr), "not spawned in parallel: {}", rig.feed_dump());
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_of_three_starts_in_dependency_order() {
    let rig = Rig::start(profile(json!([
        { "name": "c", "command": "test-sidecar", "depends_on": ["b"] },
        { "name": "b", "command": "test-sidecar", "port": "auto", "depends_on": ["a"],
          "args": ["--ready-after-ms", "100"], "ready": { "http": "/health/ready" } },
        { "name": "a", "command": "test-sidecar", "port": "auto",
          "args": ["--ready-after-ms", "100"], "ready": { "http": "/health/ready" } },
    ])));
    rig.wait_state("c", State::Ready).await;
    let order = [
        seq_of(&rig, "a", EventKind::Spawned),
        seq_of(&rig, "a", EventKind::Ready),
        seq_of(&rig, "b", EventKind::Spawned),
        seq_of(&rig, "b", EventKind::Ready),
        seq_of(&rig, "c", EventKind::Spawned),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}: {}", rig.feed_dump());
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templated_env_names_the_dependency_port() {
    let rig = Rig::start(profile(json!([
        { "name": "a", "command": "test-sidecar", "port": "auto", "ready": { "http": "/health/ready" } },
        { "name": "b", "command": "test-sidecar", "depends_on": ["a"],
          "env": { "DB": "postgres://x@127.0.0.1:{a.port}/db" },
          // The ready line comes after the echoed env on the same pipe: once ready, it is logged.
          "args": ["--echo-env", "DB,SIDECAR_NAME,SIDECAR_HOST", "--print-ready-line", "READY"],
          "ready": { "stdout": "READY" } },
    ])));
    rig.wait_state("b", State::Ready).await;
    let a_port = rig.row("a").port.expect("a has a port");
    let lines = rig.log_lines("b");
    let want = format!("ENV DB=postgres://x@127.0.0.1:{a_port}/db");
    assert!(lines.contains(&want), "no `{want}` in {lines:#?}");
    assert!(lines.iter().any(|l| l == "ENV SIDECAR_NAME=b"), "{lines:#?}");
    assert!(lines.iter().any(|l| l == "ENV SIDECAR_HOST=127.0.0.1"), "{lines:#?}");
    // `b` has no port: none is given.
    assert_eq!(rig.row("b").port, None);
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_slim_skips_backend_and_database_and_points_at_the_remote_url() {
    let tmp = tempfile::tempdir().unwrap();
    let p = json!({
        "mode": "remote_slim",
        "backend_url": "https://user:hunter2@api.example.com/v1",
        "sidecars": [
            { "name": "database", "role": "database", "command": "test-sidecar" },
            { "name": "backend", "role": "backend", "command": "test-sidecar", "depends_on": ["database"] },
            { "name": "worker", "role": "worker", "command": "test-sidecar", "depends_on": ["backend"],
              "args": ["--echo-env", "BACKEND_URL"], "ready": { "stdout": "ENV BACKEND_URL=" } }
        ]
    });
    let rig = common::Rig::start_in(tmp, p);
    // The worker's dependencies are remote: it starts at once.
    rig.wait_state("worker", State::Ready).await;
    let st = rig.status();
    assert_eq!(st.mode.as_str(), "remote_slim");
    for name in ["database", "backend"] {
        let r = rig.row(name);
        assert!(r.pid.is_none(), "{name} must not run in remote_slim");
        assert!(rig.events_of(name, EventKind::Spawned).is_empty());
    }
    // Not run in this mode: skipped, not stopped (nobody stopped it).
    assert_eq!(rig.row("database").state, State::Skipped);
    // The remote backend is probed (unreachable from here): starting, with the reason, and
    // never the URL's password.
    let backend = rig.wait_row("backend", "a probe of the remote backend", |r| r.last_probe.is_some()).await;
    assert_eq!(backend.state, State::Starting);
    assert_eq!(backend.url.as_deref(), Some("https://user:[redacted]@api.example.com/v1"));
    let err = backend.last_error.clone().unwrap_or_default();
    assert!(err.contains("remote backend"), "{err}");
    let shown = format!("{err} {:?}", backend.last_probe);
    assert!(!shown.contains("hunter2"), "{shown}");
    // The worker learns the remote URL from its environment (never printed with the password:
    // the log redacts it).
    assert!(rig.log_lines("worker").iter().any(|l| l.contains("api.example.com") && !l.contains("hunter2")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dependent_restarting_while_its_dependency_restarts_waits_for_it() {
    let rig = Rig::start(profile(json!([
        { "name": "api", "command": "test-sidecar", "port": "announce", "args": ["--port", "announce"] },
        { "name": "worker", "command": "test-sidecar", "depends_on": ["api"], "env": { "API": "{api.url}" },
          "restart": { "min_uptime_ms": 0 } }
    ])));
    rig.wait_state("worker", State::Ready).await;
    let worker = rig.row("worker");
    // Kill the dependency, then the dependent while the dependency is not ready.
    rig.command(Verb::Stop, "api").await.unwrap();
    rig.wait_state("api", State::Stopped).await;
    assert!(sidecar_supervisor_core::testing::internals::platform::kill_process(worker.pid.unwrap()));
    let w = rig.wait_state("worker", State::WaitingForDeps).await;
    assert!(w.last_error.as_deref().unwrap_or("").contains(common::FORCE_KILLED), "{w:?}");
    rig.command(Verb::Start, "api").await.unwrap();
    rig.wait_state("api", State::Ready).await;
    let w = rig.wait_state("worker", State::Ready).await;
    assert_ne!(w.pid, worker.pid);
    assert!(rig.events_of("worker", EventKind::Failed).is_empty(), "{}", rig.feed_dump());
}
