//! The stop: the plan's graceful way, the plain stop when that way could not be made, the kill
//! after the stop timeout — counted from the first ask, whatever the fallback.

use super::*;
use crate::domain::plan::StopPlan;

/// A sidecar stopped by its stop command, with a 5 s stop timeout.
fn by_command() -> MachineConfig {
    let stop = StopPlan { how: GracefulStop::Command, timeout: S(5), ..cfg().stop };
    MachineConfig { stop, ..cfg() }
}

#[test]
fn a_failed_stop_command_falls_back_to_the_plain_stop_and_the_timeout_still_counts() {
    let mut m = ready_machine(by_command(), S(0));
    let a = m.handle(S(10), Input::StopRequested);
    assert!(stops(&a, Stop::Graceful(GracefulStop::Command)), "{a:?}");
    let a = m.handle(S(11), Input::StopFailed { pid: 100, why: "the stop_command exited with code 1".into() });
    assert!(stops(&a, TERM), "the plain stop instead: {a:?}");
    let msg = a.iter().find_map(|x| match x {
        Action::Emit { kind: EventKind::Stopping, message, state: None, .. } => Some(message.clone()),
        _ => None,
    });
    assert_eq!(
        msg.as_deref(),
        Some("the stop_command exited with code 1; sending SIGTERM to its process group instead"),
        "said, and no state change: {a:?}"
    );
    assert_eq!(m.state(), State::Stopping);
    assert_eq!(m.poll_timeout(), Some(S(15)), "five seconds from the first ask, not from the fallback");
    let a = m.handle_timeout(S(15));
    assert!(stops(&a, Stop::Force), "{a:?}");
    assert_eq!(emitted(&a), vec![EventKind::KillEscalated]);
}

#[test]
fn a_late_or_foreign_stop_failure_changes_nothing() {
    let mut m = ready_machine(by_command(), S(0));
    assert!(m.handle(S(1), Input::StopFailed { pid: 100, why: "x".into() }).is_empty(), "not stopping");
    m.handle(S(2), Input::StopRequested);
    assert!(m.handle(S(3), Input::StopFailed { pid: 999, why: "x".into() }).is_empty(), "another process");
    m.handle(S(3), Input::Exited { exit: Exit::code(0), port_in_use: false, stderr_tail: String::new() });
    assert_eq!(m.state(), State::Stopped);
    assert!(m.handle(S(4), Input::StopFailed { pid: 100, why: "x".into() }).is_empty(), "already stopped");
}
