//! Control of a running runtime from another shell (`desktop-runtime ctl`), like pm2 or
//! process-compose: restart, stop, start, pause, resume a sidecar, or call a method of a
//! `"stdio": "jsonrpc"` one.
//!
//! The endpoint is local and private to the runtime's user: a Unix socket in the data dir's
//! `runtime/` (mode 0600, and every connection's peer uid checked against ours), or on Windows
//! a named pipe whose security descriptor grants only our user and that refuses remote clients.
//! One JSON request line, one JSON response line per connection. Errors carry the same kind and
//! message as the Tauri plugin's commands.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::channel::RequestError;
use super::Supervisor;
use crate::domain::CommandError;

/// Largest request line (a JSON-RPC message is at most 1 MiB, plus the envelope).
pub const MAX_REQUEST: usize = (1 << 20) + 4096;
/// The default timeout of `request`.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verb", rename_all = "snake_case")]
pub enum CtlRequest {
    Restart {
        name: String,
    },
    Stop {
        name: String,
    },
    Start {
        name: String,
    },
    Pause {
        name: String,
    },
    Resume {
        name: String,
    },
    Request {
        name: String,
        method: String,
        params: Option<Value>,
        timeout_ms: u64,
    },
    /// Sample every sidecar's resources once a second for the next `lease_ms` (what the
    /// dialog does while it is open).
    Watch {
        lease_ms: u64,
    },
    /// The live status, each sidecar's resources sampled now (what `desktop-runtime status`
    /// shows while the runner runs).
    Status,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CtlResponse {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CtlError>,
}

/// `kind` as the plugin's error kinds (`unknown_sidecar`, `wrong_state`, `timeout`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CtlError {
    pub kind: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
}

impl CtlResponse {
    fn ok(result: Value) -> CtlResponse {
        CtlResponse { ok: true, result: Some(result), error: None }
    }
    pub fn err(kind: &str, message: String, code: Option<i64>) -> CtlResponse {
        CtlResponse { ok: false, result: None, error: Some(CtlError { kind: kind.into(), message, code }) }
    }
}

/// The plugin's kind of a command error.
pub fn command_kind(e: &CommandError) -> &'static str {
    match e {
        CommandError::UnknownSidecar { .. } => "unknown_sidecar",
        CommandError::NotInThisMode { .. } => "not_in_this_mode",
        CommandError::WrongState { .. } => "wrong_state",
        CommandError::ShuttingDown => "shutting_down",
        CommandError::EngineGone => "engine_gone",
    }
}

/// The plugin's kind of a request error.
pub fn request_kind(e: &RequestError) -> &'static str {
    match e {
        RequestError::Command(c) => command_kind(c),
        RequestError::NotJsonrpc { .. } => "not_jsonrpc",
        RequestError::NotRunning { .. } => "wrong_state",
        RequestError::Timeout { .. } => "timeout",
        RequestError::Ended { .. } => "process_ended",
        RequestError::TooLarge { .. } | RequestError::AnswerTooLarge { .. } => "too_large",
        RequestError::Remote { .. } => "remote",
        RequestError::InvalidArgument { .. } => "invalid_argument",
    }
}

/// Carries out one request.
pub async fn handle(sup: &Supervisor, req: CtlRequest) -> CtlResponse {
    let command = |r: Result<(), CommandError>| match r {
        Ok(()) => CtlResponse::ok(Value::Null),
        Err(e) => CtlResponse::err(command_kind(&e), e.to_string(), None),
    };
    match req {
        CtlRequest::Restart { name } => command(sup.restart(&name).await),
        CtlRequest::Stop { name } => command(sup.stop(&name).await),
        CtlRequest::Start { name } => command(sup.start_sidecar(&name).await),
        CtlRequest::Pause { name } => command(sup.pause(&name).await),
        CtlRequest::Resume { name } => command(sup.resume(&name).await),
        CtlRequest::Watch { lease_ms } => {
            sup.watch_resources(Duration::from_millis(lease_ms.clamp(1, 60_000)));
            CtlResponse::ok(Value::Null)
        }
        CtlRequest::Status => {
            let s = sup.clone();
            match tokio::task::spawn_blocking(move || {
                s.sample_resources();
                s.status()
            })
            .await
            {
                Ok(st) => CtlResponse::ok(serde_json::to_value(st).expect("status serializes")),
                Err(e) => CtlResponse::err("io", format!("sampling stopped: {e}"), None),
            }
        }
        CtlRequest::Request { name, method, params, timeout_ms } => {
            match sup.request(&name, &method, params, Duration::from_millis(timeout_ms)).await {
                Ok(v) => CtlResponse::ok(v),
                Err(e) => {
                    let code = match &e {
                        RequestError::Remote { code, .. } => Some(*code),
                        _ => None,
                    };
                    CtlResponse::err(request_kind(&e), e.to_string(), code)
                }
            }
        }
    }
}

/// Reads one request line from `conn`, answers it, and closes.
async fn serve_conn<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(sup: Supervisor, conn: S) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let mut conn = BufReader::new(conn);
    let mut line = Vec::new();
    let read = AsyncReadExt::take(&mut conn, MAX_REQUEST as u64 + 1).read_until(b'\n', &mut line).await;
    let resp = match read {
        Err(e) => CtlResponse::err("invalid_argument", format!("cannot read the request: {e}"), None),
        Ok(_) if line.len() > MAX_REQUEST => {
            CtlResponse::err("too_large", format!("the request is over {MAX_REQUEST} bytes"), None)
        }
        Ok(_) => match serde_json::from_slice::<CtlRequest>(&line) {
            Ok(req) => handle(&sup, req).await,
            Err(e) => CtlResponse::err("invalid_argument", format!("not a control request: {e}"), None),
        },
    };
    let mut out = serde_json::to_vec(&resp).expect("a response serializes");
    out.push(b'\n');
    let _ = conn.get_mut().write_all(&out).await;
    let _ = conn.get_mut().shutdown().await;
}

#[cfg(unix)]
pub use unix::{call, serve, Endpoint};
#[cfg(windows)]
pub use windows::{call, serve, Endpoint};

#[cfg(unix)]
mod unix {
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};

    use tokio::net::{UnixListener, UnixStream};

    use super::{serve_conn, CtlRequest, CtlResponse};
    use crate::layout::DataDirLayout;
    use crate::runtime::Supervisor;

    fn socket_path(layout: &DataDirLayout) -> PathBuf {
        layout.runtime_dir().join("control.sock")
    }

    /// The listening endpoint; dropping it stops listening and removes the socket file.
    pub struct Endpoint {
        path: PathBuf,
        task: tokio::task::JoinHandle<()>,
    }

    impl Endpoint {
        pub fn path(&self) -> &Path {
            &self.path
        }
    }

    impl Drop for Endpoint {
        fn drop(&mut self) {
            self.task.abort();
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// Listens on `<data dir>/runtime/control.sock` (inside a tokio runtime). The instance lock
    /// is ours, so a socket file already there is a dead instance's: it is replaced.
    pub fn serve(sup: Supervisor, layout: &DataDirLayout) -> std::io::Result<Endpoint> {
        let path = socket_path(layout);
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let peer = conn.peer_cred().map(|c| c.uid());
                let sup = sup.clone();
                tokio::spawn(async move {
                    match peer {
                        Ok(uid) if uid == me => serve_conn(sup, conn).await,
                        other => refuse(conn, other.ok(), me).await,
                    }
                });
            }
        });
        Ok(Endpoint { path, task })
    }

    async fn refuse(mut conn: UnixStream, uid: Option<u32>, me: u32) {
        use tokio::io::AsyncWriteExt;
        let who = uid.map(|u| format!("uid {u}")).unwrap_or_else(|| "a client of unknown uid".into());
        let resp = CtlResponse::err(
            "refused",
            format!("refused: {who} is not the runtime's user (uid {me}); only that user may control it"),
            None,
        );
        let mut out = serde_json::to_vec(&resp).expect("a response serializes");
        out.push(b'\n');
        let _ = conn.write_all(&out).await;
    }

    /// Sends `req` to the runtime on `layout`'s data dir and returns its answer.
    pub async fn call(layout: &DataDirLayout, req: &CtlRequest) -> Result<CtlResponse, String> {
        let path = socket_path(layout);
        let conn = UnixStream::connect(&path).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => format!(
                "no runtime is running on data dir {} (no control socket at {})",
                layout.root().display(),
                path.display()
            ),
            std::io::ErrorKind::PermissionDenied => format!(
                "refused: {} belongs to another user; only the user that runs the runtime may control it",
                path.display()
            ),
            _ => format!("cannot reach the runtime at {}: {e}", path.display()),
        })?;
        super::exchange(conn, req).await
    }
}

/// Writes the request line and reads the response line.
async fn exchange<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    conn: S,
    req: &CtlRequest,
) -> Result<CtlResponse, String> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let mut conn = BufReader::new(conn);
    let mut line = serde_json::to_vec(req).expect("a request serializes");
    line.push(b'\n');
    // A refusal is written before the request is read: a failed write still reads the answer.
    let sent = conn.get_mut().write_all(&line).await;
    let mut answer = Vec::new();
    let read = conn.read_until(b'\n', &mut answer).await;
    if answer.is_empty() {
        return Err(match (sent, read) {
            (Err(e), _) => format!("cannot send the request: {e}"),
            (_, Err(e)) => format!("no answer from the runtime: {e}"),
            _ => "the runtime closed the connection without answering".into(),
        });
    }
    serde_json::from_slice(&answer).map_err(|e| format!("the runtime's answer is not understood: {e}"))
}

#[cfg(windows)]
mod windows;
