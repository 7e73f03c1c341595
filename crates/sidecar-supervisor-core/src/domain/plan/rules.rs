//! A sidecar's rules ([`MachineConfig`]): what its machine decides by — the restart budget and
//! backoff, the startup timeout, its probes' schedules and the identity each requires, how it
//! stops, how long each prepare step may take.

use std::time::Duration;

use super::{PortPolicy, ProbePlan, StopPlan};
use crate::domain::types::{Identity, ProbeTiming, StopMechanism};
use crate::profile::{RestartPolicy, SidecarSpec};

#[derive(Debug, Clone)]
pub struct MachineConfig {
    pub max_restarts: u32,
    pub window: Duration,
    pub min_uptime: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    pub backoff_reset: Duration,
    pub auto_restart: bool,
    pub startup_timeout: Duration,
    pub stop: StopPlan,
    pub ready: Option<ProbeTiming>,
    pub live: Option<ProbeTiming>,
    /// The lowest identity tier a passing readiness (liveness) probe must show; `None`: not
    /// checked.
    pub ready_identity: Option<Identity>,
    pub live_identity: Option<Identity>,
    /// How long each prepare step may run, in order.
    pub prepare: Vec<Duration>,
    /// Free re-spawns on a new port after a lost port race, before it counts as a crash.
    pub max_port_retries: u32,
    /// `"port": "announce"` and no readiness probe: ready once the port was announced.
    pub awaits_announcement: bool,
    /// A PostgreSQL sidecar (`postgres` block): its data directory is judged before each start.
    pub checks_data: bool,
    /// The app's build hash, which its sidecars' identity answers are judged by (`None`: a
    /// build that states none).
    pub app_build: Option<String>,
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
    ready: &Option<ProbePlan>,
    live: &Option<ProbePlan>,
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
        stop: StopPlan::of(spec, stops),
        ready: ready.as_ref().map(|p| p.timing),
        live: live.as_ref().map(|p| p.timing),
        ready_identity: ready.as_ref().and_then(|p| p.identity),
        live_identity: live.as_ref().and_then(|p| p.identity),
        prepare: spec.prepare.iter().map(|p| Duration::from_millis(p.timeout_ms)).collect(),
        max_port_retries: MAX_PORT_RETRIES,
        awaits_announcement: PortPolicy::of(spec) == PortPolicy::Announce && spec.ready.is_none(),
        checks_data: spec.postgres.is_some(),
        app_build: None,
    }
}

impl Default for MachineConfig {
    /// What a profile entry with nothing but a name and a command gets.
    fn default() -> Self {
        let spec = SidecarSpec::new("default", "default");
        machine_config(&spec, &RestartPolicy::default(), true, StopMechanism::Signals, &None, &None)
    }
}
