//! Probe execution: HTTP, gRPC health, TCP, PostgreSQL, exec. Each returns `(ok, detail)`; the decisions
//! about what a result means live in the state machine.
//!
//! HTTP readiness also checks identity: `GET /runtime/info` must echo this launch's
//! instance id and prove it holds the launch's key, so a stale or foreign server on the port is
//! never taken as ready, and never learns the key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::TcpStream;

use super::ports::LOOPBACK;
use crate::platform;

#[derive(Debug, Clone)]
pub enum ProbeTarget {
    Http {
        path: String,
        identity: bool,
    },
    Grpc {
        service: String,
    },
    Tcp,
    /// PostgreSQL's own readiness, asking as this role (`pg_probe`).
    Postgres {
        user: String,
    },
    /// Run like a sidecar (own process group, death signal, the sidecar's user and data dir).
    Exec {
        program: PathBuf,
        args: Vec<String>,
        envs: Vec<(String, String)>,
        cwd: PathBuf,
        user: Option<(u32, u32)>,
    },
}

#[derive(Debug, Clone)]
pub struct ProbeContext {
    pub port: Option<u16>,
    pub instance_id: String,
    /// The launch's API key when the sidecar has it: its `/runtime/info` must then prove it
    /// (never sent: see `sidecar_identity`). `None`: the instance id alone is checked.
    pub proof_key: Option<String>,
    pub timeout: Duration,
    /// A channel reused across gRPC probes of one process (made lazily by the engine).
    pub grpc: Option<tonic::transport::Channel>,
}

/// Shared HTTP client: loopback only, no proxy, no pooling surprises.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().pool_max_idle_per_host(1).build().expect("reqwest client builds")
}

pub async fn run(target: &ProbeTarget, ctx: &ProbeContext, http: &reqwest::Client) -> (bool, String) {
    if let ProbeTarget::Exec { program, args, envs, cwd, user } = target {
        // Its own timeout: on expiry the whole process group is killed, not just abandoned.
        return exec_probe(program, args, envs, cwd, *user, ctx.timeout).await;
    }
    match tokio::time::timeout(ctx.timeout, run_inner(target, ctx, http)).await {
        Ok(r) => r,
        Err(_) => (false, format!("no answer within {} ms", ctx.timeout.as_millis())),
    }
}

async fn run_inner(target: &ProbeTarget, ctx: &ProbeContext, http: &reqwest::Client) -> (bool, String) {
    let needs_port = !matches!(target, ProbeTarget::Exec { .. });
    let port = match ctx.port {
        Some(p) => p,
        None if needs_port => return (false, "port not known yet".into()),
        None => 0,
    };
    match target {
        ProbeTarget::Tcp => match TcpStream::connect((LOOPBACK, port)).await {
            Ok(_) => (true, format!("tcp 127.0.0.1:{port} accepted")),
            Err(e) => (false, format!("tcp 127.0.0.1:{port}: {e}")),
        },
        ProbeTarget::Postgres { user } => super::pg_probe::probe(port, user).await,
        ProbeTarget::Http { path, identity } => http_probe(http, port, path, *identity, ctx).await,
        ProbeTarget::Grpc { service } => grpc_probe(port, service, ctx.grpc.clone()).await,
        ProbeTarget::Exec { .. } => unreachable!("exec probes are run by `run`"),
    }
}

async fn http_probe(
    http: &reqwest::Client,
    port: u16,
    path: &str,
    identity: bool,
    ctx: &ProbeContext,
) -> (bool, String) {
    let url = format!("http://127.0.0.1:{port}{path}");
    let status = match http.get(&url).send().await {
        Ok(r) => r.status(),
        Err(e) => return (false, format!("GET {path}: {}", short_error(&e))),
    };
    if !status.is_success() {
        return (false, format!("GET {path} answered {}", status.as_u16()));
    }
    if identity {
        if let Err(why) = check_identity(http, port, ctx).await {
            return (false, why);
        }
    }
    (true, format!("GET {path} answered {}", status.as_u16()))
}

/// `GET /runtime/info?nonce=<fresh>` must name this launch's instance id and, when the sidecar
/// holds the API key, prove it with an HMAC of the nonce. The request carries no key: whatever
/// answers on the port (another program may have taken it) learns nothing.
async fn check_identity(http: &reqwest::Client, port: u16, ctx: &ProbeContext) -> Result<(), String> {
    let nonce = crate::runtime::random_hex(16);
    let url = format!("http://127.0.0.1:{port}/runtime/info?{}={nonce}", sidecar_identity::NONCE_PARAM);
    let resp = http.get(&url).send().await.map_err(|e| format!("GET /runtime/info: {}", short_error(&e)))?;
    if !resp.status().is_success() {
        return Err(format!(
            "GET /runtime/info answered {}: cannot confirm the server on port {port} is ours",
            resp.status().as_u16()
        ));
    }
    let body: serde_json::Value = resp.json().await.map_err(|e| format!("GET /runtime/info: not JSON ({e})"))?;
    match body.get("instance_id").and_then(|v| v.as_str()) {
        Some(id) if id == ctx.instance_id => {}
        Some(_) => return Err(format!("port {port} answered by a foreign process (another instance id)")),
        None => return Err(format!("port {port}: /runtime/info has no instance_id")),
    }
    let Some(key) = &ctx.proof_key else { return Ok(()) };
    match body.get("proof").and_then(|v| v.as_str()) {
        Some(p) if sidecar_identity::verify(key, &nonce, p) => Ok(()),
        Some(_) => Err(format!("port {port} answered by a foreign process (its identity proof is wrong)")),
        None => Err(format!(
            "port {port}: /runtime/info gave no identity proof for the nonce (see the sidecar contract: `proof`)"
        )),
    }
}

async fn grpc_probe(port: u16, service: &str, channel: Option<tonic::transport::Channel>) -> (bool, String) {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;
    let channel = match channel {
        Some(c) => c,
        None => match grpc_channel(port) {
            Ok(c) => c,
            Err(e) => return (false, e),
        },
    };
    let mut client = HealthClient::new(channel);
    match client.check(HealthCheckRequest { service: service.to_string() }).await {
        Ok(r) => {
            let st = r.into_inner().status();
            (st == ServingStatus::Serving, format!("grpc health {:?}", st))
        }
        Err(s) => (false, format!("grpc health: {} {}", s.code(), s.message())),
    }
}

/// A lazily connecting channel to 127.0.0.1:`port` (reconnects by itself).
pub fn grpc_channel(port: u16) -> Result<tonic::transport::Channel, String> {
    tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .map(|e| e.connect_lazy())
        .map_err(|e| format!("grpc endpoint: {e}"))
}

async fn exec_probe(
    program: &Path,
    args: &[String],
    envs: &[(String, String)],
    cwd: &Path,
    user: Option<(u32, u32)>,
    timeout: Duration,
) -> (bool, String) {
    use tokio::io::AsyncReadExt;
    let req = platform::SpawnRequest { program, args, env: envs, cwd, user };
    let platform::Spawned { mut child, pid, lifeline, mut stdout, stderr } = match platform::spawn(&req) {
        Ok(s) => s,
        Err(e) => return (false, format!("cannot run {}: {e}", program.display())),
    };
    let work = async {
        let mut err = Vec::new();
        let mut sink = tokio::io::sink();
        let mut stderr = stderr.take(64 * 1024);
        let _ = tokio::join!(stderr.read_to_end(&mut err), tokio::io::copy(&mut stdout, &mut sink));
        (child.wait().await, err)
    };
    let out = tokio::time::timeout(timeout, work).await;
    drop(lifeline);
    let name = program.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match out {
        Ok((Ok(exit), _)) if exit.code == Some(0) => (true, format!("{name} exited 0")),
        Ok((Ok(exit), err)) => {
            let err = String::from_utf8_lossy(&err);
            let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
            let st = exit.describe();
            (false, if last.is_empty() { format!("{name} {st}") } else { format!("{name} {st}: {last}") })
        }
        Ok((Err(e), _)) => (false, format!("{name}: {e}")),
        Err(_) => {
            platform::kill_group(pid);
            (false, format!("{name} gave no answer within {} ms; killed its process group", timeout.as_millis()))
        }
    }
}

fn short_error(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "connection refused".into()
    } else if e.is_timeout() {
        "timed out".into()
    } else {
        e.to_string()
    }
}
