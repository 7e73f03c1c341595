//! Build identity against real processes: the app is build `new`; a sidecar whose identity
//! answer states build `old` (an old process or binary after an update) is restarted once, free
//! of charge, and when the new process states `old` too it is left running with a warning; a
//! sidecar of the app's build is neither restarted nor warned about. Over HTTP
//! (`/runtime/info`) and gRPC (`sidecar.v1.Control/Info`).

mod common;

use common::{Rig, T};
use serde_json::json;
use sidecar_supervisor_core::testing::{config_in, options, row};
use sidecar_supervisor_core::{EventKind, State, Supervisor, WarningKind};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_build_is_restarted_once_then_warned_about() {
    let tmp = tempfile::tempdir().unwrap();
    let sidecar = |name: &str, build: &str| {
        json!({ "name": name, "command": "test-sidecar", "port": "auto",
                "env": { "TEST_SIDECAR_BUILD": build }, "ready": { "http": "/health/ready" } })
    };
    // The same through gRPC (`sidecar.v1.Control/Info`'s `build`).
    let grpc = json!({ "name": "grpc-stale", "command": "test-sidecar", "port": "auto", "args": ["--protocol", "grpc"],
                       "env": { "TEST_SIDECAR_BUILD": "old" }, "ready": { "grpc": "" } });
    let profile = json!({ "sidecars": [sidecar("stale", "old"), sidecar("fresh", "new"), grpc] });
    let mut opts = options(config_in(tmp.path(), &profile.to_string()));
    opts.app_build = "new".into();
    let rig = Rig { sup: Supervisor::start(opts).expect("starts"), tmp };

    // Each stale one: restarted once, then left running (in either order: under Wine the HTTP
    // one waits for its stop timeout, having no Control/Shutdown and no console).
    let left = |name: &'static str| {
        move |e: &sidecar_supervisor_core::RuntimeEvent| {
            e.kind == EventKind::BuildMismatch
                && e.sidecar.as_deref() == Some(name)
                && e.message.contains("left running")
        }
    };
    rig.wait_event("grpc-stale left running", left("grpc-stale")).await;
    assert_eq!(rig.events_of("grpc-stale", EventKind::Spawned).len(), 2, "one restart: {}", rig.feed_dump());
    let said = rig.wait_event("stale left running", left("stale")).await;
    assert!(
        said.message.contains("build old (version") && said.message.contains("not the app's build new"),
        "{}",
        said.message
    );
    let mismatches = rig.events_of("stale", EventKind::BuildMismatch);
    assert_eq!(mismatches.len(), 2, "restarted once, then left: {}", rig.feed_dump());
    assert!(mismatches[0].message.contains("restarting it once"));
    assert_eq!(rig.events_of("stale", EventKind::Spawned).len(), 2, "one restart: {}", rig.feed_dump());
    // A row follows its event within the engine's turn: wait for the rows too.
    let judged = |st: &sidecar_supervisor_core::RuntimeStatus, name: &str, matches: bool| {
        let r = row(st, name);
        r.state == State::Ready && r.build.as_ref().is_some_and(|b| b.matches == Some(matches))
    };
    let all = |st: &sidecar_supervisor_core::RuntimeStatus| {
        judged(st, "stale", false) && judged(st, "grpc-stale", false) && judged(st, "fresh", true)
    };
    let st = rig.sup.wait_for(T, all).await;
    let st = st.unwrap_or_else(|st| panic!("{:#?}", st.sidecars));
    let stale = row(&st, "stale");
    assert_eq!(stale.build.as_ref().map(|b| (b.build.as_str(), b.matches)), Some(("old", Some(false))));
    assert_eq!(stale.budget.remaining, stale.budget.max, "the restart is not charged");
    let mut warned: Vec<_> =
        st.warnings.iter().filter(|w| w.kind == WarningKind::BuildMismatch).map(|w| w.sidecar.as_deref()).collect();
    warned.sort();
    assert_eq!(warned, [Some("grpc-stale"), Some("stale")], "{:?}", st.warnings);
    let fresh = row(&st, "fresh");
    assert_eq!(fresh.build.as_ref().map(|b| b.matches), Some(Some(true)));
    assert!(rig.events_of("fresh", EventKind::BuildMismatch).is_empty());
    assert_eq!(rig.events_of("fresh", EventKind::Spawned).len(), 1);
}
