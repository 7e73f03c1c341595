//! A prepare step's `stdin` on every OS (`test-sidecar --stdin-to` stands in for the default
//! stack's `postgres --single`, which reads `ALTER ROLE … PASSWORD` this way): the rendered
//! text with this launch's `{password}` arrives whole, then EOF ends the step; the password is
//! in no log and not in the feed. Runs under Wine too (`cargo xtask wine`).

mod common;

use common::{profile, Rig};
use serde_json::json;
use sidecar_supervisor_core::EventKind;
use sidecar_supervisor_core::State;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prepare_step_reads_its_stdin_with_this_launchs_password_to_the_end() {
    let rig = Rig::start(profile(json!([{
        "name": "db", "command": "test-sidecar", "args": ["--echo-env", "PW"],
        "env": { "PW": "{password}" }, "ready": { "stdout": "ENV PW=" },
        "prepare": { "command": "test-sidecar", "args": ["--stdin-to", "got"],
                     "stdin": "ALTER ROLE app PASSWORD '{password}';\n" }
    }])));
    rig.wait_state("db", State::Ready).await;
    let got = std::fs::read_to_string(rig.tmp.path().join("data").join("db").join("got")).unwrap();
    let password = got
        .strip_prefix("ALTER ROLE app PASSWORD '")
        .and_then(|s| s.strip_suffix("';\n"))
        .unwrap_or_else(|| panic!("the whole text arrived: {got:?}"));
    assert_eq!(password.len(), 48, "{password}");
    assert_eq!(rig.events_of("db", EventKind::Prepared).len(), 1, "{}", rig.feed_dump());
    let log = rig.log_lines("db").join("\n");
    assert!(log.contains("ENV PW=[redacted]"), "the sidecar got it in its env, printed it, redacted: {log}");
    assert!(!log.contains(password) && !rig.feed_dump().contains(password), "{log}");
}
