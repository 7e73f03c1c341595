//! Probe execution: HTTP, gRPC health, TCP, exec. Each returns `(ok, detail)`; the decisions
//! about what a result means live in the state machine.
//!
//! HTTP readiness also checks identity: `GET /runtime/info` must echo this launch's
//! instance id, so a stale or foreign server on the port is never taken as ready (field notes
//! traps 1 and 4).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::net::TcpStream;

use super::ports::LOOPBACK;

#[derive(Debug, Clone)]
pub enum ProbeTarget {
    Http { path: String, identity: bool },
    Grpc { service: String },
    Tcp,
    Exec { program: PathBuf, args: Vec<String>, envs: Vec<(String, String)> },
}

#[derive(Debug, Clone)]
pub struct ProbeContext {
    pub port: Option<u16>,
    pub instance_id: String,
    pub api_key: String,
    pub timeout: Duration,
    /// A channel reused across gRPC probes of one process (made lazily by the engine).
    pub grpc: Option<tonic::transport::Channel>,
}

/// Shared HTTP client: loopback only, no proxy, no pooling surprises.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().pool_max_idle_per_host(1).build().expect("reqwest client builds")
}

pub async fn run(target: &ProbeTarget, ctx: &ProbeContext, http: &reqwest::Client) -> (bool, String) {
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
        ProbeTarget::Http { path, identity } => http_probe(http, port, path, *identity, ctx).await,
        ProbeTarget::Grpc { service } => grpc_probe(port, service, ctx.grpc.clone()).await,
        ProbeTarget::Exec { program, args, envs } => exec_probe(program, args, envs).await,
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

/// `GET /runtime/info` must name this launch's instance id.
async fn check_identity(http: &reqwest::Client, port: u16, ctx: &ProbeContext) -> Result<(), String> {
    let url = format!("http://127.0.0.1:{port}/runtime/info");
    let resp = http
        .get(&url)
        .header("x-api-key", &ctx.api_key)
        .send()
        .await
        .map_err(|e| format!("GET /runtime/info: {}", short_error(&e)))?;
    if !resp.status().is_success() {
        return Err(format!(
            "GET /runtime/info answered {}: cannot confirm the server on port {port} is ours",
            resp.status().as_u16()
        ));
    }
    let body: serde_json::Value = resp.json().await.map_err(|e| format!("GET /runtime/info: not JSON ({e})"))?;
    match body.get("instance_id").and_then(|v| v.as_str()) {
        Some(id) if id == ctx.instance_id => Ok(()),
        Some(_) => Err(format!("port {port} answered by a foreign process (another instance id)")),
        None => Err(format!("port {port}: /runtime/info has no instance_id")),
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

async fn exec_probe(program: &PathBuf, args: &[String], envs: &[(String, String)]) -> (bool, String) {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .envs(envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    match cmd.output().await {
        Ok(o) if o.status.success() => (true, format!("{} exited 0", program.display())),
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            let last = err.lines().last().unwrap_or("").trim();
            (
                false,
                format!(
                    "{} {}{}",
                    program.display(),
                    o.status,
                    if last.is_empty() { String::new() } else { format!(": {last}") }
                ),
            )
        }
        Err(e) => (false, format!("cannot run {}: {e}", program.display())),
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
