//! The orchestrator: every decision that spans sidecars, in pure code, over the per-sidecar
//! machines it owns — what quinn-proto's `Endpoint` is to its connections.
//!
//! It decides dependency gating and waking (a unit starts only while every dependency is up,
//! and hears at once when that changes), restarts of dependents whose dependency came back on
//! another port, the shutdown order (dependents first), what this mode does with each unit
//! (runs it, skips it, or probes the remote it runs as: a [`RemoteMachine`]), and the port
//! policy of each launch. It also owns the one copy of each fact about a unit that is not the
//! machine's: its port, its spawn generation, the dependency ports its process was started with.
//!
//! Its owner (the engine) reports what happened with [`Orchestrator::report`],
//! [`Orchestrator::command`], [`Orchestrator::start`] and [`Orchestrator::shutdown`], always
//! with `now` (monotonic time since the engine started), calls [`Orchestrator::handle_timeout`]
//! when [`Orchestrator::poll_timeout`] comes due, and carries out the [`Effect`]s it takes from
//! [`Orchestrator::poll_effect`], in order. Every report carries the generation of the launch
//! it is about; a report about an older launch is ignored.

mod effects;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

pub use effects::{Effect, PortPlan, Report};

use super::command::{CommandError, Verb};
use super::event::{EventKind, NewEvent};
use super::machine::{Action, Input, Machine, State};
use super::plan::{Plan, PortPolicy, UnitMode};
use super::remote::{RemoteAction, RemoteMachine};
use super::types::{Cause, Identity};

/// What the orchestrator keeps per unit, besides the machine.
#[derive(Debug)]
struct Unit {
    machine: Machine,
    /// The row of a unit this mode reaches elsewhere (`remote_slim`'s backend).
    remote: Option<RemoteMachine>,
    /// Incremented per launch; reports about an older launch are stale.
    gen: u64,
    port: Option<u16>,
    /// The port each of `port_sources` had when this unit's process was started.
    dep_ports: Vec<(usize, Option<u16>)>,
    /// Its stderr said the address was in use: an early exit is a lost port race.
    port_in_use: bool,
}

pub struct Orchestrator {
    plan: Arc<Plan>,
    units: Vec<Unit>,
    shutting_down: bool,
    out: VecDeque<Effect>,
}

impl Orchestrator {
    pub fn new(plan: Arc<Plan>) -> Orchestrator {
        let units = plan
            .units
            .iter()
            .map(|u| Unit {
                machine: Machine::new(u.machine.clone()),
                remote: match &u.mode {
                    UnitMode::Remote(target) => Some(RemoteMachine::new(target.clone())),
                    _ => None,
                },
                gen: 0,
                port: None,
                dep_ports: Vec::new(),
                port_in_use: false,
            })
            .collect();
        Orchestrator { plan, units, shutting_down: false, out: VecDeque::new() }
    }

    #[cfg(test)]
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Starts every unit this mode runs (dependents wait for their dependencies), starts
    /// probing the remotes, and says which units this mode skips.
    pub fn start(&mut self, now: Duration) {
        for i in 0..self.units.len() {
            match &self.plan.units[i].mode {
                UnitMode::Run => {
                    if !self.deps_up(i) {
                        self.feed(now, i, Input::DepsChanged { ready: false });
                    }
                    self.feed(now, i, Input::Start { manual: false });
                }
                UnitMode::Skipped => {
                    let why = format!("not run in {} mode", self.plan.mode.as_str());
                    self.event(i, NewEvent::new(EventKind::Skipped, why).state(Some(State::Skipped)));
                    self.out.push_back(Effect::Publish { unit: i });
                }
                UnitMode::Remote(_) => {
                    let actions = self.units[i].remote.as_mut().map(RemoteMachine::start).unwrap_or_default();
                    self.apply_remote(i, actions);
                }
            }
        }
    }

    /// What happened to launch `gen` of `unit`.
    pub fn report(&mut self, now: Duration, unit: usize, gen: u64, report: Report) {
        if self.units.get(unit).is_none_or(|u| u.gen != gen) {
            return;
        }
        let input = match report {
            Report::PortAssigned { port } => {
                self.units[unit].port = Some(port);
                return;
            }
            Report::Located => Input::Located,
            Report::DataChecked { facts } => Input::DataChecked { facts },
            Report::PidFileRemoved { result } => Input::PidFileRemoved { result },
            Report::PrepareStarted { step, pid, what } => Input::PrepareStarted { step, pid, what },
            Report::PrepareEnded { step, end } => Input::PrepareEnded { step, end },
            Report::LaunchFailed { error, cause } => Input::LaunchFailed { error, cause },
            Report::StopFailed { pid, why } => Input::StopFailed { pid, why },
            Report::BuildFound { build } => {
                let input = Input::BuildFound { build };
                self.feed(now, unit, input);
                // The build is news for the status even when the state is not.
                self.out.push_back(Effect::Publish { unit });
                return;
            }
            Report::SuspendFailed { pid, resume, why } => Input::SuspendFailed { pid, resume, why },
            Report::RemoteProbed { ok, detail } => {
                let Some(r) = self.units[unit].remote.as_mut() else { return };
                let error = r.error().map(str::to_string);
                let actions = r.probed(now, ok, &detail);
                // A new error is news for the status even when the state is not.
                if r.error() != error.as_deref() {
                    self.out.push_back(Effect::Publish { unit });
                }
                self.apply_remote(unit, actions);
                return;
            }
            Report::Spawned { pid } => {
                self.feed(now, unit, Input::Spawned { pid });
                // The pid and port are news even when the state is not.
                self.out.push_back(Effect::Publish { unit });
                return;
            }
            Report::AddrInUse => {
                self.units[unit].port_in_use = true;
                return;
            }
            Report::Announced { port } => {
                self.units[unit].port = Some(port);
                self.feed(now, unit, Input::PortAnnounced);
                self.out.push_back(Effect::Publish { unit });
                return;
            }
            Report::Exited { exit, stderr_tail } => {
                let u = &mut self.units[unit];
                let port_in_use = std::mem::take(&mut u.port_in_use);
                if self.plan.units[unit].port == PortPolicy::Announce {
                    u.port = None; // the next process announces its own
                }
                Input::Exited { exit, port_in_use, stderr_tail }
            }
            Report::Probe { kind, ok, detail, identity } => Input::Probe { kind, ok, detail, identity },
        };
        self.feed(now, unit, input);
        self.after(now);
    }

    /// A command from the user (UI or CLI) for `name`: a unit, or every replica of a sidecar.
    pub fn command(&mut self, now: Duration, verb: Verb, name: &str) -> Result<(), CommandError> {
        let targets = self.plan.select(name)?;
        if targets.iter().all(|&i| !self.plan.units[i].runs_here()) {
            return Err(CommandError::NotInThisMode { sidecar: name.into(), mode: self.plan.mode.as_str().into() });
        }
        if self.shutting_down {
            return Err(CommandError::ShuttingDown);
        }
        // Pause needs a running process, resume a paused one: say so rather than do nothing.
        let fits = |i: usize| {
            !matches!(verb, Verb::Pause | Verb::Resume)
                || !self.plan.units[i].runs_here()
                || (self.state(i).allows(verb) && self.units[i].machine.pid().is_some())
        };
        if let Some(&i) = targets.iter().find(|&&i| !fits(i)) {
            let why = match verb {
                Verb::Pause => "only a running sidecar can be paused",
                _ => "only a paused sidecar can be resumed",
            };
            return Err(CommandError::WrongState {
                sidecar: self.plan.units[i].name.clone(),
                verb: verb.as_str().into(),
                state: self.state(i).as_str().replace('_', " "),
                why: why.into(),
            });
        }
        let plan = self.plan.clone();
        for i in targets.into_iter().filter(|&i| plan.units[i].runs_here()) {
            let pid = self.units[i].machine.event_pid();
            self.event(i, NewEvent::new(EventKind::Command, format!("{} requested", verb.as_str())).pid(pid));
            let input = match verb {
                Verb::Restart => Input::RestartRequested,
                Verb::Stop => Input::StopRequested,
                Verb::Start => Input::Start { manual: true },
                Verb::Pause => Input::PauseRequested,
                Verb::Resume => Input::ResumeRequested,
            };
            self.feed(now, i, input);
        }
        self.after(now);
        Ok(())
    }

    /// Stops everything, dependents before their dependencies; no restarts from now on.
    pub fn shutdown(&mut self, now: Duration) {
        if !self.shutting_down {
            self.shutting_down = true;
            for u in &mut self.units {
                u.machine.disable_auto_restart();
            }
        }
        self.after(now);
    }

    /// Shutdown is complete: no unit has a process, nor will get one.
    pub fn finished(&self) -> bool {
        self.shutting_down && (0..self.units.len()).all(|i| self.is_down(i))
    }

    /// The earliest time at which [`Orchestrator::handle_timeout`] has something to do.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let remotes = self.units.iter().filter_map(|u| u.remote.as_ref()?.poll_timeout());
        self.units.iter().filter_map(|u| u.machine.poll_timeout()).chain(remotes).min()
    }

    pub fn handle_timeout(&mut self, now: Duration) {
        for i in 0..self.units.len() {
            if self.units[i].machine.poll_timeout().is_some_and(|t| t <= now) {
                let was_up = self.is_up(i);
                let actions = self.units[i].machine.handle_timeout(now);
                self.apply(now, i, was_up, actions);
            }
            if let Some(r) = self.units[i].remote.as_mut().filter(|r| r.poll_timeout().is_some_and(|t| t <= now)) {
                let actions = r.handle_timeout(now);
                self.apply_remote(i, actions);
            }
        }
        self.after(now);
    }

    /// The next thing to do, in the order decided.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.out.pop_front()
    }

    // Facts about a unit, for the status and for carrying out effects.

    pub fn machine(&self, i: usize) -> &Machine {
        &self.units[i].machine
    }
    /// As shown: a unit this mode skips is `skipped`; a remote one is its remote row's.
    pub fn state(&self, i: usize) -> State {
        match (&self.plan.units[i].mode, &self.units[i].remote) {
            (UnitMode::Skipped, _) => State::Skipped,
            (_, Some(r)) => r.state(),
            _ => self.units[i].machine.state(),
        }
    }
    /// The remote row of unit `i`, when this mode probes it elsewhere.
    pub fn remote(&self, i: usize) -> Option<&RemoteMachine> {
        self.units[i].remote.as_ref()
    }
    /// Why the unit is in trouble, as a type.
    pub fn cause(&self, i: usize) -> Option<Cause> {
        self.units[i].machine.last_cause()
    }
    pub fn port(&self, i: usize) -> Option<u16> {
        self.units[i].port
    }
    /// The identity tier the current process showed, once checked.
    pub fn identity(&self, i: usize) -> Option<Identity> {
        self.units[i].machine.identity()
    }
    pub fn gen(&self, i: usize) -> u64 {
        self.units[i].gen
    }
    /// Launch `gen` of unit `i` is still under way (no process yet): worth carrying on.
    pub fn launching(&self, i: usize, gen: u64) -> bool {
        self.units[i].gen == gen && self.units[i].machine.launching()
    }
    /// The port of another sidecar as `i`'s templates read it (`{name.port}`): replica `#1`'s.
    pub fn port_of_sidecar(&self, sidecar: &str) -> Option<(usize, Option<u16>)> {
        let j = self.plan.units.iter().position(|u| u.sidecar == sidecar)?;
        Some((j, self.units[j].port))
    }

    /// Feeds one input to a machine and carries out what it decided.
    fn feed(&mut self, now: Duration, i: usize, input: Input) {
        let was_up = self.is_up(i);
        let actions = self.units[i].machine.handle(now, input);
        self.apply(now, i, was_up, actions);
    }

    /// Carries out what unit `i`'s machine decided; `was_up`: whether it was up before.
    fn apply(&mut self, now: Duration, i: usize, was_up: bool, actions: Vec<Action>) {
        let mut became_ready = false;
        for a in actions {
            match a {
                Action::Launch { new_port, prepared } => {
                    let u = &mut self.units[i];
                    u.gen += 1;
                    u.port_in_use = false;
                    let port = match self.plan.units[i].port {
                        PortPolicy::None | PortPolicy::Announce => {
                            u.port = None;
                            PortPlan::None
                        }
                        PortPolicy::Auto => match u.port {
                            Some(p) if !new_port => PortPlan::Keep(p),
                            _ => {
                                u.port = None;
                                PortPlan::PickFree
                            }
                        },
                        PortPolicy::Fixed(p) => {
                            u.port = Some(p);
                            PortPlan::CheckFixed(p)
                        }
                    };
                    self.out.push_back(Effect::Launch { unit: i, gen: u.gen, port, prepared });
                }
                Action::CheckData => self.out.push_back(Effect::CheckData { unit: i, gen: self.units[i].gen }),
                Action::RemovePidFile => self.out.push_back(Effect::RemovePidFile { unit: i, gen: self.units[i].gen }),
                Action::Prepare { step } => {
                    self.out.push_back(Effect::Prepare { unit: i, gen: self.units[i].gen, step })
                }
                Action::Exec => {
                    let sources = &self.plan.units[i].port_sources;
                    self.units[i].dep_ports = sources.iter().map(|&d| (d, self.units[d].port)).collect();
                    self.out.push_back(Effect::Exec { unit: i, gen: self.units[i].gen });
                }
                Action::Stop { pid, how } => self.out.push_back(Effect::Stop { unit: i, pid, how }),
                Action::Suspend { pid } => self.out.push_back(Effect::Suspend { unit: i, pid }),
                Action::Continue { pid } => self.out.push_back(Effect::Continue { unit: i, pid }),
                Action::Probe { kind, identity } => {
                    self.out.push_back(Effect::Probe { unit: i, gen: self.units[i].gen, kind, identity })
                }
                Action::Emit { kind, message, pid, code, signal, state } => {
                    self.event(i, NewEvent::new(kind, message).pid(pid).code(code).signal(signal).state(state))
                }
                Action::StateChanged(s) => {
                    self.out.push_back(Effect::Publish { unit: i });
                    became_ready |= s == State::Ready;
                }
            }
        }
        if self.is_up(i) != was_up {
            self.tell_dependents(now, i);
        }
        if became_ready {
            self.restart_moved_dependents(now, i);
        }
    }

    /// Carries out what the remote row of unit `i` decided.
    fn apply_remote(&mut self, i: usize, actions: Vec<RemoteAction>) {
        for a in actions {
            match a {
                RemoteAction::Probe => self.out.push_back(Effect::ProbeRemote { unit: i }),
                RemoteAction::Emit { kind, message, state } => {
                    self.event(i, NewEvent::new(kind, message).state(state));
                    self.out.push_back(Effect::Publish { unit: i });
                }
            }
        }
    }

    /// `i` went up or down: every dependent whose "all dependencies up" changed hears of it.
    fn tell_dependents(&mut self, now: Duration, i: usize) {
        let dependents: Vec<usize> = self.plan.dependents(i).collect();
        for j in dependents {
            let ready = self.deps_up(j);
            if self.units[j].machine.deps_ready() != ready {
                self.feed(now, j, Input::DepsChanged { ready });
            }
        }
    }

    /// `i` is ready on a port other than the one its running dependents were started with
    /// (an `announce` sidecar restarted, or an `auto` port lost to another process): their
    /// arguments and environment name the old port, so they are restarted, free of charge.
    fn restart_moved_dependents(&mut self, now: Duration, i: usize) {
        let Some(port) = self.units[i].port else { return };
        if self.shutting_down {
            return;
        }
        for j in 0..self.units.len() {
            let was = self.units[j].dep_ports.iter().find(|(d, _)| *d == i).and_then(|(_, p)| *p);
            let Some(was) = was.filter(|was| *was != port) else { continue };
            if self.units[j].machine.state().has_process() {
                let why = format!("`{}` came back on port {port} (was {was})", self.plan.units[i].name);
                self.feed(now, j, Input::DependencyMoved { why });
            }
        }
    }

    /// Work every change may cause: during shutdown, stop whatever nothing running depends on.
    fn after(&mut self, now: Duration) {
        if !self.shutting_down {
            return;
        }
        // Repeat until nothing moves: a dependent without a process stops at once, which frees
        // its dependency in the same turn (no later event would come to wake us for it).
        loop {
            let mut progressed = false;
            for i in 0..self.units.len() {
                if self.is_down(i) || self.units[i].machine.state() == State::Stopping {
                    continue;
                }
                if self.plan.dependents(i).all(|d| self.is_down(d)) {
                    self.feed(now, i, Input::StopRequested);
                    progressed = true;
                }
            }
            if !progressed {
                break;
            }
        }
    }

    fn is_up(&self, i: usize) -> bool {
        self.units[i].machine.state().is_up()
    }

    /// Every dependency of `i` is up, or not run here.
    fn deps_up(&self, i: usize) -> bool {
        self.plan.units[i].deps.iter().all(|&d| !self.plan.units[d].runs_here() || self.is_up(d))
    }

    /// Has no process and will not get one by itself (what shutdown waits for).
    fn is_down(&self, i: usize) -> bool {
        !self.plan.units[i].runs_here()
            || matches!(self.units[i].machine.state(), State::Stopped | State::Failed | State::Pending)
    }

    /// A feed event about unit `i`, stamped with its name and port.
    fn event(&mut self, i: usize, ev: NewEvent) {
        let ev = ev.sidecar(self.plan.units[i].name.clone()).port(self.units[i].port);
        self.out.push_back(Effect::Event { unit: i, event: ev });
    }
}
