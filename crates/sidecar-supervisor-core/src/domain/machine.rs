//! The per-sidecar state machine: every decision of the engine, with no I/O and no clock of its
//! own (sans-IO, like quinn-proto). The effect side feeds in [`Input`]s stamped with `now`
//! (monotonic time since the engine started), performs the returned [`Action`]s, and calls
//! [`Machine::handle_timeout`] when [`Machine::poll_timeout`] comes due. So every rule below is
//! unit-tested on virtual time.
//!
//! States: `pending → waiting_for_deps → starting → ready ⇄ unhealthy`, `→ backoff → starting`,
//! `stopping → stopped`, and `failed` (budget spent or unrecoverable; auto-restart off).

use std::time::Duration;

use super::backoff::Backoff;
use super::budget::RestartBudget;
pub use super::types::*;
use crate::events::EventKind;

/// Why the process is being killed, so its exit is explained right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KillReason {
    None,
    StartupTimeout,
    Liveness,
}

#[derive(Debug, Clone)]
struct ProbeTrack {
    timing: ProbeTiming,
    next_at: Option<Duration>,
    in_flight: bool,
    failures: u32,
    fast_attempt: u32,
}

impl ProbeTrack {
    fn new(timing: ProbeTiming) -> Self {
        ProbeTrack { timing, next_at: None, in_flight: false, failures: 0, fast_attempt: 0 }
    }
    fn reset(&mut self) {
        self.next_at = None;
        self.in_flight = false;
        self.failures = 0;
        self.fast_attempt = 0;
    }
    fn fast_delay(&mut self) -> Duration {
        let d = Duration::from_millis(2u64 << self.fast_attempt.min(20)).min(self.timing.fast_cap);
        self.fast_attempt += 1;
        d
    }
}

#[derive(Debug, Clone)]
pub struct Machine {
    cfg: MachineConfig,
    state: State,
    budget: RestartBudget,
    backoff: Backoff,
    auto_restart: bool,
    pid: Option<u32>,
    spawned_at: Option<Duration>,
    ready_since: Option<Duration>,
    startup_deadline: Option<Duration>,
    backoff_until: Option<Duration>,
    stop_deadline: Option<Duration>,
    /// A restart to make once the process has stopped, and why (appended to its events, e.g.
    /// " (manual restart; budget reset)").
    pending_restart: Option<String>,
    /// The last failed readiness probe of this start, quoted when the startup timeout fires.
    startup_failure: Option<String>,
    kill_reason: KillReason,
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
            pid: None,
            spawned_at: None,
            ready_since: None,
            startup_deadline: None,
            backoff_until: None,
            stop_deadline: None,
            pending_restart: None,
            startup_failure: None,
            kill_reason: KillReason::None,
            port_retries: 0,
            last_exit: None,
            last_error: None,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }
    pub fn pid(&self) -> Option<u32> {
        self.pid
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
    /// Time since the current process was spawned (only while one runs).
    pub fn uptime(&self, now: Duration) -> Option<Duration> {
        if self.state.has_process() {
            self.spawned_at.map(|t| now.saturating_sub(t))
        } else {
            None
        }
    }
    pub fn backoff_until(&self) -> Option<Duration> {
        self.backoff_until
    }

    /// The earliest time at which [`Machine::handle_timeout`] has something to do.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let probes = [&self.ready_probe, &self.live_probe]
            .into_iter()
            .flatten()
            .filter(|p| !p.in_flight)
            .filter_map(|p| p.next_at);
        [self.startup_deadline, self.backoff_until, self.stop_deadline].into_iter().flatten().chain(probes).min()
    }

    pub fn handle(&mut self, now: Duration, input: Input) -> Vec<Action> {
        let mut out = Vec::new();
        match input {
            Input::Start { deps_ready, manual } => self.on_start(now, deps_ready, manual, &mut out),
            Input::DepsNotReady => {
                // A (re)spawn was decided but a dependency is down (restarting): wait for it.
                if self.state == State::Starting && self.pid.is_none() {
                    self.set_state(State::WaitingForDeps, &mut out);
                }
            }
            Input::DepsReady => {
                if self.state == State::WaitingForDeps {
                    self.spawn(false, &mut out);
                }
            }
            Input::Spawned { pid } => self.on_spawned(now, pid, &mut out),
            Input::SpawnFailed { error } => {
                if matches!(self.state, State::Starting) {
                    self.fail(EventKind::Failed, error, None, None, &mut out);
                }
            }
            Input::Exited { code, signal, port_in_use, stderr_tail } => {
                self.on_exited(now, code, signal, port_in_use, stderr_tail, &mut out)
            }
            Input::PortAnnounced if self.ready_probe.is_none() => {
                if self.state == State::Starting && self.pid.is_some() {
                    self.become_ready(now, "no readiness probe: ready once its port was announced".into(), &mut out);
                }
            }
            Input::PortAnnounced => {
                if self.state == State::Starting {
                    if let Some(p) = self.ready_probe.as_mut() {
                        if p.timing.polled && !p.in_flight {
                            p.next_at = Some(now);
                            self.run_due_probes(now, &mut out);
                        }
                    }
                }
            }
            Input::Probe { kind, ok, detail } => self.on_probe(now, kind, ok, detail, &mut out),
            Input::StopRequested => self.on_stop(now, false, &mut out),
            Input::RestartRequested { deps_ready } => {
                self.reset_for_manual();
                if self.state.has_process() {
                    self.on_stop(now, true, &mut out);
                } else {
                    self.on_start(now, deps_ready, true, &mut out);
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
                out.push(Action::Signal { signal: libc::SIGKILL });
                self.emit(
                    EventKind::KillEscalated,
                    format!(
                        "did not stop within {} ms of the stop signal; sent SIGKILL to its process group",
                        self.cfg.stop_timeout.as_millis()
                    ),
                    &mut out,
                );
            }
        }
        if let Some(t) = self.backoff_until {
            if now >= t && self.state == State::Backoff {
                self.backoff_until = None;
                self.spawn(false, &mut out);
            }
        }
        if let Some(t) = self.startup_deadline {
            if now >= t && self.state == State::Starting {
                self.startup_deadline = None;
                self.kill_reason = KillReason::StartupTimeout;
                self.clear_probes();
                // Say why: the last failed readiness probe (field notes trap 8).
                let why = match &self.startup_failure {
                    Some(d) => format!(" (last probe: {d})"),
                    None => String::new(),
                };
                self.emit(
                    EventKind::StartupTimeout,
                    format!("not ready within {} ms of spawn{why}; killing it", self.cfg.startup_timeout.as_millis()),
                    &mut out,
                );
                out.push(Action::Signal { signal: libc::SIGKILL });
            }
        }
        self.run_due_probes(now, &mut out);
        out
    }

    fn reset_for_manual(&mut self) {
        self.budget.reset();
        self.backoff.reset();
        // Lifts the exhaustion latch; a sidecar configured without auto-restart stays without.
        self.auto_restart = self.cfg.auto_restart;
        self.port_retries = 0;
        self.backoff_until = None;
    }

    fn on_start(&mut self, _now: Duration, deps_ready: bool, manual: bool, out: &mut Vec<Action>) {
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
        if deps_ready {
            self.spawn(false, out);
        } else {
            self.set_state(State::WaitingForDeps, out);
        }
    }

    fn spawn(&mut self, new_port: bool, out: &mut Vec<Action>) {
        self.kill_reason = KillReason::None;
        self.pending_restart = None;
        self.clear_probes();
        self.set_state(State::Starting, out);
        out.push(Action::Spawn { new_port });
    }

    fn on_spawned(&mut self, now: Duration, pid: u32, out: &mut Vec<Action>) {
        if self.state != State::Starting {
            return;
        }
        self.pid = Some(pid);
        self.spawned_at = Some(now);
        self.ready_since = None;
        self.startup_failure = None;
        self.emit(EventKind::Spawned, format!("spawned pid {pid}"), out);
        match self.ready_probe.as_mut() {
            Some(p) => {
                self.startup_deadline = Some(now + self.cfg.startup_timeout);
                if p.timing.polled {
                    p.next_at = Some(now + p.fast_delay());
                }
            }
            // An announcing sidecar is not ready before its port is known (dependents need it).
            None if self.cfg.awaits_announcement => self.startup_deadline = Some(now + self.cfg.startup_timeout),
            None => self.become_ready(now, "no readiness probe: ready once spawned".into(), out),
        }
    }

    fn become_ready(&mut self, now: Duration, detail: String, out: &mut Vec<Action>) {
        self.startup_deadline = None;
        self.ready_since = Some(now);
        self.port_retries = 0;
        let took = self.spawned_at.map(|t| now.saturating_sub(t)).unwrap_or_default();
        self.set_state(State::Ready, out);
        self.emit(EventKind::Ready, format!("ready after {} ms ({detail})", took.as_millis()), out);
        if let Some(p) = self.ready_probe.as_mut() {
            p.failures = 0;
            p.next_at = p.timing.polled.then(|| steady_next(now, p.timing.interval));
        }
        if let Some(p) = self.live_probe.as_mut() {
            p.reset();
            p.next_at = Some(steady_next(now, p.timing.interval));
        }
    }

    fn on_probe(&mut self, now: Duration, kind: ProbeKind, ok: bool, detail: String, out: &mut Vec<Action>) {
        let state = self.state;
        let track = match kind {
            ProbeKind::Ready => self.ready_probe.as_mut(),
            ProbeKind::Live => self.live_probe.as_mut(),
        };
        let Some(track) = track else { return };
        // A polled probe's result counts only if it was asked for: a result that arrives after
        // a kill or restart cleared the schedule is stale (a late "ok" must not mark ready).
        if track.timing.polled && !track.in_flight {
            return;
        }
        track.in_flight = false;
        if !matches!(state, State::Starting | State::Ready | State::Unhealthy) {
            return;
        }
        match (kind, state, ok) {
            (ProbeKind::Ready, State::Starting, true) => self.become_ready(now, detail, out),
            (ProbeKind::Ready, State::Starting, false) => {
                if track.timing.polled {
                    track.next_at = Some(now + track.fast_delay());
                }
                self.startup_failure = Some(detail);
            }
            (ProbeKind::Ready, _, true) => {
                track.failures = 0;
                track.next_at = track.timing.polled.then(|| steady_next(now, track.timing.interval));
                if state == State::Unhealthy {
                    self.set_state(State::Ready, out);
                    self.emit(EventKind::Recovered, format!("ready again ({detail})"), out);
                }
            }
            (ProbeKind::Ready, _, false) => {
                track.failures += 1;
                let threshold = track.timing.failure_threshold;
                let failures = track.failures;
                // While unhealthy, probe fast so recovery is noticed quickly.
                track.next_at = Some(if failures >= threshold {
                    now + track.timing.fast_cap.max(Duration::from_millis(50)).min(track.timing.interval)
                } else {
                    steady_next(now, track.timing.interval)
                });
                if state == State::Ready && failures >= threshold {
                    self.set_state(State::Unhealthy, out);
                    self.emit(
                        EventKind::Unhealthy,
                        format!("readiness failed {failures} times in a row: {detail}"),
                        out,
                    );
                }
            }
            (ProbeKind::Live, State::Starting, _) => {}
            (ProbeKind::Live, _, true) => {
                track.failures = 0;
                track.next_at = Some(steady_next(now, track.timing.interval));
            }
            (ProbeKind::Live, _, false) => {
                track.failures += 1;
                track.next_at = Some(steady_next(now, track.timing.interval));
                if track.failures >= track.timing.failure_threshold {
                    let n = track.failures;
                    self.kill_reason = KillReason::Liveness;
                    self.clear_probes();
                    self.emit(
                        EventKind::LivenessFailed,
                        format!("liveness failed {n} times in a row ({detail}); killing it"),
                        out,
                    );
                    out.push(Action::Signal { signal: libc::SIGKILL });
                }
            }
        }
    }

    fn on_stop(&mut self, now: Duration, then_restart: bool, out: &mut Vec<Action>) {
        self.stop_with(now, then_restart, if then_restart { " (manual restart; budget reset)" } else { "" }, out)
    }

    /// A stop; `why` is appended to the stopping event.
    fn stop_with(&mut self, now: Duration, then_restart: bool, why: &str, out: &mut Vec<Action>) {
        match self.state {
            State::Starting | State::Ready | State::Unhealthy => {
                self.pending_restart = then_restart.then(|| why.to_string());
                self.clear_probes();
                self.startup_deadline = None;
                self.stop_deadline = Some(now + self.cfg.stop_timeout);
                self.set_state(State::Stopping, out);
                let msg = format!("sending {} to its process group{why}", signal_name(self.cfg.stop_signal));
                self.emit(EventKind::Stopping, msg, out);
                out.push(Action::Signal { signal: self.cfg.stop_signal });
            }
            // The latest wish wins: a stop cancels a pending restart, a restart re-arms it.
            State::Stopping => {
                self.pending_restart = then_restart.then(|| why.to_string());
            }
            State::Pending | State::WaitingForDeps | State::Backoff => {
                self.backoff_until = None;
                self.set_state(State::Stopped, out);
                self.emit(EventKind::Stopped, "stopped (was not running)".into(), out);
            }
            State::Stopped | State::Failed => {}
        }
    }

    fn on_exited(
        &mut self,
        now: Duration,
        code: Option<i32>,
        signal: Option<i32>,
        port_in_use: bool,
        stderr_tail: String,
        out: &mut Vec<Action>,
    ) {
        if !self.state.has_process() {
            return;
        }
        let was_ready_for = self.ready_since.map(|t| now.saturating_sub(t));
        let status = describe_exit(code, signal);
        self.last_exit = Some(status.clone());
        self.pid = None;
        self.startup_deadline = None;
        self.stop_deadline = None;
        self.clear_probes();
        let tail = if stderr_tail.trim().is_empty() { String::new() } else { format!(": {}", stderr_tail.trim()) };

        if self.state == State::Stopping {
            if let Some(note) = self.pending_restart.take() {
                self.emit_full(EventKind::Exited, format!("{status}{note}"), code, signal, out);
                self.emit(EventKind::Restarting, format!("restarting at once{note}"), out);
                self.spawn(false, out);
            } else {
                self.set_state(State::Stopped, out);
                self.emit_full(EventKind::Stopped, format!("stopped ({status})"), code, signal, out);
            }
            return;
        }

        let why = match self.kill_reason {
            KillReason::StartupTimeout => match self.startup_failure.take() {
                Some(d) => format!(" after the startup timeout (last probe: {d})"),
                None => " after the startup timeout".to_string(),
            },
            KillReason::Liveness => " after failed liveness probes".to_string(),
            KillReason::None => String::new(),
        };
        let message = format!("{status}{why}{tail}");
        self.emit_full(EventKind::Exited, message.clone(), code, signal, out);
        self.last_error = Some(message.clone());

        if port_in_use && was_ready_for.is_none() && self.port_retries < self.cfg.max_port_retries {
            self.port_retries += 1;
            self.emit(
                EventKind::PortConflict,
                format!("lost the race for its port (address in use); re-spawning on a new port (not charged to the budget, try {})", self.port_retries),
                out,
            );
            self.spawn(true, out);
            return;
        }
        if !self.auto_restart {
            self.fail(EventKind::Failed, format!("{message} (auto-restart is off)"), code, signal, out);
            return;
        }
        if !self.budget.try_consume(now) {
            self.auto_restart = false;
            let msg = format!(
                "restart budget spent ({} restarts in {} s); auto-restart is off until a manual restart. Last error: {message}",
                self.budget.max(),
                self.budget.window().as_secs()
            );
            self.fail(EventKind::BudgetExhausted, msg, code, signal, out);
            return;
        }
        if was_ready_for.is_some_and(|d| d >= self.cfg.backoff_reset) {
            self.backoff.reset();
        }
        let used = self.budget.used(now);
        let max = self.budget.max();
        if was_ready_for.is_some_and(|d| d >= self.cfg.min_uptime) {
            self.emit(
                EventKind::Restarting,
                format!("restarting at once (restart {used} of {max} in the window)"),
                out,
            );
            self.spawn(false, out);
        } else {
            let delay = self.backoff.next_delay();
            self.backoff_until = Some(now + delay);
            self.set_state(State::Backoff, out);
            self.emit(
                EventKind::Restarting,
                format!("crash loop: restarting in {} ms (restart {used} of {max} in the window)", delay.as_millis()),
                out,
            );
        }
    }

    fn fail(
        &mut self,
        kind: EventKind,
        message: String,
        code: Option<i32>,
        signal: Option<i32>,
        out: &mut Vec<Action>,
    ) {
        // `failed` means auto-restart is off until a manual restart or start (design §3).
        self.auto_restart = false;
        self.last_error = Some(message.clone());
        self.startup_deadline = None;
        self.backoff_until = None;
        self.clear_probes();
        self.set_state(State::Failed, out);
        self.emit_full(kind, message, code, signal, out);
    }

    fn run_due_probes(&mut self, now: Duration, out: &mut Vec<Action>) {
        if !matches!(self.state, State::Starting | State::Ready | State::Unhealthy) {
            return;
        }
        for (kind, track) in [(ProbeKind::Ready, &mut self.ready_probe), (ProbeKind::Live, &mut self.live_probe)] {
            if let Some(t) = track.as_mut() {
                if !t.in_flight && t.next_at.is_some_and(|at| now >= at) {
                    t.in_flight = true;
                    t.next_at = None;
                    out.push(Action::Probe(kind));
                }
            }
        }
    }

    fn clear_probes(&mut self) {
        for t in [&mut self.ready_probe, &mut self.live_probe].into_iter().flatten() {
            t.reset();
        }
    }

    fn set_state(&mut self, s: State, out: &mut Vec<Action>) {
        if self.state != s {
            self.state = s;
            out.push(Action::StateChanged(s));
        }
    }

    fn emit(&self, kind: EventKind, message: String, out: &mut Vec<Action>) {
        out.push(Action::Emit { kind, message, code: None, signal: None });
    }

    fn emit_full(
        &self,
        kind: EventKind,
        message: String,
        code: Option<i32>,
        signal: Option<i32>,
        out: &mut Vec<Action>,
    ) {
        out.push(Action::Emit { kind, message, code, signal });
    }
}

impl Machine {
    /// At shutdown: a crash from now on is final (no restart while everything is stopping).
    pub fn disable_auto_restart(&mut self) {
        self.auto_restart = false;
        self.pending_restart = None;
    }
}
