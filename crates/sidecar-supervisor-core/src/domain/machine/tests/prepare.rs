//! Prepare steps: run in order once per run of the runtime, each within its timeout; a step not
//! needed is skipped; a failed or timed-out step fails the launch; steps done are not run again.

use super::*;

/// Two prepare steps: 10 s and 20 s.
fn two_steps() -> MachineConfig {
    MachineConfig { prepare: vec![S(10), S(20)], ..cfg() }
}

#[test]
fn steps_run_in_order_then_the_process_and_are_not_run_again() {
    let mut m = Machine::new(two_steps());
    assert!(has_spawn(&m.handle(S(0), Input::Start { manual: false })));
    assert_eq!(m.handle(S(0), Input::Located), vec![Action::Prepare { step: 0 }]);
    let a = m.handle(S(0), Input::PrepareStarted { step: 0, pid: 40, what: "initdb -D x".into() });
    assert_eq!(emitted(&a), vec![EventKind::Prepared]);
    assert_eq!(m.event_pid(), Some(40));
    assert_eq!(m.poll_timeout(), Some(S(10)), "its own timeout");
    assert_eq!(m.handle(S(1), Input::PrepareEnded { step: 0, end: StepEnd::Done }), vec![Action::Prepare { step: 1 }]);
    assert_eq!(m.handle(S(1), Input::PrepareEnded { step: 1, end: StepEnd::Skipped }), vec![Action::Exec]);
    m.handle(S(1), Input::Spawned { pid: 41 });
    // A crash later: the next launch goes straight to its process.
    let now = answer_ready_probe(&mut m, true) + S(10);
    crash(&mut m, now);
    let a = m.handle(now, Input::Located);
    assert_eq!(a, vec![Action::Exec], "steps done in this run are not run again");
}

#[test]
fn a_step_past_its_timeout_is_killed_and_the_launch_fails() {
    let mut m = Machine::new(two_steps());
    m.handle(S(0), Input::Start { manual: false });
    m.handle(S(0), Input::Located);
    m.handle(S(0), Input::PrepareEnded { step: 0, end: StepEnd::Done });
    m.handle(S(1), Input::PrepareStarted { step: 1, pid: 50, what: "pg_upgrade".into() });
    assert!(m.handle_timeout(S(20)).is_empty(), "not yet: 20 s from its start");
    let a = m.handle_timeout(S(21));
    assert!(stops(&a, Stop::Force), "{a:?}");
    assert_eq!(m.state(), State::Failed);
    assert_eq!(m.last_cause(), Some(Cause::PrepareFailed));
    assert_eq!(m.last_error(), Some("prepare step pg_upgrade did not finish within 20000 ms; killed it"));
    assert!(m.handle(S(22), Input::PrepareEnded { step: 1, end: StepEnd::Failed("killed".into()) }).is_empty());
    assert_eq!(m.state(), State::Failed, "its end afterwards changes nothing");
}

#[test]
fn a_failed_step_fails_the_launch_with_its_error() {
    let mut m = Machine::new(two_steps());
    m.handle(S(0), Input::Start { manual: false });
    m.handle(S(0), Input::Located);
    m.handle(S(0), Input::PrepareStarted { step: 0, pid: 40, what: "initdb".into() });
    let a = m.handle(
        S(1),
        Input::PrepareEnded { step: 0, end: StepEnd::Failed("initdb failed (exited with code 1)".into()) },
    );
    assert_eq!(emitted(&a), vec![EventKind::Failed]);
    assert_eq!(m.state(), State::Failed);
    assert_eq!(m.last_cause(), Some(Cause::PrepareFailed));
    assert_eq!(m.poll_timeout(), None, "no deadline left");
    // A manual start runs the step again (it never finished).
    m.handle(S(2), Input::Start { manual: true });
    assert_eq!(m.handle(S(2), Input::Located), vec![Action::Prepare { step: 0 }]);
}

#[test]
fn a_step_report_of_another_step_is_ignored() {
    let mut m = Machine::new(two_steps());
    m.handle(S(0), Input::Start { manual: false });
    m.handle(S(0), Input::Located);
    assert!(m.handle(S(0), Input::PrepareEnded { step: 1, end: StepEnd::Done }).is_empty());
    assert!(m.handle(S(0), Input::PrepareStarted { step: 1, pid: 9, what: "x".into() }).is_empty());
    assert_eq!(m.poll_timeout(), None);
}
