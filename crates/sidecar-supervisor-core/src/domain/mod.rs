//! Pure decisions, no I/O: the per-sidecar state machine, restart budget and backoff. Time is
//! passed in as a `Duration` since the engine started.

pub mod backoff;
pub mod budget;
pub mod machine;
#[cfg(test)]
mod machine_tests;
pub mod types;

pub use machine::{Action, Input, Machine, MachineConfig, ProbeKind, ProbeTiming, State};
