//! The launch: dependencies that go down while it is prepared, stops before a process exists,
//! and the pid each event names.

use super::*;
use crate::domain::plan::StopPlan;

#[test]
fn respawn_with_a_dependency_down_waits_for_it() {
    let mut m = ready_machine(cfg(), S(0));
    m.handle(S(5), Input::DepsChanged { ready: false });
    let a = crash(&mut m, S(5)); // sporadic: would restart at once
    assert!(!has_spawn(&a), "no launch while a dependency is down: {a:?}");
    assert_eq!(m.state(), State::WaitingForDeps);
    let a = m.handle(S(6), Input::DepsChanged { ready: true });
    assert!(has_spawn(&a));
}

/// A sidecar with one prepare step that may run for a minute.
fn with_step() -> MachineConfig {
    MachineConfig { prepare: vec![S(60)], ..cfg() }
}

#[test]
fn a_launch_whose_dependency_went_down_while_preparing_waits_instead_of_starting() {
    let mut m = Machine::new(with_step());
    assert!(has_spawn(&m.handle(S(0), Input::Start { manual: false })));
    assert_eq!(m.handle(S(0), Input::Located), vec![Action::Prepare { step: 0 }]);
    m.handle(S(0), Input::PrepareStarted { step: 0, pid: 40, what: "initdb".into() });
    m.handle(S(1), Input::DepsChanged { ready: false });
    assert_eq!(m.state(), State::Starting, "a running prepare step is not interrupted");
    let a = m.handle(S(2), Input::PrepareEnded { step: 0, end: StepEnd::Done });
    assert!(!a.contains(&Action::Exec), "{a:?}");
    assert_eq!(m.state(), State::WaitingForDeps);
    let a = m.handle(S(3), Input::DepsChanged { ready: true });
    assert!(has_spawn(&a));
    assert_eq!(m.handle(S(3), Input::Located), vec![Action::Exec], "the next launch skips the step done");
}

#[test]
fn stop_during_the_prepare_step_stops_it_then_is_stopped_when_it_ends() {
    let mut m = Machine::new(MachineConfig { stop: StopPlan { timeout: S(5), ..cfg().stop }, ..with_step() });
    m.handle(S(0), Input::Start { manual: false });
    m.handle(S(0), Input::Located);
    let a = m.handle(S(0), Input::PrepareStarted { step: 0, pid: 40, what: "initdb -D x".into() });
    assert!(a.iter().any(|x| matches!(x, Action::Emit { kind: EventKind::Prepared, pid: Some(40), .. })), "{a:?}");
    let a = m.handle(S(1), Input::StopRequested);
    assert!(a.contains(&Action::Stop { pid: 40, how: TERM }), "{a:?}");
    assert_eq!(m.state(), State::Stopping);
    let a = m.handle_timeout(S(6));
    assert!(a.contains(&Action::Stop { pid: 40, how: Stop::Force }), "escalates to the prepare step: {a:?}");
    let a = m.handle(S(6), Input::PrepareEnded { step: 0, end: StepEnd::Failed("prepare step killed".into()) });
    assert_eq!(m.state(), State::Stopped);
    assert!(emitted(&a).contains(&EventKind::Stopped));
    assert_eq!(m.last_error(), None, "a stop is not a failure");
}

#[test]
fn stop_of_a_launch_with_no_process_yet_is_immediate() {
    let mut m = Machine::new(cfg());
    m.handle(S(0), Input::Start { manual: false });
    let a = m.handle(S(0), Input::StopRequested);
    assert!(!a.iter().any(|x| matches!(x, Action::Stop { .. })), "nothing to signal: {a:?}");
    assert_eq!(m.state(), State::Stopped);
    assert!(m.handle(S(1), Input::Located).is_empty(), "the launch's late result changes nothing");
    assert_eq!(m.state(), State::Stopped);
}

#[test]
fn events_name_the_process_they_are_about() {
    let mut m = ready_machine(cfg(), S(0));
    let a = crash(&mut m, S(5));
    let pids: Vec<Option<u32>> = a
        .iter()
        .filter_map(|x| match x {
            Action::Emit { pid, .. } => Some(*pid),
            _ => None,
        })
        .collect();
    assert_eq!(pids, vec![Some(100), Some(100)], "exited and restarting both name the old process: {a:?}");
    assert_eq!(m.pid(), None);
}
