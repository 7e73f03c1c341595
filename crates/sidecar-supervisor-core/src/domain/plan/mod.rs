//! The plan: the profile as the domain needs it, and the only reader of the profile. One entry
//! per running copy of a sidecar (a *unit*: `worker#1`, `worker#2`), dependencies as unit
//! indices, and each unit's parts as types: its rules ([`MachineConfig`]), its probes
//! ([`ProbePlan`]), how it stops ([`StopPlan`]), how it runs ([`RunSpec`]), its port policy,
//! and whether this mode runs it here, skips it, or reaches it elsewhere ([`UnitMode`]). Built
//! once from the resolved settings and the OS's facts; pure, like everything under `domain`.

mod probe;
mod rules;
mod run;
mod stop;

use std::sync::Arc;
use std::time::Duration;

pub use probe::{Probe, ProbePlan};
pub use rules::{machine_config, MachineConfig};
pub use run::{Helper, PrepareStep, RunSpec};
pub use stop::StopPlan;

use super::types::{ProbeKind, StopMechanism};
use super::CommandError;
use crate::profile::template::{self, Piece};
use crate::profile::{Mode, PortKeyword, PortSpec, Role, RuntimeConfig, SidecarSpec};

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

/// Whether a unit runs here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitMode {
    /// Run by this runtime.
    Run,
    /// Not run in this mode (`remote_slim` runs no database): shown as `skipped`.
    Skipped,
    /// Run elsewhere and only probed (`remote_slim`'s backend): a unit without a process.
    Remote(RemoteTarget),
}

/// The remote backend a `remote_slim` runtime probes in place of running its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteTarget {
    /// The backend's base URL (`backend_url`).
    pub base_url: String,
    /// What is probed: its readiness path (`ready.http` of the profile's backend,
    /// `/health/ready` by default).
    pub path: String,
    pub interval: Duration,
    pub timeout: Duration,
    /// Failed probes in a row before a ready backend counts as unhealthy.
    pub failure_threshold: u32,
}

impl RemoteTarget {
    /// The URL the probe asks.
    pub fn url(&self) -> String {
        format!("{}{}", self.base_url.trim_end_matches('/'), self.path)
    }
}

#[derive(Debug, Clone)]
pub struct UnitPlan {
    /// Instance name: the sidecar's name, or `name#n` for replicas.
    pub name: String,
    /// The sidecar's name (replicas share it).
    pub sidecar: String,
    pub role: Option<Role>,
    /// The sidecars it waits for, by name (for the status).
    pub depends_on: Vec<String>,
    /// Units this one waits for (every replica of each dependency).
    pub deps: Vec<usize>,
    /// The units whose port this unit's templates read (`{backend.port}`: replica `#1` of a
    /// replicated dependency). A process started with another port of one of them is stale.
    pub port_sources: Vec<usize>,
    pub port: PortPolicy,
    pub mode: UnitMode,
    /// Its rules: restarts, probes' schedules and identity, stop, prepare steps' timeouts.
    pub machine: MachineConfig,
    pub ready: Option<ProbePlan>,
    pub live: Option<ProbePlan>,
    /// How to run it (shared by the replicas).
    pub run: Arc<RunSpec>,
}

impl UnitPlan {
    /// Whether this runtime runs its process.
    pub fn runs_here(&self) -> bool {
        self.mode == UnitMode::Run
    }

    pub fn probe(&self, kind: ProbeKind) -> Option<&ProbePlan> {
        match kind {
            ProbeKind::Ready => self.ready.as_ref(),
            ProbeKind::Live => self.live.as_ref(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub mode: Mode,
    pub units: Vec<UnitPlan>,
    /// The sidecars whose `{password}` some template uses (each gets one per launch).
    pub passwords: Vec<String>,
    /// How many events the feed keeps.
    pub max_events: usize,
}

impl Plan {
    /// The plan of `cfg` on an OS whose processes stop by `stops`.
    pub fn new(cfg: &RuntimeConfig, stops: StopMechanism) -> Plan {
        let p = &cfg.profile;
        let mut units = Vec::new();
        let mut remote_taken = false;
        for s in &p.sidecars {
            let run = Arc::new(RunSpec::of(s, cfg.bin_overrides.get(&s.name).cloned()));
            let ready = s.ready.as_ref().and_then(|p| ProbePlan::of(p, true));
            let live = s.live.as_ref().and_then(|p| ProbePlan::of(p, false));
            let machine = machine_config(s, &p.restart, cfg.auto_restart, stops, &ready, &live);
            for r in 1..=s.replicas {
                let mode = match unit_mode(s, cfg, remote_taken) {
                    m @ UnitMode::Remote(_) => {
                        remote_taken = true;
                        m
                    }
                    m => m,
                };
                units.push(UnitPlan {
                    name: if s.replicas > 1 { format!("{}#{r}", s.name) } else { s.name.clone() },
                    sidecar: s.name.clone(),
                    role: s.role.clone(),
                    depends_on: s.depends_on.clone(),
                    deps: Vec::new(),
                    port_sources: Vec::new(),
                    port: PortPolicy::of(s),
                    mode,
                    machine: machine.clone(),
                    ready: ready.clone(),
                    live: live.clone(),
                    run: run.clone(),
                });
            }
        }
        let first = |name: &str| units.iter().position(|u| u.sidecar == name);
        let deps: Vec<Vec<usize>> = units
            .iter()
            .map(|u| (0..units.len()).filter(|&d| u.depends_on.iter().any(|n| *n == units[d].sidecar)).collect())
            .collect();
        let sources: Vec<Vec<usize>> = p
            .sidecars
            .iter()
            .flat_map(|s| std::iter::repeat_n(s, s.replicas as usize))
            .map(|s| read_ports(s).filter_map(first).collect())
            .collect();
        for ((u, d), s) in units.iter_mut().zip(deps).zip(sources) {
            u.deps = d;
            u.port_sources = dedup(s);
        }
        let passwords = (p.sidecars.iter())
            .filter(|s| p.sidecars.iter().any(|t| template::uses_password_of(t, &s.name)))
            .map(|s| s.name.clone())
            .collect();
        Plan { mode: cfg.mode, units, passwords, max_events: p.max_events }
    }

    /// How many units.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.units.len()
    }

    /// The units `name` means: the unit of that name, or every replica (`name#n`) of the
    /// sidecar of that name. Unknown names are an error listing the known ones.
    pub fn select(&self, name: &str) -> Result<Vec<usize>, CommandError> {
        let found: Vec<usize> =
            (0..self.units.len()).filter(|&i| self.units[i].name == name || self.units[i].sidecar == name).collect();
        if found.is_empty() {
            return Err(self.unknown(name));
        }
        Ok(found)
    }

    /// The one unit named `name` (an instance name), or the error listing the known ones.
    pub fn unit(&self, name: &str) -> Result<usize, CommandError> {
        self.units.iter().position(|u| u.name == name).ok_or_else(|| self.unknown(name))
    }

    /// `name` names no unit: the error lists every unit's name, sorted.
    fn unknown(&self, name: &str) -> CommandError {
        let mut known: Vec<String> = self.units.iter().map(|u| u.name.clone()).collect();
        known.sort();
        CommandError::UnknownSidecar { sidecar: name.into(), known }
    }

    /// Units that wait for `i`.
    pub fn dependents(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.units.len()).filter(move |&j| self.units[j].deps.contains(&i))
    }
}

/// Whether this mode runs a sidecar: `remote_slim` runs no backend and no database; its first
/// backend is the remote one (when a URL is set), probed in place of running it.
fn unit_mode(s: &SidecarSpec, cfg: &RuntimeConfig, remote_taken: bool) -> UnitMode {
    let skipped = cfg.mode == Mode::RemoteSlim && matches!(s.role, Some(Role::Backend | Role::Database));
    if !skipped {
        return UnitMode::Run;
    }
    match (&s.role, &cfg.backend_url) {
        (Some(Role::Backend), Some(url)) if !remote_taken => {
            let probe = s.ready.as_ref();
            UnitMode::Remote(RemoteTarget {
                base_url: url.clone(),
                path: probe.and_then(|p| p.http.clone()).unwrap_or_else(|| "/health/ready".into()),
                interval: Duration::from_millis(probe.map_or(1000, |p| p.interval_ms)),
                timeout: Duration::from_millis(probe.map_or(1000, |p| p.timeout_ms)),
                failure_threshold: probe.map_or(3, |p| p.failure_threshold).max(1),
            })
        }
        _ => UnitMode::Skipped,
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
