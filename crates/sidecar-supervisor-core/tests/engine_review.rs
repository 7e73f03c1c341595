//! Regressions found in review: each test failed against the code before its fix.

mod common;

use std::time::Duration;

use common::{has_hex_run, profile, Rig, T};
use serde_json::json;
use sidecar_supervisor_core::domain::State;
use sidecar_supervisor_core::events::EventKind;
use sidecar_supervisor_core::testing::wait_pid_gone;

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
    rig.stop("api").await.unwrap();
    rig.wait_state("api", State::Stopped).await;
    unsafe { libc::kill(worker.pid.unwrap() as i32, libc::SIGKILL) };
    let w = rig.wait_state("worker", State::WaitingForDeps).await;
    assert!(w.last_error.as_deref().unwrap_or("").contains("killed by SIGKILL"), "{w:?}");
    rig.start_sidecar("api").await.unwrap();
    rig.wait_state("api", State::Ready).await;
    let w = rig.wait_state("worker", State::Ready).await;
    assert_ne!(w.pid, worker.pid);
    assert!(rig.events_of("worker", EventKind::Failed).is_empty(), "{}", rig.feed_dump());
}

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
    assert!(!has_hex_run(&status, 64), "the API key reached the status: {status}");
}

/// PR_SET_PDEATHSIG fires when the spawning *thread* ends (field notes trap 12) — and must
/// survive the privilege drop of `"user"` (credential changes clear it).
#[test]
fn parent_death_signal_survives_the_privilege_drop() {
    use sidecar_supervisor_core::runtime::process::{self, SpawnRequest};
    let root = unsafe { libc::geteuid() } == 0;
    let user = if root { process::lookup_user("nobody").unwrap() } else { None };
    let pid = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let args = vec!["600".to_string()];
            let req = SpawnRequest {
                program: std::path::Path::new("/bin/sleep"),
                args: &args,
                env: &[],
                cwd: std::path::Path::new("/"),
                user,
            };
            let s = process::spawn(&req).unwrap();
            std::mem::forget(s.stdin); // keep the lifeline open: only the death signal may kill it
            s.pid
        })
    })
    .join()
    .unwrap();
    assert!(wait_pid_gone(pid, Duration::from_secs(10)), "sleep (user {user:?}) outlived the thread that spawned it");
}
