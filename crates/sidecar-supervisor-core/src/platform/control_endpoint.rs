//! The control endpoint's transport: a local connection only the runtime's user can make. What
//! travels on it (one JSON request, one JSON answer) is the runtime's business; how the OS keeps
//! other users out is this module's. Unix: a socket file of mode 0600 whose every connection's
//! peer uid is checked against ours. Windows: a named pipe whose security descriptor grants only
//! our user, refusing remote clients.

/// A connection to or from the control endpoint.
pub trait ControlStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> ControlStream for T {}

/// One accepted connection.
pub enum Accepted {
    /// From the runtime's own user.
    Ours(Box<dyn ControlStream>),
    /// From someone else: answer with the refusal (why, in a sentence) and close. (Windows
    /// never makes one: the pipe's security descriptor keeps everyone else out.)
    #[cfg_attr(windows, allow(dead_code))]
    Refused(Box<dyn ControlStream>, String),
}

#[cfg(unix)]
pub use super::unix::control_socket::{connect, ControlListener};
#[cfg(windows)]
pub use super::windows::control_pipe::{connect, ControlListener};
