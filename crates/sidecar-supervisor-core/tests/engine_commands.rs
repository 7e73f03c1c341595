//! Commands and start errors against a real engine: unknown sidecar names and missing binaries
//! give structured, readable errors.

mod common;

use common::{profile, Rig};
use serde_json::json;
use sidecar_supervisor_core::CommandError;
use sidecar_supervisor_core::EventKind;
use sidecar_supervisor_core::State;
use sidecar_supervisor_core::Verb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_sidecar_is_a_structured_error_listing_known_names() {
    let rig = Rig::start(profile(json!([
        { "name": "web", "command": "test-sidecar" },
        { "name": "db", "command": "test-sidecar" },
    ])));
    rig.wait_state("web", State::Ready).await;
    let before = rig.last_seq();
    let expected = CommandError::UnknownSidecar { sidecar: "nope".into(), known: vec!["db".into(), "web".into()] }; // sorted, as logs() lists them
    assert_eq!(rig.command(Verb::Restart, "nope").await, Err(expected.clone()));
    assert_eq!(rig.command(Verb::Stop, "nope").await, Err(expected.clone()));
    assert_eq!(rig.command(Verb::Start, "nope").await, Err(expected.clone()));
    let msg = expected.to_string();
    assert!(msg.contains("nope") && msg.contains("web") && msg.contains("db"), "{msg}");
    let json = serde_json::to_value(&expected).unwrap();
    assert_eq!(json["kind"], "unknown_sidecar");
    assert_eq!(json["sidecar"], "nope");

    match rig.logs("nope", 10) {
        Err(CommandError::UnknownSidecar { sidecar, mut known }) => {
            known.sort();
            assert_eq!((sidecar.as_str(), known), ("nope", vec!["db".to_string(), "web".to_string()]));
        }
        other => panic!("{other:?}"),
    }
    // Nothing was touched.
    assert!(rig.events(None).iter().all(|e| e.seq <= before || e.kind != EventKind::Command));
    assert_eq!(rig.row("web").state, State::Ready);
    rig.shutdown().await;
    assert_eq!(rig.command(Verb::Restart, "web").await, Err(CommandError::EngineGone));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_binary_fails_with_the_command_named() {
    let rig = Rig::start(profile(json!([
        { "name": "ghost", "command": "no-such-binary-xyz" },
        { "name": "after", "command": "test-sidecar", "depends_on": ["ghost"] },
    ])));
    let r = rig.wait_state("ghost", State::Failed).await;
    let err = r.last_error.expect("error");
    assert!(err.contains("no-such-binary-xyz") && err.contains("not found"), "{err}");
    assert!(err.contains("GHOST_BIN"), "the error should say how to point at the binary: {err}");
    assert_eq!(r.pid, None);
    let failed = rig.events_of("ghost", EventKind::Failed);
    assert_eq!(failed.len(), 1, "{}", rig.feed_dump());
    assert!(failed[0].message.contains("no-such-binary-xyz"));
    assert!(rig.events_of("ghost", EventKind::Spawned).is_empty());
    // Its dependent never starts.
    rig.wait_state("after", State::WaitingForDeps).await;
    assert!(rig.events_of("after", EventKind::Spawned).is_empty());
    rig.shutdown().await;
    assert_eq!(rig.row("after").state, State::Stopped);
}
