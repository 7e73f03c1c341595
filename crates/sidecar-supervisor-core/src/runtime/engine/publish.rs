//! Publishing: the shared status snapshot that `status()` reads, push notifications for
//! subscribers (UI, runner), the feed, `status.json` and the instance record.
//!
//! Within a loop turn the engine decides and forks first; what subscribers see is queued and
//! sent at the end of the turn ([`Publisher::end_turn`]): events first (in order), then every
//! changed row once, in the order of its latest change. Whoever sees a state finds the event
//! that explains it in the feed.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use tokio::sync::broadcast;

use super::context::Context;
use super::processes::Processes;
use crate::domain::plan::UnitMode;
use crate::domain::{EventKind, NewEvent};
use crate::domain::{Orchestrator, ProbeKind};
use crate::feed::Feed;
use crate::runtime::instance::InstanceRecord;
use crate::runtime::status::SharedStatus;
use crate::runtime::status::{Budget, LastProbe, Notification, SidecarStatus};
use crate::writer::LatestFiles;

pub(super) struct Publisher {
    shared: Arc<RwLock<SharedStatus>>,
    notify: broadcast::Sender<Notification>,
    feed: Feed,
    files: LatestFiles,
    /// Where status.json goes, when it is written (the headless runner).
    status_file: Option<PathBuf>,
    record_file: PathBuf,
    record_base: InstanceRecord,
    /// Per unit: the last readiness probe (or failed liveness probe), for the status.
    last_probe: Vec<Option<LastProbe>>,
    /// Rows changed this turn, in the order of their latest change (causal order for readers:
    /// a dependent's `stopped` before its dependency's `stopping`).
    dirty_rows: Vec<usize>,
    /// status.json is behind the snapshot; written once per turn, not once per change.
    status_dirty: bool,
    /// Events decided this turn, sent at its end.
    pending_events: Vec<NewEvent>,
    /// The stack's health as last pushed (a push when it changes).
    health: Option<crate::domain::StackHealth>,
}

impl Publisher {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ctx: &Context,
        shared: Arc<RwLock<SharedStatus>>,
        notify: broadcast::Sender<Notification>,
        feed: Feed,
        files: LatestFiles,
        status_file: Option<PathBuf>,
        record_base: InstanceRecord,
    ) -> Publisher {
        Publisher {
            shared,
            notify,
            feed,
            files,
            status_file,
            record_file: ctx.layout.record_file(),
            record_base,
            last_probe: vec![None; ctx.plan.len()],
            dirty_rows: Vec::new(),
            status_dirty: false,
            pending_events: Vec::new(),
            health: None,
        }
    }

    pub fn event(&mut self, ev: NewEvent) {
        self.pending_events.push(ev);
    }

    /// A state change (or a new pid or port): the row moves to the end of this turn's list and
    /// status.json is rewritten.
    pub fn publish(&mut self, unit: usize) {
        self.dirty_rows.retain(|&j| j != unit);
        self.dirty_rows.push(unit);
        self.status_dirty = true;
    }

    pub fn publish_all(&mut self, units: usize) {
        for i in 0..units {
            self.publish(i);
        }
    }

    /// A probe result. Its facts go to the snapshot at once; subscribers hear of it only when
    /// the outcome changed (not every second per sidecar), and status.json only follows state
    /// changes. An idle engine then wakes nobody else.
    pub fn probed(&mut self, ctx: &Context, orch: &Orchestrator, unit: usize, kind: ProbeKind, probe: LastProbe) {
        if kind == ProbeKind::Ready || !probe.ok {
            let news = self.last_probe[unit].as_ref().is_none_or(|p| p.ok != probe.ok || p.detail != probe.detail);
            self.last_probe[unit] = Some(probe);
            if news && !self.dirty_rows.contains(&unit) {
                self.dirty_rows.push(unit);
                return;
            }
        }
        self.refresh(ctx, orch, unit);
    }

    /// The status row of `unit` as of now.
    pub fn row(&self, ctx: &Context, orch: &Orchestrator, unit: usize) -> SidecarStatus {
        let now = ctx.now();
        let plan = &ctx.plan.units[unit];
        let m = orch.machine(unit);
        let redact = |s: &str| ctx.redactor.redact(s).into_owned();
        let remote = orch.remote(unit);
        SidecarStatus {
            name: plan.name.clone(),
            role: plan.role.clone(),
            state: orch.state(unit),
            pid: m.pid(),
            port: orch.port(unit),
            url: match (remote, &plan.mode) {
                // remote_slim: the backend the UI talks to is the remote one.
                (Some(r), _) => Some(redact(&r.target().base_url)),
                (None, UnitMode::Skipped) => None,
                _ => orch.port(unit).map(|p| format!("http://127.0.0.1:{p}")),
            },
            restarts_in_window: m.restarts_in_window(now),
            budget: Budget {
                max: m.budget_max(),
                window_secs: m.window().as_secs(),
                remaining: m.budget_remaining(now),
            },
            auto_restart: m.auto_restart(),
            last_exit: m.last_exit().map(redact),
            last_error: match (remote, &plan.mode) {
                (Some(r), _) => r.error().map(redact),
                (None, UnitMode::Skipped) => None,
                _ => m.last_error().map(redact),
            },
            cause: orch.cause(unit).filter(|_| plan.runs_here()),
            uptime_ms: m.spawned_at().map(|t| now.saturating_sub(t).as_millis() as u64),
            last_probe: self.last_probe[unit].clone(),
            identity: orch.identity(unit),
            build: m.build().cloned().map(Box::new),
            depends_on: plan.depends_on.clone(),
            resources: None,
        }
    }

    /// Snapshot only: `status()` readers see it, nobody is woken.
    fn refresh(&self, ctx: &Context, orch: &Orchestrator, unit: usize) -> SidecarStatus {
        let st = self.row(ctx, orch, unit);
        if let Ok(mut s) = self.shared.write() {
            s.status.sidecars[unit] = st.clone();
            s.spawned_at[unit] = orch.machine(unit).spawned_at().map(|d| ctx.epoch + d);
        }
        st
    }

    /// The end of a loop turn: events to the feed and subscribers (in order), then every
    /// changed status row once, then the death watch's list, status.json and instance.json.
    pub fn end_turn(&mut self, ctx: &Context, orch: &Orchestrator, procs: &mut Processes) {
        for ev in std::mem::take(&mut self.pending_events) {
            let stamped = self.feed.push(ev);
            let _ = self.notify.send(Notification::Event(stamped));
        }
        let changed = !self.dirty_rows.is_empty();
        for i in std::mem::take(&mut self.dirty_rows) {
            let st = self.refresh(ctx, orch, i);
            let _ = self.notify.send(Notification::Sidecar(st));
        }
        if changed {
            let health = self.shared.write().ok().map(|mut s| {
                s.status.health = s.status.compute_health();
                s.status.health.clone()
            });
            if let Some(health) = health.filter(|h| self.health.as_ref() != Some(h)) {
                self.health = Some(health.clone());
                let _ = self.notify.send(Notification::Health(health));
            }
        }
        procs.flush_watch();
        if std::mem::take(&mut self.status_dirty) {
            self.write_status();
        }
        if let Some(rec) = procs.take_record(&self.record_base) {
            self.write_record(&rec);
        }
    }

    /// Everything stopped: the last event, status and instance record, all on disk.
    pub fn finish(&mut self, procs: &Processes) {
        self.feed.push(NewEvent::new(EventKind::RuntimeStopped, "every sidecar stopped; runtime ended"));
        self.feed.flush();
        if let Ok(mut s) = self.shared.write() {
            s.status.stopped = true;
        }
        self.write_status();
        self.write_record(&procs.record(&self.record_base));
        self.files.flush();
    }

    /// Tells subscribers the engine ended.
    pub fn stopped(&self) {
        let _ = self.notify.send(Notification::Stopped);
    }

    fn write_status(&self) {
        if let Some(path) = &self.status_file {
            let snapshot = crate::runtime::status::snapshot(&self.shared);
            if let Ok(bytes) = serde_json::to_vec_pretty(&snapshot) {
                self.files.write(path.clone(), bytes);
            }
        }
    }

    fn write_record(&self, rec: &InstanceRecord) {
        if let Ok(bytes) = serde_json::to_vec_pretty(rec) {
            self.files.write(self.record_file.clone(), bytes);
        }
    }
}
