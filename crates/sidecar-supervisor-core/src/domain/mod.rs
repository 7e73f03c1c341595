//! Pure decisions, no I/O: the plan built from the profile, the orchestrator over all sidecars,
//! the per-sidecar state machine, restart budget and backoff. Time is passed in as a
//! `Duration` since the engine started; nothing here reads a clock, touches a file or speaks to
//! an operating system.

pub mod backoff;
pub mod budget;
pub mod event;
pub mod machine;
pub mod orchestrator;
pub mod plan;
pub mod state;
pub mod types;

pub use event::{EventKind, NewEvent};
pub use machine::{Action, Input, Machine};
pub use orchestrator::{CommandError, Effect, Orchestrator, PortPlan, Report, Verb};
pub use plan::{Plan, PortPolicy, UnitPlan};
pub use types::{Exit, GracefulStop, Identity, MachineConfig, ProbeKind, ProbeTiming, State, Stop, StopMechanism};
