//! The effect side of the engine and its public handle, [`Supervisor`].
//!
//! - [`start`](Supervisor::start) (`start.rs`) is the composition root: it builds the parts and
//!   runs the engine (`engine/`) on a thread of its own.
//! - The handle (`handle.rs`) reads without waiting for the engine, and changes what runs with
//!   one [`Supervisor::command`].
//! - The side doors (`doors/`): the control socket, the JSON-RPC stdio channel, the gRPC client
//!   to sidecars, the Control-service client.
//! - What the engine's effects use: probes (`probes`, `pg_probe`), ports, program lookup
//!   (`program`, `search_path`), the instance record, resources, settings as this host resolves
//!   them, the status shape.

mod backup;
pub mod doors;
mod engine;
mod handle;
pub mod instance;
pub mod pg_probe;
pub mod ports;
pub mod probes;
pub mod program;
pub mod resources;
pub mod search_path;
mod secrets;
mod settings;
mod start;
pub mod status;

pub use backup::{BackupDone, BackupError, BackupFile, BackupsInfo, RestoreDone};
pub use handle::{LogReadError, Supervisor};
pub(crate) use secrets::random_hex;
pub use settings::{default_data_dir, load_profile, resolve_from_env, resolve_settings};
pub use start::{StartError, SupervisorOptions};
pub use status::{Budget, LastProbe, Notification, RuntimeStatus, RuntimeWarning, SidecarStatus, WarningKind};
