//! The one-time `prepare` step (think `initdb`): runs before the first spawn, in the sidecar's
//! data dir, and is skipped at the next launch once `unless_exists` exists.
//! Unix: the sidecars here are `sh` scripts.
#![cfg(unix)]

mod common;

use common::{profile, Rig};
use serde_json::json;
use sidecar_supervisor_core::EventKind;
use sidecar_supervisor_core::State;

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

/// Prepare steps in order: the first skipped once done, the second (given `stdin`) run at every
/// launch of the runtime with this launch's `{password}` on its stdin, the password that a
/// client gets in its environment through `{db.password}`; it never shows in a log or the feed.
fn with_password() -> serde_json::Value {
    json!([
        { "name": "db", "command": "sleep", "args": ["600"],
          "prepare": [
            { "command": "sh", "args": ["-c", "echo once >> steps"], "unless_exists": "{sidecar_data_dir}/steps" },
            { "command": "sh", "args": ["-c", "cat > got && echo every-run >> steps && echo \"read: $(cat got)\""],
              "stdin": "ALTER ROLE app PASSWORD '{password}';" }
          ] },
        { "name": "client", "command": "sh", "args": ["-c", "printf %s \"$PW\" > pw && echo \"have $PW\" && exec sleep 600"],
          "depends_on": ["db"], "env": { "PW": "{db.password}" }, "ready": { "stdout": "have " } }
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepare_steps_run_in_order_and_a_password_reaches_stdin_and_env_but_no_log() {
    let read = |rig: &Rig, path: &str| std::fs::read_to_string(rig.tmp.path().join(path)).unwrap();
    let rig = Rig::start(profile(with_password()));
    rig.wait_state("client", State::Ready).await;
    let got = read(&rig, "data/db/got");
    let password = got.strip_prefix("ALTER ROLE app PASSWORD '").and_then(|s| s.strip_suffix("';")).expect(&got);
    assert_eq!(password.len(), 48, "24 random bytes as hex: {password}");
    assert!(password.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(read(&rig, "data/client/pw"), password, "the client's env has the same password");
    assert_eq!(read(&rig, "data/db/steps"), "once\nevery-run\n");
    assert_eq!(rig.events_of("db", EventKind::Prepared).len(), 2, "{}", rig.feed_dump());
    let logs = [rig.log_lines("db"), rig.log_lines("client")].concat();
    assert!(logs.iter().any(|l| l.contains("read: ALTER ROLE app PASSWORD '[redacted]'")), "{logs:?}");
    assert!(logs.iter().any(|l| l.contains("have [redacted]")), "{logs:?}");
    assert!(!logs.iter().any(|l| l.contains(password)), "{logs:?}");
    assert!(!rig.feed_dump().contains(password));

    // The next run: the first step is skipped, the second runs with a new password.
    let tmp = rig.into_tmp().await;
    let rig = Rig::start_in(tmp, profile(with_password()));
    rig.wait_state("client", State::Ready).await;
    assert_eq!(read(&rig, "data/db/steps"), "once\nevery-run\nevery-run\n");
    let again = read(&rig, "data/client/pw");
    assert_ne!(again, password, "a new password each run");
    assert_eq!(read(&rig, "data/db/got"), format!("ALTER ROLE app PASSWORD '{again}';"));
}
