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
//! A start is a launch (`launch.rs`: [`Action::Launch`] finds its port and program, then each
//! of its prepare steps runs once per run of the runtime, each within its timeout) and then the
//! process itself ([`Action::Exec`], answered by [`Input::Spawned`]). The machine knows whether
//! its dependencies are up (the orchestrator says so with [`Input::DepsChanged`]), and starts a
//! process only while they are: a launch whose dependencies went down while it was being
//! prepared waits for them instead.
//!
//! The machine owns the facts about its process: the pid (of the sidecar, or of its prepare
//! step while that runs), when it was spawned, whose server its probes found on its port
//! (`probe.rs` judges the identity the effect side reports), its last exit, error and the
//! error's cause. Every event it emits names the pid it is about, and every event that changes
//! its state says which state it led to ([`Machine::handle`]).

mod exit;
mod launch;
mod pause;
mod probe;
mod stop;
#[cfg(test)]
mod tests;

use std::time::Duration;

use super::backoff::Backoff;
use super::budget::RestartBudget;
use super::event::EventKind;
pub use super::plan::MachineConfig;
pub use super::types::*;
use probe::ProbeTrack;

/// Why the process is being killed, so its exit is explained right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KillReason {
    None,
    StartupTimeout,
    Liveness,
    /// Its tree could not be continued after a pause.
    NotResumed,
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
    /// The prepare step of the launch in progress, while it runs, and its command line.
    prepare_pid: Option<u32>,
    prepare_what: String,
    /// What the stale `postmaster.pid` being removed is (said once it is gone).
    pid_file_note: String,
    /// Prepare steps done (or found not needed) in this run of the runtime.
    prepared: usize,
    spawned_at: Option<Duration>,
    ready_since: Option<Duration>,
    startup_deadline: Option<Duration>,
    prepare_deadline: Option<Duration>,
    backoff_until: Option<Duration>,
    stop_deadline: Option<Duration>,
    /// A restart to make once the process has stopped, and why (appended to its events, e.g.
    /// " (manual restart; budget reset)").
    pending_restart: Option<String>,
    /// The next launch needs a fresh port (a port race was lost while dependencies were down).
    new_port_pending: bool,
    /// The last failed readiness probe of this start, quoted when the startup timeout fires,
    /// and the identity it found.
    startup_failure: Option<String>,
    startup_identity: Option<Identity>,
    kill_reason: KillReason,
    /// The state a paused sidecar left (`starting`, `ready` or `unhealthy`).
    paused_from: Option<State>,
    port_retries: u32,
    ready_probe: Option<ProbeTrack>,
    live_probe: Option<ProbeTrack>,
    /// Whose server the current process's last identity check found, and whether it passed
    /// (a passing check is not asked again for this process).
    identity: Option<Identity>,
    identity_ok: bool,
    /// The build the current process's identity answer states, judged against the app's.
    build: Option<super::build::SidecarBuild>,
    /// It was restarted once in this run because its build was not the app's.
    build_restarted: bool,
    /// The last probe result as judged (identity included): what the status shows.
    judged: Option<(ProbeKind, bool, String)>,
    last_exit: Option<String>,
    last_error: Option<String>,
    last_cause: Option<Cause>,
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
            prepare_what: String::new(),
            pid_file_note: String::new(),
            prepared: 0,
            spawned_at: None,
            ready_since: None,
            startup_deadline: None,
            prepare_deadline: None,
            backoff_until: None,
            stop_deadline: None,
            pending_restart: None,
            new_port_pending: false,
            startup_failure: None,
            startup_identity: None,
            kill_reason: KillReason::None,
            paused_from: None,
            port_retries: 0,
            identity: None,
            build: None,
            build_restarted: false,
            identity_ok: false,
            judged: None,
            last_exit: None,
            last_error: None,
            last_cause: None,
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
    /// Why it last failed or was killed, as a type.
    pub fn last_cause(&self) -> Option<Cause> {
        self.last_cause
    }
    /// The build the current process states, judged against the app's.
    pub fn build(&self) -> Option<&super::build::SidecarBuild> {
        self.build.as_ref()
    }
    /// The identity tier the current process showed, once checked.
    pub fn identity(&self) -> Option<Identity> {
        self.identity
    }
    /// The last probe's result as the machine judged it (the identity weighed in): its kind,
    /// whether it passed, and what it said.
    pub fn judged_probe(&self) -> Option<(ProbeKind, bool, &str)> {
        self.judged.as_ref().map(|(k, ok, d)| (*k, *ok, d.as_str()))
    }

    /// The earliest time at which [`Machine::handle_timeout`] has something to do.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let probes = [&self.ready_probe, &self.live_probe].into_iter().flatten().filter_map(ProbeTrack::due);
        let deadlines = [self.startup_deadline, self.prepare_deadline, self.backoff_until, self.stop_deadline];
        deadlines.into_iter().flatten().chain(probes).min()
    }

    /// Feeds one input. The actions come back in the order they are to be carried out; if the
    /// state changed, the last event says so (its `state`), and a change no event explained
    /// gets one of its own — so whoever follows the feed follows the states.
    pub fn handle(&mut self, now: Duration, input: Input) -> Vec<Action> {
        let before = self.state;
        let mut out = Vec::new();
        match input {
            Input::Start { manual } => self.on_start(manual, &mut out),
            Input::DepsChanged { ready } => {
                self.deps_ready = ready;
                if ready && self.state == State::WaitingForDeps {
                    self.launch(false, &mut out);
                }
            }
            Input::Located => self.on_located(&mut out),
            Input::DataChecked { facts } => self.on_data_checked(&facts, &mut out),
            Input::PidFileRemoved { result } => self.on_pid_file_removed(result, &mut out),
            Input::PrepareStarted { step, pid, what } => self.on_prepare_started(now, step, pid, what, &mut out),
            Input::PrepareEnded { step, end } => self.on_prepare_ended(step, end, &mut out),
            Input::Spawned { pid } => self.on_spawned(now, pid, &mut out),
            Input::LaunchFailed { error, cause } => self.on_launch_failed(error, cause, &mut out),
            Input::Exited { exit, port_in_use, stderr_tail } => {
                self.on_exited(now, exit, port_in_use, stderr_tail, &mut out)
            }
            Input::PortAnnounced => self.on_port_announced(now, &mut out),
            Input::Probe { kind, ok, detail, identity } => self.on_probe(now, kind, ok, detail, identity, &mut out),
            Input::BuildFound { build } => self.on_build_found(now, build, &mut out),
            Input::StopRequested => self.on_stop(now, false, &mut out),
            Input::StopFailed { pid, why } => self.on_stop_failed(pid, why, &mut out),
            Input::PauseRequested => self.on_pause(&mut out),
            Input::ResumeRequested => self.on_resume(now, &mut out),
            Input::SuspendFailed { pid, resume, why } => self.on_suspend_failed(now, pid, resume, why, &mut out),
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
        self.explain(before, "starting", &mut out);
        out
    }

    pub fn handle_timeout(&mut self, now: Duration) -> Vec<Action> {
        let before = self.state;
        let mut out = Vec::new();
        if self.stop_deadline.is_some_and(|t| now >= t) && self.state == State::Stopping {
            self.stop_deadline = None;
            self.escalate(&mut out);
        }
        if self.backoff_until.is_some_and(|t| now >= t) && self.state == State::Backoff {
            self.backoff_until = None;
            self.launch(false, &mut out);
        }
        if self.prepare_deadline.is_some_and(|t| now >= t) && self.launching() {
            self.prepare_deadline = None;
            self.prepare_timed_out(&mut out);
        }
        if self.startup_deadline.is_some_and(|t| now >= t) && self.state == State::Starting {
            self.startup_deadline = None;
            self.startup_timed_out(&mut out);
        }
        self.run_due_probes(now, &mut out);
        self.explain(before, "the backoff is over: starting", &mut out);
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

    fn set_state(&mut self, s: State, out: &mut Vec<Action>) {
        if self.state != s {
            self.state = s;
            out.push(Action::StateChanged(s));
        }
    }

    fn emit(&self, kind: EventKind, message: String, pid: Option<u32>, out: &mut Vec<Action>) {
        out.push(Action::Emit { kind, message, pid, code: None, signal: None, state: None });
    }

    /// The end of one input: when the state moved from `before`, the last event of this turn
    /// carries the state it led to; a move no event explained (a launch, a wait for the
    /// dependencies) gets its own event (a launch's says `starting`: why it starts now).
    fn explain(&self, before: State, starting: &str, out: &mut Vec<Action>) {
        if self.state == before {
            return;
        }
        let last = out.iter_mut().rev().find_map(|a| match a {
            Action::Emit { state, .. } => Some(state),
            _ => None,
        });
        match last {
            Some(state) => *state = Some(self.state),
            None => {
                let (kind, message) = match (before, self.state) {
                    (_, State::WaitingForDeps) => (EventKind::Waiting, "waiting for its dependencies"),
                    (State::WaitingForDeps, State::Starting) => {
                        (EventKind::Starting, "its dependencies are up: starting")
                    }
                    (_, State::Starting) => (EventKind::Starting, starting),
                    (from, to) => {
                        // Every other move is made together with the event that explains it.
                        debug_assert!(false, "{from:?} -> {to:?} without an event");
                        return;
                    }
                };
                let message = message.to_string();
                let pid = self.event_pid();
                out.push(Action::Emit { kind, message, pid, code: None, signal: None, state: Some(self.state) });
            }
        }
    }
}
