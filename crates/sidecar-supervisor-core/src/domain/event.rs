//! What happened, in the domain's words: an [`EventKind`] and a [`NewEvent`], decided by the
//! machines and the orchestrator. The feed stamps each with its sequence number and time and
//! keeps it as a [`RuntimeEvent`](crate::feed::RuntimeEvent), the wire format of the persisted
//! feed, the runner's `events` command and the plugin's pushes: its field names are a contract.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::state::State;

/// What happened. Serialized in `snake_case` (`budget_exhausted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The engine started with a profile (one per launch).
    RuntimeStarted,
    /// The engine stopped every sidecar and ended.
    RuntimeStopped,
    /// A launch began (its port, program and prepare steps come first), or a runtime-less row
    /// began to be probed (a remote backend).
    Starting,
    /// It waits for its dependencies to be up.
    Waiting,
    /// Not run in this mode (`remote_slim` runs no database).
    Skipped,
    /// A process was spawned.
    Spawned,
    /// The readiness probe passed for the first time after a spawn.
    Ready,
    /// A ready sidecar's readiness probe failed.
    Unhealthy,
    /// An unhealthy sidecar's probe passed again.
    Recovered,
    /// Liveness failed N times in a row; the process is killed and restarted.
    LivenessFailed,
    /// The readiness probe did not pass within `startup_timeout`.
    StartupTimeout,
    /// A process ended (code or signal in the event).
    Exited,
    /// A restart was decided (at once or after a backoff).
    Restarting,
    /// The restart budget is spent: the sidecar is `failed`, auto-restart is off.
    BudgetExhausted,
    /// A sidecar could not be started at all (binary missing, port taken, bad template...).
    Failed,
    /// The child lost a race for its port; it is re-spawned on a new one, budget not charged.
    PortConflict,
    /// A stop was requested (by the user or at shutdown).
    Stopping,
    /// The sidecar is stopped.
    Stopped,
    /// It did not stop within its `stop_timeout_ms`: its whole tree was killed.
    KillEscalated,
    /// A leftover process of a dead earlier instance was killed at start.
    OrphanKilled,
    /// The persisted feed was unreadable; it was set aside and a fresh one started.
    FeedRecovered,
    /// A manual restart/start/stop from the UI or CLI.
    Command,
    /// A `prepare` step (e.g. `initdb`) ran.
    Prepared,
    /// A stale `postmaster.pid` (its process gone, or not this directory's server) was removed
    /// before the server started.
    StalePidFileRemoved,
    /// Its process states another build than the app's (an old process or binary): restarted
    /// once, then left running with a warning.
    BuildMismatch,
    /// The user paused the sidecar (its process tree is suspended).
    Paused,
    /// The user resumed a paused sidecar.
    Resumed,
    /// Its process tree could not be suspended: it keeps running.
    PauseFailed,
    /// Its process tree could not be continued: it is killed, to start afresh.
    ResumeFailed,
}

impl EventKind {
    /// The `snake_case` name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::RuntimeStarted => "runtime_started",
            EventKind::RuntimeStopped => "runtime_stopped",
            EventKind::Starting => "starting",
            EventKind::Waiting => "waiting",
            EventKind::Skipped => "skipped",
            EventKind::Spawned => "spawned",
            EventKind::Ready => "ready",
            EventKind::Unhealthy => "unhealthy",
            EventKind::Recovered => "recovered",
            EventKind::LivenessFailed => "liveness_failed",
            EventKind::StartupTimeout => "startup_timeout",
            EventKind::Exited => "exited",
            EventKind::Restarting => "restarting",
            EventKind::BudgetExhausted => "budget_exhausted",
            EventKind::Failed => "failed",
            EventKind::PortConflict => "port_conflict",
            EventKind::Stopping => "stopping",
            EventKind::Paused => "paused",
            EventKind::Resumed => "resumed",
            EventKind::PauseFailed => "pause_failed",
            EventKind::ResumeFailed => "resume_failed",
            EventKind::Stopped => "stopped",
            EventKind::KillEscalated => "kill_escalated",
            EventKind::OrphanKilled => "orphan_killed",
            EventKind::FeedRecovered => "feed_recovered",
            EventKind::Command => "command",
            EventKind::Prepared => "prepared",
            EventKind::StalePidFileRemoved => "stale_pid_file_removed",
            EventKind::BuildMismatch => "build_mismatch",
        }
    }
}

/// An event before the feed stamps it with `seq` and `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub sidecar: Option<String>,
    pub kind: EventKind,
    pub message: String,
    pub pid: Option<u32>,
    pub port: Option<u16>,
    pub code: Option<i32>,
    pub signal: Option<String>,
    /// The state the sidecar is in once this event happened, for an event that changed it.
    pub state: Option<State>,
}

impl NewEvent {
    pub fn new(kind: EventKind, message: impl Into<String>) -> Self {
        NewEvent {
            sidecar: None,
            kind,
            message: message.into(),
            pid: None,
            port: None,
            code: None,
            signal: None,
            state: None,
        }
    }
    pub fn sidecar(mut self, name: impl Into<String>) -> Self {
        self.sidecar = Some(name.into());
        self
    }
    pub fn pid(mut self, pid: Option<u32>) -> Self {
        self.pid = pid;
        self
    }
    pub fn port(mut self, port: Option<u16>) -> Self {
        self.port = port;
        self
    }
    pub fn code(mut self, code: Option<i32>) -> Self {
        self.code = code;
        self
    }
    pub fn signal(mut self, signal: Option<String>) -> Self {
        self.signal = signal;
        self
    }
    pub fn state(mut self, state: Option<State>) -> Self {
        self.state = state;
        self
    }
}
