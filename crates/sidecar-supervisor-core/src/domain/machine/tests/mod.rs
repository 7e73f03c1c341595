//! Exhaustive rules of the state machine on virtual time: no processes, no sleeps. The shared
//! helpers are here; `launch` holds the tests of a launch's two steps.

use std::time::Duration;

use super::*;
use crate::domain::event::EventKind;
use crate::domain::plan::StopPlan;
use crate::domain::types::steady_next;

const MS: fn(u64) -> Duration = Duration::from_millis;
const S: fn(u64) -> Duration = Duration::from_secs;

fn http_timing() -> ProbeTiming {
    ProbeTiming { interval: S(1), failure_threshold: 3, fast_cap: MS(10), polled: true }
}

fn cfg() -> MachineConfig {
    MachineConfig { ready: Some(http_timing()), ..MachineConfig::default() }
}

fn emitted(actions: &[Action]) -> Vec<EventKind> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Emit { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect()
}

fn has_spawn(actions: &[Action]) -> bool {
    actions.iter().any(|a| matches!(a, Action::Launch { .. }))
}

/// The graceful stop the plan gives a sidecar without a port or stop settings.
const TERM: Stop = Stop::Graceful(GracefulStop::Signal(StopSignal::Term));

/// Whether the actions stop a process tree this way.
fn stops(actions: &[Action], how: Stop) -> bool {
    actions.iter().any(|a| matches!(a, Action::Stop { how: h, .. } if *h == how))
}

/// Runs the due readiness probe (as the engine would) and feeds back `ok`; returns the time.
fn answer_ready_probe(m: &mut Machine, ok: bool) -> Duration {
    let due = m.poll_timeout().expect("a probe is scheduled");
    assert_eq!(m.handle_timeout(due), vec![Action::Probe { kind: ProbeKind::Ready, identity: false }]);
    m.handle(due, Input::Probe { kind: ProbeKind::Ready, ok, detail: "200".into(), identity: None });
    due
}

/// Start → spawned → first probe passes: returns the machine in `ready` (at about `now`).
fn ready_machine(c: MachineConfig, now: Duration) -> Machine {
    let mut m = Machine::new(c);
    let a = m.handle(now, Input::Start { manual: false });
    assert!(has_spawn(&a));
    m.handle(now, Input::Spawned { pid: 100 });
    answer_ready_probe(&mut m, true);
    assert_eq!(m.state(), State::Ready);
    m
}

fn crash(m: &mut Machine, now: Duration) -> Vec<Action> {
    m.handle(now, Input::Exited { exit: Exit::code(1), port_in_use: false, stderr_tail: "boom".into() })
}

/// Drives a crash-looping sidecar: each crash comes right after spawn; backoff timers fire.
/// Returns the time of the crash that made it fail, or None.
fn crash_loop(m: &mut Machine, mut now: Duration, crashes: u32) -> (Duration, Vec<Action>) {
    let mut last = Vec::new();
    for _ in 0..crashes {
        m.handle(now, Input::Spawned { pid: 1 });
        now += MS(5);
        last = crash(m, now);
        if m.state() == State::Failed {
            return (now, last);
        }
        assert_eq!(m.state(), State::Backoff, "quick crash waits in backoff");
        let due = m.poll_timeout().expect("backoff timer");
        now = due;
        let a = m.handle_timeout(now);
        assert!(has_spawn(&a), "backoff expiry spawns");
    }
    (now, last)
}

#[test]
fn waits_for_deps_then_spawns() {
    let mut m = Machine::new(cfg());
    m.handle(S(0), Input::DepsChanged { ready: false });
    let a = m.handle(S(0), Input::Start { manual: false });
    assert_eq!(m.state(), State::WaitingForDeps);
    assert!(!has_spawn(&a));
    let a = m.handle(S(1), Input::DepsChanged { ready: true });
    assert!(has_spawn(&a));
    assert_eq!(m.state(), State::Starting);
}

#[test]
fn no_ready_probe_means_ready_on_spawn() {
    let mut m = Machine::new(MachineConfig::default());
    m.handle(S(0), Input::Start { manual: false });
    let a = m.handle(S(0), Input::Spawned { pid: 7 });
    assert_eq!(m.state(), State::Ready);
    assert!(emitted(&a).contains(&EventKind::Ready));
}

#[test]
fn probes_fast_while_starting_then_at_interval() {
    let mut m = Machine::new(cfg());
    m.handle(S(0), Input::Start { manual: false });
    m.handle(S(0), Input::Spawned { pid: 7 });
    let mut gaps = Vec::new();
    let mut now = S(0);
    for _ in 0..6 {
        let due = m.poll_timeout().unwrap();
        gaps.push((due - now).as_millis() as u64);
        now = due;
        let a = m.handle_timeout(now);
        assert_eq!(a, vec![Action::Probe { kind: ProbeKind::Ready, identity: false }]);
        // While a probe is in flight, no second one is scheduled.
        assert!(m.poll_timeout().is_none_or(|t| t > now));
        m.handle(now, Input::Probe { kind: ProbeKind::Ready, ok: false, detail: "refused".into(), identity: None });
    }
    assert_eq!(gaps, vec![2, 4, 8, 10, 10, 10], "2 ms doubling, capped at 10 ms (the cap given)");
    m.handle(now, Input::Probe { kind: ProbeKind::Ready, ok: true, detail: "200".into(), identity: None });
    // Ignored: no probe was in flight; now a real one passes.
    let due = m.poll_timeout().unwrap();
    let a = m.handle_timeout(due);
    assert_eq!(a, vec![Action::Probe { kind: ProbeKind::Ready, identity: false }]);
    m.handle(due, Input::Probe { kind: ProbeKind::Ready, ok: true, detail: "200".into(), identity: None });
    assert_eq!(m.state(), State::Ready);
    let next = m.poll_timeout().unwrap();
    assert_eq!(next.as_millis() % 1000, 0, "steady probes sit on the 1 s grid: {next:?}");
    assert!(next - due >= MS(500) && next - due <= MS(1500), "about one interval later: {next:?}");
}

#[test]
fn port_announcement_probes_at_once() {
    let mut m = Machine::new(cfg());
    m.handle(S(0), Input::Start { manual: false });
    m.handle(S(0), Input::Spawned { pid: 7 });
    let a = m.handle(MS(1), Input::PortAnnounced);
    assert_eq!(a, vec![Action::Probe { kind: ProbeKind::Ready, identity: false }]);
}

#[test]
fn startup_timeout_kills_and_charges_budget() {
    let mut m = Machine::new(MachineConfig { startup_timeout: S(2), ..cfg() });
    m.handle(S(0), Input::Start { manual: false });
    m.handle(S(0), Input::Spawned { pid: 7 });
    let a = m.handle_timeout(S(2));
    assert!(emitted(&a).contains(&EventKind::StartupTimeout));
    assert!(stops(&a, Stop::Force));
    let a =
        m.handle(S(2), Input::Exited { exit: Exit::signal("SIGKILL"), port_in_use: false, stderr_tail: String::new() });
    assert_eq!(m.state(), State::Backoff);
    assert_eq!(m.restarts_in_window(S(2)), 1);
    assert!(m.last_error().unwrap().contains("startup timeout"));
    assert!(emitted(&a).contains(&EventKind::Restarting));
}

#[test]
fn startup_timeout_says_what_the_last_probe_found() {
    let mut m = Machine::new(MachineConfig { startup_timeout: S(2), ..cfg() });
    m.handle(S(0), Input::Start { manual: false });
    m.handle(S(0), Input::Spawned { pid: 7 });
    answer_ready_probe(&mut m, false); // detail "200" from the helper
    let due = m.poll_timeout().unwrap();
    assert_eq!(m.handle_timeout(due), vec![Action::Probe { kind: ProbeKind::Ready, identity: false }]);
    m.handle(
        due,
        Input::Probe {
            kind: ProbeKind::Ready,
            ok: false,
            detail: "port 9 answered by a foreign process".into(),
            identity: None,
        },
    );
    let a = m.handle_timeout(S(2));
    let msg = a.iter().find_map(|x| match x {
        Action::Emit { kind: EventKind::StartupTimeout, message, .. } => Some(message.clone()),
        _ => None,
    });
    assert!(msg.unwrap().contains("last probe: port 9 answered by a foreign process"));
    m.handle(S(2), Input::Exited { exit: Exit::signal("SIGKILL"), port_in_use: false, stderr_tail: String::new() });
    assert!(
        m.last_error().unwrap().contains("(last probe: port 9 answered by a foreign process)"),
        "{:?}",
        m.last_error()
    );
    // The next start begins with a clean slate.
    let due = m.poll_timeout().unwrap();
    m.handle_timeout(due);
    m.handle(due, Input::Spawned { pid: 8 });
    let a = m.handle_timeout(due + S(2));
    assert!(a.iter().any(|x| matches!(x, Action::Emit { kind: EventKind::StartupTimeout, message, .. } if !message.contains("last probe"))), "{a:?}");
}

#[test]
fn budget_exhausted_at_exactly_the_seventh_crash_in_window() {
    let mut m = Machine::new(cfg());
    m.handle(S(0), Input::Start { manual: false });
    let (t, _) = crash_loop(&mut m, S(0), 6);
    assert_eq!(m.state(), State::Starting, "six crashes: six restarts");
    assert_eq!(m.restarts_in_window(t), 6);
    assert_eq!(m.budget_remaining(t), 0);
    m.handle(t, Input::Spawned { pid: 1 });
    let a = crash(&mut m, t + MS(5));
    assert_eq!(m.state(), State::Failed, "the 7th crash trips the budget");
    assert!(emitted(&a).contains(&EventKind::BudgetExhausted));
    assert!(!has_spawn(&a));
    assert!(!m.auto_restart());
    let err = m.last_error().unwrap();
    assert!(err.contains("exited with code 1") && err.contains("boom"), "{err}");
    assert!(t < S(90), "the whole crash loop fits in the window: {t:?}");
    assert_eq!(m.poll_timeout(), None, "a failed sidecar has nothing scheduled");
}

#[test]
fn backoff_grows_while_crash_looping() {
    let mut m = Machine::new(cfg());
    m.handle(S(0), Input::Start { manual: false });
    let mut now = S(0);
    let mut delays = Vec::new();
    for _ in 0..5 {
        m.handle(now, Input::Spawned { pid: 1 });
        crash(&mut m, now);
        let due = m.poll_timeout().unwrap();
        delays.push((due - now).as_millis() as u64);
        now = due;
        m.handle_timeout(now);
    }
    assert_eq!(delays, vec![100, 200, 400, 800, 1600]);
}

#[test]
fn sporadic_crash_after_min_uptime_restarts_at_once() {
    let mut m = ready_machine(cfg(), S(0));
    let a = crash(&mut m, S(5));
    assert!(has_spawn(&a), "ready for 5 s > min_uptime: no delay");
    assert_eq!(m.state(), State::Starting);
    assert_eq!(m.restarts_in_window(S(5)), 1);
}

#[test]
fn recovers_after_window_slides() {
    let mut m = Machine::new(cfg());
    m.handle(S(0), Input::Start { manual: false });
    let (t, _) = crash_loop(&mut m, S(0), 6);
    assert_eq!(m.restarts_in_window(t), 6);
    // It then stays up; 90 s after the first restart the oldest ones leave the window.
    m.handle(t, Input::Spawned { pid: 2 });
    answer_ready_probe(&mut m, true);
    let later = S(95);
    assert_eq!(m.restarts_in_window(later), 0);
    let a = crash(&mut m, later);
    assert!(has_spawn(&a), "budget available again after the window slid");
    assert_eq!(m.state(), State::Starting);
}

#[test]
fn backoff_resets_after_sustained_ready_but_budget_does_not() {
    let c = MachineConfig { backoff_reset: S(10), ..cfg() };
    let mut m = Machine::new(c);
    m.handle(S(0), Input::Start { manual: false });
    let (t, _) = crash_loop(&mut m, S(0), 3); // backoff now at 800 ms
    m.handle(t, Input::Spawned { pid: 2 });
    let t = answer_ready_probe(&mut m, true);
    let now = t + S(20);
    let a = crash(&mut m, now);
    assert!(has_spawn(&a), "sustained ready: immediate");
    assert_eq!(m.restarts_in_window(now), 4, "budget keeps counting; a healthy period does not reset it");
    // Next quick crash starts the curve from the beginning again.
    m.handle(now, Input::Spawned { pid: 3 });
    crash(&mut m, now + MS(1));
    assert_eq!(m.poll_timeout(), Some(now + MS(1) + MS(100)));
}

#[test]
fn no_restart_after_requested_stop() {
    let mut m = ready_machine(cfg(), S(0));
    let a = m.handle(S(1), Input::StopRequested);
    assert_eq!(m.state(), State::Stopping);
    assert!(stops(&a, TERM));
    let a = m.handle(S(1), Input::Exited { exit: Exit::code(0), port_in_use: false, stderr_tail: String::new() });
    assert_eq!(m.state(), State::Stopped);
    assert!(!has_spawn(&a));
    assert_eq!(m.restarts_in_window(S(1)), 0);
    assert_eq!(m.poll_timeout(), None);
}

#[test]
fn stop_escalates_to_sigkill_after_timeout() {
    let c = MachineConfig {
        stop: StopPlan { timeout: S(5), how: GracefulStop::Signal(StopSignal::Int), ..cfg().stop },
        ..cfg()
    };
    let mut m = ready_machine(c, S(0));
    let a = m.handle(S(1), Input::StopRequested);
    assert!(stops(&a, Stop::Graceful(GracefulStop::Signal(StopSignal::Int))));
    assert_eq!(m.poll_timeout(), Some(S(6)));
    assert!(m.handle_timeout(MS(5999)).is_empty());
    let a = m.handle_timeout(S(6));
    assert!(stops(&a, Stop::Force));
    assert!(emitted(&a).contains(&EventKind::KillEscalated));
    m.handle(S(6), Input::Exited { exit: Exit::signal("SIGKILL"), port_in_use: false, stderr_tail: String::new() });
    assert_eq!(m.state(), State::Stopped);
}

#[test]
fn stop_during_backoff_cancels_the_restart() {
    let mut m = Machine::new(cfg());
    m.handle(S(0), Input::Start { manual: false });
    m.handle(S(0), Input::Spawned { pid: 1 });
    crash(&mut m, MS(1));
    assert_eq!(m.state(), State::Backoff);
    m.handle(MS(2), Input::StopRequested);
    assert_eq!(m.state(), State::Stopped);
    assert!(!has_spawn(&m.handle_timeout(S(10))));
}

#[test]
fn manual_restart_resets_budget_and_reenables() {
    let mut m = Machine::new(cfg());
    m.handle(S(0), Input::Start { manual: false });
    let (t, _) = crash_loop(&mut m, S(0), 7);
    assert_eq!(m.state(), State::Failed);
    let a = m.handle(t, Input::RestartRequested);
    assert!(has_spawn(&a), "manual restart skips the backoff");
    assert!(m.auto_restart());
    assert_eq!(m.restarts_in_window(t), 0);
    assert_eq!(m.budget_remaining(t), 6);
}

#[test]
fn manual_restart_of_running_sidecar_stops_then_spawns_at_once() {
    let mut m = ready_machine(cfg(), S(0));
    let a = m.handle(S(1), Input::RestartRequested);
    assert!(stops(&a, TERM));
    let a = m.handle(S(1), Input::Exited { exit: Exit::code(0), port_in_use: false, stderr_tail: String::new() });
    assert!(has_spawn(&a));
    assert_eq!(m.restarts_in_window(S(1)), 0, "a manual restart is not charged");
}

#[test]
fn a_moved_dependency_restarts_a_running_dependent_free_of_charge_and_keeps_its_budget() {
    let mut m = Machine::new(cfg());
    m.handle(S(0), Input::Start { manual: false });
    let (t, _) = crash_loop(&mut m, S(0), 2); // two crashes already charged
    m.handle(t, Input::Spawned { pid: 2 });
    let t = answer_ready_probe(&mut m, true);
    assert_eq!(m.state(), State::Ready);
    let used = m.restarts_in_window(t);
    let a = m.handle(t, Input::DependencyMoved { why: "`backend` moved to port 4242".into() });
    assert!(stops(&a, TERM), "{a:?}");
    assert_eq!(m.state(), State::Stopping);
    let a = m.handle(t, Input::Exited { exit: Exit::code(0), port_in_use: false, stderr_tail: String::new() });
    assert!(has_spawn(&a), "respawned at once, no backoff: {a:?}");
    assert!(a.iter().any(|x| matches!(x, Action::Emit { message, .. } if message.contains("moved to port 4242"))));
    assert_eq!(m.restarts_in_window(t), used, "not charged, and the earlier crashes still count");
    // Auto-restart off (here: the shutdown has begun): the move changes nothing.
    let mut off = ready_machine(cfg(), S(0));
    off.disable_auto_restart();
    assert!(off.handle(S(1), Input::DependencyMoved { why: "x".into() }).is_empty());
    assert_eq!(off.state(), State::Ready);
    // Not running: nothing to restart (the next spawn renders the new port anyway).
    let mut idle = Machine::new(cfg());
    assert!(idle.handle(S(0), Input::DependencyMoved { why: "x".into() }).is_empty());
    assert_eq!(idle.state(), State::Pending);
}

#[test]
fn lost_port_race_respawns_on_new_port_without_charge() {
    let mut m = Machine::new(cfg());
    m.handle(S(0), Input::Start { manual: false });
    m.handle(S(0), Input::Spawned { pid: 1 });
    let a = m.handle(
        MS(3),
        Input::Exited { exit: Exit::code(98), port_in_use: true, stderr_tail: "Address already in use".into() },
    );
    assert!(a.contains(&Action::Launch { new_port: true, prepared: 0 }));
    assert!(emitted(&a).contains(&EventKind::PortConflict));
    assert_eq!(m.restarts_in_window(MS(3)), 0);
}

#[test]
fn endless_port_conflicts_end_up_charged() {
    let mut m = Machine::new(MachineConfig { max_port_retries: 2, ..cfg() });
    m.handle(S(0), Input::Start { manual: false });
    for _ in 0..2 {
        m.handle(S(0), Input::Spawned { pid: 1 });
        let a = m.handle(S(0), Input::Exited { exit: Exit::code(98), port_in_use: true, stderr_tail: String::new() });
        assert!(a.contains(&Action::Launch { new_port: true, prepared: 0 }));
    }
    m.handle(S(0), Input::Spawned { pid: 1 });
    m.handle(S(0), Input::Exited { exit: Exit::code(98), port_in_use: true, stderr_tail: String::new() });
    assert_eq!(m.state(), State::Backoff);
    assert_eq!(m.restarts_in_window(S(0)), 1);
}

#[test]
fn readiness_failures_mark_unhealthy_and_recover_without_restart() {
    let mut m = ready_machine(cfg(), S(0));
    let mut now;
    for i in 0..3 {
        now = m.poll_timeout().unwrap();
        assert_eq!(m.handle_timeout(now), vec![Action::Probe { kind: ProbeKind::Ready, identity: false }]);
        let a = m.handle(now, Input::Probe { kind: ProbeKind::Ready, ok: false, detail: "503".into(), identity: None });
        assert!(!has_spawn(&a));
        assert!(!a.iter().any(|x| matches!(x, Action::Stop { .. })), "readiness never kills");
        if i < 2 {
            assert_eq!(m.state(), State::Ready);
        }
    }
    assert_eq!(m.state(), State::Unhealthy);
    now = m.poll_timeout().unwrap();
    m.handle_timeout(now);
    let a = m.handle(now, Input::Probe { kind: ProbeKind::Ready, ok: true, detail: "200".into(), identity: None });
    assert_eq!(m.state(), State::Ready);
    assert!(emitted(&a).contains(&EventKind::Recovered));
}

#[test]
fn liveness_failures_kill_and_restart() {
    let c = MachineConfig { live: Some(http_timing()), ..cfg() };
    let mut m = ready_machine(c, S(0));
    let mut now;
    let mut killed = false;
    for _ in 0..10 {
        now = m.poll_timeout().unwrap();
        let a = m.handle_timeout(now);
        for act in a {
            if let Action::Probe { kind, identity: false } = act {
                let ok = kind == ProbeKind::Ready;
                let r = m.handle(now, Input::Probe { kind, ok, detail: "timeout".into(), identity: None });
                if stops(&r, Stop::Force) {
                    assert!(emitted(&r).contains(&EventKind::LivenessFailed));
                    killed = true;
                }
            }
        }
        if killed {
            let a = m.handle(
                now,
                Input::Exited { exit: Exit::signal("SIGKILL"), port_in_use: false, stderr_tail: String::new() },
            );
            assert!(has_spawn(&a), "up > min_uptime: restarted at once");
            assert!(m.last_error().unwrap().contains("liveness"));
            return;
        }
    }
    panic!("three liveness failures must kill the process");
}

#[test]
fn no_auto_restart_fails_on_crash() {
    let mut m = ready_machine(MachineConfig { auto_restart: false, ..cfg() }, S(0));
    let a = crash(&mut m, S(5));
    assert_eq!(m.state(), State::Failed);
    assert!(!has_spawn(&a));
    assert!(m.last_error().unwrap().contains("auto-restart is off"));
}

#[test]
fn spawn_failure_is_failed_not_retried() {
    let mut m = Machine::new(cfg());
    m.handle(S(0), Input::Start { manual: false });
    let a =
        m.handle(S(0), Input::LaunchFailed { error: "command `nope` not found".into(), cause: Cause::LaunchFailed });
    assert_eq!(m.state(), State::Failed);
    assert!(emitted(&a).contains(&EventKind::Failed));
    assert_eq!(m.poll_timeout(), None);
}

#[test]
fn stale_inputs_are_ignored() {
    let mut m = Machine::new(cfg());
    // Exit or probe results with no process are no-ops.
    assert!(crash(&mut m, S(0)).is_empty());
    assert!(m
        .handle(S(0), Input::Probe { kind: ProbeKind::Ready, ok: true, detail: String::new(), identity: None })
        .is_empty());
    assert_eq!(m.state(), State::Pending);
}

#[test]
fn late_probe_result_after_startup_kill_is_ignored() {
    let mut m = Machine::new(MachineConfig { startup_timeout: S(1), ..cfg() });
    m.handle(S(0), Input::Start { manual: false });
    m.handle(S(0), Input::Spawned { pid: 7 });
    let due = m.poll_timeout().unwrap();
    assert_eq!(m.handle_timeout(due), vec![Action::Probe { kind: ProbeKind::Ready, identity: false }]);
    // The startup deadline passes while that probe is still out; the process is being killed.
    let a = m.handle_timeout(S(1));
    assert!(stops(&a, Stop::Force));
    let a = m.handle(S(1), Input::Probe { kind: ProbeKind::Ready, ok: true, detail: "200".into(), identity: None });
    assert!(a.is_empty(), "a stale success must not mark it ready: {a:?}");
    assert_eq!(m.state(), State::Starting);
}

#[test]
fn failed_spawn_turns_auto_restart_off_until_manual_start() {
    let mut m = Machine::new(cfg());
    m.handle(S(0), Input::Start { manual: false });
    m.handle(S(0), Input::LaunchFailed { error: "port taken".into(), cause: Cause::LaunchFailed });
    assert!(!m.auto_restart());
    m.handle(S(1), Input::Start { manual: true });
    assert!(m.auto_restart());
    assert_eq!(m.state(), State::Starting);
}

#[test]
fn steady_probes_of_different_sidecars_coalesce_on_one_grid() {
    // Two sidecars that became ready at unrelated times probe in the same instant afterwards
    // (from their second steady probe at the latest: the first keeps at least half an interval).
    let (a, b) = (steady_next(MS(1234), S(1)), steady_next(MS(1789), S(1)));
    assert_eq!((a, b), (S(2), S(3)));
    assert_eq!(steady_next(a, S(1)), b);
    assert_eq!(steady_next(MS(1100), S(1)), steady_next(MS(1400), S(1)));
    for now in [MS(0), MS(499), MS(500), MS(501), MS(999), MS(1000), S(7)] {
        let n = steady_next(now, S(1));
        assert!(n > now && n - now >= MS(500) && n - now <= MS(1500), "{now:?} -> {n:?}");
        assert_eq!(n.as_millis() % 1000, 0);
    }
}

#[test]
fn stop_after_restart_cancels_the_restart() {
    let mut m = ready_machine(cfg(), S(0));
    m.handle(S(1), Input::RestartRequested);
    assert_eq!(m.state(), State::Stopping);
    m.handle(S(1), Input::StopRequested);
    let a = m.handle(S(2), Input::Exited { exit: Exit::code(0), port_in_use: false, stderr_tail: String::new() });
    assert!(!has_spawn(&a), "the later stop wins over the earlier restart");
    assert_eq!(m.state(), State::Stopped);
}

#[test]
fn start_while_stopping_starts_once_stopped() {
    let mut m = ready_machine(cfg(), S(0));
    m.handle(S(1), Input::StopRequested);
    m.handle(S(1), Input::Start { manual: true });
    let a = m.handle(S(2), Input::Exited { exit: Exit::code(0), port_in_use: false, stderr_tail: String::new() });
    assert!(has_spawn(&a), "a start during the stop is not lost");
}

#[test]
fn shutdown_clears_a_pending_manual_restart() {
    let mut m = ready_machine(cfg(), S(0));
    m.handle(S(1), Input::RestartRequested);
    m.disable_auto_restart();
    m.handle(S(1), Input::StopRequested);
    let a = m.handle(S(2), Input::Exited { exit: Exit::code(0), port_in_use: false, stderr_tail: String::new() });
    assert!(!has_spawn(&a));
}

#[test]
fn announcing_sidecar_without_probe_is_ready_only_once_announced() {
    let mut m = Machine::new(MachineConfig { awaits_announcement: true, ..MachineConfig::default() });
    m.handle(S(0), Input::Start { manual: false });
    m.handle(S(0), Input::Spawned { pid: 7 });
    assert_eq!(m.state(), State::Starting, "its port is not known yet");
    let a = m.handle(MS(5), Input::PortAnnounced);
    assert_eq!(m.state(), State::Ready);
    assert!(emitted(&a).contains(&EventKind::Ready));
}

#[test]
fn announcing_sidecar_that_never_announces_times_out() {
    let mut m =
        Machine::new(MachineConfig { awaits_announcement: true, startup_timeout: S(2), ..MachineConfig::default() });
    m.handle(S(0), Input::Start { manual: false });
    m.handle(S(0), Input::Spawned { pid: 7 });
    let a = m.handle_timeout(S(2));
    assert!(emitted(&a).contains(&EventKind::StartupTimeout));
}

mod build;
mod data;
mod events;
mod identity;
mod launch;
mod pause;
mod prepare;
mod stop;
