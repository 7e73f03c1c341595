//! The effect side of the engine and its public handle, [`Supervisor`].
//!
//! `Supervisor::start` does the synchronous setup on the caller's thread (instance lock, cleanup
//! of a dead instance's leftovers, feed, logs), then runs the engine on a dedicated thread.
//! Reads (`status`, `events`, `logs`) never wait for the engine; commands go through a channel.

// `Control/Info` ranks gRPC sidecars' identity everywhere; only Windows asks them to stop
// over gRPC (`Control/Shutdown`, the plan's choice).
pub mod doors;
mod engine;
// Until the facade lands: where these were.
pub use doors::control_client as control;
pub use doors::control_socket as ctl;
pub use doors::jsonrpc as channel;
pub use doors::sidecar_grpc as grpc_client;
pub mod instance;
pub mod pg_probe;
pub mod ports;
pub mod probes;
pub mod program;
pub mod resources;
pub mod search_path;
mod settings;
pub mod status;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use rand::RngCore;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::profile::settings::absolute;
use engine::{Context, Engine, Msg, Setup};
pub use settings::{default_data_dir, load_profile, resolve_from_env, resolve_settings};
pub use status::{Budget, LastProbe, Notification, RuntimeStatus, RuntimeWarning, SidecarStatus, WarningKind};

pub use crate::domain::CommandError;
use crate::domain::{EventKind, NewEvent};
use crate::domain::{Plan, State, Verb};
use crate::feed::RuntimeEvent;
use crate::feed::{Feed, FeedConfig};
use crate::layout::DataDirLayout;
use crate::logs::{LiveLine, LiveLines, LogConfig, LogLine, SidecarLog};
use crate::profile::RuntimeConfig;
use crate::redact::Redactor;
use crate::wallclock::now_rfc3339;

/// How to run: the resolved profile plus where bundled sidecars live.
#[derive(Debug, Clone)]
pub struct SupervisorOptions {
    pub config: RuntimeConfig,
    /// Directories searched for bundled sidecars (`<command>-<triple>` or `<command>`).
    pub bundled_dirs: Vec<PathBuf>,
    /// Write `<data_dir>/runtime/status.json` on every change (the headless runner does).
    pub write_status_file: bool,
}

/// A command for [`Supervisor::command`].
#[derive(Debug, Clone)]
pub enum Command {
    Restart(String),
    Stop(String),
    Start(String),
    /// Suspends the sidecar's process tree (state `paused`); `Resume` continues it.
    Pause(String),
    Resume(String),
    /// Makes the engine panic, to test what a crash of the engine leaves behind.
    #[cfg(feature = "testing")]
    CrashEngineForTest,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Instance(#[from] instance::InstanceError),
    #[error("event feed: {0}")]
    Feed(#[from] crate::feed::FeedError),
    #[error("cannot start the engine: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot create the data dir {dir}: {source}")]
    DataDir { dir: String, source: std::io::Error },
}

pub(crate) struct SharedStatus {
    pub status: RuntimeStatus,
    pub spawned_at: Vec<Option<Instant>>,
    /// Why the feed is in its fallback location, if it is (a warning in every snapshot).
    pub feed_fallback: Option<String>,
}

/// A consistent copy of the status with uptimes computed now.
pub(crate) fn snapshot(shared: &RwLock<SharedStatus>) -> RuntimeStatus {
    let s = shared.read().expect("status lock");
    let mut st = s.status.clone();
    for (row, t) in st.sidecars.iter_mut().zip(&s.spawned_at) {
        row.uptime_ms = t.map(|t| t.elapsed().as_millis() as u64);
    }
    st.warnings = status::warnings(&st.sidecars, s.feed_fallback.as_deref());
    st.health = st.compute_health();
    st
}

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

/// Live log lines buffered for a slow reader before it is told it missed some.
const LIVE_CAPACITY: usize = 1024;

struct Inner {
    tx: mpsc::UnboundedSender<Msg>,
    shared: Arc<RwLock<SharedStatus>>,
    feed: Feed,
    notify: broadcast::Sender<Notification>,
    logs: HashMap<String, SidecarLog>,
    live: LiveLines,
    resources: resources::Resources,
    redactor: Redactor,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    api_key: String,
    channels: Arc<channel::Channels>,
    /// Per unit (plan order): its name and whether its stdio is a JSON-RPC channel.
    units: Vec<(String, bool)>,
}

/// Handle to a running engine. Cheap to clone.
#[derive(Clone)]
pub struct Supervisor {
    inner: Arc<Inner>,
}

impl Supervisor {
    pub fn start(opts: SupervisorOptions) -> Result<Supervisor, StartError> {
        Self::start_subscribed(opts).map(|(sup, _)| sup)
    }

    /// [`Supervisor::start`] plus a subscription made before the engine runs, so it sees every
    /// notification from the first state change on ([`Supervisor::subscribe`] after `start`
    /// can miss the early ones).
    pub fn start_subscribed(
        opts: SupervisorOptions,
    ) -> Result<(Supervisor, broadcast::Receiver<Notification>), StartError> {
        let mut cfg = opts.config;
        // Sidecars run with their own cwd: every path we hand out must be absolute.
        cfg.profile_path = absolute(&cfg.profile_path);
        cfg.data_dir = absolute(&cfg.data_dir);
        let bundled_dirs: Vec<PathBuf> = opts.bundled_dirs.iter().map(|d| absolute(d)).collect();
        // Created here rather than as a side effect of the lock file, so that a data dir made
        // by the runtime is traversable (0711) for sidecars that drop to their `user`.
        crate::platform::create_dir_traversable(&cfg.data_dir)
            .map_err(|source| StartError::DataDir { dir: cfg.data_dir.display().to_string(), source })?;
        let layout = DataDirLayout::new(&cfg.data_dir);
        let lock = instance::acquire_lock(&layout)?;
        crate::platform::raise_fd_limit();
        let status_file = opts.write_status_file.then(|| layout.status_file());

        let plan = Arc::new(Plan::new(&cfg, crate::platform::STOP_MECHANISM));
        let instance_id = random_hex(16);
        let api_key = random_hex(32);
        let passwords: HashMap<String, String> = plan.passwords.iter().map(|s| (s.clone(), random_hex(24))).collect();
        let redactor = Redactor::new(
            std::iter::once(api_key.clone()).chain(passwords.values().cloned()).chain(cfg.backend_api_key.clone()),
        );
        let mut feed_cfg = FeedConfig::for_data_dir(&cfg.data_dir, &cfg.app_name);
        feed_cfg.max_events = plan.max_events;
        let feed = Feed::open(feed_cfg, redactor.clone())?;

        // A dead earlier instance's leftovers go before anything of ours starts.
        if let Some(old) = instance::read_record(&layout) {
            for k in instance::kill_leftovers(&old) {
                feed.push(
                    NewEvent::new(
                        EventKind::OrphanKilled,
                        format!(
                            "killed leftover `{}` (pid {}) of dead instance {}: {}",
                            k.name, k.pid, old.instance_id, k.how
                        ),
                    )
                    .sidecar(k.name.clone())
                    .pid(Some(k.pid)),
                );
            }
        }

        let log_cfg = LogConfig::new(layout.logs_dir());
        let (live, _) = broadcast::channel(LIVE_CAPACITY);
        let unit_logs: Vec<SidecarLog> = plan
            .units
            .iter()
            .map(|u| SidecarLog::open(&log_cfg, &u.name, redactor.clone()).with_live(&u.name, live.clone()))
            .collect();
        let logs: HashMap<String, SidecarLog> =
            plan.units.iter().zip(&unit_logs).map(|(u, l)| (u.name.clone(), l.clone())).collect();
        let users = plan
            .units
            .iter()
            .map(|u| u.run.user.as_deref().map(crate::platform::lookup_user).transpose().map(Option::flatten))
            .collect();
        let started_at = now_rfc3339();
        let status = RuntimeStatus {
            mode: cfg.mode,
            instance_id: instance_id.clone(),
            profile_path: cfg.profile_path.display().to_string(),
            data_dir: cfg.data_dir.display().to_string(),
            feed_path: feed.path().display().to_string(),
            backend_url: cfg.backend_url.as_deref().map(|u| redactor.redact(u).into_owned()),
            auto_restart: cfg.auto_restart,
            pid: std::process::id(),
            started_at: started_at.clone(),
            stopped: false,
            error: None,
            warnings: Vec::new(),
            health: crate::domain::StackHealth::unknown(),
            sidecars: Vec::new(),
        };
        let n = plan.len();
        let shared = Arc::new(RwLock::new(SharedStatus {
            status,
            spawned_at: vec![None; n],
            feed_fallback: feed.fallback_reason(),
        }));
        let (notify, early) = broadcast::channel(4096);
        let channels = Arc::new(channel::Channels::new(n, notify.clone()));
        let units: Vec<(String, bool)> = plan.units.iter().map(|u| (u.name.clone(), u.run.jsonrpc())).collect();
        let (tx, rx) = mpsc::unbounded_channel();
        feed.push(NewEvent::new(
            EventKind::RuntimeStarted,
            format!(
                "instance {instance_id} started in {} mode with profile {} (pid {})",
                cfg.mode.as_str(),
                cfg.profile_path.display(),
                std::process::id()
            ),
        ));

        let record_base = instance::InstanceRecord {
            instance_id: instance_id.clone(),
            pid: std::process::id(),
            start_ticks: crate::platform::start_time(std::process::id()),
            started_at,
            children: Vec::new(),
        };
        // Claim the record before anything else is written: whoever reads status.json from now
        // on finds this instance (and the dead one's record, already cleaned up, is replaced).
        let record = serde_json::to_vec_pretty(&record_base).expect("record serializes");
        crate::atomic_file::write_atomic(&layout.record_file(), &record)?;
        let redactor_for_inner = redactor.clone();
        let ctx = Context {
            profile_dir: cfg.profile_path.parent().map(Path::to_path_buf).unwrap_or_default(),
            plan,
            layout,
            instance_id,
            api_key: api_key.clone(),
            passwords,
            bundled_dirs,
            triple: crate::platform::host_triple(),
            epoch: Instant::now(),
            redactor,
            users,
            logs: unit_logs,
            channels: channels.clone(),
            cfg,
        };
        let setup = Setup {
            ctx,
            shared: shared.clone(),
            notify: notify.clone(),
            feed: feed.clone(),
            status_file: status_file.clone(),
            record_base,
            tx: tx.clone(),
            rx,
        };
        let mut engine = Engine::new(setup);
        shared.write().expect("status lock").status.sidecars = engine.rows();
        let (crash_feed, crash_notify, crash_shared) = (feed.clone(), notify.clone(), shared.clone());
        let thread = std::thread::Builder::new().name("sidecar-engine".into()).spawn(move || {
            let _lock = lock; // held for the engine's whole life
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
                match crate::platform::DeathWatch::start() {
                    Ok(g) => engine.set_death_watch(g),
                    Err(e) => {
                        tracing::warn!("cannot start the guardian ({e}); grandchildren may outlive a killed runtime")
                    }
                }
                rt.block_on(engine.run());
            }));
            if let Err(panic) = run {
                // Unwinding dropped the engine: lifelines closed, the guardian killed every
                // sidecar group, and this thread's end fires their PDEATHSIG. Say so, everywhere.
                engine_crashed(&crash_feed, &crash_notify, &crash_shared, status_file.as_deref(), panic_text(&panic));
            }
        })?;

        let inner = Arc::new(Inner {
            tx,
            shared,
            feed,
            notify,
            logs,
            live,
            resources: Default::default(),
            redactor: redactor_for_inner,
            thread: Mutex::new(Some(thread)),
            api_key,
            channels,
            units,
        });
        Ok((Supervisor { inner }, early))
    }

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

    /// Last `n` log lines of a sidecar instance (`worker#1`) or of every replica (`worker`).
    pub fn logs(&self, name: &str, n: usize) -> Result<Vec<LogLine>, CommandError> {
        if let Some(l) = self.inner.logs.get(name) {
            return Ok(l.tail(n));
        }
        let prefix = format!("{name}#");
        let mut lines: Vec<LogLine> =
            self.inner.logs.iter().filter(|(k, _)| k.starts_with(&prefix)).flat_map(|(_, l)| l.tail(n)).collect();
        if lines.is_empty() && !self.inner.logs.keys().any(|k| k.starts_with(&prefix)) {
            let mut known: Vec<String> = self.inner.logs.keys().cloned().collect();
            known.sort();
            return Err(CommandError::UnknownSidecar { sidecar: name.into(), known });
        }
        lines.sort_by(|a, b| a.at.cmp(&b.at));
        let skip = lines.len().saturating_sub(n);
        Ok(lines.split_off(skip))
    }

    /// The logs of `name`: the instance's own, or every replica's for a replicated sidecar's
    /// base name; unknown names get the error listing the known ones.
    fn logs_of(&self, name: &str) -> Result<Vec<(&String, &SidecarLog)>, CommandError> {
        if let Some((k, l)) = self.inner.logs.get_key_value(name) {
            return Ok(vec![(k, l)]);
        }
        let prefix = format!("{name}#");
        let mut found: Vec<_> = self.inner.logs.iter().filter(|(k, _)| k.starts_with(&prefix)).collect();
        if found.is_empty() {
            let mut known: Vec<String> = self.inner.logs.keys().cloned().collect();
            known.sort();
            return Err(CommandError::UnknownSidecar { sidecar: name.into(), known });
        }
        found.sort_by(|a, b| a.0.cmp(b.0));
        Ok(found)
    }

    /// What this run redacts (its API key, passwords, secret shapes), for text made outside the
    /// engine (the diagnostics bundle).
    pub fn redactor(&self) -> Redactor {
        self.inner.redactor.clone()
    }

    /// Every sidecar instance's name, in plan order.
    pub fn instance_names(&self) -> Vec<String> {
        self.inner.units.iter().map(|(n, _)| n.clone()).collect()
    }

    /// Lines pushed by watched logs ([`Supervisor::watch_log`]), as they come.
    pub fn subscribe_live_lines(&self) -> broadcast::Receiver<LiveLine> {
        self.inner.live.subscribe()
    }

    /// Sends the lines `name` (an instance, or every replica of a base name) prints during the
    /// next `lease` to [`Supervisor::subscribe_live_lines`]; a watcher renews it while it looks.
    pub fn watch_log(&self, name: &str, lease: Duration) -> Result<(), CommandError> {
        for (_, l) in self.logs_of(name)? {
            l.watch(lease);
        }
        Ok(())
    }

    /// The whole rotated log of a sidecar instance as it is now, oldest first (open files: a
    /// rotation while it is read changes nothing in it).
    pub fn log_snapshot(&self, name: &str) -> Result<crate::log_files::LogSnapshot, LogReadError> {
        let logs = self.logs_of(name)?;
        let [(_, log)] = logs.as_slice() else {
            let replicas = logs.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", ");
            return Err(LogReadError::Replicated { sidecar: name.into(), replicas });
        };
        crate::log_files::LogSnapshot::open(&log.files())
            .map_err(|source| LogReadError::Io { sidecar: name.into(), source })
    }

    /// The log file of a sidecar instance, with everything captured so far written to it.
    pub fn log_path(&self, name: &str) -> Option<PathBuf> {
        self.inner.logs.get(name).map(|l| {
            l.flush();
            l.path()
        })
    }

    pub async fn restart(&self, name: &str) -> Result<(), CommandError> {
        self.command(Command::Restart(name.into())).await
    }
    pub async fn stop(&self, name: &str) -> Result<(), CommandError> {
        self.command(Command::Stop(name.into())).await
    }
    pub async fn start_sidecar(&self, name: &str) -> Result<(), CommandError> {
        self.command(Command::Start(name.into())).await
    }
    /// Calls `method` of `name`'s JSON-RPC channel (`"stdio": "jsonrpc"`) and waits up to
    /// `timeout` for the result. Never hangs: a timeout, the end of the process (a crash or a
    /// restart mid-call) and the sidecar's own error each come back as a [`channel::RequestError`].
    pub async fn request(
        &self,
        name: &str,
        method: &str,
        params: Option<serde_json::Value>,
        timeout: Duration,
    ) -> Result<serde_json::Value, channel::RequestError> {
        use channel::RequestError;
        if method.is_empty() {
            return Err(RequestError::InvalidArgument { message: "method: empty".into() });
        }
        let timeout = channel::timeout_of(i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX))?;
        let unit = self.unit(name)?;
        if !self.inner.units[unit].1 {
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
    pub fn messages(&self, name: &str, limit: usize) -> Result<Vec<channel::SidecarMessage>, CommandError> {
        Ok(self.inner.channels.messages(self.unit(name)?, limit))
    }

    pub(crate) fn unit(&self, name: &str) -> Result<usize, CommandError> {
        self.inner.units.iter().position(|(n, _)| n == name).ok_or_else(|| CommandError::UnknownSidecar {
            sidecar: name.into(),
            known: self.inner.units.iter().map(|(n, _)| n.clone()).collect(),
        })
    }

    pub async fn pause(&self, name: &str) -> Result<(), CommandError> {
        self.command(Command::Pause(name.into())).await
    }
    pub async fn resume(&self, name: &str) -> Result<(), CommandError> {
        self.command(Command::Resume(name.into())).await
    }

    pub async fn command(&self, cmd: Command) -> Result<(), CommandError> {
        let (verb, name) = match cmd {
            Command::Restart(n) => (Verb::Restart, n),
            Command::Stop(n) => (Verb::Stop, n),
            Command::Start(n) => (Verb::Start, n),
            Command::Pause(n) => (Verb::Pause, n),
            Command::Resume(n) => (Verb::Resume, n),
            #[cfg(feature = "testing")]
            Command::CrashEngineForTest => {
                self.inner.tx.send(Msg::Crash).map_err(|_| CommandError::EngineGone)?;
                return Err(CommandError::EngineGone);
            }
        };
        let (tx, rx) = oneshot::channel();
        self.inner.tx.send(Msg::Command(verb, name, tx)).map_err(|_| CommandError::EngineGone)?;
        rx.await.map_err(|_| CommandError::EngineGone)?
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

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default()
}

fn engine_crashed(
    feed: &Feed,
    notify: &broadcast::Sender<Notification>,
    shared: &RwLock<SharedStatus>,
    status_file: Option<&Path>,
    why: String,
) {
    let msg = format!("the engine crashed ({why}); every sidecar was killed with it");
    tracing::error!("{msg}");
    let ev = feed.push(NewEvent::new(EventKind::RuntimeStopped, msg.clone()));
    feed.flush();
    if let Ok(mut s) = shared.write() {
        s.status.stopped = true;
        s.status.error = Some(msg);
        for row in &mut s.status.sidecars {
            row.pid = None;
            if row.state.has_process() {
                row.state = State::Failed;
            }
        }
    }
    if let Some(path) = status_file {
        if let Ok(bytes) = serde_json::to_vec_pretty(&snapshot(shared)) {
            let _ = crate::atomic_file::write_atomic(path, &bytes);
        }
    }
    let _ = notify.send(Notification::Event(ev));
    let _ = notify.send(Notification::Stopped);
}

/// `bytes` random bytes as hex (letters and digits only, so it needs no quoting in a URL, SQL
/// or a shell).
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}
