//! `sidecar-supervisor-core`: the engine of the desktop runtime, with no Tauri dependency.
//!
//! Start a [`Supervisor`] with [`SupervisorOptions`] (a profile resolved by
//! [`resolve_from_env`]); it runs the profile's sidecars, keeps them healthy and stops them in
//! reverse order. Read it without waiting ([`Supervisor::status`], [`Supervisor::events`],
//! [`Supervisor::logs`]), subscribe to what changes ([`Supervisor::subscribe`]), change what runs
//! with [`Supervisor::command`] and a [`Verb`]. [`ctl`] is the control socket of a running
//! runtime; [`profile`] the profile's file format.
//!
//! Inside (docs/architecture.md): `domain` holds every decision as pure code with the clock
//! passed in; `runtime` carries them out with tokio against real processes, probes and files;
//! `platform` is every OS-specific effect; `profile` the file format; `feed`, `logs` and
//! `atomic_file` the persistence edges. Those modules are private: this facade is the API.

mod atomic_file;
mod diagnostics;
mod domain;
mod feed;
mod layout;
mod log_files;
mod logs;
mod platform;
pub mod profile;
mod redact;
mod runtime;
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod testing;
mod wallclock;
mod writer;

pub use atomic_file::write_atomic;
pub use diagnostics::{write_bundle, BundleInfo};
pub use domain::backup::Manifest as BackupManifest;
pub use domain::build::SidecarBuild;
pub use domain::{
    Cause, CommandError, ErrorKind, ErrorPayload, EventKind, HealthLevel, Identity, StackHealth, State, StateFacts,
    Verb,
};
pub use feed::{read_feed_file, RuntimeEvent};
pub use layout::DataDirLayout;
pub use log_files::{export_to, LogSnapshot};
pub use logs::{LiveLine, LogLine, Stream};
pub use runtime::doors::control_client::{call_info, InfoResponse};
pub use runtime::doors::jsonrpc::{timeout_of as request_timeout, RequestError, MAX_TIMEOUT as MAX_REQUEST_TIMEOUT};
pub use runtime::doors::sidecar_grpc::SidecarChannel;
pub use runtime::instance::instance_alive;
pub use runtime::resources::{ResourceUsage, SidecarResources};
pub use runtime::status::SidecarMessage;
pub use runtime::{
    default_data_dir, load_profile, resolve_from_env, resolve_settings, BackupDone, BackupError, BackupFile,
    BackupsInfo, Budget, LastProbe, LogReadError, Notification, RestoreDone, RuntimeStatus, RuntimeWarning,
    SidecarStatus, StartError, Supervisor, SupervisorOptions, WarningKind,
};

/// Control of a running runtime from another process (`desktop-runtime ctl`): one JSON request,
/// one JSON answer, on an endpoint only the runtime's user can reach.
pub mod ctl {
    pub use crate::runtime::doors::control_socket::{
        call, serve, CtlRequest, CtlResponse, Endpoint, DEFAULT_TIMEOUT_MS,
    };
}
