//! The orchestrator's vocabulary with the effect side: what it asks to have done ([`Effect`]),
//! what comes back ([`Report`]), and the commands people give ([`Verb`], [`CommandError`]).

use crate::domain::event::NewEvent;
use crate::domain::types::{Exit, Identity, ProbeKind, Stop};

/// Something to do, for the engine to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Prepare launch `gen` of `unit`: its port (per `port`), its program, its one-time prepare
    /// step. Report [`Report::PortAssigned`] when a port was picked,
    /// [`Report::PrepareStarted`] when a prepare step runs, then [`Report::Prepared`] or
    /// [`Report::LaunchFailed`].
    Launch {
        unit: usize,
        gen: u64,
        port: PortPlan,
    },
    /// Start the process of launch `gen` now, its templates rendered with the current ports;
    /// report [`Report::Spawned`] or [`Report::LaunchFailed`], and later [`Report::Exited`].
    Exec {
        unit: usize,
        gen: u64,
    },
    /// Stop the process tree led by `pid` (the unit's process or its prepare step).
    Stop {
        unit: usize,
        pid: u32,
        how: Stop,
    },
    /// Suspend the process tree led by `pid` (pause), or continue it.
    Suspend {
        unit: usize,
        pid: u32,
    },
    Continue {
        unit: usize,
        pid: u32,
    },
    /// Run a probe of launch `gen`; `identity`: also check the server is this launch's, and
    /// accept no lower tier than this.
    Probe {
        unit: usize,
        gen: u64,
        kind: ProbeKind,
        identity: Option<Identity>,
    },
    /// A feed event (stamped with the unit's name, the pid it is about and the unit's port).
    Event {
        unit: usize,
        event: NewEvent,
    },
    /// The unit's status changed (state, pid or port): publish it.
    Publish {
        unit: usize,
    },
}

/// The port a launch uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortPlan {
    /// No port, or one the sidecar will announce.
    None,
    /// The port of the previous process.
    Keep(u16),
    /// Pick a free loopback port and report it ([`Report::PortAssigned`]).
    PickFree,
    /// The profile's fixed port: fail the launch at once if it is taken.
    CheckFixed(u16),
}

/// What the effect side reports about a launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    PortAssigned {
        port: u16,
    },
    PrepareStarted {
        pid: u32,
        what: String,
    },
    /// Port, program and prepare step are done: the process can start.
    Prepared,
    /// Anything before the process ran failed (program not found, port taken, prepare step
    /// failed, the spawn itself).
    LaunchFailed {
        error: String,
    },
    Spawned {
        pid: u32,
    },
    /// The process said on stderr that its address is in use.
    AddrInUse,
    /// The process announced its port on stdout.
    Announced {
        port: u16,
    },
    /// The process ended (its whole group is gone); `stderr_tail`: its last stderr lines.
    Exited {
        exit: Exit,
        stderr_tail: String,
    },
    Probe {
        kind: ProbeKind,
        ok: bool,
        detail: String,
        /// The identity tier the probe found, when it asked.
        identity: Option<Identity>,
    },
}

/// A command from the UI or the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Restart,
    Stop,
    Start,
    Pause,
    Resume,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Restart => "restart",
            Verb::Stop => "stop",
            Verb::Start => "start",
            Verb::Pause => "pause",
            Verb::Resume => "resume",
        }
    }
}

/// Errors of commands from the UI/CLI: structured, with a sentence for people.
#[derive(Debug, Clone, thiserror::Error, serde::Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CommandError {
    #[error("unknown sidecar `{sidecar}`; known: {}", known.join(", "))]
    UnknownSidecar { sidecar: String, known: Vec<String> },
    #[error("sidecar `{sidecar}` is not run in {mode} mode")]
    NotInThisMode { sidecar: String, mode: String },
    #[error("cannot {verb} `{sidecar}`: it is {state} ({why})")]
    WrongState { sidecar: String, verb: String, state: String, why: String },
    #[error("the runtime is shutting down")]
    ShuttingDown,
    #[error("the runtime has stopped")]
    EngineGone,
}
