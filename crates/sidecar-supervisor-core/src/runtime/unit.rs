//! A unit is one running copy of a declared sidecar (a replica): its state machine plus the
//! runtime facts the machine does not own (process handles, port, probes, logs).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::process::ChildStdin;

use super::probes::ProbeTarget;
use super::status::LastProbe;
use crate::domain::{Machine, MachineConfig, ProbeTiming};
use crate::logs::SidecarLog;
use crate::profile::{PortKeyword, PortSpec, ProbeSpec, RestartPolicy, SidecarSpec};

pub struct Unit {
    pub name: String,
    pub spec: Arc<SidecarSpec>,
    pub machine: Machine,
    /// Incremented per spawn; messages from an older process are ignored.
    pub gen: u64,
    pub port: Option<u16>,
    pub pid: Option<u32>,
    pub stdin: Option<ChildStdin>,
    pub log: SidecarLog,
    pub port_in_use: bool,
    pub ready: Option<ProbeTarget>,
    pub live: Option<ProbeTarget>,
    pub stdout_match: Option<String>,
    pub probe_timeout: (Duration, Duration),
    pub last_probe: Option<LastProbe>,
    pub spawned_at: Option<Instant>,
    pub prepared: bool,
    /// Not run in this mode (`remote_slim` skips backend and database roles).
    pub skipped: bool,
    /// Unit indices this one waits for.
    pub deps: Vec<usize>,
    /// The port of each dependency when this unit's process was spawned (its templates were
    /// rendered with them): a dependency back on another port makes the process stale.
    pub dep_ports: Vec<(usize, Option<u16>)>,
    pub data_dir: PathBuf,
    pub depends_on: Vec<String>,
    /// The running `prepare` step, so a stop during `initdb` reaches it.
    pub prepare_pid: Option<u32>,
    /// This process already proved its identity (`/runtime/info`); later probes skip it.
    pub identity_ok: bool,
    /// gRPC channel to this process, reused by every probe (port it was made for).
    pub grpc_channel: Option<(u16, tonic::transport::Channel)>,
    /// Start time of `pid` (clock ticks since boot), for the instance record.
    pub start_ticks: Option<u64>,
    /// The `user` to run as (uid, gid), looked up once at start; `None` when not root or unset;
    /// an error (unknown user) fails the sidecar when it is spawned.
    pub user: Result<Option<(u32, u32)>, String>,
    /// Resolved executable, cached between restarts.
    pub program: Option<PathBuf>,
}

impl Unit {
    pub fn announce(&self) -> bool {
        matches!(self.spec.port, Some(PortSpec::Keyword(PortKeyword::Announce)))
    }
}

fn timing(p: &ProbeSpec) -> ProbeTiming {
    let exec = p.exec.is_some();
    ProbeTiming {
        interval: Duration::from_millis(p.interval_ms),
        failure_threshold: p.failure_threshold,
        // Connect-style probes are cheap (a refused connect costs microseconds): every 5 ms at
        // most while starting keeps readiness noticed well within 10 ms (design §9). An exec
        // probe forks a process each time, so it backs off to 100 ms.
        fast_cap: Duration::from_millis(if exec { 100 } else { 5 }),
        polled: p.stdout.is_none(),
    }
}

pub fn machine_config(spec: &SidecarSpec, profile_restart: &RestartPolicy, auto_restart: bool) -> MachineConfig {
    let r = spec.restart.unwrap_or(*profile_restart);
    MachineConfig {
        max_restarts: r.max_restarts,
        window: Duration::from_secs(r.window_secs),
        min_uptime: Duration::from_millis(r.min_uptime_ms),
        backoff_initial: Duration::from_millis(r.backoff_initial_ms),
        backoff_max: Duration::from_millis(r.backoff_max_ms),
        backoff_reset: Duration::from_secs(r.backoff_reset_secs),
        auto_restart: auto_restart && spec.auto_restart,
        startup_timeout: Duration::from_millis(spec.startup_timeout_ms),
        stop_timeout: Duration::from_millis(spec.stop_timeout_ms),
        stop_signal: spec.stop_signal.map(|s| s.number()).unwrap_or(libc::SIGTERM),
        ready: spec.ready.as_ref().map(timing),
        live: spec.live.as_ref().map(timing),
        max_port_retries: 5,
        awaits_announcement: matches!(spec.port, Some(PortSpec::Keyword(PortKeyword::Announce)))
            && spec.ready.is_none(),
    }
}

/// The probe target of a spec, with exec commands left for the engine to resolve at run time.
pub fn probe_target(p: &ProbeSpec, readiness: bool) -> Option<ProbeTarget> {
    if let Some(path) = &p.http {
        return Some(ProbeTarget::Http { path: path.clone(), identity: p.identity.unwrap_or(readiness) });
    }
    if let Some(s) = &p.grpc {
        return Some(ProbeTarget::Grpc { service: s.clone() });
    }
    if p.tcp == Some(true) {
        return Some(ProbeTarget::Tcp);
    }
    if let Some(e) = &p.exec {
        return Some(ProbeTarget::Exec {
            program: PathBuf::from(&e.command),
            args: e.args.clone(),
            envs: Vec::new(),
            cwd: PathBuf::new(),
            user: None,
        });
    }
    None
}

impl Unit {
    /// Whether this sidecar gets `SIDECAR_API_KEY`. A sidecar that runs as another `user` does
    /// not, unless its profile says `"api_key": true`: every process of that user (e.g. a
    /// distribution's own PostgreSQL cluster, also run as `postgres`) can read its environment.
    pub fn gets_api_key(&self) -> bool {
        self.spec.api_key.unwrap_or(!matches!(self.user, Ok(Some(_))))
    }
}
