//! Sidecar output against real processes: both pipes reach the ring and the log file, and the
//! per-launch API key never appears in logs, the log file, events, the feed or the status.

mod common;

use common::{has_hex_run, profile, Rig};
use serde_json::json;
use sidecar_supervisor_core::EventKind;
use sidecar_supervisor_core::State;
use sidecar_supervisor_core::Stream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdout_and_stderr_lines_reach_the_ring_and_the_file() {
    let rig = Rig::start(profile(json!([
        // Prints, then exits: once its exit is handled, both pipes are drained.
        { "name": "chatty", "command": "test-sidecar", "auto_restart": false,
          "args": ["--stdout-lines", "5", "--stderr-lines", "2", "--crash-after-ms", "0", "--exit-code", "0"] },
    ])));
    rig.wait_state("chatty", State::Failed).await;
    let lines = rig.logs("chatty", 100).unwrap();
    let out: Vec<&str> = lines.iter().filter(|l| l.stream == Stream::Stdout).map(|l| l.line.as_str()).collect();
    let err: Vec<&str> = lines.iter().filter(|l| l.stream == Stream::Stderr).map(|l| l.line.as_str()).collect();
    assert_eq!(out, ["line 1", "line 2", "line 3", "line 4", "line 5"], "{lines:#?}");
    assert_eq!(err[..2], ["err 1", "err 2"], "{lines:#?}");
    assert!(err.contains(&"test-sidecar: crashing on purpose"), "{lines:#?}");
    assert!(lines.iter().all(|l| l.at.ends_with('Z')));
    // `n` bounds the tail: the newest lines.
    let tail = rig.logs("chatty", 2).unwrap();
    assert_eq!(tail.len(), 2);
    assert_eq!(tail[1].line, lines.last().unwrap().line);

    let path = rig.log_path("chatty").expect("log file");
    assert!(path.starts_with(rig.tmp.path()), "{}", path.display());
    let text = std::fs::read_to_string(&path).unwrap();
    for want in [" stdout line 1", " stdout line 5", " stderr err 1", " stderr err 2"] {
        assert!(text.contains(want), "no `{want}` in {text}");
    }
    // The exit explains itself with the stderr tail and the configured restart policy.
    let r = rig.row("chatty");
    let e = r.last_error.expect("error");
    assert!(e.contains("exited with code 0") && e.contains("auto-restart is off"), "{e}");
    assert!(rig.events_of("chatty", EventKind::Restarting).is_empty());
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_never_leaks() {
    let rig = Rig::start(profile(json!([
        { "name": "leaky", "command": "test-sidecar", "port": "auto",
          "args": ["--print-secret", "--echo-env", "SIDECAR_API_KEY,SIDECAR_INSTANCE_ID",
                   "--print-ready-line", "READY"],
          "ready": { "stdout": "READY" } },
    ])));
    rig.wait_state("leaky", State::Ready).await;
    let instance_id = rig.status().instance_id;

    let lines = rig.log_lines("leaky");
    assert!(lines.iter().any(|l| l == "key=[redacted]"), "{lines:#?}");
    assert!(lines.iter().any(|l| l == "ENV SIDECAR_API_KEY=[redacted]"), "{lines:#?}");
    // Not a secret: the instance id passes (so redaction is not blanket).
    assert!(lines.contains(&format!("ENV SIDECAR_INSTANCE_ID={instance_id}")), "{lines:#?}");
    assert!(lines.iter().all(|l| !has_hex_run(l, 64)), "{lines:#?}");

    let file = std::fs::read_to_string(rig.log_path("leaky").unwrap()).unwrap();
    assert!(file.contains("key=[redacted]"), "{file}");
    assert!(!has_hex_run(&file, 64), "{file}");

    let status = serde_json::to_string(&rig.status()).unwrap();
    assert!(!has_hex_run(&status, 64), "{status}");

    rig.shutdown().await;
    let events = serde_json::to_string(&rig.events(None)).unwrap();
    assert!(!has_hex_run(&events, 64), "{events}");
    let feed = std::fs::read_to_string(rig.feed_path()).unwrap();
    assert!(feed.contains("runtime_stopped"), "feed not flushed: {feed}");
    assert!(!has_hex_run(&feed, 64), "{feed}");
    let status_file = rig.tmp.path().join("data").join("runtime").join("status.json");
    let status_file = std::fs::read_to_string(status_file).unwrap();
    assert!(!has_hex_run(&status_file, 64), "{status_file}");
    // Sanity: the instance id (32 hex) is there, so the scan would see a 64-hex key.
    assert!(has_hex_run(&feed, 32));
}
