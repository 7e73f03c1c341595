//! Pure decisions, no I/O: the plan built from the profile, the orchestrator over all sidecars,
//! the per-sidecar state machine (and the remote row, a machine without a process), restart
//! budget and backoff, what each state means and the stack's health, the verbs people give and
//! the kinds of error they get back, the events all of this emits. Time is passed in as a
//! `Duration` since the engine started; nothing here reads a clock, touches a file or speaks to
//! an operating system.

pub mod backoff;
pub mod backup;
pub mod budget;
pub mod build;
pub mod cause;
pub mod command;
pub mod errors;
pub mod event;
pub mod health;
pub mod machine;
pub mod orchestrator;
pub mod pg_data;
pub mod plan;
pub mod remote;
pub mod state;
pub mod types;

pub use command::{CommandError, Verb};
pub use errors::{ErrorKind, ErrorPayload};
pub use event::{EventKind, NewEvent};
pub use health::StackHealth;
pub use orchestrator::{Effect, Orchestrator, PortPlan, Report};
pub use plan::{Plan, PortPolicy};
pub use state::{HealthLevel, StateFacts};
pub use types::{Cause, Exit, GracefulStop, Identity, IdentityFound, ProbeKind, State, StepEnd, Stop, StopMechanism};
