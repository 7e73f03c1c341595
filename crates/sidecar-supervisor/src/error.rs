//! Errors of the plugin's commands. They reach TypeScript as `{kind, message, sidecar?}` with a
//! sentence a person can read (design §7), never as a bare string.

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use sidecar_supervisor_core::runtime::CommandError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// From the engine: unknown sidecar, not in this mode, shutting down, engine gone.
    #[error(transparent)]
    Command(#[from] CommandError),
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
    /// Machine-readable kind, stable for the UI.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Command(CommandError::UnknownSidecar { .. }) => "unknown_sidecar",
            Error::Command(CommandError::NotInThisMode { .. }) => "not_in_this_mode",
            Error::Command(CommandError::ShuttingDown) => "shutting_down",
            Error::Command(CommandError::EngineGone) => "engine_gone",
            Error::InvalidArgument { .. } => "invalid_argument",
            Error::NotRunning(_) => "not_running",
            Error::Io(_) => "io",
        }
    }

    /// The sidecar the error is about, if any.
    pub fn sidecar(&self) -> Option<&str> {
        match self {
            Error::Command(CommandError::UnknownSidecar { sidecar, .. })
            | Error::Command(CommandError::NotInThisMode { sidecar, .. }) => Some(sidecar),
            Error::InvalidArgument { sidecar, .. } => sidecar.as_deref(),
            _ => None,
        }
    }
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let sidecar = self.sidecar();
        let mut st = s.serialize_struct("Error", if sidecar.is_some() { 3 } else { 2 })?;
        st.serialize_field("kind", self.kind())?;
        st.serialize_field("message", &self.to_string())?;
        if let Some(name) = sidecar {
            st.serialize_field("sidecar", name)?;
        }
        st.end()
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
