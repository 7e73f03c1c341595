//! Errors of the plugin's commands. They reach TypeScript as `{kind, message, sidecar?}` with a
//! sentence a person can read, never as a bare string.

use serde::{Serialize, Serializer};
use sidecar_supervisor_core::runtime::channel::RequestError;
use sidecar_supervisor_core::runtime::CommandError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// From the engine: unknown sidecar, not in this mode, shutting down, engine gone.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// A JSON-RPC call to a sidecar got no result.
    #[error(transparent)]
    Request(RequestError),
    /// An argument the command cannot take (e.g. a negative log tail).
    #[error("{message}")]
    InvalidArgument { message: String, sidecar: Option<String> },
    /// A file could not be written (export).
    #[error("{0}")]
    Io(String),
    /// The runtime did not start (bad profile, another instance on the data dir...).
    #[error("the desktop runtime is not running: {0}")]
    NotRunning(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// What kind of error: stable, for the UI to act on. `ipc` is the UI's own kind for a refusal
/// that did not come from the plugin (a permission, an argument Tauri could not decode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
    NotRunning,
    Io,
    Ipc,
    /// The sidecar has no JSON-RPC channel (`"stdio": "jsonrpc"`).
    NotJsonrpc,
    /// A JSON-RPC call: no answer in time.
    Timeout,
    /// A JSON-RPC call: the process ended (crash, restart, stop) before it answered.
    ProcessEnded,
    /// A JSON-RPC message over 1 MiB (the request, or the answer).
    TooLarge,
    /// A JSON-RPC call: the sidecar answered with an error (`code`, `data`).
    Remote,
}

/// What every command rejects with, as the UI receives it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "SupervisorError"))]
pub struct ErrorPayload {
    pub kind: ErrorKind,
    /// A sentence for people.
    pub message: String,
    /// The sidecar the error is about, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub sidecar: Option<String>,
    /// `remote`: the JSON-RPC error's code and data.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional, type = "number"))]
    pub code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional, type = "unknown"))]
    pub data: Option<serde_json::Value>,
}

impl From<RequestError> for Error {
    fn from(e: RequestError) -> Error {
        match e {
            RequestError::Command(c) => Error::Command(c),
            RequestError::InvalidArgument { message } => Error::InvalidArgument { message, sidecar: None },
            other => Error::Request(other),
        }
    }
}

impl Error {
    /// Machine-readable kind, stable for the UI.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Command(CommandError::UnknownSidecar { .. }) => ErrorKind::UnknownSidecar,
            Error::Command(CommandError::NotInThisMode { .. }) => ErrorKind::NotInThisMode,
            Error::Command(CommandError::WrongState { .. }) => ErrorKind::WrongState,
            Error::Command(CommandError::ShuttingDown) => ErrorKind::ShuttingDown,
            Error::Command(CommandError::EngineGone) => ErrorKind::EngineGone,
            Error::InvalidArgument { .. } => ErrorKind::InvalidArgument,
            Error::NotRunning(_) => ErrorKind::NotRunning,
            Error::Io(_) => ErrorKind::Io,
            Error::Request(r) => match r {
                RequestError::NotJsonrpc { .. } => ErrorKind::NotJsonrpc,
                RequestError::NotRunning { .. } => ErrorKind::WrongState,
                RequestError::Timeout { .. } => ErrorKind::Timeout,
                RequestError::Ended { .. } => ErrorKind::ProcessEnded,
                RequestError::TooLarge { .. } | RequestError::AnswerTooLarge { .. } => ErrorKind::TooLarge,
                RequestError::Remote { .. } => ErrorKind::Remote,
                RequestError::Command(_) | RequestError::InvalidArgument { .. } => ErrorKind::InvalidArgument,
            },
        }
    }

    /// The sidecar the error is about, if any.
    pub fn sidecar(&self) -> Option<&str> {
        match self {
            Error::Command(CommandError::UnknownSidecar { sidecar, .. })
            | Error::Command(CommandError::NotInThisMode { sidecar, .. })
            | Error::Command(CommandError::WrongState { sidecar, .. }) => Some(sidecar),
            Error::InvalidArgument { sidecar, .. } => sidecar.as_deref(),
            Error::Request(r) => r.sidecar(),
            _ => None,
        }
    }
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let sidecar = self.sidecar().map(str::to_string);
        let (code, data) = match self {
            Error::Request(RequestError::Remote { code, data, .. }) => (Some(*code), data.clone()),
            _ => (None, None),
        };
        ErrorPayload { kind: self.kind(), message: self.to_string(), sidecar, code, data }.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_serialize_as_kind_message_and_sidecar() {
        let e = Error::Command(CommandError::UnknownSidecar { sidecar: "nope".into(), known: vec!["backend".into()] });
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({ "kind": "unknown_sidecar", "message": "unknown sidecar `nope`; known: backend", "sidecar": "nope" })
        );
        let e = Error::NotRunning("bad profile".into());
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({ "kind": "not_running", "message": "the desktop runtime is not running: bad profile" })
        );
    }
}
