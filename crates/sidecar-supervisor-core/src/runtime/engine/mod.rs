//! The effect side: one event loop that owns every unit, runs the state machines' actions
//! (spawn, signal, probe, emit) and feeds results back in. It runs on its own thread with a
//! single-threaded tokio runtime: children get `PR_SET_PDEATHSIG` tied to a thread that lives
//! exactly as long as the engine, and a decision never waits on a lock.
//!
//! Exits are observed by awaiting each child (SIGCHLD-driven), never by polling; timers are the
//! machines' own deadlines (`poll_timeout`).

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc, oneshot};

use super::guardian::Guardian;
use super::instance::InstanceRecord;
use super::latest_writer::LatestWriter;
use super::process;
use super::status::{LastProbe, Notification};
use super::unit::Unit;
use super::{CommandError, SharedStatus};
use crate::domain::{Action, Input, ProbeKind, State};
use crate::events::{EventKind, NewEvent};
use crate::feed::Feed;
use crate::profile::RuntimeConfig;

mod lookup;
mod probing;
mod publish;
mod spawning;

pub(crate) enum Msg {
    Command(Command, oneshot::Sender<Result<(), CommandError>>),
    Shutdown(oneshot::Sender<()>),
    Exited { unit: usize, gen: u64, code: Option<i32>, signal: Option<i32> },
    Probe { unit: usize, gen: u64, kind: ProbeKind, ok: bool, detail: String, latency: Duration },
    Announced { unit: usize, gen: u64, port: u16 },
    StdoutMatched { unit: usize, gen: u64 },
    AddrInUse { unit: usize, gen: u64 },
    Prepared { unit: usize, gen: u64, result: Result<(), String> },
    Searched { sidecar: String, dirs: crate::runtime::search_path::SearchDirs },
}

#[derive(Debug, Clone)]
pub enum Command {
    Restart(String),
    Stop(String),
    Start(String),
    /// Makes the engine panic, to test what a crash of the engine leaves behind.
    #[cfg(feature = "testing")]
    CrashEngineForTest,
}

pub(crate) struct Engine {
    pub cfg: RuntimeConfig,
    pub units: Vec<Unit>,
    pub instance_id: String,
    pub api_key: String,
    pub feed: Feed,
    pub notify: broadcast::Sender<Notification>,
    pub shared: Arc<RwLock<SharedStatus>>,
    pub tx: mpsc::UnboundedSender<Msg>,
    pub rx: mpsc::UnboundedReceiver<Msg>,
    pub writer: LatestWriter,
    pub runtime_dir: PathBuf,
    pub status_file: Option<PathBuf>,
    pub bundled_dirs: Vec<PathBuf>,
    pub triple: String,
    /// Base of relative paths in the profile (commands, cwd, search path).
    pub profile_dir: PathBuf,
    /// Search paths by sidecar name, evaluated when first needed.
    pub search: std::collections::HashMap<String, lookup::Search>,
    pub epoch: Instant,
    pub guardian: Option<Guardian>,
    pub shutting_down: bool,
    pub shutdown_reply: Vec<oneshot::Sender<()>>,
    pub http: reqwest::Client,
    pub record_base: InstanceRecord,
    /// Pid of the process whose exit is being handled, so the events it causes (exited,
    /// restarting, budget_exhausted) name it although the unit no longer has a process.
    pub exited_pid: Option<u32>,
    /// status.json is behind the snapshot; written once per loop turn, not once per change.
    pub status_dirty: bool,
    /// instance.json is behind (a child started or ended); written once per loop turn.
    pub record_dirty: bool,
    /// Rows changed this turn, in the order of their latest change (causal order for readers:
    /// a dependent's `stopped` before its dependency's `stopping`).
    pub dirty_rows: Vec<usize>,
    /// Scrubs secrets from what reaches the status (probe details, errors).
    pub redactor: crate::redact::Redactor,
    /// Events decided this turn, sent at its end.
    pub pending_events: Vec<NewEvent>,
    /// (watch?, pgid) changes for the guardian, sent at the end of the turn.
    pub guardian_ops: Vec<(bool, u32)>,
}

impl Engine {
    pub(super) fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    pub async fn run(mut self) {
        for i in 0..self.units.len() {
            if self.units[i].skipped {
                continue;
            }
            let deps_ready = self.deps_ready(i);
            self.input(i, Input::Start { deps_ready, manual: false });
        }
        self.publish_all();
        self.end_turn();
        loop {
            let deadline = self.units.iter().filter_map(|u| u.machine.poll_timeout()).min();
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until((self.epoch + d).into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                msg = self.rx.recv() => match msg {
                    Some(m) => self.on_msg(m),
                    None => break,
                },
                _ = sleep => {
                    let now = self.now();
                    for i in 0..self.units.len() {
                        if self.units[i].machine.poll_timeout().is_some_and(|t| t <= now) {
                            let actions = self.units[i].machine.handle_timeout(now);
                            self.apply(i, actions);
                        }
                    }
                }
            }
            if self.shutting_down {
                self.advance_shutdown();
            }
            self.end_turn();
            if self.shutting_down && self.all_down() {
                break;
            }
        }
        self.finish();
    }

    pub(super) fn finish(&mut self) {
        self.end_turn();
        for u in &self.units {
            u.log.flush(); // the last lines of every sidecar are on disk before we say "stopped"
        }
        self.feed.push(NewEvent::new(EventKind::RuntimeStopped, "every sidecar stopped; runtime ended"));
        self.feed.flush();
        if let Ok(mut s) = self.shared.write() {
            s.status.stopped = true;
        }
        self.write_status();
        self.write_record();
        self.writer.flush();
        self.guardian = None; // EOF to the guardian: it exits (nothing is left to kill)
        let _ = self.notify.send(Notification::Stopped);
        for r in self.shutdown_reply.drain(..) {
            let _ = r.send(());
        }
    }

    pub(super) fn all_down(&self) -> bool {
        self.units.iter().all(is_down)
    }

    pub(super) fn on_msg(&mut self, msg: Msg) {
        match msg {
            Msg::Command(cmd, reply) => {
                let r = self.command(cmd);
                let _ = reply.send(r);
            }
            Msg::Shutdown(reply) => {
                self.shutdown_reply.push(reply);
                if !self.shutting_down {
                    self.shutting_down = true;
                    for u in &mut self.units {
                        u.machine.disable_auto_restart();
                    }
                }
            }
            Msg::Exited { unit, gen, code, signal } => {
                if self.units[unit].gen != gen {
                    return;
                }
                let u = &mut self.units[unit];
                let pgid = u.pid.take();
                u.stdin = None;
                u.spawned_at = None;
                let stderr_tail = u.log.last_stderr(5).join(" | ");
                let port_in_use = std::mem::take(&mut u.port_in_use);
                if u.announce() {
                    u.port = None;
                }
                if let Some(pgid) = pgid {
                    // The waiter killed what the leader left in its group right after reaping it.
                    self.guardian_ops.push((false, pgid));
                }
                self.exited_pid = pgid;
                self.input(unit, Input::Exited { code, signal, port_in_use, stderr_tail });
                self.exited_pid = None;
                self.record_dirty = true;
            }
            Msg::Probe { unit, gen, kind, ok, detail, latency } => {
                if self.units[unit].gen != gen {
                    return;
                }
                // A probe's output (an exec probe's stderr, a URL) may carry a secret.
                let detail = self.redactor.redact(&detail).into_owned();
                let u = &mut self.units[unit];
                let mut news = false;
                if kind == ProbeKind::Ready || !ok {
                    news = u.last_probe.as_ref().is_none_or(|p| p.ok != ok || p.detail != detail);
                    u.last_probe = Some(LastProbe {
                        ok,
                        latency_ms: (latency.as_secs_f64() * 1e6).round() / 1e3,
                        at: crate::events::now_rfc3339(),
                        detail: detail.clone(),
                    });
                }
                if ok && kind == ProbeKind::Ready {
                    u.identity_ok = true;
                }
                self.input(unit, Input::Probe { kind, ok, detail });
                // Probe facts go to the snapshot at once; subscribers hear of them only when the
                // outcome changed (not every second per sidecar), and status.json only follows
                // state changes. An idle engine then wakes nobody else.
                if news {
                    self.publish_quietly(unit);
                } else {
                    self.refresh_snapshot(unit);
                }
            }
            Msg::Announced { unit, gen, port } => {
                if self.units[unit].gen != gen {
                    return;
                }
                self.units[unit].port = Some(port);
                self.input(unit, Input::PortAnnounced);
                self.publish(unit);
            }
            Msg::StdoutMatched { unit, gen } => {
                if self.units[unit].gen == gen {
                    let line = self.units[unit].stdout_match.clone().unwrap_or_default();
                    self.input(
                        unit,
                        Input::Probe { kind: ProbeKind::Ready, ok: true, detail: format!("stdout said {line:?}") },
                    );
                }
            }
            Msg::AddrInUse { unit, gen } => {
                if self.units[unit].gen == gen {
                    self.units[unit].port_in_use = true;
                }
            }
            Msg::Prepared { unit, gen, result } => {
                if self.units[unit].gen != gen {
                    return;
                }
                if let Some(pid) = self.units[unit].prepare_pid.take() {
                    process::signal_group(pid, libc::SIGKILL); // whatever the step left behind
                    self.guardian_ops.push((false, pid));
                }
                if self.units[unit].machine.state() == State::Stopping {
                    // Stopped while preparing: the prepare step is over, so is the "process".
                    return self.no_process_left(unit);
                }
                if self.units[unit].machine.state() != State::Starting {
                    return;
                }
                match result {
                    Ok(()) => {
                        self.units[unit].prepared = true;
                        self.spawn_now(unit);
                    }
                    Err(e) => self.input(unit, Input::SpawnFailed { error: e }),
                }
            }
            Msg::Searched { sidecar, dirs } => self.on_searched(sidecar, dirs),
        }
    }

    pub(super) fn command(&mut self, cmd: Command) -> Result<(), CommandError> {
        #[cfg(feature = "testing")]
        if let Command::CrashEngineForTest = cmd {
            panic!("crash requested by a test");
        }
        let (name, verb) = match &cmd {
            Command::Restart(n) => (n, "restart"),
            Command::Stop(n) => (n, "stop"),
            Command::Start(n) => (n, "start"),
            #[cfg(feature = "testing")]
            Command::CrashEngineForTest => unreachable!("handled above"),
        };
        let targets: Vec<usize> = (0..self.units.len())
            .filter(|&i| self.units[i].name == *name || self.units[i].spec.name == *name)
            .collect();
        if targets.is_empty() {
            return Err(CommandError::UnknownSidecar { sidecar: name.clone(), known: self.names() });
        }
        if targets.iter().all(|&i| self.units[i].skipped) {
            return Err(CommandError::NotInThisMode { sidecar: name.clone(), mode: self.cfg.mode.as_str().into() });
        }
        if self.shutting_down {
            return Err(CommandError::ShuttingDown);
        }
        for i in targets {
            self.feed_push(i, NewEvent::new(EventKind::Command, format!("{verb} requested")));
            let deps_ready = self.deps_ready(i);
            let input = match &cmd {
                Command::Restart(_) => Input::RestartRequested { deps_ready },
                Command::Stop(_) => Input::StopRequested,
                Command::Start(_) => Input::Start { deps_ready, manual: true },
                #[cfg(feature = "testing")]
                Command::CrashEngineForTest => unreachable!("handled above"),
            };
            self.input(i, input);
        }
        Ok(())
    }

    pub(super) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.units.iter().filter(|u| !u.skipped).map(|u| u.name.clone()).collect();
        names.sort();
        names
    }

    pub(super) fn deps_ready(&self, i: usize) -> bool {
        self.units[i]
            .deps
            .iter()
            .all(|&d| crate::runtime::is_up(self.units[d].machine.state()) || self.units[d].skipped)
    }

    pub(crate) fn input(&mut self, i: usize, input: Input) {
        let now = self.now();
        let actions = self.units[i].machine.handle(now, input);
        self.apply(i, actions);
    }

    pub(super) fn apply(&mut self, i: usize, actions: Vec<Action>) {
        // Decide and act first (a restart's fork is not kept waiting); what subscribers see is
        // queued and sent at the end of the loop turn (`end_turn`).
        let mut became_ready = false;
        let mut no_process_to_stop = false;
        for a in actions {
            match a {
                Action::Spawn { new_port } => self.spawn(i, new_port),
                Action::Signal { signal } => match self.units[i].pid.or(self.units[i].prepare_pid) {
                    Some(pid) => {
                        process::signal_group(pid, signal);
                    }
                    None => no_process_to_stop = true,
                },
                Action::Probe(kind) => self.start_probe(i, kind),
                Action::Emit { kind, message, code, signal } => {
                    let signal = signal.map(crate::domain::machine::signal_name);
                    self.feed_push(i, NewEvent::new(kind, message).code(code).signal(signal));
                }
                Action::StateChanged(s) => {
                    self.publish(i);
                    became_ready |= s == State::Ready;
                }
            }
        }
        if became_ready {
            self.wake_dependents(i);
            self.restart_moved_dependents(i);
        }
        if no_process_to_stop && self.units[i].machine.state() == State::Stopping {
            // Asked to stop between the spawn decision and a process existing: nothing to wait for.
            self.no_process_left(i);
        }
    }

    /// A stopping unit that has no process to wait for has stopped.
    fn no_process_left(&mut self, i: usize) {
        self.input(i, Input::Exited { code: None, signal: None, port_in_use: false, stderr_tail: String::new() });
    }

    pub(super) fn wake_dependents(&mut self, i: usize) {
        for j in 0..self.units.len() {
            if self.units[j].deps.contains(&i)
                && self.units[j].machine.state() == State::WaitingForDeps
                && self.deps_ready(j)
            {
                self.input(j, Input::DepsReady);
            }
        }
    }

    /// `i` is ready on a port other than the one its running dependents were started with
    /// (an `announce` sidecar restarted, or an `auto` port lost to another process): their
    /// arguments and environment name the old port, so restart them, free of charge.
    fn restart_moved_dependents(&mut self, i: usize) {
        let Some(port) = self.units[i].port else { return };
        if self.shutting_down {
            return;
        }
        for j in 0..self.units.len() {
            let was = self.units[j].dep_ports.iter().find(|(d, _)| *d == i).and_then(|(_, p)| *p);
            if was.is_some_and(|was| was != port) && self.units[j].machine.state().has_process() {
                let why = format!("`{}` came back on port {port} (was {})", self.units[i].name, was.unwrap_or(0));
                self.input(j, Input::DependencyMoved { why });
            }
        }
    }

    pub(super) fn advance_shutdown(&mut self) {
        // Repeat until nothing moves: a dependent without a process stops at once, which frees
        // its dependency in the same turn (no later event would come to wake us for it).
        loop {
            let mut progressed = false;
            for i in 0..self.units.len() {
                let u = &self.units[i];
                if is_down(u) || u.machine.state() == State::Stopping {
                    continue;
                }
                // Reverse dependency order: stop only once everything depending on it is down.
                if self.units.iter().all(|d| !d.deps.contains(&i) || is_down(d)) {
                    self.input(i, Input::StopRequested);
                    progressed = true;
                }
            }
            if !progressed {
                break;
            }
        }
    }

    /// Queues an event (stamped with the unit's current pid and port) for the end of the turn.
    pub(super) fn feed_push(&mut self, i: usize, ev: NewEvent) {
        let u = &self.units[i];
        let pid = u.pid.or(u.machine.pid()).or(u.prepare_pid).or(self.exited_pid);
        self.pending_events.push(ev.sidecar(u.name.clone()).pid(pid).port(u.port));
    }

    /// The end of a loop turn: events to the feed and subscribers (in order), then every
    /// changed status row once, then the guardian's list, status.json and instance.json. Events
    /// go before rows: whoever sees a state finds the event that explains it in the feed.
    pub(super) fn end_turn(&mut self) {
        for ev in std::mem::take(&mut self.pending_events) {
            let stamped = self.feed.push(ev);
            let _ = self.notify.send(Notification::Event(stamped));
        }
        for i in std::mem::take(&mut self.dirty_rows) {
            let st = self.refresh_snapshot(i);
            let _ = self.notify.send(Notification::Sidecar(st));
        }
        if let Some(g) = self.guardian.as_mut() {
            for (watch, pgid) in self.guardian_ops.drain(..) {
                if watch {
                    g.watch(pgid);
                } else {
                    g.forget(pgid);
                }
            }
        }
        self.guardian_ops.clear();
        if std::mem::take(&mut self.status_dirty) {
            self.write_status();
        }
        if std::mem::take(&mut self.record_dirty) {
            self.write_record();
        }
    }
}

/// Has no process and will not get one by itself (what shutdown waits for).
fn is_down(u: &Unit) -> bool {
    u.skipped || matches!(u.machine.state(), State::Stopped | State::Failed | State::Pending)
}
