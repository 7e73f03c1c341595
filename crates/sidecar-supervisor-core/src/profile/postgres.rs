//! A sidecar's `postgres` block: the sidecar is a PostgreSQL server, and the runtime looks after
//! its data directory. PostgreSQL's own checks protect a cluster from a second server, but not
//! from what a desktop app meets over the years: a `postmaster.pid` left by a crash whose pid
//! now belongs to another program (PostgreSQL then refuses to start), a directory another
//! server runs on, a directory made by another major version (after an update, or a downgrade).
//! With this block the runtime judges the directory before every start and says what it did.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `"postgres": {"data_dir": "{sidecar_data_dir}/pg"}` on a sidecar whose program is
/// `postgres`. Before each start the runtime reads the directory: a stale `postmaster.pid`
/// (its process is gone, or is not this directory's server) is removed and said so; a
/// directory a live PostgreSQL server runs on is refused, never killed; a directory made by a
/// newer PostgreSQL major than the program found is refused (a downgrade), never opened; one
/// made by an older major is refused with what to do. Backups (`ctl backup`, `ctl restore`)
/// dump and restore its `database` as `role`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostgresSpec {
    /// The cluster's data directory (templated, like `args`), e.g. `{sidecar_data_dir}/pg`:
    /// the one given to `postgres -D`.
    pub data_dir: String,
    /// The role backups log in as (`ctl backup`; with the sidecar's `{password}` when a
    /// template uses it). Default `postgres`.
    #[serde(default = "default_role")]
    pub role: String,
    /// The database a backup holds and a restore replaces. Default: the role's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

fn default_role() -> String {
    "postgres".into()
}

impl PostgresSpec {
    /// The database backups hold: `database`, else the role's name.
    pub fn database(&self) -> &str {
        self.database.as_deref().unwrap_or(&self.role)
    }
}
