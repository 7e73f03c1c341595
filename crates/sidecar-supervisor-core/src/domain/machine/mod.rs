//! The per-sidecar state machine: every decision about one sidecar, with no I/O and no clock of
//! its own (sans-IO, like quinn-proto). Its owner feeds in [`Input`]s stamped with `now`
//! (monotonic time since the engine started), carries out the returned [`Action`]s, and calls
//! [`Machine::handle_timeout`] when [`Machine::poll_timeout`] comes due. So every rule below is
//! unit-tested on virtual time.
//!
//! States: `pending → waiting_for_deps → starting → ready ⇄ unhealthy`, `→ backoff → starting`,
//! `stopping → stopped`, and `failed` (budget spent or unrecoverable; auto-restart off). A
//! running sidecar can be `paused` by the user and resumed to the state it left (`pause.rs`).
//!
//! A start is a launch ([`Action::Launch`]: port, program, prepare step, reported back with
//! [`Input::Prepared`]) and then the process itself ([`Action::Exec`], answered by
//! [`Input::Spawned`]). The machine knows whether its dependencies are up (the orchestrator says
//! so with [`Input::DepsChanged`]), and starts a process only while they are: a launch whose
//! dependencies went down while it was being prepared waits for them instead.
//!
//! The machine owns the facts about its process: the pid (of the sidecar, or of its prepare
//! step while that runs) and when it was spawned. Every event it emits names the pid it is
//! about, so an exit and the restart it causes both name the process that ended.

mod exit;
mod pause;
mod probe;
#[cfg(test)]
mod tests;

use std::time::Duration;

use super::backoff::Backoff;
use super::budget::RestartBudget;
pub use super::types::*;
use crate::domain::event::EventKind;
use probe::ProbeTrack;

/// Why the process is being killed, so its exit is explained right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KillReason {
    None,
    StartupTimeout,
    Liveness,
}

#[derive(Debug, Clone)]
pub struct Machine {
    cfg: MachineConfig,
    state: State,
    budget: RestartBudget,
    backoff: Backoff,
    auto_restart: bool,
    /// Every dependency is up (the orchestrator keeps this current).
    deps_ready: bool,
    /// The sidecar's process, once spawned.
    pid: Option<u32>,
    /// The prepare step of the launch in progress, while it runs.
    prepare_pid: Option<u32>,
    spawned_at: Option<Duration>,
    ready_since: Option<Duration>,
    startup_deadline: Option<Duration>,
    backoff_until: Option<Duration>,
    stop_deadline: Option<Duration>,
    /// A restart to make once the process has stopped, and why (appended to its events, e.g.
    /// " (manual restart; budget reset)").
    pending_restart: Option<String>,
    /// The next launch needs a fresh port (a port race was lost while dependencies were down).
    new_port_pending: bool,
    /// The last failed readiness probe of this start, quoted when the startup timeout fires.
    startup_failure: Option<String>,
    kill_reason: KillReason,
    /// The state a paused sidecar left (`starting`, `ready` or `unhealthy`).
    paused_from: Option<State>,
    port_retries: u32,
    ready_probe: Option<ProbeTrack>,
    live_probe: Option<ProbeTrack>,
    last_exit: Option<String>,
    last_error: Option<String>,
}

impl Machine {
    pub fn new(cfg: MachineConfig) -> Self {
        let budget = RestartBudget::new(cfg.max_restarts, cfg.window);
        let backoff = Backoff::new(cfg.backoff_initial, cfg.backoff_max, cfg.window, cfg.max_restarts);
        Machine {
            auto_restart: cfg.auto_restart,
            ready_probe: cfg.ready.map(ProbeTrack::new),
            live_probe: cfg.live.map(ProbeTrack::new),
            cfg,
            state: State::Pending,
            budget,
            backoff,
            deps_ready: true,
            pid: None,
            prepare_pid: None,
            spawned_at: None,
            ready_since: None,
            startup_deadline: None,
            backoff_until: None,
            stop_deadline: None,
            pending_restart: None,
            new_port_pending: false,
            startup_failure: None,
            kill_reason: KillReason::None,
            paused_from: None,
            port_retries: 0,
            last_exit: None,
            last_error: None,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }
    /// The sidecar's process, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }
    /// The process an event about this sidecar is about now: its own, else its prepare step.
    pub fn event_pid(&self) -> Option<u32> {
        self.pid.or(self.prepare_pid)
    }
    /// When the running process was spawned.
    pub fn spawned_at(&self) -> Option<Duration> {
        self.pid.and(self.spawned_at)
    }
    /// A launch is under way: no process yet.
    pub fn launching(&self) -> bool {
        self.state == State::Starting && self.pid.is_none()
    }
    pub fn deps_ready(&self) -> bool {
        self.deps_ready
    }
    pub fn auto_restart(&self) -> bool {
        self.auto_restart
    }
    pub fn restarts_in_window(&self, now: Duration) -> u32 {
        self.budget.used(now)
    }
    pub fn budget_remaining(&self, now: Duration) -> u32 {
        self.budget.remaining(now)
    }
    pub fn budget_max(&self) -> u32 {
        self.budget.max()
    }
    pub fn window(&self) -> Duration {
        self.budget.window()
    }
    pub fn last_exit(&self) -> Option<&str> {
        self.last_exit.as_deref()
    }
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// The earliest time at which [`Machine::handle_timeout`] has something to do.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let probes = [&self.ready_probe, &self.live_probe].into_iter().flatten().filter_map(ProbeTrack::due);
        [self.startup_deadline, self.backoff_until, self.stop_deadline].into_iter().flatten().chain(probes).min()
    }

    pub fn handle(&mut self, now: Duration, input: Input) -> Vec<Action> {
        let mut out = Vec::new();
        match input {
            Input::Start { manual } => self.on_start(manual, &mut out),
            Input::DepsChanged { ready } => {
                self.deps_ready = ready;
                if ready && self.state == State::WaitingForDeps {
                    self.launch(false, &mut out);
                }
            }
            Input::PrepareStarted { pid, what } => {
                if self.launching() {
                    self.prepare_pid = Some(pid);
                    self.emit(EventKind::Prepared, format!("running prepare step {what}"), Some(pid), &mut out);
                }
            }
            Input::Prepared => self.on_prepared(&mut out),
            Input::Spawned { pid } => self.on_spawned(now, pid, &mut out),
            Input::SpawnFailed { error } => {
                let prepare = self.prepare_pid.take();
                match self.state {
                    State::Starting if self.pid.is_none() => {
                        self.fail(EventKind::Failed, error, &Exit::default(), prepare, &mut out)
                    }
                    // Stopped while its prepare step ran: that step has now ended.
                    State::Stopping if self.pid.is_none() => self.launch_ended_while_stopping(prepare, &mut out),
                    _ => {}
                }
            }
            Input::Exited { exit, port_in_use, stderr_tail } => {
                self.on_exited(now, exit, port_in_use, stderr_tail, &mut out)
            }
            Input::PortAnnounced => self.on_port_announced(now, &mut out),
            Input::Probe { kind, ok, detail } => self.on_probe(now, kind, ok, detail, &mut out),
            Input::StopRequested => self.on_stop(now, false, &mut out),
            Input::PauseRequested => self.on_pause(&mut out),
            Input::ResumeRequested => self.on_resume(now, &mut out),
            Input::RestartRequested => {
                self.reset_for_manual();
                if self.state.has_process() {
                    self.on_stop(now, true, &mut out);
                } else {
                    self.on_start(true, &mut out);
                }
            }
            Input::DependencyMoved { why } => {
                // Automatic like any restart: not with auto-restart off (by the user, the spent
                // budget, or the shutdown in progress).
                if self.auto_restart && matches!(self.state, State::Starting | State::Ready | State::Unhealthy) {
                    self.stop_with(now, true, &format!(" ({why}; the budget is not charged)"), &mut out);
                }
            }
        }
        out
    }

    pub fn handle_timeout(&mut self, now: Duration) -> Vec<Action> {
        let mut out = Vec::new();
        if let Some(t) = self.stop_deadline {
            if now >= t && self.state == State::Stopping {
                self.stop_deadline = None;
                if let Some(pid) = self.event_pid() {
                    out.push(Action::Stop { pid, how: Stop::Force });
                }
                self.emit(
                    EventKind::KillEscalated,
                    format!(
                        "did not stop within {} ms of {}; killed its whole process group",
                        self.cfg.stop_timeout.as_millis(),
                        self.cfg.stop.describe()
                    ),
                    self.event_pid(),
                    &mut out,
                );
            }
        }
        if let Some(t) = self.backoff_until {
            if now >= t && self.state == State::Backoff {
                self.backoff_until = None;
                self.launch(false, &mut out);
            }
        }
        if let Some(t) = self.startup_deadline {
            if now >= t && self.state == State::Starting {
                self.startup_deadline = None;
                self.kill_reason = KillReason::StartupTimeout;
                self.clear_probes();
                // Say why (the last failed readiness probe, whose text names a fix where one
                // is known) and what to change if the sidecar is only slow.
                let why = match &self.startup_failure {
                    Some(d) => format!(" (last probe: {d})"),
                    None if self.cfg.awaits_announcement => " (no port announced, or no probe answered)".into(),
                    None => String::new(),
                };
                let ms = self.cfg.startup_timeout.as_millis();
                self.emit(
                    EventKind::StartupTimeout,
                    format!("not ready within {ms} ms of spawn{why}; killing it. If it is only slow, raise `startup_timeout_ms`; its log says more"),
                    self.pid,
                    &mut out,
                );
                if let Some(pid) = self.pid {
                    out.push(Action::Stop { pid, how: Stop::Force });
                }
            }
        }
        self.run_due_probes(now, &mut out);
        out
    }

    /// At shutdown: a crash from now on is final (no restart while everything is stopping).
    pub fn disable_auto_restart(&mut self) {
        self.auto_restart = false;
        self.pending_restart = None;
    }

    fn reset_for_manual(&mut self) {
        self.budget.reset();
        self.backoff.reset();
        // Lifts the exhaustion latch; a sidecar configured without auto-restart stays without.
        self.auto_restart = self.cfg.auto_restart;
        self.port_retries = 0;
        self.backoff_until = None;
    }

    fn on_start(&mut self, manual: bool, out: &mut Vec<Action>) {
        match self.state {
            State::Pending | State::Stopped | State::Failed | State::Backoff => {}
            // Asked to start while it is still stopping: start once it has stopped.
            State::Stopping if manual => {
                self.pending_restart = Some(" (manual start)".into());
                return;
            }
            _ => return,
        }
        if manual {
            self.reset_for_manual();
        }
        self.backoff_until = None;
        self.launch(false, out);
    }

    /// Launches now, or waits for the dependencies when one is down.
    fn launch(&mut self, new_port: bool, out: &mut Vec<Action>) {
        self.kill_reason = KillReason::None;
        self.pending_restart = None;
        self.clear_probes();
        let new_port = new_port || std::mem::take(&mut self.new_port_pending);
        if !self.deps_ready {
            self.new_port_pending = new_port;
            self.set_state(State::WaitingForDeps, out);
            return;
        }
        self.set_state(State::Starting, out);
        out.push(Action::Launch { new_port });
    }

    fn on_prepared(&mut self, out: &mut Vec<Action>) {
        let prepare = self.prepare_pid.take();
        match self.state {
            State::Starting if self.pid.is_none() => {
                if self.deps_ready {
                    out.push(Action::Exec);
                } else {
                    // A dependency went down while this launch was being prepared: its port may
                    // be unknown by now. Wait for it; the next launch skips what is done.
                    self.set_state(State::WaitingForDeps, out);
                }
            }
            State::Stopping if self.pid.is_none() => self.launch_ended_while_stopping(prepare, out),
            _ => {}
        }
    }

    /// A stop came while the launch ran its prepare step; that step has ended now.
    fn launch_ended_while_stopping(&mut self, prepare: Option<u32>, out: &mut Vec<Action>) {
        self.stop_deadline = None;
        match self.pending_restart.take() {
            Some(note) => {
                self.emit(EventKind::Restarting, format!("restarting at once{note}"), prepare, out);
                self.launch(false, out);
            }
            None => {
                self.set_state(State::Stopped, out);
                self.emit(EventKind::Stopped, "stopped (its prepare step ended)".into(), prepare, out);
            }
        }
    }

    fn on_spawned(&mut self, now: Duration, pid: u32, out: &mut Vec<Action>) {
        if !self.launching() {
            return;
        }
        self.pid = Some(pid);
        self.prepare_pid = None;
        self.spawned_at = Some(now);
        self.ready_since = None;
        self.startup_failure = None;
        self.emit(EventKind::Spawned, format!("spawned pid {pid}"), Some(pid), out);
        match self.ready_probe.as_mut() {
            Some(p) => {
                self.startup_deadline = Some(now + self.cfg.startup_timeout);
                p.start(now);
            }
            // An announcing sidecar is not ready before its port is known (dependents need it).
            None if self.cfg.awaits_announcement => self.startup_deadline = Some(now + self.cfg.startup_timeout),
            None => self.become_ready(now, "no readiness probe: ready once spawned".into(), out),
        }
    }

    fn on_stop(&mut self, now: Duration, then_restart: bool, out: &mut Vec<Action>) {
        self.stop_with(now, then_restart, if then_restart { " (manual restart; budget reset)" } else { "" }, out)
    }

    /// A stop; `why` is appended to the stopping event.
    fn stop_with(&mut self, now: Duration, then_restart: bool, why: &str, out: &mut Vec<Action>) {
        match self.state {
            State::Starting | State::Ready | State::Unhealthy | State::Paused => {
                self.clear_probes();
                self.startup_deadline = None;
                // A suspended tree cannot act on a stop: it is continued first (the stop
                // signal, a control call or the stop command then reach a running process).
                if let (Some(_), Some(pid)) = (self.paused_from.take(), self.pid) {
                    out.push(Action::Continue { pid });
                }
                let Some(pid) = self.event_pid() else {
                    // A launch that has no process yet (its program is being looked for): there
                    // is nothing to wait for.
                    if then_restart {
                        self.emit(EventKind::Restarting, format!("restarting at once{why}"), None, out);
                        self.launch(false, out);
                    } else {
                        self.set_state(State::Stopped, out);
                        self.emit(EventKind::Stopped, "stopped (before its process started)".into(), None, out);
                    }
                    return;
                };
                self.pending_restart = then_restart.then(|| why.to_string());
                self.stop_deadline = Some(now + self.cfg.stop_timeout);
                self.set_state(State::Stopping, out);
                // A prepare step gets the OS's plain stop: the stop command and the control
                // call are for the sidecar itself.
                let (target, how) = match self.pid {
                    Some(_) => ("its process group", self.cfg.stop),
                    None => ("its prepare step", self.cfg.helper_stop),
                };
                let msg = format!("{}{why}", how.phrase(target));
                self.emit(EventKind::Stopping, msg, Some(pid), out);
                out.push(Action::Stop { pid, how: Stop::Graceful(how) });
            }
            // The latest wish wins: a stop cancels a pending restart, a restart re-arms it.
            State::Stopping => {
                self.pending_restart = then_restart.then(|| why.to_string());
            }
            State::Pending | State::WaitingForDeps | State::Backoff => {
                self.backoff_until = None;
                self.set_state(State::Stopped, out);
                self.emit(EventKind::Stopped, "stopped (was not running)".into(), None, out);
            }
            State::Stopped | State::Failed => {}
        }
    }

    fn set_state(&mut self, s: State, out: &mut Vec<Action>) {
        if self.state != s {
            self.state = s;
            out.push(Action::StateChanged(s));
        }
    }

    fn emit(&self, kind: EventKind, message: String, pid: Option<u32>, out: &mut Vec<Action>) {
        out.push(Action::Emit { kind, message, pid, code: None, signal: None });
    }
}
