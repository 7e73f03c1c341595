//! `sidecar-supervisor-core`: the engine of the desktop runtime, with no Tauri dependency.
//!
//! Layers (one-way): [`domain`] holds the pure decisions (state machine, restart budget,
//! backoff, probe schedule) with the clock passed in; [`runtime`] runs them with tokio against
//! real processes, probes, timers and the feed; [`profile`] loads and validates the runtime
//! profile; [`feed`], [`logs`], [`redact`] and [`atomic_file`] are the persistence edges.

pub mod atomic_file;
pub mod diagnostics;
pub mod domain;
/// Until the facade lands: where these were.
pub mod events {
    pub use crate::domain::{EventKind, NewEvent};
    pub use crate::feed::RuntimeEvent;
    pub use crate::wallclock::now_rfc3339;
}
pub mod feed;
pub mod layout;
pub mod log_files;
pub mod logs;
pub mod platform;
pub mod profile;
pub mod redact;
pub mod runtime;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod wallclock;
pub mod writer;

pub use runtime::{CommandError, Supervisor, SupervisorOptions};
