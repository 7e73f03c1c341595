//! One owner of the kinds of errors callers get back. The plugin's commands and the control
//! socket (`desktop-runtime ctl`) answer the same refusal with the same [`ErrorPayload`] — its
//! [`ErrorKind`], a sentence for people, the sidecar it is about, and a JSON-RPC error's code and
//! data — made by the error types themselves, never mapped again by a door.

use serde::{Deserialize, Serialize};

use super::command::CommandError;

/// What kind of error: stable, for programs to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    UnknownSidecar,
    NotInThisMode,
    /// The command does not fit the sidecar's state (pause of a stopped one, resume of a running one).
    WrongState,
    ShuttingDown,
    EngineGone,
    InvalidArgument,
    /// The runtime did not start (bad profile, another instance on the data dir...).
    NotRunning,
    /// A file could not be read or written.
    Io,
    /// The UI's own kind for a refusal that did not come from the plugin (a permission, an
    /// argument Tauri could not decode).
    Ipc,
    /// The sidecar has no JSON-RPC channel (`"stdio": "jsonrpc"`).
    NotJsonrpc,
    /// A JSON-RPC call: no answer in time.
    Timeout,
    /// A JSON-RPC call: the process ended (crash, restart, stop) before it answered.
    ProcessEnded,
    /// A message over its limit (a JSON-RPC message over 1 MiB, a control request too long).
    TooLarge,
    /// A JSON-RPC call: the sidecar answered with an error (`code`, `data`).
    Remote,
    /// The control socket: the caller is not the runtime's user.
    Refused,
    /// The profile has no database (no sidecar with a `postgres` block) to back up or restore.
    NoDatabase,
    /// A file given to restore is not a backup this version can restore (named, with why).
    InvalidBackup,
    /// `pg_dump` or `pg_restore` is missing or failed (its message); the data is as it was.
    BackupFailed,
}

/// What every refusal reaches a caller as, whichever door it came through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "SupervisorError"))]
pub struct ErrorPayload {
    pub kind: ErrorKind,
    /// A sentence for people.
    pub message: String,
    /// The sidecar the error is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub sidecar: Option<String>,
    /// `remote`: the JSON-RPC error's code and data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional, type = "number"))]
    pub code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional, type = "unknown"))]
    pub data: Option<serde_json::Value>,
}

impl ErrorPayload {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ErrorPayload {
        ErrorPayload { kind, message: message.into(), sidecar: None, code: None, data: None }
    }

    pub fn about(mut self, sidecar: Option<&str>) -> ErrorPayload {
        self.sidecar = sidecar.map(str::to_string);
        self
    }
}

impl CommandError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            CommandError::UnknownSidecar { .. } => ErrorKind::UnknownSidecar,
            CommandError::NotInThisMode { .. } => ErrorKind::NotInThisMode,
            CommandError::WrongState { .. } => ErrorKind::WrongState,
            CommandError::ShuttingDown => ErrorKind::ShuttingDown,
            CommandError::EngineGone => ErrorKind::EngineGone,
        }
    }

    /// The sidecar the error is about, if any.
    pub fn sidecar(&self) -> Option<&str> {
        match self {
            CommandError::UnknownSidecar { sidecar, .. }
            | CommandError::NotInThisMode { sidecar, .. }
            | CommandError::WrongState { sidecar, .. } => Some(sidecar),
            CommandError::ShuttingDown | CommandError::EngineGone => None,
        }
    }
}

impl From<&CommandError> for ErrorPayload {
    fn from(e: &CommandError) -> ErrorPayload {
        ErrorPayload::new(e.kind(), e.to_string()).about(e.sidecar())
    }
}
