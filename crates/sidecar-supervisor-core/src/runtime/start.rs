//! The composition root: [`Supervisor::start`] builds every part of a runtime from its options
//! and runs the engine. The synchronous setup happens on the caller's thread (the data dir, the
//! instance lock, a dead instance's leftovers killed, the feed, the logs, the plan), then the
//! engine runs on a thread of its own; a panic of the engine is reported everywhere (feed,
//! status, subscribers) and takes every sidecar down with it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use tokio::sync::{broadcast, mpsc};

use super::engine::{Context, Engine, Setup};
use super::handle::{Inner, Supervisor};
use super::secrets::random_hex;
use super::status::{snapshot, Notification, RuntimeStatus, SharedStatus};
use super::{doors, instance};
use crate::domain::{EventKind, NewEvent, Plan, State};
use crate::feed::{Feed, FeedConfig};
use crate::layout::DataDirLayout;
use crate::logs::{LogConfig, SidecarLog};
use crate::profile::settings::absolute;
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
    /// The app's version, recorded in backups (`Supervisor::backup`).
    pub app_version: String,
    /// The app's build hash (`DESKTOP_RUNTIME_BUILD` when it was built; empty: none): a
    /// sidecar whose identity answer states another is restarted once and warned about.
    pub app_build: String,
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

/// Live log lines buffered for a slow reader before it is told it missed some.
const LIVE_CAPACITY: usize = 1024;

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
        let backups_dir = layout.backups_dir();

        let mut plan = Plan::new(&cfg, crate::platform::STOP_MECHANISM);
        let app_build = Some(opts.app_build.clone()).filter(|b| !b.is_empty());
        for u in &mut plan.units {
            u.machine.app_build = app_build.clone();
        }
        let plan = Arc::new(plan);
        let instance_id = random_hex(16);
        let api_key = random_hex(32);
        let app_version = opts.app_version.clone();
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
        let channels = Arc::new(doors::jsonrpc::Channels::new(n, notify.clone()));
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
        let ctx_plan = plan.clone();
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
            logs: unit_logs.clone(),
            channels: channels.clone(),
            settings: super::engine::Settings::of(&cfg),
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
            plan: ctx_plan,
            logs: unit_logs,
            live,
            resources: Default::default(),
            redactor: redactor_for_inner,
            thread: Mutex::new(Some(thread)),
            api_key,
            channels,
            app_version,
            backup_lock: Default::default(),
            backups_dir,
        });
        Ok((Supervisor { inner }, early))
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
        s.status.health = s.status.compute_health();
    }
    if let Some(path) = status_file {
        if let Ok(bytes) = serde_json::to_vec_pretty(&snapshot(shared)) {
            let _ = crate::atomic_file::write_atomic(path, &bytes);
        }
    }
    let _ = notify.send(Notification::Event(ev));
    let _ = notify.send(Notification::Stopped);
}
