//! Pause and resume: nothing judges a paused sidecar (no probe, no startup deadline, so no
//! liveness kill), and stop, restart and a crash of a paused one work.

use super::*;

fn live_cfg() -> MachineConfig {
    MachineConfig { live: Some(http_timing()), ..cfg() }
}

#[test]
fn a_paused_sidecar_is_suspended_and_nothing_is_due_until_it_resumes() {
    let mut m = ready_machine(live_cfg(), S(0));
    let a = m.handle(S(1), Input::PauseRequested);
    assert_eq!(m.state(), State::Paused);
    assert!(a.contains(&Action::Suspend { pid: 100 }), "{a:?}");
    assert_eq!(emitted(&a), vec![EventKind::Paused]);
    assert_eq!(m.poll_timeout(), None, "no probe and no deadline while paused");
    // A probe result already under way when it paused is stale: it neither counts nor kills.
    for _ in 0..10 {
        assert!(m
            .handle(S(2), Input::Probe { kind: ProbeKind::Live, ok: false, detail: "hung".into(), identity: None })
            .is_empty());
    }
    assert_eq!(m.state(), State::Paused);
    assert!(m.handle(S(3), Input::PauseRequested).is_empty(), "pausing twice does nothing");

    let a = m.handle(S(600), Input::ResumeRequested);
    assert!(a.contains(&Action::Continue { pid: 100 }), "{a:?}");
    assert_eq!(emitted(&a), vec![EventKind::Resumed]);
    assert_eq!(m.state(), State::Ready, "back to where it was");
    let due = m.poll_timeout().expect("probed again at once");
    assert!(due < S(601), "{due:?}");
}

#[test]
fn a_sidecar_paused_while_starting_gets_a_fresh_startup_timeout_on_resume() {
    let mut m = Machine::new(cfg());
    m.handle(S(0), Input::Start { manual: false });
    m.handle(S(0), Input::Spawned { pid: 7 });
    m.handle(S(1), Input::PauseRequested);
    assert_eq!(m.state(), State::Paused);
    // Far beyond the startup timeout: nothing fires while paused.
    assert!(m.handle_timeout(S(3600)).is_empty());
    m.handle(S(3600), Input::ResumeRequested);
    assert_eq!(m.state(), State::Starting);
    let a = m.handle_timeout(S(3600) + m.cfg.startup_timeout);
    assert!(emitted(&a).contains(&EventKind::StartupTimeout), "the timeout runs again from the resume: {a:?}");
}

#[test]
fn stop_of_a_paused_sidecar_continues_it_then_stops_it() {
    let mut m = ready_machine(cfg(), S(0));
    m.handle(S(1), Input::PauseRequested);
    let a = m.handle(S(2), Input::StopRequested);
    let cont = a.iter().position(|x| *x == Action::Continue { pid: 100 }).expect("continued");
    let stop = a.iter().position(|x| matches!(x, Action::Stop { pid: 100, .. })).expect("stopped");
    assert!(cont < stop, "a suspended tree cannot act on a stop: {a:?}");
    assert_eq!(m.state(), State::Stopping);
    m.handle(S(3), Input::Exited { exit: Exit::code(0), port_in_use: false, stderr_tail: String::new() });
    assert_eq!(m.state(), State::Stopped);
}

#[test]
fn restart_of_a_paused_sidecar_continues_stops_and_starts_it_again() {
    let mut m = ready_machine(cfg(), S(0));
    m.handle(S(1), Input::PauseRequested);
    let a = m.handle(S(2), Input::RestartRequested);
    assert!(a.contains(&Action::Continue { pid: 100 }) && stops(&a, TERM), "{a:?}");
    let a = m.handle(S(3), Input::Exited { exit: Exit::code(0), port_in_use: false, stderr_tail: String::new() });
    assert!(has_spawn(&a), "{a:?}");
    assert_eq!(m.state(), State::Starting);
}

#[test]
fn a_paused_sidecar_that_is_killed_is_restarted_like_any_crash() {
    let mut m = ready_machine(cfg(), S(0));
    m.handle(S(5), Input::PauseRequested);
    let a = crash(&mut m, S(6));
    assert!(emitted(&a).contains(&EventKind::Exited), "{a:?}");
    assert_ne!(m.state(), State::Paused);
    assert!(m.handle(S(7), Input::ResumeRequested).is_empty(), "nothing left to resume");
}

#[test]
fn a_pause_the_os_refused_returns_to_where_it_was() {
    let mut m = ready_machine(live_cfg(), S(0));
    m.handle(S(1), Input::PauseRequested);
    assert!(m.handle(S(1), Input::SuspendFailed { pid: 999, resume: false, why: "x".into() }).is_empty());
    let a = m.handle(S(1), Input::SuspendFailed { pid: 100, resume: false, why: "operation not permitted".into() });
    assert_eq!(m.state(), State::Ready);
    assert!(a.contains(&Action::Continue { pid: 100 }), "continued, in case part of it stopped: {a:?}");
    let said = a.iter().find_map(|x| match x {
        Action::Emit { kind: EventKind::PauseFailed, message, state, .. } => Some((message.clone(), *state)),
        _ => None,
    });
    assert_eq!(
        said,
        Some((
            "could not suspend its process tree (operation not permitted); it keeps running".into(),
            Some(State::Ready)
        ))
    );
    assert!(m.poll_timeout().is_some(), "judged again");
}

#[test]
fn a_tree_that_cannot_be_continued_is_killed_and_restarts_by_the_usual_rules() {
    let mut m = ready_machine(cfg(), S(0));
    m.handle(S(1), Input::PauseRequested);
    m.handle(S(5), Input::ResumeRequested);
    let a = m.handle(S(5), Input::SuspendFailed { pid: 100, resume: true, why: "no such process".into() });
    assert!(stops(&a, Stop::Force), "{a:?}");
    assert_eq!(emitted(&a), vec![EventKind::ResumeFailed]);
    let a = crash(&mut m, S(6));
    let exited = a.iter().find_map(|x| match x {
        Action::Emit { kind: EventKind::Exited, message, .. } => Some(message.clone()),
        _ => None,
    });
    assert!(exited.is_some_and(|e| e.contains("after it could not be resumed")), "{a:?}");
    assert!(has_spawn(&a) || m.state() == State::Backoff, "restarted: {a:?}");
}

#[test]
fn a_tree_killed_because_it_could_not_be_continued_reads_as_exited_not_an_older_cause() {
    let mut m = Machine::new(cfg());
    m.handle(S(0), Input::Start { manual: false });
    m.handle(S(0), Input::LaunchFailed { error: "fixed port 80 taken".into(), cause: Cause::FixedPortTaken });
    assert_eq!(m.last_cause(), Some(Cause::FixedPortTaken));
    m.handle(S(1), Input::Start { manual: true });
    m.handle(S(1), Input::Spawned { pid: 100 });
    answer_ready_probe(&mut m, true);
    m.handle(S(2), Input::PauseRequested);
    m.handle(S(3), Input::ResumeRequested);
    m.handle(S(3), Input::SuspendFailed { pid: 100, resume: true, why: "gone".into() });
    crash(&mut m, S(4));
    assert_eq!(m.last_cause(), Some(Cause::Exited), "not the port taken before");
}
