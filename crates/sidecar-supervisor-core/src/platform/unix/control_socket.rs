//! The control endpoint on Unix: a socket file of mode 0600 (only our user can connect), and
//! every connection's peer uid checked against ours all the same (a socket opened up by hand, or
//! a directory mode that lets others in, still refuses them).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tokio::net::{UnixListener, UnixStream};

use crate::platform::control_endpoint::{Accepted, ControlStream};

/// The listening socket; dropping it removes the socket file.
pub struct ControlListener {
    listener: UnixListener,
    path: PathBuf,
    me: u32,
}

impl ControlListener {
    /// Listens at `path` (inside a tokio runtime). The caller holds the instance lock, so a
    /// socket file already there is a dead instance's: it is replaced.
    pub fn bind(path: &Path) -> std::io::Result<ControlListener> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        Ok(ControlListener { listener, path: path.to_path_buf(), me })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next connection, with whether it comes from our user.
    pub async fn accept(&self) -> std::io::Result<Accepted> {
        let (conn, _) = self.listener.accept().await?;
        let me = self.me;
        Ok(match conn.peer_cred().map(|c| c.uid()) {
            Ok(uid) if uid == me => Accepted::Ours(Box::new(conn)),
            other => {
                let who = other.ok().map(|u| format!("uid {u}")).unwrap_or_else(|| "a client of unknown uid".into());
                let why = format!("refused: {who} is not the runtime's user (uid {me}); only that user may control it");
                Accepted::Refused(Box::new(conn), why)
            }
        })
    }
}

impl Drop for ControlListener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Connects to the endpoint at `path`; the error says whether nothing runs there or it belongs
/// to another user. `data_dir` names the data dir in the error.
pub async fn connect(path: &Path, data_dir: &Path) -> Result<Box<dyn ControlStream>, String> {
    match UnixStream::connect(path).await {
        Ok(conn) => Ok(Box::new(conn)),
        Err(e) => Err(match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => format!(
                "no runtime is running on data dir {} (no control socket at {})",
                data_dir.display(),
                path.display()
            ),
            std::io::ErrorKind::PermissionDenied => format!(
                "refused: {} belongs to another user; only the user that runs the runtime may control it",
                path.display()
            ),
            _ => format!("cannot reach the runtime at {}: {e}", path.display()),
        }),
    }
}
