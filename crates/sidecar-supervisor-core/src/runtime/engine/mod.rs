//! The effect side: one event loop that receives a message, hands it to the orchestrator with
//! `now`, carries out the effects the orchestrator decided, and publishes. Nothing is decided
//! here: the rules live in `domain` and are tested on simulated time.
//!
//! It runs on its own thread with a single-threaded tokio runtime: children get their death
//! signal tied to a thread that lives exactly as long as the engine, and a decision never waits
//! on a lock. Exits are awaited per child (event-driven, no polling); timers are the
//! orchestrator's own deadlines ([`Orchestrator::poll_timeout`]).
//!
//! Its parts own their facts: the [`Orchestrator`] every decision and the state, pid, port and
//! spawn time of each unit; [`Context`] what never changes after start (the resolved settings,
//! not the profile); [`Launcher`] what it found out while launching (programs, search paths);
//! [`Processes`] the hold on running processes; [`Prober`] probe connections and
//! [`remote::RemoteProber`] the remote's HTTPS client; [`Publisher`] the status, notifications
//! and files.

pub(crate) mod context;
mod launch;
mod lookup;
mod output;
pub(crate) mod pg_access;
mod pg_data;
mod probing;
mod processes;
mod publish;
mod remote;
mod stopping;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot};

use crate::domain::{CommandError, Effect, Exit, Orchestrator, ProbeKind, Report, Verb};
use crate::feed::Feed;
use crate::runtime::instance::InstanceRecord;
use crate::runtime::search_path::SearchDirs;
use crate::runtime::status::SharedStatus;
use crate::runtime::status::{LastProbe, Notification};
use crate::writer::LatestFiles;
pub(crate) use context::{Context, Settings};
use launch::{Launcher, Parts};
use probing::Prober;
use processes::Processes;
use publish::Publisher;

/// What reaches the engine: commands from its handle, and what the tasks it started found.
pub(crate) enum Msg {
    Command(Verb, String, oneshot::Sender<Result<(), CommandError>>),
    /// Makes the engine panic, to test what a crash of the engine leaves behind.
    #[cfg(feature = "testing")]
    Crash,
    Shutdown(oneshot::Sender<()>),
    /// A backup's or a restore's view of the database sidecar.
    PgAccess(oneshot::Sender<Result<pg_access::PgAccess, String>>),
    /// Run a PostgreSQL tool for a backup or a restore.
    RunTool(pg_access::ToolRun),
    /// A report about launch `gen` of `unit` that needs nothing from the engine but passing on.
    Report {
        unit: usize,
        gen: u64,
        report: Report,
    },
    /// The remote a unit runs as (remote_slim's backend) was probed.
    RemoteProbed {
        unit: usize,
        ok: bool,
        detail: String,
        latency: Duration,
    },
    Probed {
        unit: usize,
        gen: u64,
        kind: ProbeKind,
        outcome: crate::runtime::probes::Outcome,
        latency: Duration,
    },
    /// The process `pid` of launch `gen` ended; its whole group is gone.
    Exited {
        unit: usize,
        gen: u64,
        pid: u32,
        exit: Exit,
    },
    /// Prepare step `step` of launch `gen`, run as `pid`, ended.
    PrepareEnded {
        unit: usize,
        gen: u64,
        step: usize,
        pid: u32,
        end: crate::domain::StepEnd,
    },
    Searched {
        sidecar: String,
        dirs: SearchDirs,
    },
    /// A helper process of a stop (the `stop_command`) ended: its group is done with.
    HelperEnded {
        pid: u32,
    },
}

pub(crate) struct Engine {
    orch: Orchestrator,
    ctx: Context,
    launcher: Launcher,
    procs: Processes,
    prober: Prober,
    remotes: remote::RemoteProber,
    publisher: Publisher,
    tx: mpsc::UnboundedSender<Msg>,
    rx: mpsc::UnboundedReceiver<Msg>,
    shutdown_reply: Vec<oneshot::Sender<()>>,
}

/// What the engine is built from (the handle made the rest during its setup).
pub(crate) struct Setup {
    pub ctx: Context,
    pub shared: Arc<RwLock<SharedStatus>>,
    pub notify: broadcast::Sender<Notification>,
    pub feed: Feed,
    pub status_file: Option<std::path::PathBuf>,
    pub record_base: InstanceRecord,
    pub tx: mpsc::UnboundedSender<Msg>,
    pub rx: mpsc::UnboundedReceiver<Msg>,
}

impl Engine {
    pub fn new(s: Setup) -> Engine {
        let n = s.ctx.plan.len();
        let publisher =
            Publisher::new(&s.ctx, s.shared, s.notify, s.feed, LatestFiles::default(), s.status_file, s.record_base);
        Engine {
            orch: Orchestrator::new(s.ctx.plan.clone()),
            launcher: Launcher::new(n),
            procs: Processes::new(n),
            prober: Prober::new(n),
            remotes: remote::RemoteProber::new(),
            publisher,
            ctx: s.ctx,
            tx: s.tx,
            rx: s.rx,
            shutdown_reply: Vec::new(),
        }
    }

    /// Every unit's first status row.
    pub fn rows(&self) -> Vec<crate::runtime::SidecarStatus> {
        (0..self.ctx.plan.len()).map(|i| self.publisher.row(&self.ctx, &self.orch, i)).collect()
    }

    pub fn set_death_watch(&mut self, w: crate::platform::DeathWatch) {
        self.procs.set_death_watch(Some(w));
    }

    pub async fn run(mut self) {
        self.orch.start(self.ctx.now());
        self.carry_out();
        self.publisher.publish_all(self.ctx.plan.len());
        self.end_turn();
        loop {
            let deadline = self.orch.poll_timeout();
            let epoch = self.ctx.epoch;
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until((epoch + d).into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                msg = self.rx.recv() => match msg {
                    Some(m) => self.on_msg(m),
                    None => break,
                },
                _ = sleep => self.orch.handle_timeout(self.ctx.now()),
            }
            self.carry_out();
            self.end_turn();
            if self.orch.finished() {
                break;
            }
        }
        self.finish();
    }

    fn on_msg(&mut self, msg: Msg) {
        let now = self.ctx.now();
        match msg {
            Msg::Command(verb, name, reply) => {
                let _ = reply.send(self.orch.command(now, verb, &name));
            }
            Msg::PgAccess(reply) => {
                let _ = reply.send(pg_access::access(&self.ctx, &self.orch, self.launcher.lookups()));
            }
            Msg::RunTool(run) => pg_access::run_tool(run),
            #[cfg(feature = "testing")]
            Msg::Crash => panic!("crash requested by a test"),
            Msg::Shutdown(reply) => {
                self.shutdown_reply.push(reply);
                self.orch.shutdown(now);
            }
            Msg::Report { unit, gen, report } => self.orch.report(now, unit, gen, report),
            Msg::RemoteProbed { unit, ok, detail, latency } => {
                let detail = self.ctx.redactor.redact(&detail).into_owned();
                let gen = self.orch.gen(unit);
                self.orch.report(now, unit, gen, Report::RemoteProbed { ok, detail: detail.clone() });
                let probe = LastProbe {
                    ok,
                    latency_ms: (latency.as_secs_f64() * 1e6).round() / 1e3,
                    at: crate::wallclock::now_rfc3339(),
                    detail,
                };
                self.publisher.probed(&self.ctx, &self.orch, unit, ProbeKind::Ready, probe);
            }
            Msg::Probed { unit, gen, kind, outcome, latency } => {
                if self.orch.gen(unit) != gen {
                    return;
                }
                let crate::runtime::probes::Outcome { ok, detail, identity, build } = outcome;
                // A probe's output (an exec probe's stderr, a URL) may carry a secret.
                let detail = self.ctx.redactor.redact(&detail).into_owned();
                self.orch.report(now, unit, gen, Report::Probe { kind, ok, detail, identity });
                if let Some(build) = build {
                    self.orch.report(now, unit, gen, Report::BuildFound { build });
                }
                // Shown as judged (the identity weighed in).
                let Some((_, ok, detail)) = self.orch.machine(unit).judged_probe() else { return };
                let detail = detail.to_string();
                let probe = LastProbe {
                    ok,
                    latency_ms: (latency.as_secs_f64() * 1e6).round() / 1e3,
                    at: crate::wallclock::now_rfc3339(),
                    detail,
                };
                self.publisher.probed(&self.ctx, &self.orch, unit, kind, probe);
            }
            Msg::Exited { unit, gen, pid, exit } => {
                self.procs.exited(unit, pid);
                self.ctx.channels.close(unit, exit.describe());
                self.prober.forget(unit);
                let stderr_tail = self.ctx.logs[unit].last_stderr(5).join(" | ");
                self.orch.report(now, unit, gen, Report::Exited { exit, stderr_tail });
            }
            Msg::PrepareEnded { unit, gen, step, pid, end } => {
                self.procs.ended(pid); // whatever the step left behind
                self.orch.report(now, unit, gen, Report::PrepareEnded { step, end });
            }
            Msg::HelperEnded { pid } => self.procs.ended(pid),
            Msg::Searched { sidecar, dirs } => {
                for (unit, gen) in self.launcher.searched(sidecar, dirs) {
                    // A stop while waiting found no process and stopped the unit at once.
                    if self.orch.launching(unit, gen) {
                        let mut p =
                            Parts { ctx: &self.ctx, orch: &mut self.orch, procs: &mut self.procs, tx: &self.tx };
                        self.launcher.resume(&mut p, unit, gen);
                    }
                }
            }
        }
    }

    /// Carries out the orchestrator's effects in the order it decided them; what they report at
    /// once goes straight back to it (and may add effects to the end of the queue).
    fn carry_out(&mut self) {
        while let Some(effect) = self.orch.poll_effect() {
            match effect {
                Effect::Launch { unit, gen, port, prepared } => {
                    let mut p = Parts { ctx: &self.ctx, orch: &mut self.orch, procs: &mut self.procs, tx: &self.tx };
                    self.launcher.launch(&mut p, unit, gen, port, prepared);
                }
                Effect::CheckData { unit, gen } => {
                    pg_data::check(&self.ctx, &self.orch, self.launcher.lookups(), &self.tx, unit, gen)
                }
                Effect::RemovePidFile { unit, gen } => {
                    let report = pg_data::remove_pid_file(&self.ctx, &self.orch, unit);
                    self.orch.report(self.ctx.now(), unit, gen, report);
                }
                Effect::Prepare { unit, gen, step } => {
                    let mut p = Parts { ctx: &self.ctx, orch: &mut self.orch, procs: &mut self.procs, tx: &self.tx };
                    self.launcher.prepare(&mut p, unit, gen, step);
                }
                Effect::Exec { unit, gen } => {
                    let mut p = Parts { ctx: &self.ctx, orch: &mut self.orch, procs: &mut self.procs, tx: &self.tx };
                    self.launcher.exec(&mut p, unit, gen);
                }
                Effect::Stop { unit, pid, how } => {
                    let lookups = self.launcher.lookups();
                    stopping::stop(&self.ctx, &self.orch, lookups, &mut self.procs, &self.tx, unit, pid, how)
                }
                Effect::Suspend { unit, pid } | Effect::Continue { unit, pid } => {
                    let resume = matches!(effect, Effect::Continue { .. });
                    let done =
                        if resume { crate::platform::resume_group(pid) } else { crate::platform::suspend_group(pid) };
                    if !done {
                        let why = "the OS refused, or the process is gone".to_string();
                        let gen = self.orch.gen(unit);
                        self.orch.report(self.ctx.now(), unit, gen, Report::SuspendFailed { pid, resume, why });
                    }
                }
                Effect::Probe { unit, gen, kind, identity } => {
                    let lookups = self.launcher.lookups();
                    self.prober.start(&self.ctx, &self.orch, lookups, &self.tx, unit, gen, kind, identity)
                }
                Effect::ProbeRemote { unit } => {
                    if let crate::domain::plan::UnitMode::Remote(target) = &self.ctx.plan.units[unit].mode {
                        self.remotes.probe(&self.ctx.settings.extra_ca_files, &self.tx, unit, target);
                    }
                }
                Effect::Event { event, .. } => self.publisher.event(event),
                Effect::Publish { unit } => self.publisher.publish(unit),
            }
        }
    }

    fn end_turn(&mut self) {
        self.publisher.end_turn(&self.ctx, &self.orch, &mut self.procs);
    }

    fn finish(&mut self) {
        self.end_turn();
        for log in &self.ctx.logs {
            log.flush(); // the last lines of every sidecar are on disk before we say "stopped"
        }
        self.publisher.finish(&self.procs);
        self.procs.set_death_watch(None); // nothing is left to kill: let it go
        self.publisher.stopped();
        for r in self.shutdown_reply.drain(..) {
            let _ = r.send(());
        }
    }
}
