//! Control of a running runtime from another shell (`desktop-runtime ctl`), like pm2 or
//! process-compose: restart, stop, start, pause, resume a sidecar, or call a method of a
//! `"stdio": "jsonrpc"` one.
//!
//! The endpoint is local and private to the runtime's user (how each OS keeps others out is
//! `platform::control_endpoint`'s: a 0600 Unix socket with a peer-uid check, a named pipe that
//! grants only our user). One JSON request line, one JSON response line per connection. Errors carry the same kind and
//! message as the Tauri plugin's commands (one [`ErrorPayload`], made by the error itself).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{CommandError, ErrorKind, ErrorPayload, Verb};
use crate::layout::DataDirLayout;
use crate::platform::control_endpoint::{self as platform, Accepted};
use crate::runtime::Supervisor;

/// Largest request line (a JSON-RPC message is at most 1 MiB, plus the envelope).
pub const MAX_REQUEST: usize = (1 << 20) + 4096;
/// The default timeout of `request`.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;

/// One request on the control socket (one JSON line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum CtlRequest {
    /// `verb` `name`: a unit, or every replica of a sidecar ([`Supervisor::command`]).
    Command { verb: Verb, name: String },
    /// Call `method` of a `"stdio": "jsonrpc"` sidecar.
    Request { name: String, method: String, params: Option<Value>, timeout_ms: u64 },
    /// Sample every sidecar's resources once a second for the next `lease_ms` (what the
    /// dialog does while it is open).
    Watch { lease_ms: u64 },
    /// The live status, each sidecar's resources sampled now (what `desktop-runtime status`
    /// shows while the runner runs).
    Status,
    /// Back the database up to `to` (absolute; default: under the data dir's `backups/`).
    Backup { to: Option<std::path::PathBuf> },
    /// Restore the backup at `from` (absolute).
    Restore { from: std::path::PathBuf },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CtlResponse {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The refusal, exactly as the plugin's commands give it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorPayload>,
}

impl CtlResponse {
    fn ok(result: Value) -> CtlResponse {
        CtlResponse { ok: true, result: Some(result), error: None }
    }
    pub fn err(error: impl Into<ErrorPayload>) -> CtlResponse {
        CtlResponse { ok: false, result: None, error: Some(error.into()) }
    }
}

/// Carries out one request.
pub async fn handle(sup: &Supervisor, req: CtlRequest) -> CtlResponse {
    let command = |r: Result<(), CommandError>| match r {
        Ok(()) => CtlResponse::ok(Value::Null),
        Err(e) => CtlResponse::err(&e),
    };
    match req {
        CtlRequest::Command { verb, name } => command(sup.command(verb, &name).await),
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
                Err(e) => CtlResponse::err(ErrorPayload::new(ErrorKind::Io, format!("sampling stopped: {e}"))),
            }
        }
        CtlRequest::Request { name, method, params, timeout_ms } => {
            match sup.request(&name, &method, params, Duration::from_millis(timeout_ms)).await {
                Ok(v) => CtlResponse::ok(v),
                Err(e) => CtlResponse::err(&e),
            }
        }
        CtlRequest::Backup { to } => match sup.backup(to).await {
            Ok(done) => CtlResponse::ok(serde_json::to_value(done).expect("serializes")),
            Err(e) => CtlResponse::err(&e),
        },
        CtlRequest::Restore { from } => match sup.restore(&from).await {
            Ok(done) => CtlResponse::ok(serde_json::to_value(done).expect("serializes")),
            Err(e) => CtlResponse::err(&e),
        },
    }
}

/// Reads one request line from `conn`, answers it, and closes.
async fn serve_conn<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(sup: Supervisor, conn: S) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let mut conn = BufReader::new(conn);
    let mut line = Vec::new();
    let read = AsyncReadExt::take(&mut conn, MAX_REQUEST as u64 + 1).read_until(b'\n', &mut line).await;
    let resp = match read {
        Err(e) => {
            CtlResponse::err(ErrorPayload::new(ErrorKind::InvalidArgument, format!("cannot read the request: {e}")))
        }
        Ok(_) if line.len() > MAX_REQUEST => {
            CtlResponse::err(ErrorPayload::new(ErrorKind::TooLarge, format!("the request is over {MAX_REQUEST} bytes")))
        }
        Ok(_) => match serde_json::from_slice::<CtlRequest>(&line) {
            Ok(req) => handle(&sup, req).await,
            Err(e) => {
                CtlResponse::err(ErrorPayload::new(ErrorKind::InvalidArgument, format!("not a control request: {e}")))
            }
        },
    };
    let mut out = serde_json::to_vec(&resp).expect("a response serializes");
    out.push(b'\n');
    let _ = conn.get_mut().write_all(&out).await;
    let _ = conn.get_mut().shutdown().await;
}

/// The listening endpoint; dropping it stops listening (and removes a socket file).
pub struct Endpoint {
    listener: std::sync::Arc<platform::ControlListener>,
    task: tokio::task::JoinHandle<()>,
}

impl Endpoint {
    /// Where it listens (the socket's path, or the pipe's name).
    pub fn path(&self) -> &std::path::Path {
        self.listener.path()
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Listens on `layout`'s control endpoint (inside a tokio runtime); only the runtime's user
/// gets an answer, anyone else the refusal.
pub fn serve(sup: Supervisor, layout: &DataDirLayout) -> std::io::Result<Endpoint> {
    let listener = std::sync::Arc::new(platform::ControlListener::bind(&layout.control_endpoint())?);
    let accepting = listener.clone();
    let task = tokio::spawn(async move {
        while let Ok(conn) = accepting.accept().await {
            let sup = sup.clone();
            tokio::spawn(async move {
                match conn {
                    Accepted::Ours(conn) => serve_conn(sup, conn).await,
                    Accepted::Refused(conn, why) => refuse(conn, why).await,
                }
            });
        }
    });
    Ok(Endpoint { listener, task })
}

async fn refuse(mut conn: Box<dyn platform::ControlStream>, why: String) {
    use tokio::io::AsyncWriteExt;
    let refused = CtlResponse::err(ErrorPayload::new(ErrorKind::Refused, why));
    let mut out = serde_json::to_vec(&refused).expect("a response serializes");
    out.push(b'\n');
    let _ = conn.write_all(&out).await;
}

/// Sends `req` to the runtime on `layout`'s data dir and returns its answer.
pub async fn call(layout: &DataDirLayout, req: &CtlRequest) -> Result<CtlResponse, String> {
    let conn = platform::connect(&layout.control_endpoint(), layout.root()).await?;
    exchange(conn, req).await
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
