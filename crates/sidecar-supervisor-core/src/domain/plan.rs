//! The plan: the profile as the orchestrator needs it. One entry per running copy of a sidecar
//! (a *unit*: `worker#1`, `worker#2`), dependencies as unit indices, each unit's rules
//! ([`MachineConfig`]), its port policy, and whether this mode runs it at all. Built once from
//! the resolved settings; pure, like everything under `domain`.

use std::sync::Arc;
use std::time::Duration;

use super::types::{GracefulStop, Identity, MachineConfig, ProbeTiming, StopMechanism};
use crate::profile::template::{self, Piece};
use crate::profile::{Mode, PortKeyword, PortSpec, ProbeSpec, RestartPolicy, RuntimeConfig, SidecarSpec, StopSignal};

/// How a unit gets its port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortPolicy {
    /// No port.
    None,
    /// The runtime picks a free loopback port, kept across restarts until a port race is lost.
    Auto,
    /// The sidecar binds port 0 and announces the port it got; unknown until then.
    Announce,
    /// This port, checked free before each spawn.
    Fixed(u16),
}

impl PortPolicy {
    fn of(spec: &SidecarSpec) -> PortPolicy {
        match spec.port {
            None => PortPolicy::None,
            Some(PortSpec::Keyword(PortKeyword::Auto)) => PortPolicy::Auto,
            Some(PortSpec::Keyword(PortKeyword::Announce)) => PortPolicy::Announce,
            Some(PortSpec::Fixed(p)) => PortPolicy::Fixed(p),
        }
    }
}

#[derive(Debug, Clone)]
pub struct UnitPlan {
    /// Instance name: the sidecar's name, or `name#n` for replicas.
    pub name: String,
    pub spec: Arc<SidecarSpec>,
    /// Units this one waits for (every replica of each dependency).
    pub deps: Vec<usize>,
    /// The units whose port this unit's templates read (`{backend.port}`: replica `#1` of a
    /// replicated dependency). A process started with another port of one of them is stale.
    pub port_sources: Vec<usize>,
    pub port: PortPolicy,
    /// Not run in this mode (`remote_slim` runs no backend and no database).
    pub skipped: bool,
    pub machine: MachineConfig,
    /// The lowest identity tier the readiness probe accepts (`/runtime/info` or gRPC
    /// `Control/Info`; HTTP and gRPC probes, `unverified` by default); `None`: not checked.
    pub identity_check: Option<Identity>,
    /// The same for the liveness probe (only when it asks).
    pub live_identity_check: Option<Identity>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub mode: Mode,
    pub units: Vec<UnitPlan>,
}

impl Plan {
    /// The plan of `cfg` on an OS whose processes stop by `stops`.
    pub fn new(cfg: &RuntimeConfig, stops: StopMechanism) -> Plan {
        let p = &cfg.profile;
        let mut units = Vec::new();
        for s in &p.sidecars {
            let spec = Arc::new(s.clone());
            let skipped = s.role.as_ref().is_some_and(|r| r.skipped_in(cfg.mode));
            for r in 1..=s.replicas {
                units.push(UnitPlan {
                    name: if s.replicas > 1 { format!("{}#{r}", s.name) } else { s.name.clone() },
                    spec: spec.clone(),
                    deps: Vec::new(),
                    port_sources: Vec::new(),
                    port: PortPolicy::of(s),
                    skipped,
                    machine: machine_config(s, &p.restart, cfg.auto_restart, stops),
                    identity_check: s.ready.as_ref().and_then(|p| identity_minimum(p, true)),
                    live_identity_check: s.live.as_ref().and_then(|p| identity_minimum(p, false)),
                });
            }
        }
        let first = |name: &str| units.iter().position(|u| u.spec.name == name);
        let deps: Vec<Vec<usize>> = units
            .iter()
            .map(|u| (0..units.len()).filter(|&d| u.spec.depends_on.iter().any(|n| *n == units[d].spec.name)).collect())
            .collect();
        let sources: Vec<Vec<usize>> = units.iter().map(|u| read_ports(&u.spec).filter_map(first).collect()).collect();
        for ((u, d), s) in units.iter_mut().zip(deps).zip(sources) {
            u.deps = d;
            u.port_sources = dedup(s);
        }
        Plan { mode: cfg.mode, units }
    }

    pub fn len(&self) -> usize {
        self.units.len()
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// Units that are run in this mode and named `name` (a unit) or `name#…` (all replicas).
    pub fn matching(&self, name: &str) -> Vec<usize> {
        (0..self.units.len()).filter(|&i| self.units[i].name == name || self.units[i].spec.name == name).collect()
    }

    /// Names of the units this mode runs, sorted.
    pub fn run_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.units.iter().filter(|u| !u.skipped).map(|u| u.name.clone()).collect();
        names.sort();
        names
    }

    /// Units that wait for `i`.
    pub fn dependents(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.units.len()).filter(move |&j| self.units[j].deps.contains(&i))
    }
}

/// Names of the other sidecars whose port, host or URL the spec's templates read.
fn read_ports(spec: &SidecarSpec) -> impl Iterator<Item = &str> {
    let texts = spec.args.iter().chain(spec.env.values()).map(String::as_str).chain(spec.cwd.as_deref());
    texts.flat_map(|t| template::parse(t).unwrap_or_default()).filter_map(|p| match p {
        Piece::Other { sidecar, .. } => Some(sidecar),
        _ => None,
    })
}

fn dedup(v: Vec<usize>) -> Vec<usize> {
    let mut out = Vec::with_capacity(v.len());
    for x in v {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

fn timing(p: &ProbeSpec) -> ProbeTiming {
    // Connect-style probes are cheap (a refused connect costs microseconds): every 5 ms at most
    // while starting keeps readiness noticed well within 10 ms. An exec probe forks a process
    // each time, so it backs off to 100 ms. A PostgreSQL probe that reaches a server still
    // starting or recovering makes the postmaster fork a backend to refuse it: 20 ms.
    let fast_cap_ms = if p.exec.is_some() {
        100
    } else if p.postgres.is_some() {
        20
    } else {
        5
    };
    ProbeTiming {
        interval: Duration::from_millis(p.interval_ms),
        failure_threshold: p.failure_threshold,
        fast_cap: Duration::from_millis(fast_cap_ms),
        polled: p.stdout.is_none(),
    }
}

/// How a sidecar is asked to stop: its `stop_command` when it has one (every OS); else its stop
/// signal, except where there are no signals (Windows), where a sidecar with a port gets
/// `sidecar.v1.Control/Shutdown` and one without gets Ctrl-Break.
pub fn graceful_stop(spec: &SidecarSpec, stops: StopMechanism) -> GracefulStop {
    match (stops, spec.stop_command.is_some(), spec.port.is_some()) {
        (_, true, _) => GracefulStop::Command,
        (StopMechanism::ConsoleEvents, false, true) => GracefulStop::Control,
        (StopMechanism::ConsoleEvents, false, false) => GracefulStop::CtrlBreak,
        (StopMechanism::Signals, false, _) => GracefulStop::Signal(spec.stop_signal.unwrap_or(StopSignal::Term)),
    }
}

/// The OS's plain graceful stop of a process tree: SIGTERM, or Ctrl-Break without signals.
pub const fn plain_stop(stops: StopMechanism) -> GracefulStop {
    match stops {
        StopMechanism::Signals => GracefulStop::Signal(StopSignal::Term),
        StopMechanism::ConsoleEvents => GracefulStop::CtrlBreak,
    }
}

/// Free re-spawns on a new port after a lost port race, before it counts as a crash.
pub const MAX_PORT_RETRIES: u32 = 5;

/// A sidecar's rules: its own restart policy, else the profile's; restarts only when both the
/// settings and the sidecar allow them.
pub fn machine_config(
    spec: &SidecarSpec,
    profile_restart: &RestartPolicy,
    auto_restart: bool,
    stops: StopMechanism,
) -> MachineConfig {
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
        stop: graceful_stop(spec, stops),
        helper_stop: plain_stop(stops),
        ready: spec.ready.as_ref().map(timing),
        live: spec.live.as_ref().map(timing),
        max_port_retries: MAX_PORT_RETRIES,
        awaits_announcement: PortPolicy::of(spec) == PortPolicy::Announce && spec.ready.is_none(),
    }
}

impl Default for MachineConfig {
    /// What a profile entry with nothing but a name and a command gets.
    fn default() -> Self {
        machine_config(&SidecarSpec::new("default", "default"), &RestartPolicy::default(), true, StopMechanism::Signals)
    }
}

/// What a probe asks of the server's identity: only HTTP and gRPC probes can ask.
fn identity_minimum(p: &crate::profile::ProbeSpec, default: bool) -> Option<Identity> {
    if p.http.is_none() && p.grpc.is_none() {
        return None;
    }
    use crate::profile::{IdentityCheck, IdentityTier};
    match p.identity.unwrap_or(IdentityCheck::Check(default)) {
        IdentityCheck::Check(false) => None,
        IdentityCheck::Check(true) | IdentityCheck::AtLeast(IdentityTier::Unverified) => Some(Identity::Unverified),
        IdentityCheck::AtLeast(IdentityTier::Echoed) => Some(Identity::Echoed),
        IdentityCheck::AtLeast(IdentityTier::Proven) => Some(Identity::Proven),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ExecSpec;

    #[test]
    fn a_stop_command_wins_everywhere_and_windows_asks_sidecars_with_a_port_over_grpc() {
        let mut s = SidecarSpec::new("db", "postgres");
        s.stop_signal = Some(StopSignal::Int);
        let (unix, windows) = (StopMechanism::Signals, StopMechanism::ConsoleEvents);
        assert_eq!(graceful_stop(&s, unix), GracefulStop::Signal(StopSignal::Int));
        assert_eq!(graceful_stop(&s, windows), GracefulStop::CtrlBreak, "no port: Ctrl-Break");
        s.port = Some(PortSpec::Keyword(PortKeyword::Auto));
        assert_eq!(graceful_stop(&s, unix), GracefulStop::Signal(StopSignal::Int));
        assert_eq!(graceful_stop(&s, windows), GracefulStop::Control);
        s.stop_command = Some(ExecSpec { command: "pg_ctl".into(), args: vec!["stop".into()] });
        assert_eq!(graceful_stop(&s, unix), GracefulStop::Command);
        assert_eq!(graceful_stop(&s, windows), GracefulStop::Command);
    }
}
