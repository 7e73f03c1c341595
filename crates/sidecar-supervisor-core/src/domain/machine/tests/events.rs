//! Every state change is told by an event that carries the state it led to: the last event of
//! the input that moved it, or one of its own (`starting`, `waiting`) when nothing else said it.

use super::*;

/// (kind, state) of every event.
fn told(actions: &[Action]) -> Vec<(EventKind, Option<State>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Emit { kind, state, .. } => Some((*kind, *state)),
            _ => None,
        })
        .collect()
}

#[test]
fn an_immediate_restart_is_told_as_starting_and_a_crash_loop_as_backoff() {
    let mut m = ready_machine(cfg(), S(0));
    // Up for longer than min_uptime: restarted at once.
    let a = crash(&mut m, S(10));
    assert_eq!(m.state(), State::Starting);
    assert_eq!(told(&a), vec![(EventKind::Exited, None), (EventKind::Restarting, Some(State::Starting))]);
    // A crash right after the spawn: a crash loop, which waits.
    m.handle(S(10), Input::Spawned { pid: 101 });
    let a = crash(&mut m, S(10) + MS(5));
    assert_eq!(told(&a), vec![(EventKind::Exited, None), (EventKind::Restarting, Some(State::Backoff))]);
    let due = m.poll_timeout().unwrap();
    let a = m.handle_timeout(due);
    assert_eq!(told(&a), vec![(EventKind::Starting, Some(State::Starting))], "the backoff's end is told");
}

#[test]
fn launches_and_waits_are_told_with_their_state() {
    let mut m = Machine::new(cfg());
    m.handle(S(0), Input::DepsChanged { ready: false });
    assert_eq!(
        told(&m.handle(S(0), Input::Start { manual: false })),
        vec![(EventKind::Waiting, Some(State::WaitingForDeps))]
    );
    assert_eq!(
        told(&m.handle(S(1), Input::DepsChanged { ready: true })),
        vec![(EventKind::Starting, Some(State::Starting))]
    );
    assert_eq!(told(&m.handle(S(1), Input::Spawned { pid: 9 })), vec![(EventKind::Spawned, None)], "no state change");
    let due = m.poll_timeout().unwrap();
    m.handle_timeout(due);
    let a = m.handle(due, Input::Probe { kind: ProbeKind::Ready, ok: true, detail: "200".into(), identity: None });
    assert_eq!(told(&a), vec![(EventKind::Ready, Some(State::Ready))]);
    let a = m.handle(due, Input::StopRequested);
    assert_eq!(told(&a), vec![(EventKind::Stopping, Some(State::Stopping))]);
    let a =
        m.handle(due, Input::Exited { exit: Exit::signal("SIGTERM"), port_in_use: false, stderr_tail: String::new() });
    assert_eq!(told(&a), vec![(EventKind::Stopped, Some(State::Stopped))]);
}

/// Whatever the input, a move of the state comes with exactly one event that carries it.
#[test]
fn no_state_change_goes_untold() {
    let mut m = Machine::new(MachineConfig { live: Some(http_timing()), startup_timeout: S(2), ..cfg() });
    let inputs = [
        Input::Start { manual: false },
        Input::Spawned { pid: 1 },
        Input::PauseRequested,
        Input::ResumeRequested,
        Input::RestartRequested,
        Input::Exited { exit: Exit::code(0), port_in_use: false, stderr_tail: String::new() },
        Input::Spawned { pid: 2 },
        Input::DepsChanged { ready: false },
        Input::Exited { exit: Exit::code(1), port_in_use: false, stderr_tail: String::new() },
        Input::DepsChanged { ready: true },
        Input::Spawned { pid: 3 },
        Input::StopRequested,
        Input::Exited { exit: Exit::code(0), port_in_use: false, stderr_tail: String::new() },
        Input::Start { manual: true },
    ];
    let mut now = S(0);
    let check = |m: &Machine, what: &dyn std::fmt::Debug, a: &[Action]| {
        let changes = a.iter().filter(|x| matches!(x, Action::StateChanged(_))).count();
        let carried: Vec<_> = told(a).into_iter().filter_map(|(_, s)| s).collect();
        if changes > 0 {
            assert_eq!(carried, vec![m.state()], "{what:?}: {a:?}");
        } else {
            assert!(carried.is_empty(), "{what:?}: {a:?}");
        }
    };
    for input in inputs {
        let a = m.handle(now, input.clone());
        check(&m, &input, &a);
        let a = m.handle_timeout(now + S(3));
        check(&m, &"timeout", &a);
        now += S(3);
    }
}
