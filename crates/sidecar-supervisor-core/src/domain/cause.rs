//! Why a sidecar failed or is in trouble ([`Cause`]): a type of its own, read by the machine,
//! the data directory's verdict (`pg_data`), the status and the UI.

use serde::{Deserialize, Serialize};

/// Why a sidecar failed or is in trouble, as a type its readers decide on (warnings, alerts);
/// the sentence for people is its `last_error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "FailureCause"))]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// A fixed port of the profile is taken by another process.
    FixedPortTaken,
    /// Its program is not found.
    ProgramNotFound,
    /// A prepare step failed, or did not finish in time.
    PrepareFailed,
    /// Anything else before its process ran (a template, a directory, the spawn itself).
    LaunchFailed,
    /// Its process ended by itself.
    Exited,
    /// It was not ready within its startup timeout (and was killed).
    StartupTimeout,
    /// Its liveness probe failed too often (and it was killed).
    LivenessFailed,
    /// Another program, or an older instance, answers on its port.
    ForeignServer,
    /// Its server does not show the identity tier the profile requires.
    IdentityTooLow,
    /// Its PostgreSQL data directory is in use by a server this runtime did not start.
    DataDirInUse,
    /// Its PostgreSQL data directory was made by a newer major than its program (a downgrade).
    DataNewerThanServer,
    /// Its PostgreSQL data directory was made by an older major than its program.
    DataOlderThanServer,
    /// Its PostgreSQL data directory's `PG_VERSION` is not a version.
    DataUnreadable,
}
