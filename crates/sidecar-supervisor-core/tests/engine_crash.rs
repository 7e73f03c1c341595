//! If the engine itself fails (a bug: a panic), nothing is left behind: every sidecar and its
//! grandchildren die with it, the feed says what happened, and the status says it is stopped.

mod common;

use common::{profile, Rig, T};
use serde_json::json;
use sidecar_supervisor_core::testing::{grandchild_pid, wait_pid_gone};
use sidecar_supervisor_core::EventKind;
use sidecar_supervisor_core::Notification;
use sidecar_supervisor_core::State;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_engine_takes_every_sidecar_and_grandchild_with_it() {
    let rig = Rig::start(profile(json!([
        { "name": "a", "command": "test-sidecar",
          "args": ["--ignore-sigterm", "--ignore-stdin-eof", "--fork-grandchild", "--grandchild-ignore-sigterm",
                   "--print-ready-line", "UP"],
          "ready": { "stdout": "UP" } },
        { "name": "b", "command": "test-sidecar", "args": ["--ignore-stdin-eof"] }
    ])));
    let a = rig.wait_state("a", State::Ready).await;
    let b = rig.wait_state("b", State::Ready).await;
    let grandchild = grandchild_pid(&rig.logs("a", 50).unwrap()).expect("grandchild pid in a's log");
    let mut rx = rig.subscribe();

    rig.crash_engine_for_test();
    let stopped = tokio::time::timeout(T, async {
        loop {
            match rx.recv().await {
                Ok(Notification::Stopped) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    })
    .await;
    assert_eq!(stopped, Ok(true), "subscribers hear that the engine stopped");

    for pid in [a.pid.unwrap(), b.pid.unwrap(), grandchild] {
        assert!(wait_pid_gone(pid, T), "pid {pid} outlived the crashed engine");
    }
    let st = rig.status();
    assert!(st.stopped);
    assert!(st.error.as_deref().unwrap_or_default().contains("crashed"), "{:?}", st.error);
    assert!(st.sidecars.iter().all(|s| s.pid.is_none() && s.state != State::Ready), "{:#?}", st.sidecars);
    let file = std::fs::read_to_string(rig.tmp.path().join("data/runtime/status.json")).unwrap();
    let on_disk: serde_json::Value = serde_json::from_str(&file).unwrap();
    assert_eq!(on_disk["stopped"], true, "status.json tells the crash too: {on_disk:#}");
    assert!(on_disk["error"].as_str().unwrap_or("").contains("crashed"));
    let last = rig.events(Some(1));
    assert_eq!(last[0].kind, EventKind::RuntimeStopped);
    assert!(last[0].message.contains("crashed"), "{}", last[0].message);
}
