//! How to run a sidecar ([`RunSpec`]): its program and where to look for it, its templated
//! arguments, environment and working directory, its user, what its stdio is, and the helper
//! commands that run beside it (prepare steps, the stop command, exec probes). This is all the
//! effect side reads of a sidecar: how to run a thing, never when or why.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::profile::{SearchPathEntry, SidecarSpec, StdioMode};

/// A helper command: a program (looked up beside the sidecar's first) and its templated
/// arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Helper {
    pub command: String,
    pub args: Vec<String>,
}

/// One prepare step, run to completion before the sidecar's first start of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepareStep {
    /// Where it is in the profile, for errors: `prepare`, or `prepare[1]` of a list.
    pub at: String,
    pub helper: Helper,
    /// Written to its stdin, which is then closed (templated).
    pub stdin: Option<String>,
    /// The step is skipped when this path exists (templated). (How long it may run is the
    /// machine's rule: `MachineConfig::prepare`.)
    pub unless_exists: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSpec {
    /// The sidecar's name (replicas share it).
    pub sidecar: String,
    /// Bundled name, a name on `PATH` or in the search path, or a path relative to the profile.
    pub command: String,
    /// `<NAME>_BIN` (or `<COMMAND>_BIN`): the program to run instead of looking `command` up.
    pub bin_override: Option<PathBuf>,
    pub search_path: Vec<SearchPathEntry>,
    /// Appended to a not-found error.
    pub install_hint: Option<String>,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    /// Templated; relative to the profile. `None`: the sidecar's own directory.
    pub cwd: Option<String>,
    /// The user to run as when the runtime runs as root.
    pub user: Option<String>,
    /// The profile's `api_key` setting ([`RunSpec::gets_api_key`]).
    pub api_key: Option<bool>,
    pub stdio: StdioMode,
    pub stop_command: Option<Helper>,
    pub prepare: Vec<PrepareStep>,
    /// A PostgreSQL server's data directory (templated), which the runtime judges before each
    /// start, and the role and database backups use.
    pub postgres: Option<crate::profile::PostgresSpec>,
}

impl RunSpec {
    pub fn of(spec: &SidecarSpec, bin_override: Option<PathBuf>) -> RunSpec {
        let helper = |command: &str, args: &[String]| Helper { command: command.into(), args: args.to_vec() };
        let many = spec.prepare.len() > 1;
        RunSpec {
            sidecar: spec.name.clone(),
            command: spec.command.clone(),
            bin_override,
            search_path: spec.search_path.clone(),
            install_hint: spec.install_hint.clone(),
            args: spec.args.clone(),
            env: spec.env.clone(),
            cwd: spec.cwd.clone(),
            user: spec.user.clone(),
            api_key: spec.api_key,
            stdio: spec.stdio.unwrap_or_default(),
            stop_command: spec.stop_command.as_ref().map(|c| helper(&c.command, &c.args)),
            prepare: (spec.prepare.iter().enumerate())
                .map(|(i, p)| PrepareStep {
                    at: if many { format!("prepare[{i}]") } else { "prepare".into() },
                    helper: helper(&p.command, &p.args),
                    stdin: p.stdin.clone(),
                    unless_exists: p.unless_exists.clone(),
                })
                .collect(),
            postgres: spec.postgres.clone(),
        }
    }

    /// Whether the sidecar (its prepare steps and exec probes too) gets `SIDECAR_API_KEY`. Not
    /// when it runs as another `user`, unless its profile says `"api_key": true`: every process
    /// of that user (e.g. a distribution's own PostgreSQL cluster, also run as `postgres`) can
    /// read its environment.
    pub fn gets_api_key(&self, runs_as_another_user: bool) -> bool {
        self.api_key.unwrap_or(!runs_as_another_user)
    }

    /// Whether its stdin and stdout are a JSON-RPC channel.
    pub fn jsonrpc(&self) -> bool {
        self.stdio == StdioMode::Jsonrpc
    }
}
