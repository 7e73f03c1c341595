//! Tauri 2 plugin `sidecar-supervisor`: runs the app's local services with the engine of
//! `sidecar-supervisor-core` and exposes them to the web UI.
//!
//! - [`init`] / [`Builder`] register it; [`SidecarSupervisorExt`] gives Rust code the running
//!   [`SidecarSupervisor`] (status, the launch's API key for the UI, commands).
//! - Commands (listed once in `command_list.rs`, which `build.rs` makes the permissions from):
//!   `desktop_runtime_status`, `desktop_runtime_diagnostics`, `logs` (read-only, in the default
//!   permission set); one command per verb of the core's [`Verb`] list — `restart`, `stop`,
//!   `start`, `pause`, `resume` — granted explicitly; `sidecar_request` and `sidecar_messages`,
//!   the JSON-RPC channel of `"stdio": "jsonrpc"` sidecars (granted with
//!   `sidecar-supervisor:channel`). Errors reach TypeScript as the core's one error shape
//!   (`{kind, message, sidecar?, code?, data?}`, `error.rs`), the same the control socket gives.
//! - Pushes: every status change, feed event and new health of the stack is emitted to the
//!   webview ([`EVENT_SIDECAR`], [`EVENT_FEED`], [`EVENT_HEALTH`]), so the UI never polls; [`EVENT_RESYNC`] asks it to re-read the status when
//!   it fell behind.
//! - The engine keeps spawning (process groups, death signal, lifeline); `tauri-plugin-shell`'s
//!   spawn has none of them. Sidecars stop gracefully on `RunEvent::Exit`, which also follows
//!   the last window closing.
//! - The profile is found like everywhere else: `RUNTIME_PROFILE_PATH`, else the one the app
//!   names ([`Builder::profile`]), else `runtime-profile.json` among the app's resources.
//!   Bundled sidecars resolve in the dirs the app adds ([`Builder::bundled_dir`]), next to the
//!   app executable (Tauri `externalBin`, and cargo's `target/<profile>` in development) and in
//!   the app's resource dir, where a profile's `{"bundled": "postgres/bin"}` entries point.

#[cfg(all(test, feature = "ts"))]
mod bindings;
#[macro_use]
mod command_list;
mod commands;
mod error;
mod live;

use std::path::PathBuf;

use serde::Serialize;
use sidecar_supervisor_core::profile::Overrides;
use sidecar_supervisor_core::RuntimeEvent;
pub use sidecar_supervisor_core::SidecarChannel;
#[cfg(doc)]
use sidecar_supervisor_core::Verb;
use sidecar_supervisor_core::{Notification, RuntimeStatus, Supervisor, SupervisorOptions};
use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Emitter, Manager, RunEvent, Runtime};

pub use error::{Error, ErrorKind, Result};
pub use live::{LiveBatch, EVENT_LOG, EVENT_RESOURCES, WATCH_LEASE};

/// A sidecar's status row changed (payload: the row).
pub const EVENT_SIDECAR: &str = "sidecar-supervisor://sidecar";
/// A new runtime-feed event (payload: the event).
pub const EVENT_FEED: &str = "sidecar-supervisor://event";
/// Notifications from `"stdio": "jsonrpc"` sidecars (payload: `SidecarMessage[]`, in order:
/// those that arrived together come in one push).
pub const EVENT_MESSAGE: &str = "sidecar-supervisor://message";
/// Updates were dropped because the UI fell behind: re-read the status (no payload).
pub const EVENT_RESYNC: &str = "sidecar-supervisor://resync";
/// The engine stopped every sidecar (app exit).
pub const EVENT_STOPPED: &str = "sidecar-supervisor://stopped";
/// The stack's health changed (payload: `StackHealth`).
pub const EVENT_HEALTH: &str = "sidecar-supervisor://health";

/// The running engine, or why it did not start (the app still opens and shows the reason).
pub struct SidecarSupervisor {
    inner: std::result::Result<Supervisor, String>,
    /// gRPC channels handed out, one per sidecar (they follow it across restarts).
    grpc: std::sync::Mutex<std::collections::HashMap<String, SidecarChannel>>,
}

impl SidecarSupervisor {
    /// The engine, or [`Error::NotRunning`].
    pub fn supervisor(&self) -> Result<&Supervisor> {
        self.inner.as_ref().map_err(|e| Error::NotRunning(e.clone()))
    }

    /// This launch's API key, to hand to the UI privately (never logged or emitted).
    pub fn api_key(&self) -> Option<&str> {
        self.inner.as_ref().ok().map(|s| s.api_key())
    }

    pub fn status(&self) -> Result<RuntimeStatus> {
        Ok(self.supervisor()?.status())
    }

    /// A tonic gRPC channel to sidecar `name` for app code: every call carries the launch's API
    /// key and a loopback authority, and the channel follows the sidecar to its new port after
    /// a restart (a call made while it is down waits for it: give calls a deadline). Cheap to
    /// clone; one per sidecar is kept and handed out again. E.g.
    /// `JobsClient::new(app.sidecar_supervisor().grpc_channel("backend")?)`.
    pub fn grpc_channel(&self, name: &str) -> Result<SidecarChannel> {
        let mut all = self.grpc.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = all.get(name) {
            return Ok(c.clone());
        }
        // Its worker and watcher run on the app's async runtime, whoever calls.
        let _rt = tauri::async_runtime::handle().inner().enter();
        let c = self.supervisor()?.grpc_channel(name)?;
        all.insert(name.to_string(), c.clone());
        Ok(c)
    }
}

/// Access to the plugin's state from anything that has the app (`app.sidecar_supervisor()`).
pub trait SidecarSupervisorExt<R: Runtime> {
    fn sidecar_supervisor(&self) -> &SidecarSupervisor;
}

impl<R: Runtime, T: Manager<R>> SidecarSupervisorExt<R> for T {
    fn sidecar_supervisor(&self) -> &SidecarSupervisor {
        self.state::<SidecarSupervisor>().inner()
    }
}

/// The handler of every command of `command_list.rs`.
macro_rules! handler {
    (verbs: [$($v:ident),*], commands: [$($c:ident),*], live: [$($l:ident),*] $(,)?) => {
        tauri::generate_handler![$(commands::$v,)* $(commands::$c,)* $(live::$l,)*]
    };
}

/// The plugin with defaults: the profile from the environment or the app's resources.
pub fn init<R: Runtime>() -> TauriPlugin<R> {
    Builder::default().build()
}

/// Plugin options.
#[derive(Debug, Clone, Default)]
pub struct Builder {
    profile: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    app_name: Option<String>,
    bundled_dirs: Vec<PathBuf>,
    /// `Some(false)`: leave SIGINT/SIGTERM alone (default: they quit the app gracefully).
    stop_on_signals: Option<bool>,
}

impl Builder {
    /// Whether SIGINT and SIGTERM (Ctrl-C in `tauri dev`, a session ending) quit the app through
    /// `RunEvent::Exit`, so the sidecars stop gracefully; a second signal exits at once.
    /// Default: yes. Turn it off if the app handles these signals itself.
    pub fn stop_on_signals(mut self, yes: bool) -> Self {
        self.stop_on_signals = Some(yes);
        self
    }

    /// The profile to use when `RUNTIME_PROFILE_PATH` is not set (default: the
    /// `runtime-profile.json` resource).
    pub fn profile(mut self, path: impl Into<PathBuf>) -> Self {
        self.profile = Some(path.into());
        self
    }

    /// Data dir when neither `RUNTIME_DATA_DIR` nor the profile sets one (default: the OS
    /// app-data dir of the app's name).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Name used for the default data dir (default: the app's package name).
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.app_name = Some(name.into());
        self
    }

    /// Another directory holding bundled sidecars (`<name>-<target triple>`), searched before
    /// the executable's own directory.
    pub fn bundled_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.bundled_dirs.push(dir.into());
        self
    }

    pub fn build<R: Runtime>(self) -> TauriPlugin<R> {
        tauri::plugin::Builder::new("sidecar-supervisor")
            .invoke_handler(with_commands!(handler))
            .setup(move |app, _api| {
                let state = self.start(app);
                app.manage(state);
                if self.stop_on_signals != Some(false) {
                    exit_on_signals(app.clone());
                }
                Ok(())
            })
            .on_event(|app, event| {
                if let RunEvent::Exit = event {
                    // Graceful stop of every sidecar, in reverse dependency order, before the
                    // process ends (the last window closing ends here too).
                    if let Ok(sup) = app.sidecar_supervisor().supervisor() {
                        stop_within(sup.clone(), EXIT_WAIT);
                    }
                }
            })
            .build()
    }

    fn start<R: Runtime>(&self, app: &AppHandle<R>) -> SidecarSupervisor {
        let app_name = self.app_name.clone().unwrap_or_else(|| app.package_info().name.clone());
        let default_profile = self
            .profile
            .clone()
            .or_else(|| app.path().resource_dir().ok().map(|d| d.join("runtime-profile.json")))
            .filter(|p| p.is_file());
        let overrides = Overrides {
            data_dir: self.data_dir.clone(),
            default_data_dir: app.path().app_data_dir().ok(),
            ..Default::default()
        };
        let config = match sidecar_supervisor_core::resolve_from_env(&overrides, default_profile.as_deref(), &app_name)
        {
            Ok(c) => c,
            Err(e) => return SidecarSupervisor { inner: Err(e.to_string()), grpc: Default::default() },
        };
        // Where an installed app's files are: the sidecars beside the executable (Tauri's
        // `externalBin`), what it ships as resources (e.g. `postgres/bin`, found through a
        // `{"bundled": …}` search path entry) in the resource dir — the same dir on Windows and
        // in development, `Contents/Resources` on macOS, `/usr/lib/<product>` on Linux.
        let mut bundled_dirs = self.bundled_dirs.clone();
        let exe_dir = std::env::current_exe().ok().and_then(|e| e.parent().map(PathBuf::from));
        for dir in exe_dir.into_iter().chain(app.path().resource_dir().ok()) {
            if !bundled_dirs.contains(&dir) {
                bundled_dirs.push(dir);
            }
        }
        let app_version = app.package_info().version.to_string();
        let started = Supervisor::start_subscribed(SupervisorOptions {
            config,
            bundled_dirs,
            write_status_file: true,
            app_version,
            // The installer's build stamps the app and every sidecar with one build hash.
            app_build: option_env!("DESKTOP_RUNTIME_BUILD").unwrap_or_default().to_string(),
        });
        match started {
            Ok((sup, rx)) => {
                forward(app.clone(), rx);
                live::forward_live(app.clone(), sup.subscribe_live_lines());
                SidecarSupervisor { inner: Ok(sup), grpc: Default::default() }
            }
            Err(e) => SidecarSupervisor { inner: Err(e.to_string()), grpc: Default::default() },
        }
    }
}

/// The longest an exiting app waits for the graceful stop (each sidecar's stop timeout, in
/// reverse dependency order, fits well inside it). Past it the app exits anyway, and the
/// lifeline and the guardian take the sidecars down with it.
const EXIT_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

fn stop_within(sup: Supervisor, limit: std::time::Duration) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        sup.shutdown_blocking();
        let _ = tx.send(());
    });
    if rx.recv_timeout(limit).is_err() {
        eprintln!("sidecar-supervisor: the graceful stop took over {} s; exiting anyway", limit.as_secs());
    }
}

/// SIGINT/SIGTERM end the app the normal way (`RunEvent::Exit`: sidecars stop gracefully)
/// instead of killing it outright (then only the lifeline and the guardian would stop them).
fn exit_on_signals<R: Runtime>(app: AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        let installed = stop_signals::on_stop_signals(
            move |_| app.exit(0),
            || eprintln!("sidecar-supervisor: stop signal again: exiting without waiting for the sidecars"),
        );
        if let Err(e) = installed {
            eprintln!(
                "sidecar-supervisor: cannot watch SIGINT/SIGTERM ({e}); they end the app without stopping sidecars"
            );
        }
    });
}

/// Most sidecar messages one push carries, and how long a push waits for more after the first.
const MESSAGE_BATCH: usize = 256;
const MESSAGE_WINDOW: std::time::Duration = std::time::Duration::from_millis(4);

/// Pushes the engine's notifications to the webview, in order. Sidecar messages that arrive
/// within a few milliseconds of each other go in one push: each push is a script run in the
/// webview, and thousands a second would queue up there (measured in the e2e: emit → visible
/// p99 142 ms with one push per message, 75 ms like this).
fn forward<R: Runtime>(app: AppHandle<R>, mut rx: tokio::sync::broadcast::Receiver<Notification>) {
    use tokio::sync::broadcast::error::RecvError;
    tauri::async_runtime::spawn(async move {
        let mut next: Option<std::result::Result<Notification, RecvError>> = None;
        loop {
            let got = match next.take() {
                Some(n) => n,
                None => rx.recv().await,
            };
            let sent = match got {
                Ok(Notification::Sidecar(row)) => app.emit(EVENT_SIDECAR, row),
                Ok(Notification::Event(ev)) => app.emit(EVENT_FEED, ev),
                Ok(Notification::Message(m)) => {
                    let mut batch = vec![m];
                    let until = tokio::time::Instant::now() + MESSAGE_WINDOW;
                    while batch.len() < MESSAGE_BATCH {
                        match tokio::time::timeout_at(until, rx.recv()).await {
                            Ok(Ok(Notification::Message(m))) => batch.push(m),
                            Ok(other) => {
                                next = Some(other);
                                break;
                            }
                            Err(_) => break, // the window closed
                        }
                    }
                    app.emit(EVENT_MESSAGE, batch)
                }
                Ok(Notification::Resources(sample)) => app.emit(live::EVENT_RESOURCES, sample),
                Ok(Notification::Health(health)) => app.emit(EVENT_HEALTH, health),
                Ok(Notification::Stopped) => {
                    let _ = app.emit(EVENT_STOPPED, ());
                    return;
                }
                Err(RecvError::Lagged(_)) => app.emit(EVENT_RESYNC, ()),
                Err(RecvError::Closed) => {
                    let _ = app.emit(EVENT_STOPPED, ());
                    return;
                }
            };
            if let Err(e) = sent {
                // One failed emit (a webview going away) must not end the updates for the rest.
                eprintln!("sidecar-supervisor: could not push an update to the webview: {e}");
            }
        }
    });
}

/// `desktop_runtime_diagnostics`: the rolling feed and where it is persisted.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Diagnostics {
    pub feed_path: String,
    pub events: Vec<RuntimeEvent>,
}

#[cfg(test)]
mod tests {
    /// The verbs of `command_list.rs`, in order.
    macro_rules! verbs {
        (verbs: [$($v:ident),*], $($rest:tt)*) => {
            [$(stringify!($v)),*]
        };
    }

    /// One command per verb of the core, no more, no less: a verb added to the core and not
    /// here (or the other way round) fails here.
    #[test]
    fn the_verb_commands_are_the_cores_verbs() {
        let core: Vec<&str> = sidecar_supervisor_core::Verb::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(with_commands!(verbs).to_vec(), core);
    }
}
