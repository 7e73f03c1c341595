//! A process whose identity answer states another build than the app's (an old process or an
//! old binary left behind by an update) is restarted once in a run, free of charge; if the new
//! process differs too, it is left running and the status warns (its `build` says it differs).

use super::*;
use crate::domain::build::SidecarBuild;

fn stamped(app: Option<&str>) -> MachineConfig {
    MachineConfig { app_build: app.map(str::to_string), ..cfg() }
}

fn found(build: &str) -> Input {
    Input::BuildFound { build: SidecarBuild { version: "1.0.0".into(), build: build.into(), matches: None } }
}

#[test]
fn another_build_is_restarted_once_free_of_charge_then_left_running() {
    let mut m = ready_machine(stamped(Some("new")), S(0));
    let used = m.restarts_in_window(S(1));
    let a = m.handle(S(1), found("old"));
    assert_eq!(emitted(&a)[0], EventKind::BuildMismatch, "{a:?}");
    assert!(a.iter().any(|x| matches!(x, Action::Emit { message, .. } if message.contains("build old") && message.contains("restarting it once"))));
    assert!(stops(&a, TERM), "{a:?}");
    assert_eq!(m.build().map(|b| b.matches), Some(Some(false)));
    let a = m.handle(S(1), Input::Exited { exit: Exit::code(0), port_in_use: false, stderr_tail: String::new() });
    assert!(has_spawn(&a), "respawned at once: {a:?}");
    assert_eq!(m.build(), None, "a new process: its build is not known yet");
    assert_eq!(m.restarts_in_window(S(1)), used, "not charged");
    m.handle(S(1), Input::Spawned { pid: 101 });
    answer_ready_probe(&mut m, true);
    // Still another build: said, left running.
    let a = m.handle(S(2), found("old"));
    assert_eq!(emitted(&a), vec![EventKind::BuildMismatch]);
    assert!(!stops(&a, TERM), "restarted once only: {a:?}");
    assert_eq!(m.state(), State::Ready);
    assert_eq!(m.build().map(|b| b.matches), Some(Some(false)), "the status warns");
}

#[test]
fn the_apps_build_or_an_unknown_one_changes_nothing() {
    let mut m = ready_machine(stamped(Some("new")), S(0));
    assert!(m.handle(S(1), found("new")).is_empty());
    assert_eq!(m.build().map(|b| b.matches), Some(Some(true)));
    // A sidecar that states no build (not built with the app), or a development build of the
    // app: not judged.
    let mut m = ready_machine(stamped(Some("new")), S(0));
    assert!(m.handle(S(1), found("")).is_empty());
    assert_eq!(m.build().map(|b| b.matches), Some(None));
    let mut m = ready_machine(stamped(None), S(0));
    assert!(m.handle(S(1), found("old")).is_empty());
    assert_eq!(m.state(), State::Ready);
}
