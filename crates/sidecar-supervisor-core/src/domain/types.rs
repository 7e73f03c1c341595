//! The machine's vocabulary: its inputs and outputs, identity tiers, causes, stops and exits,
//! plus the small pure helpers around them (probe grid, exit descriptions). Kept apart from the
//! transition logic in [`super::machine`] (the states are `state.rs`, the rules `plan/rules.rs`)
//! so each file reads as one thing.
//!
//! Nothing here speaks an operating system's language: a stop is a [`Stop`] (graceful by a
//! named signal, or forced), an exit an [`Exit`] (a code, and the name of the signal that ended
//! it where the OS has signals). The platform layer turns them into system calls and back.

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use super::cause::Cause;
use super::event::EventKind;
pub use super::state::State;
pub use crate::profile::StopSignal;

/// How sure the runtime is that the server on a sidecar's port is the process it started for
/// this launch, from its `/runtime/info` (or gRPC `sidecar.v1.Control/Info`) answer. Ordered:
/// a higher tier satisfies a requirement for a lower one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "SidecarIdentity"))]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// Another instance id, or a wrong proof: another program (or an older instance) answers
    /// on the port. Never ready.
    Foreign,
    /// No `/runtime/info` (or no `Control/Info`): nothing says whose server it is.
    Unverified,
    /// This launch's instance id is echoed, with no proof of the key.
    Echoed,
    /// This launch's instance id and a valid HMAC proof of the launch's key for a fresh nonce.
    Proven,
}

impl Identity {
    pub fn as_str(self) -> &'static str {
        match self {
            Identity::Foreign => "foreign",
            Identity::Unverified => "unverified",
            Identity::Echoed => "echoed",
            Identity::Proven => "proven",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    Ready,
    Live,
}

/// How the OS the runtime runs on lets it ask a process tree to stop. The platform layer says
/// which (`platform::STOP_MECHANISM`); the plan picks each sidecar's graceful stop from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMechanism {
    /// Named signals to a process group (Linux, macOS).
    Signals,
    /// No signals: a console control event (Ctrl-Break) to a process group, which reaches it
    /// only when the runtime has a console (Windows; the platform layer names it there). Built
    /// only there and in tests: no OS `cfg` may name it outside `platform/`, hence the allow.
    #[allow(dead_code)]
    ConsoleEvents,
}

/// How to ask a process tree to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GracefulStop {
    /// Send this signal to the whole tree (the profile's `stop_signal`, SIGTERM by default).
    Signal(StopSignal),
    /// Windows: Ctrl-Break to its process group (reaches it only when the runtime has a
    /// console).
    CtrlBreak,
    /// Call `sidecar.v1.Control/Shutdown` on the sidecar's port (Windows, for a sidecar with a
    /// port; a failed call falls back to the plan's plain stop).
    Control,
    /// Run the profile's `stop_command`.
    Command,
}

impl GracefulStop {
    /// `SIGTERM`: how the stop is made, for events.
    pub fn describe(self) -> &'static str {
        match self {
            GracefulStop::Signal(s) => s.as_str(),
            GracefulStop::CtrlBreak => "Ctrl-Break",
            GracefulStop::Control => "sidecar.v1.Control/Shutdown",
            GracefulStop::Command => "its stop_command",
        }
    }

    /// The stopping event's sentence: `sending SIGTERM to its process group`.
    pub fn phrase(self, target: &str) -> String {
        match self {
            GracefulStop::Signal(s) => format!("sending {} to {target}", s.as_str()),
            GracefulStop::CtrlBreak => format!("sending Ctrl-Break to {target}"),
            GracefulStop::Control => "asking it to stop (sidecar.v1.Control/Shutdown)".into(),
            GracefulStop::Command => "running its stop_command".into(),
        }
    }
}

/// A stop of a process tree: asked for, or forced (every process of it killed at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Graceful(GracefulStop),
    Force,
}

/// How a process ended: its exit code, or the signal that ended it (by name, e.g. `SIGKILL`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exit {
    pub code: Option<i32>,
    pub signal: Option<String>,
}

impl Exit {
    #[cfg(test)]
    pub fn code(code: i32) -> Exit {
        Exit { code: Some(code), signal: None }
    }
    #[cfg(test)]
    pub fn signal(name: &str) -> Exit {
        Exit { code: None, signal: Some(name.to_string()) }
    }
    /// `exited with code 1`, `killed by SIGKILL`.
    pub fn describe(&self) -> String {
        match (self.code, &self.signal) {
            (_, Some(s)) => format!("killed by {s}"),
            (Some(c), None) => format!("exited with code {c}"),
            (None, None) => "exited".to_string(),
        }
    }
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

/// What a probe's identity check found: the effect side ranks the server's answer (it holds
/// the nonce and the key), the machine judges the tier against what the profile requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityFound {
    /// The tier the answer shows, and why (`this launch's instance id and key proof`).
    Tier(Identity, String),
    /// No answer worth ranking (the server is not up yet): the probe fails with this.
    NoAnswer(String),
}

/// How a prepare step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepEnd {
    /// It ran and exited 0.
    Done,
    /// It was not needed (its `unless_exists` path exists).
    Skipped,
    /// It could not run, or failed: why, for people.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Start (first launch, or a manual start of a stopped/failed sidecar; resets the budget
    /// when `manual`).
    Start {
        manual: bool,
    },
    /// Whether every dependency is up changed (the orchestrator tells; initially all are).
    DepsChanged {
        ready: bool,
    },
    /// The launch has its port and program: prepare steps (if any) are next.
    Located,
    /// What the effect side found in the PostgreSQL data directory (a sidecar with a
    /// `postgres` block), for the verdict ([`crate::domain::pg_data::judge`]).
    DataChecked {
        facts: super::pg_data::DataFacts,
    },
    /// The stale `postmaster.pid` was removed (or could not be: why).
    PidFileRemoved {
        result: Result<(), String>,
    },
    /// Prepare step `step` runs as `pid` (`what`: its command line).
    PrepareStarted {
        step: usize,
        pid: u32,
        what: String,
    },
    /// Prepare step `step` ended (or was not needed).
    PrepareEnded {
        step: usize,
        end: StepEnd,
    },
    Spawned {
        pid: u32,
    },
    /// Anything before the process ran failed (program not found, fixed port taken, a
    /// template, the spawn itself).
    LaunchFailed {
        error: String,
        cause: Cause,
    },
    Exited {
        exit: Exit,
        port_in_use: bool,
        stderr_tail: String,
    },
    /// The sidecar announced its port: probe at once instead of waiting for the next slot.
    PortAnnounced,
    /// A probe's result: whether the health check passed and what it said, and what the
    /// identity check found when one was asked for (and the health check passed).
    Probe {
        kind: ProbeKind,
        ok: bool,
        detail: String,
        identity: Option<IdentityFound>,
    },
    /// The identity answer of the current process states which build it is.
    BuildFound {
        build: super::build::SidecarBuild,
    },
    StopRequested,
    /// The graceful stop of `pid` could not be made (its stop command failed, the control call
    /// got no answer): `why`.
    StopFailed {
        pid: u32,
        why: String,
    },
    /// Suspend the process tree (the user's pause); `Resume` continues it.
    PauseRequested,
    ResumeRequested,
    /// The tree of `pid` could not be suspended (`resume: false`) or continued (`true`).
    SuspendFailed {
        pid: u32,
        resume: bool,
        why: String,
    },
    /// Manual restart: budget and backoff reset, auto-restart re-enabled, no backoff wait.
    RestartRequested,
    /// A dependency came back on another port than the one this process was started with
    /// (its templated arguments and environment are stale): restart it, free of charge.
    DependencyMoved {
        why: String,
    },
}

/// What the machine wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Begin a launch: its port (a fresh one after a lost port race: `new_port`) and its
    /// program; then report [`Input::Located`] (or [`Input::LaunchFailed`]). `prepared`: how
    /// many of its prepare steps are done in this run (a lookup need not wait for their
    /// helpers).
    Launch {
        new_port: bool,
        prepared: usize,
    },
    /// Read the PostgreSQL data directory's facts; report [`Input::DataChecked`].
    CheckData,
    /// Remove the data directory's stale `postmaster.pid`; report [`Input::PidFileRemoved`].
    RemovePidFile,
    /// Run prepare step `step` (or find it not needed); report [`Input::PrepareStarted`] and
    /// [`Input::PrepareEnded`].
    Prepare {
        step: usize,
    },
    /// Start the process now (the launch is prepared and every dependency is up).
    Exec,
    /// Stop the process tree led by `pid` (the sidecar's, or its running prepare step's).
    Stop {
        pid: u32,
        how: Stop,
    },
    /// Suspend the process tree led by `pid` (pause), or continue it (`Continue`).
    Suspend {
        pid: u32,
    },
    Continue {
        pid: u32,
    },
    /// Run a probe now (the result comes back as `Input::Probe`); `identity`: also ask whose
    /// server answers.
    Probe {
        kind: ProbeKind,
        identity: bool,
    },
    /// A feed event; `pid` is the process it is about; `state` the state it led to, when it
    /// changed one.
    Emit {
        kind: EventKind,
        message: String,
        pid: Option<u32>,
        code: Option<i32>,
        signal: Option<String>,
        state: Option<State>,
    },
    StateChanged(State),
}

/// Next steady-state probe time: a point on a global grid of `interval` at least half an
/// interval away. Probes of every sidecar with the same interval then fire in the same instant,
/// so an idle engine wakes once per interval instead of once per probe.
pub fn steady_next(now: Duration, interval: Duration) -> Duration {
    let i = interval.as_nanos().max(1);
    let n = now.as_nanos();
    let mut next = (n / i + 1) * i;
    if next - n < i / 2 {
        next += i;
    }
    Duration::from_nanos(next as u64)
}
