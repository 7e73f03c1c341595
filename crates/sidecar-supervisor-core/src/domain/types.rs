//! The machine's vocabulary: its states, inputs, outputs and configuration, plus the small pure
//! helpers around them (probe grid, exit descriptions). Kept apart from the transition logic in
//! [`super::machine`] so each file reads as one thing.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::events::EventKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Pending,
    WaitingForDeps,
    Starting,
    Ready,
    Unhealthy,
    Backoff,
    Stopping,
    Stopped,
    Failed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::WaitingForDeps => "waiting_for_deps",
            State::Starting => "starting",
            State::Ready => "ready",
            State::Unhealthy => "unhealthy",
            State::Backoff => "backoff",
            State::Stopping => "stopping",
            State::Stopped => "stopped",
            State::Failed => "failed",
        }
    }
    /// A process may be alive in this state.
    pub fn has_process(self) -> bool {
        matches!(self, State::Starting | State::Ready | State::Unhealthy | State::Stopping)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    Ready,
    Live,
}

/// Probe cadence: fast while starting (2 ms doubling to `fast_cap`), `interval` once ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeTiming {
    pub interval: Duration,
    pub failure_threshold: u32,
    pub fast_cap: Duration,
    /// `false` for probes that are pushed rather than polled (the stdout line probe).
    pub polled: bool,
}

#[derive(Debug, Clone)]
pub struct MachineConfig {
    pub max_restarts: u32,
    pub window: Duration,
    pub min_uptime: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    pub backoff_reset: Duration,
    pub auto_restart: bool,
    pub startup_timeout: Duration,
    pub stop_timeout: Duration,
    pub stop_signal: i32,
    pub ready: Option<ProbeTiming>,
    pub live: Option<ProbeTiming>,
    /// Free re-spawns on a new port after a lost port race, before it counts as a crash.
    pub max_port_retries: u32,
    /// `"port": "announce"` and no readiness probe: ready once the port was announced.
    pub awaits_announcement: bool,
}

impl Default for MachineConfig {
    fn default() -> Self {
        MachineConfig {
            max_restarts: 6,
            window: Duration::from_secs(90),
            min_uptime: Duration::from_secs(1),
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            backoff_reset: Duration::from_secs(30),
            auto_restart: true,
            startup_timeout: Duration::from_secs(30),
            stop_timeout: Duration::from_secs(5),
            stop_signal: libc::SIGTERM,
            ready: None,
            live: None,
            max_port_retries: 5,
            awaits_announcement: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Start (first launch, or a manual start of a stopped/failed sidecar; resets the budget
    /// when `manual`). `deps_ready`: every dependency is ready now.
    Start {
        deps_ready: bool,
        manual: bool,
    },
    /// All dependencies became ready.
    DepsReady,
    Spawned {
        pid: u32,
    },
    /// The process could not be started (binary missing, fixed port taken, prepare failed...).
    SpawnFailed {
        error: String,
    },
    Exited {
        code: Option<i32>,
        signal: Option<i32>,
        port_in_use: bool,
        stderr_tail: String,
    },
    /// The sidecar announced its port: probe at once instead of waiting for the next slot.
    PortAnnounced,
    /// The engine found a dependency down when it was about to spawn: wait for it instead.
    DepsNotReady,
    Probe {
        kind: ProbeKind,
        ok: bool,
        detail: String,
    },
    StopRequested,
    /// Manual restart: budget and backoff reset, auto-restart re-enabled, no backoff wait.
    RestartRequested {
        deps_ready: bool,
    },
    /// A dependency came back on another port than the one this process was started with
    /// (its templated arguments and environment are stale): restart it, free of charge.
    DependencyMoved {
        why: String,
    },
}

/// What the machine wants done. `Emit` carries the feed event; the effect side adds pid/port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Spawn a process; `new_port` asks for a fresh port (after a lost port race).
    Spawn {
        new_port: bool,
    },
    /// Send a signal to the sidecar's whole process group.
    Signal {
        signal: i32,
    },
    /// Run a probe now (the result comes back as `Input::Probe`).
    Probe(ProbeKind),
    Emit {
        kind: EventKind,
        message: String,
        code: Option<i32>,
        signal: Option<i32>,
    },
    StateChanged(State),
}

/// Next steady-state probe time: a point on a global grid of `interval` at least half an
/// interval away. Probes of every sidecar with the same interval then fire in the same instant,
/// so an idle engine wakes once per interval instead of once per probe (design §9 idle target).
pub fn steady_next(now: Duration, interval: Duration) -> Duration {
    let i = interval.as_nanos().max(1);
    let n = now.as_nanos();
    let mut next = (n / i + 1) * i;
    if next - n < i / 2 {
        next += i;
    }
    Duration::from_nanos(next as u64)
}

/// `exited with code 1`, `killed by SIGKILL`.
pub fn describe_exit(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (_, Some(s)) => format!("killed by {}", signal_name(s)),
        (Some(c), None) => format!("exited with code {c}"),
        (None, None) => "exited".to_string(),
    }
}

pub fn signal_name(s: i32) -> String {
    match s {
        libc::SIGHUP => "SIGHUP".into(),
        libc::SIGINT => "SIGINT".into(),
        libc::SIGQUIT => "SIGQUIT".into(),
        libc::SIGILL => "SIGILL".into(),
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGBUS => "SIGBUS".into(),
        libc::SIGFPE => "SIGFPE".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGPIPE => "SIGPIPE".into(),
        libc::SIGTERM => "SIGTERM".into(),
        other => format!("signal {other}"),
    }
}
