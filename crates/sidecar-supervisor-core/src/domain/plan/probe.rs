//! A probe as the plan gives it: what to check ([`Probe`]), how often and how patiently, and
//! which identity tier a passing answer must show ([`ProbePlan`]).
//!
//! Each kind states its own facts — its fast-probe cap while starting, whether it is polled or
//! pushed, whether it can check the server's identity — in the one `match` of each method, so
//! adding a kind is one variant here (the compiler then asks for each fact) and one runner arm
//! (`runtime/probes.rs`).

use std::time::Duration;

use super::run::Helper;
use crate::domain::types::{Identity, ProbeTiming};
use crate::profile::{IdentityCheck, IdentityTier, ProbeSpec};

/// What a probe checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// `GET <path>` on the sidecar's port answers 2xx.
    Http { path: String },
    /// `grpc.health.v1.Health/Check` of this service answers `SERVING`.
    Grpc { service: String },
    /// A TCP connect to the sidecar's port is accepted.
    Tcp,
    /// PostgreSQL on the port accepts connections (asked as this role, as `pg_isready` does).
    Postgres { user: String },
    /// This command exits 0 (run like a sidecar: its group, user and environment).
    Exec(Helper),
    /// The sidecar printed a stdout line containing this text (pushed, never polled).
    StdoutLine { text: String },
}

impl Probe {
    /// The kind a (validated) profile probe names.
    pub fn of(p: &ProbeSpec) -> Option<Probe> {
        Some(if let Some(path) = &p.http {
            Probe::Http { path: path.clone() }
        } else if let Some(service) = &p.grpc {
            Probe::Grpc { service: service.clone() }
        } else if p.tcp == Some(true) {
            Probe::Tcp
        } else if let Some(user) = &p.postgres {
            Probe::Postgres { user: user.clone() }
        } else if let Some(e) = &p.exec {
            Probe::Exec(Helper { command: e.command.clone(), args: e.args.clone() })
        } else {
            Probe::StdoutLine { text: p.stdout.clone()? }
        })
    }

    /// The longest wait between probes while starting (they begin 2 ms apart and double).
    /// Connect-style probes are cheap (a refused connect costs microseconds): every 5 ms at most
    /// keeps readiness noticed well within 10 ms. An exec probe forks a process each time: 100
    /// ms. A PostgreSQL probe that reaches a server still starting or recovering makes the
    /// postmaster fork a backend to refuse it: 20 ms.
    pub fn fast_cap(&self) -> Duration {
        Duration::from_millis(match self {
            Probe::Http { .. } | Probe::Grpc { .. } | Probe::Tcp | Probe::StdoutLine { .. } => 5,
            Probe::Postgres { .. } => 20,
            Probe::Exec(_) => 100,
        })
    }

    /// Whether the runtime asks (on a schedule), or the sidecar tells (the stdout line).
    pub fn polled(&self) -> bool {
        match self {
            Probe::Http { .. } | Probe::Grpc { .. } | Probe::Tcp | Probe::Postgres { .. } | Probe::Exec(_) => true,
            Probe::StdoutLine { .. } => false,
        }
    }

    /// Whether a passing answer can also say whose server it is (`/runtime/info`, gRPC
    /// `sidecar.v1.Control/Info`).
    pub fn checks_identity(&self) -> bool {
        match self {
            Probe::Http { .. } | Probe::Grpc { .. } => true,
            Probe::Tcp | Probe::Postgres { .. } | Probe::Exec(_) | Probe::StdoutLine { .. } => false,
        }
    }
}

/// A probe with its schedule, its timeout and the identity it requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbePlan {
    pub probe: Probe,
    pub timing: ProbeTiming,
    /// How long one probe may take.
    pub timeout: Duration,
    /// The lowest identity tier a passing answer must show; `None`: not checked.
    pub identity: Option<Identity>,
}

impl ProbePlan {
    /// The plan of a profile probe; `readiness`: a readiness probe (it checks identity unless
    /// told not to; a liveness probe only when asked).
    pub fn of(p: &ProbeSpec, readiness: bool) -> Option<ProbePlan> {
        let probe = Probe::of(p)?;
        let identity = if probe.checks_identity() { identity_minimum(p.identity, readiness) } else { None };
        let timing = ProbeTiming {
            interval: Duration::from_millis(p.interval_ms),
            failure_threshold: p.failure_threshold,
            fast_cap: probe.fast_cap(),
            polled: probe.polled(),
        };
        Some(ProbePlan { probe, timing, timeout: Duration::from_millis(p.timeout_ms), identity })
    }
}

/// The lowest tier a probe's `identity` setting accepts; `None`: no check. `default`: whether
/// an unset setting checks.
fn identity_minimum(setting: Option<IdentityCheck>, default: bool) -> Option<Identity> {
    match setting.unwrap_or(IdentityCheck::Check(default)) {
        IdentityCheck::Check(false) => None,
        IdentityCheck::Check(true) | IdentityCheck::AtLeast(IdentityTier::Unverified) => Some(Identity::Unverified),
        IdentityCheck::AtLeast(IdentityTier::Echoed) => Some(Identity::Echoed),
        IdentityCheck::AtLeast(IdentityTier::Proven) => Some(Identity::Proven),
    }
}
