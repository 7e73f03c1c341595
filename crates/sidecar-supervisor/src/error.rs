//! Errors of the plugin's commands. They reach TypeScript as the core's one error shape
//! (`SupervisorError`: `{kind, message, sidecar?, code?, data?}`), the same the control socket
//! answers with, made by the core's error types themselves: a sentence a person can read, never
//! a bare string, and never a kind mapped twice.

use serde::{Serialize, Serializer};
use sidecar_supervisor_core::BackupError;
use sidecar_supervisor_core::LogReadError;
use sidecar_supervisor_core::RequestError;
use sidecar_supervisor_core::{CommandError, ErrorPayload};

pub use sidecar_supervisor_core::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// From the engine: unknown sidecar, not in this mode, shutting down, engine gone.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// A JSON-RPC call to a sidecar got no result (or its arguments were refused).
    #[error(transparent)]
    Request(#[from] RequestError),
    /// A whole log could not be read.
    #[error(transparent)]
    Log(#[from] LogReadError),
    /// A backup or a restore was refused or failed.
    #[error(transparent)]
    Backup(#[from] BackupError),
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

impl Error {
    /// What the caller gets: the error's own payload.
    pub fn payload(&self) -> ErrorPayload {
        match self {
            Error::Command(c) => c.into(),
            Error::Request(r) => r.into(),
            Error::Log(l) => l.into(),
            Error::Backup(b) => b.into(),
            Error::InvalidArgument { message, sidecar } => {
                ErrorPayload::new(ErrorKind::InvalidArgument, message.clone()).about(sidecar.as_deref())
            }
            Error::Io(message) => ErrorPayload::new(ErrorKind::Io, message.clone()),
            Error::NotRunning(_) => ErrorPayload::new(ErrorKind::NotRunning, self.to_string()),
        }
    }

    /// Machine-readable kind, stable for the UI.
    pub fn kind(&self) -> ErrorKind {
        self.payload().kind
    }
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.payload().serialize(s)
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

    /// A command error inside a request error is the command's kind, as the control socket says.
    #[test]
    fn a_command_error_of_a_request_keeps_its_kind() {
        let c = CommandError::UnknownSidecar { sidecar: "x".into(), known: vec![] };
        let e = Error::Request(RequestError::Command(c.clone()));
        assert_eq!(e.kind(), ErrorKind::UnknownSidecar);
        assert_eq!(e.payload(), ErrorPayload::from(&c));
    }
}
