//! The status shape shared by `desktop_runtime_status`, the runner's `status.json` and the
//! `status` command. Field names are a contract with the UI.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use std::sync::RwLock;
use std::time::Instant;

use crate::domain::{Cause, StackHealth, State};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RuntimeStatus {
    pub mode: crate::profile::Mode,
    pub instance_id: String,
    pub profile_path: String,
    pub data_dir: String,
    pub feed_path: String,
    pub backend_url: Option<String>,
    /// `false` when restarts are off globally (`--no-auto-restart` and its twins).
    pub auto_restart: bool,
    /// Pid of the process running the engine.
    pub pid: u32,
    pub started_at: String,
    /// `true` once every sidecar has stopped (the runner wrote its last status).
    pub stopped: bool,
    /// Set when the engine itself failed (it then stopped, and its sidecars with it).
    #[serde(default)]
    pub error: Option<String>,
    /// What a person should know beyond each row's state (the feed's fallback, identity,
    /// causes, log files).
    #[serde(default)]
    pub warnings: Vec<RuntimeWarning>,
    /// The stack's health: what the tray, the window's header and the dialog show.
    #[serde(default = "StackHealth::unknown")]
    pub health: StackHealth,
    pub sidecars: Vec<SidecarStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SidecarStatus {
    /// Instance name: the sidecar name, or `name#n` for replicas.
    pub name: String,
    #[schemars(with = "Option<String>")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub role: Option<crate::profile::Role>,
    pub state: State,
    pub pid: Option<u32>,
    pub port: Option<u16>,
    pub url: Option<String>,
    pub restarts_in_window: u32,
    pub budget: Budget,
    pub auto_restart: bool,
    pub last_exit: Option<String>,
    pub last_error: Option<String>,
    /// What `last_error` is about, as a type readers decide on (a fixed port taken, a foreign
    /// server on its port, …).
    #[serde(default)]
    pub cause: Option<Cause>,
    /// Milliseconds since the current process was spawned.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub uptime_ms: Option<u64>,
    pub last_probe: Option<LastProbe>,
    /// Whose server answers on its port, as the current process's last identity check found
    /// (`proven`, `echoed`, `unverified`, `foreign`); `null` until checked, or when its probes
    /// do not check.
    #[serde(default)]
    pub identity: Option<crate::domain::Identity>,
    /// The build the current process's identity answer states (version, build hash) and whether
    /// it is the app's; `null` when it states none.
    #[serde(default)]
    pub build: Option<Box<crate::domain::build::SidecarBuild>>,
    pub depends_on: Vec<String>,
    /// CPU and memory of its process tree, while someone watches (the dialog is open, or
    /// `status` asked): `null` otherwise.
    #[serde(default)]
    pub resources: Option<crate::runtime::resources::ResourceUsage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Budget {
    pub max: u32,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub window_secs: u64,
    pub remaining: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LastProbe {
    pub ok: bool,
    pub latency_ms: f64,
    pub at: String,
    pub detail: String,
}

/// A notification a sidecar sent (JSON-RPC: a `method` without an `id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SidecarMessage {
    /// The instance that sent it (`worker#2` for replicas).
    pub sidecar: String,
    /// Increases by one per message of this runtime (all sidecars).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seq: u64,
    /// When the runtime read it (RFC 3339, UTC).
    pub at: String,
    pub method: String,
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub params: serde_json::Value,
}

/// Pushed to subscribers (UI, runner) so nobody polls.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Notification {
    /// A sidecar's status changed (state, pid, port, probe...).
    Sidecar(SidecarStatus),
    /// A new feed event.
    Event(crate::feed::RuntimeEvent),
    /// A notification from a `"stdio": "jsonrpc"` sidecar.
    Message(SidecarMessage),
    /// A resources sample of every sidecar with a process (only while watched).
    Resources(Vec<crate::runtime::resources::SidecarResources>),
    /// The stack's health changed.
    Health(StackHealth),
    /// The engine stopped everything and ended.
    Stopped,
}

/// Something a person should know that is not an error of one sidecar's state: shown in the
/// dialog and by the runner's `status`, never only in a log file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RuntimeWarning {
    pub kind: WarningKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub sidecar: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// The feed is kept in the home-dir fallback: the data dir's runtime dir is not writable.
    FeedFallback,
    /// The sidecar answers without proving it is this launch's (`unverified` or `echoed`).
    NoIdentityProof,
    /// A fixed port of the profile is taken by another process.
    FixedPortTaken,
    /// A sidecar's log file cannot be written (its lines are still kept in memory).
    LogNotWritable,
    /// A sidecar's process is another build than the app's (an old process or binary).
    BuildMismatch,
}

/// The warnings a status shows: the runtime-wide ones given, then one per sidecar that answers
/// without proof of identity or whose fixed port is taken.
pub fn warnings(rows: &[SidecarStatus], feed_fallback: Option<&str>) -> Vec<RuntimeWarning> {
    use crate::domain::Identity;
    let mut out: Vec<RuntimeWarning> = feed_fallback
        .map(|m| RuntimeWarning { kind: WarningKind::FeedFallback, sidecar: None, message: m.to_string() })
        .into_iter()
        .collect();
    for r in rows {
        let why = match r.identity {
            Some(Identity::Unverified) => {
                Some("it serves no /runtime/info: any program answering on its port would be taken for it")
            }
            Some(Identity::Echoed) => Some("its /runtime/info names this launch but does not prove the launch key"),
            _ => None,
        };
        if let Some(why) = why {
            out.push(RuntimeWarning {
                kind: WarningKind::NoIdentityProof,
                sidecar: Some(r.name.clone()),
                message: format!("`{}` is not proven to be this launch's: {why}", r.name),
            });
        }
        if let Some(b) = r.build.as_ref().filter(|b| b.matches == Some(false)) {
            out.push(RuntimeWarning {
                kind: WarningKind::BuildMismatch,
                sidecar: Some(r.name.clone()),
                message: format!(
                    "`{}` runs build {} (version {}), not the app's: an old process or an old binary left behind",
                    r.name, b.build, b.version
                ),
            });
        }
        if r.cause == Some(Cause::FixedPortTaken) {
            out.push(RuntimeWarning {
                kind: WarningKind::FixedPortTaken,
                sidecar: Some(r.name.clone()),
                message: format!("`{}`: {}", r.name, r.last_error.as_deref().unwrap_or("its fixed port is taken")),
            });
        }
    }
    out
}

impl RuntimeStatus {
    /// The stack's health from its rows (or the engine's error).
    pub fn compute_health(&self) -> StackHealth {
        if self.error.is_some() {
            return StackHealth::not_running("the runtime's engine stopped");
        }
        StackHealth::of(self.sidecars.iter().map(|r| (r.name.as_str(), r.state)))
    }
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
    st.warnings = warnings(&st.sidecars, s.feed_fallback.as_deref());
    st
}
