//! The one-time `prepare` step (think `initdb`): runs before the first spawn, in the sidecar's
//! data dir, and is skipped at the next launch once `unless_exists` exists.
//! Unix: the sidecars here are `sh` scripts.
#![cfg(unix)]

mod common;

use common::{profile, Rig};
use serde_json::json;
use sidecar_supervisor_core::domain::State;
use sidecar_supervisor_core::events::EventKind;

fn db() -> serde_json::Value {
    json!([{
        "name": "db", "command": "test-sidecar",
        "prepare": {
            "command": "sh",
            "args": ["-c", "pwd > marker && echo initialised"],
            "unless_exists": "{sidecar_data_dir}/marker"
        }
    }])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepare_runs_once_then_is_skipped_at_the_next_launch() {
    let rig = Rig::start(profile(db()));
    rig.wait_state("db", State::Ready).await;
    assert_eq!(rig.events_of("db", EventKind::Prepared).len(), 1, "{}", rig.feed_dump());
    let marker = rig.tmp.path().join("data/db/marker");
    let cwd = std::fs::read_to_string(&marker).expect("the step ran in the sidecar's data dir");
    assert!(cwd.trim().ends_with("data/db"), "ran in {cwd}");
    assert!(rig.log_lines("db").iter().any(|l| l.contains("initialised")), "its output is in the sidecar's log");
    // Same data dir, second launch: the marker exists, the step is skipped.
    let tmp = rig.into_tmp().await;
    let rig = Rig::start_in(tmp, profile(db()));
    rig.wait_state("db", State::Ready).await;
    let prepared: Vec<_> = rig.events_of("db", EventKind::Prepared);
    assert_eq!(prepared.len(), 1, "only the first launch's step is in the feed: {}", rig.feed_dump());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_prepare_step_fails_the_sidecar_with_its_error() {
    let rig = Rig::start(profile(json!([{
        "name": "db", "command": "test-sidecar",
        "prepare": { "command": "sh", "args": ["-c", "echo 'initdb: cannot be run as root' >&2; exit 1"] }
    }])));
    let row = rig.wait_state("db", State::Failed).await;
    let err = row.last_error.unwrap_or_default();
    assert!(err.contains("prepare step") && err.contains("cannot be run as root"), "{err}");
    assert!(rig.events_of("db", EventKind::Spawned).is_empty());
}
