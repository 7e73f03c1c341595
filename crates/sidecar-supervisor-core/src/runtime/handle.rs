//! The handle to a running engine, [`Supervisor`]: reads that never wait for the engine
//! (status, events, logs — each from its own shared copy), the one way to change what runs
//! ([`Supervisor::command`] with a [`Verb`]), calls of a sidecar's JSON-RPC channel, watches,
//! and the shutdown. Every name a caller gives is resolved by the plan ([`Plan::select`]: a
//! unit, or every replica of a sidecar).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot};

use super::doors::jsonrpc;
use super::engine::Msg;
use super::resources;
use super::status::{snapshot, Notification, RuntimeStatus, SharedStatus};
use crate::domain::{CommandError, Plan, Verb};
use crate::feed::{Feed, RuntimeEvent};
use crate::logs::{LiveLine, LiveLines, LogLine, SidecarLog};
use crate::redact::Redactor;

/// Why a whole log could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LogReadError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("`{sidecar}` has replicas, each with its own log: name one of {replicas}")]
    Replicated { sidecar: String, replicas: String },
    #[error("cannot read the log of `{sidecar}`: {source}")]
    Io { sidecar: String, source: std::io::Error },
}

impl From<&LogReadError> for crate::domain::ErrorPayload {
    fn from(e: &LogReadError) -> crate::domain::ErrorPayload {
        use crate::domain::{ErrorKind, ErrorPayload};
        match e {
            LogReadError::Command(c) => c.into(),
            LogReadError::Replicated { sidecar, .. } => {
                ErrorPayload::new(ErrorKind::InvalidArgument, e.to_string()).about(Some(sidecar))
            }
            LogReadError::Io { sidecar, .. } => ErrorPayload::new(ErrorKind::Io, e.to_string()).about(Some(sidecar)),
        }
    }
}

/// What every clone of the handle shares.
pub(super) struct Inner {
    pub tx: mpsc::UnboundedSender<Msg>,
    pub shared: Arc<RwLock<SharedStatus>>,
    pub feed: Feed,
    pub notify: broadcast::Sender<Notification>,
    pub plan: Arc<Plan>,
    /// Per unit (plan order): its log.
    pub logs: Vec<SidecarLog>,
    pub live: LiveLines,
    pub resources: resources::Resources,
    pub redactor: Redactor,
    pub thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    pub api_key: String,
    pub channels: Arc<jsonrpc::Channels>,
    /// The app's version, for backups' manifests.
    pub app_version: String,
    /// `<data_dir>/backups`.
    pub backups_dir: PathBuf,
    /// Held while a backup or a restore runs: one at a time.
    pub backup_lock: tokio::sync::Mutex<()>,
}

/// Handle to a running engine. Cheap to clone.
#[derive(Clone)]
pub struct Supervisor {
    pub(super) inner: Arc<Inner>,
}

impl Supervisor {
    /// This launch's API key (`SIDECAR_API_KEY`): what a client of the sidecars (the app's UI)
    /// must send as `x-api-key`. Hand it over privately; it never appears in status, events
    /// or logs.
    pub fn api_key(&self) -> &str {
        &self.inner.api_key
    }

    /// Current status of every sidecar (never waits for the engine). Rows carry `resources`
    /// while a recent sample of their process exists (someone watches, or just asked).
    pub fn status(&self) -> RuntimeStatus {
        let mut st = snapshot(&self.inner.shared);
        for (u, log) in self.inner.plan.units.iter().zip(&self.inner.logs) {
            if let Some(e) = log.file_error() {
                st.warnings.push(super::status::RuntimeWarning {
                    kind: super::status::WarningKind::LogNotWritable,
                    sidecar: Some(u.name.clone()),
                    message: format!("the log file of `{}` cannot be written: {e}", u.name),
                });
            }
        }
        let shown = self.inner.resources.shown();
        if !shown.is_empty() {
            for row in &mut st.sidecars {
                row.resources =
                    shown.iter().find(|s| s.name == row.name && Some(s.pid) == row.pid).map(|s| s.resources);
            }
        }
        st
    }

    /// Which processes to sample: every row that has one.
    fn resource_targets(shared: &RwLock<SharedStatus>) -> Vec<(String, u32)> {
        let s = shared.read().unwrap_or_else(|e| e.into_inner());
        s.status.sidecars.iter().filter_map(|r| Some((r.name.clone(), r.pid?))).collect()
    }

    /// CPU and memory of every sidecar's process tree now (at most one reading a second; a
    /// first one blocks a quarter second). Call it off async runtime threads.
    pub fn sample_resources(&self) -> Vec<resources::SidecarResources> {
        self.inner.resources.sample(&Self::resource_targets(&self.inner.shared))
    }

    /// Whether a resources sampler runs now (only while a watch lease runs).
    pub fn is_sampling_resources(&self) -> bool {
        self.inner.resources.is_sampling()
    }

    /// Samples every sidecar once a second during the next `lease` and pushes each sample as
    /// [`Notification::Resources`]; nothing is sampled while no lease runs.
    pub fn watch_resources(&self, lease: Duration) {
        let shared = self.inner.shared.clone();
        let notify = self.inner.notify.clone();
        self.inner.resources.watch(
            lease,
            move || Self::resource_targets(&shared),
            move |sample| {
                let _ = notify.send(Notification::Resources(sample));
            },
        );
    }

    /// Newest `limit` events of the persisted feed (all when `None`).
    pub fn events(&self, limit: Option<usize>) -> Vec<RuntimeEvent> {
        self.inner.feed.snapshot(limit)
    }

    pub fn feed_path(&self) -> PathBuf {
        self.inner.feed.path()
    }

    /// State changes and feed events as they happen.
    pub fn subscribe(&self) -> broadcast::Receiver<Notification> {
        self.inner.notify.subscribe()
    }

    /// Last `n` log lines of a sidecar instance (`worker#1`) or of every replica (`worker`),
    /// oldest first.
    pub fn logs(&self, name: &str, n: usize) -> Result<Vec<LogLine>, CommandError> {
        let units = self.inner.plan.select(name)?;
        let mut lines: Vec<LogLine> = units.iter().flat_map(|&u| self.inner.logs[u].tail(n)).collect();
        if units.len() > 1 {
            lines.sort_by(|a, b| a.at.cmp(&b.at));
        }
        let skip = lines.len().saturating_sub(n);
        Ok(lines.split_off(skip))
    }

    /// What this run redacts (its API key, passwords, secret shapes), for text made outside the
    /// engine (the diagnostics bundle).
    pub fn redactor(&self) -> Redactor {
        self.inner.redactor.clone()
    }

    /// Every sidecar instance's name, in plan order.
    pub fn instance_names(&self) -> Vec<String> {
        self.inner.plan.units.iter().map(|u| u.name.clone()).collect()
    }

    /// Lines pushed by watched logs ([`Supervisor::watch_log`]), as they come.
    pub fn subscribe_live_lines(&self) -> broadcast::Receiver<LiveLine> {
        self.inner.live.subscribe()
    }

    /// Sends the lines `name` (an instance, or every replica of a base name) prints during the
    /// next `lease` to [`Supervisor::subscribe_live_lines`]; a watcher renews it while it looks.
    pub fn watch_log(&self, name: &str, lease: Duration) -> Result<(), CommandError> {
        for u in self.inner.plan.select(name)? {
            self.inner.logs[u].watch(lease);
        }
        Ok(())
    }

    /// The whole rotated log of a sidecar instance as it is now, oldest first (open files: a
    /// rotation while it is read changes nothing in it).
    pub fn log_snapshot(&self, name: &str) -> Result<crate::log_files::LogSnapshot, LogReadError> {
        let units = self.inner.plan.select(name)?;
        let [unit] = units.as_slice() else {
            let names: Vec<&str> = units.iter().map(|&u| self.inner.plan.units[u].name.as_str()).collect();
            return Err(LogReadError::Replicated { sidecar: name.into(), replicas: names.join(", ") });
        };
        crate::log_files::LogSnapshot::open(&self.inner.logs[*unit].files())
            .map_err(|source| LogReadError::Io { sidecar: name.into(), source })
    }

    /// The log file of a sidecar instance, with everything captured so far written to it.
    pub fn log_path(&self, name: &str) -> Option<PathBuf> {
        let log = &self.inner.logs[self.inner.plan.unit(name).ok()?];
        log.flush();
        Some(log.path())
    }

    /// Calls `method` of `name`'s JSON-RPC channel (`"stdio": "jsonrpc"`) and waits up to
    /// `timeout` for the result. Never hangs: a timeout, the end of the process (a crash or a
    /// restart mid-call) and the sidecar's own error each come back as a [`jsonrpc::RequestError`].
    pub async fn request(
        &self,
        name: &str,
        method: &str,
        params: Option<serde_json::Value>,
        timeout: Duration,
    ) -> Result<serde_json::Value, jsonrpc::RequestError> {
        use jsonrpc::RequestError;
        if method.is_empty() {
            return Err(RequestError::InvalidArgument { message: "method: empty".into() });
        }
        let timeout = jsonrpc::timeout_of(i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX))?;
        let unit = self.unit(name)?;
        if !self.inner.plan.units[unit].run.jsonrpc() {
            return Err(RequestError::NotJsonrpc { sidecar: name.into() });
        }
        let state = self.status().sidecars.get(unit).map(|r| r.state);
        let peer = match (self.inner.channels.peer(unit), state) {
            (Some(p), Some(s)) if s != crate::domain::State::Paused => p,
            (_, s) => {
                let state = s.map(|s| s.as_str().replace('_', " ")).unwrap_or_else(|| "unknown".into());
                let state = if state == "paused" { "paused (resume it first)".to_string() } else { state };
                return Err(RequestError::NotRunning { sidecar: name.into(), state });
            }
        };
        peer.call(method, params, timeout).await
    }

    /// The newest `limit` notifications `name` sent over its JSON-RPC channel, oldest first.
    pub fn messages(&self, name: &str, limit: usize) -> Result<Vec<jsonrpc::SidecarMessage>, CommandError> {
        Ok(self.inner.channels.messages(self.unit(name)?, limit))
    }

    /// The unit of an instance name (`worker#2`), or the error listing the known ones.
    pub(crate) fn unit(&self, name: &str) -> Result<usize, CommandError> {
        self.inner.plan.unit(name)
    }

    /// Asks the engine to `verb` `name`: a unit, or every replica of a sidecar. Answers once
    /// the engine has taken it (what follows is pushed like any change).
    pub async fn command(&self, verb: Verb, name: &str) -> Result<(), CommandError> {
        let (tx, rx) = oneshot::channel();
        self.inner.tx.send(Msg::Command(verb, name.to_string(), tx)).map_err(|_| CommandError::EngineGone)?;
        rx.await.map_err(|_| CommandError::EngineGone)?
    }

    /// Makes the engine panic, to test what a crash of the engine leaves behind.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn crash_engine_for_test(&self) {
        let _ = self.inner.tx.send(Msg::Crash);
    }

    /// Stops every sidecar in reverse dependency order and waits until the engine ended.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.inner.tx.send(Msg::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
        self.join();
    }

    /// Blocking twin of [`Supervisor::shutdown`] for non-async callers (e.g. an exit hook).
    pub fn shutdown_blocking(&self) {
        let (tx, rx) = oneshot::channel();
        if self.inner.tx.send(Msg::Shutdown(tx)).is_ok() {
            let _ = rx.blocking_recv();
        }
        self.join();
    }

    fn join(&self) {
        if let Some(t) = self.inner.thread.lock().expect("thread lock").take() {
            let _ = t.join();
        }
    }

    /// Waits until `pred` holds for the status, or `timeout` passes; event-driven (no polling).
    pub async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&RuntimeStatus) -> bool,
    ) -> Result<RuntimeStatus, RuntimeStatus> {
        let mut rx = self.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let st = self.status();
            if pred(&st) {
                return Ok(st);
            }
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Err(_) => return Err(self.status()),
                Ok(Err(broadcast::error::RecvError::Closed)) => return Err(self.status()),
                Ok(_) => {}
            }
        }
    }
}
