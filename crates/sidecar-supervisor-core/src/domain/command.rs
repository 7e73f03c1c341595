//! The commands people give ([`Verb`]) and why one is refused ([`CommandError`]).

use serde::{Deserialize, Serialize};

/// What a person can ask of a sidecar. The one list of them: the control socket, the runner's
/// `ctl` subcommands and the plugin's commands (one per verb, so that each can be granted on
/// its own) are made from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Verb {
    Restart,
    Stop,
    Start,
    Pause,
    Resume,
}

impl Verb {
    pub const ALL: [Verb; 5] = [Verb::Restart, Verb::Stop, Verb::Start, Verb::Pause, Verb::Resume];

    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Restart => "restart",
            Verb::Stop => "stop",
            Verb::Start => "start",
            Verb::Pause => "pause",
            Verb::Resume => "resume",
        }
    }

    pub fn parse(s: &str) -> Option<Verb> {
        Verb::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// What it does, in one line (help texts).
    pub fn about(self) -> &'static str {
        match self {
            Verb::Restart => "Restart now: its budget is reset, auto-restart is on again, no backoff wait",
            Verb::Stop => "Stop gracefully (its stop signal or stop command, then a kill after its stop timeout)",
            Verb::Start => "Start a stopped or failed sidecar (its budget is reset)",
            Verb::Pause => "Suspend its whole process tree (probes stop judging it)",
            Verb::Resume => "Continue a paused sidecar (back to the state it left, probed at once)",
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
