//! Running a probe: one arm per kind of the plan's [`Probe`] — HTTP, gRPC health, TCP,
//! PostgreSQL, exec. Each says whether it passed and why; what a result means is the machine's
//! to decide.
//!
//! HTTP and gRPC probes that pass also rank the server's identity when asked
//! (`GET /runtime/info?nonce=`, or `sidecar.v1.Control/Info`): `proven` (this launch's instance
//! id and an HMAC proof of its key), `echoed` (the instance id alone), `unverified` (nothing to
//! ask), `foreign` (another instance id or a wrong proof). The machine judges the tier against
//! the profile's minimum. The key is never sent, so a foreign server on the port never learns it.

use crate::domain::build::SidecarBuild;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::TcpStream;

use super::ports::LOOPBACK;
use crate::domain::plan::Probe;
use crate::domain::{Identity, IdentityFound};
use crate::platform;

/// What an exec probe runs, found and rendered by the engine (like a sidecar: its own process
/// group, death signal, the sidecar's user and data dir).
#[derive(Debug, Clone)]
pub struct ExecRun {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub envs: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub user: Option<(u32, u32)>,
}

#[derive(Debug, Clone)]
pub struct ProbeContext {
    pub port: Option<u16>,
    /// Also rank whose server answers (HTTP and gRPC probes that pass).
    pub identity: bool,
    /// An exec probe's command, ready to run.
    pub exec: Option<ExecRun>,
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

/// A probe's result: passed or not, why, and what the identity check found when one was asked
/// for (the machine judges it against the profile's minimum).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub ok: bool,
    pub detail: String,
    pub identity: Option<IdentityFound>,
    /// The build the identity answer states (its version and build hash), when it was asked.
    pub build: Option<SidecarBuild>,
}

impl Outcome {
    fn plain(ok: bool, detail: String) -> Outcome {
        Outcome { ok, detail, identity: None, build: None }
    }
}

/// The build an identity answer states (`version`, `build`), judged later by the machine.
fn build_of(version: Option<&str>, build: Option<&str>) -> Option<SidecarBuild> {
    let (version, build) = (version.unwrap_or_default(), build.unwrap_or_default());
    (!version.is_empty() || !build.is_empty()).then(|| SidecarBuild {
        version: version.into(),
        build: build.into(),
        matches: None,
    })
}

/// Runs one probe: one arm per kind of [`Probe`].
pub async fn run(probe: &Probe, ctx: &ProbeContext, http: &reqwest::Client) -> Outcome {
    if let (Probe::Exec(_), Some(e)) = (probe, &ctx.exec) {
        // Its own timeout: on expiry the whole process group is killed, not just abandoned.
        let (ok, detail) = exec_probe(&e.program, &e.args, &e.envs, &e.cwd, e.user, ctx.timeout).await;
        return Outcome::plain(ok, detail);
    }
    match tokio::time::timeout(ctx.timeout, on_port(probe, ctx, http)).await {
        Ok(r) => r,
        Err(_) => Outcome::plain(false, format!("no answer within {} ms", ctx.timeout.as_millis())),
    }
}

/// The probes that ask the sidecar's port.
async fn on_port(probe: &Probe, ctx: &ProbeContext, http: &reqwest::Client) -> Outcome {
    let Some(port) = ctx.port else { return Outcome::plain(false, "port not known yet".into()) };
    match probe {
        Probe::Tcp => match TcpStream::connect((LOOPBACK, port)).await {
            Ok(_) => Outcome::plain(true, format!("tcp 127.0.0.1:{port} accepted")),
            Err(e) => Outcome::plain(false, format!("tcp 127.0.0.1:{port}: {e}")),
        },
        Probe::Postgres { user } => {
            let (ok, detail) = super::pg_probe::probe(port, user).await;
            Outcome::plain(ok, detail)
        }
        Probe::Http { path } => http_probe(http, port, path, ctx).await,
        Probe::Grpc { service } => grpc_probe(port, service, ctx).await,
        Probe::Exec(_) => Outcome::plain(false, "the exec probe's command was not prepared".into()),
        // Pushed by the sidecar's own output, never asked.
        Probe::StdoutLine { .. } => Outcome::plain(false, "the stdout line probe is not polled".into()),
    }
}

async fn http_probe(http: &reqwest::Client, port: u16, path: &str, ctx: &ProbeContext) -> Outcome {
    let url = format!("http://127.0.0.1:{port}{path}");
    let resp = match http.get(&url).send().await {
        Ok(r) => r,
        Err(e) => return Outcome::plain(false, format!("GET {path}: {}", short_error(&e))),
    };
    let status = resp.status();
    if !status.is_success() {
        // The contract's `{"ready": false, "reason": "..."}` says why: quote it.
        let said = match reason(resp).await {
            Some(r) => format!(": {r}"),
            None => String::new(),
        };
        return Outcome::plain(false, format!("GET {path} answered {}{said}", status.as_u16()));
    }
    let passed = format!("GET {path} answered {}", status.as_u16());
    if !ctx.identity {
        return Outcome::plain(true, passed);
    }
    let (answer, build) = match check_identity(http, port, ctx).await {
        Ok((tier, why, build)) => (Ok((tier, why)), build),
        Err(e) => (Err(e), None),
    };
    Outcome { ok: true, detail: passed, identity: Some(found(answer)), build }
}

/// The `reason` of a not-ready answer's JSON body (read up to 4 KiB; cut to 300 characters).
async fn reason(mut resp: reqwest::Response) -> Option<String> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() > 4096 {
            return None;
        }
    }
    let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
    let r = v.get("reason")?.as_str()?.trim();
    (!r.is_empty()).then(|| r.chars().take(300).collect())
}

/// An identity answer as the machine takes it.
fn found(r: Result<(Identity, String), String>) -> IdentityFound {
    match r {
        Ok((tier, why)) => IdentityFound::Tier(tier, why),
        Err(e) => IdentityFound::NoAnswer(e),
    }
}

/// `GET /runtime/info?nonce=<fresh>`, ranked ([`Identity`]). The request carries no key:
/// whatever answers on the port (another program may have taken it) learns nothing.
/// `Err`: no answer worth ranking (the server is not up yet).
async fn check_identity(
    http: &reqwest::Client,
    port: u16,
    ctx: &ProbeContext,
) -> Result<(Identity, String, Option<SidecarBuild>), String> {
    let nonce = crate::runtime::random_hex(16);
    let url = format!("http://127.0.0.1:{port}/runtime/info?{}={nonce}", sidecar_identity::NONCE_PARAM);
    let resp = http.get(&url).send().await.map_err(|e| format!("GET /runtime/info: {}", short_error(&e)))?;
    let code = resp.status().as_u16();
    if matches!(code, 401 | 403 | 404 | 405 | 501) {
        return Ok((Identity::Unverified, format!("GET /runtime/info answered {code}"), None));
    }
    if !resp.status().is_success() {
        return Err(format!("GET /runtime/info answered {code}"));
    }
    let body: serde_json::Value = match resp.json().await {
        Ok(b) => b,
        Err(_) => return Ok((Identity::Unverified, "/runtime/info is not JSON".into(), None)),
    };
    let text = |k: &str| body.get(k).and_then(|v| v.as_str());
    let (tier, why) = rank(port, ctx, &nonce, text("instance_id"), text("proof"));
    // Only this launch's own process says which build it is worth judging.
    let build = (tier >= Identity::Echoed).then(|| build_of(text("version"), text("build"))).flatten();
    Ok((tier, why, build))
}

/// The tier of an identity answer, and why (pure: unit-tested below).
fn rank(port: u16, ctx: &ProbeContext, nonce: &str, id: Option<&str>, proof: Option<&str>) -> (Identity, String) {
    let another = "another program or an older instance answers on it";
    match id {
        None | Some("") => return (Identity::Unverified, "/runtime/info has no instance_id".into()),
        Some(id) if id != ctx.instance_id => {
            return (
                Identity::Foreign,
                format!("port {port}: {another} (its instance id is {id}, not this launch's); it is never taken as ready: stop that program, or use `\"port\": \"auto\"`"),
            )
        }
        Some(_) => {}
    }
    match (proof.filter(|p| !p.is_empty()), &ctx.proof_key) {
        (None, _) => (Identity::Echoed, "this launch's instance id, no proof".into()),
        (Some(_), None) => (Identity::Echoed, "this launch's instance id; it has no key to prove".into()),
        (Some(p), Some(key)) if sidecar_identity::verify(key, nonce, p) => {
            (Identity::Proven, "this launch's instance id and key proof".into())
        }
        (Some(_), Some(_)) => (
            Identity::Foreign,
            format!("port {port}: {another} (its identity proof is wrong for this launch's key); it is never taken as ready"),
        ),
    }
}

async fn grpc_probe(port: u16, service: &str, ctx: &ProbeContext) -> Outcome {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;
    let channel = match ctx.grpc.clone() {
        Some(c) => c,
        None => match grpc_channel(port) {
            Ok(c) => c,
            Err(e) => return Outcome::plain(false, e),
        },
    };
    let mut client = HealthClient::new(channel.clone());
    let st = match client.check(HealthCheckRequest { service: service.to_string() }).await {
        Ok(r) => r.into_inner().status(),
        Err(s) => return Outcome::plain(false, format!("grpc health: {} {}", s.code(), s.message())),
    };
    let passed = format!("grpc health {:?}", st);
    if st != ServingStatus::Serving {
        return Outcome::plain(false, passed);
    }
    if !ctx.identity {
        return Outcome::plain(true, passed);
    }
    let nonce = crate::runtime::random_hex(16);
    let (answer, build) = match super::doors::control_client::info(channel, &nonce).await {
        Ok(None) => (Ok((Identity::Unverified, "no sidecar.v1.Control/Info".into())), None),
        Ok(Some(info)) => {
            let (tier, why) = rank(port, ctx, &nonce, Some(&info.instance_id), Some(&info.proof));
            let build = (tier >= Identity::Echoed).then(|| build_of(Some(&info.version), Some(&info.build))).flatten();
            (Ok((tier, why)), build)
        }
        Err(e) => (Err(e), None),
    };
    Outcome { ok: true, detail: passed, identity: Some(found(answer)), build }
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
