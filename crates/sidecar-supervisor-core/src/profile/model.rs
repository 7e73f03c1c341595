//! Serde types of the runtime profile. They are the single source of truth: the
//! checked-in `runtime-profile.schema.json` is generated from them by `schemars`, and a test fails
//! when it is stale. Field names are a contract with profile authors: add, never rename.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::os::OsOverrides;
pub use super::postgres::PostgresSpec;

/// A runtime profile: which sidecars to run and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Path of the JSON Schema, for editors. Ignored by the runtime.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// `local_fullstack` runs every sidecar; `remote_slim` skips the backend and database roles
    /// and uses `backend_url` instead.
    #[serde(default)]
    pub mode: Mode,
    /// Where sidecar data, logs and the event feed live (relative to this file). `null`: the OS
    /// app-data dir, except when the runtime runs as root on Linux: then `/var/lib/<app>`, as
    /// root's home is private (mode 0700) and sidecars that drop to their `user` could not reach
    /// a data dir inside it. A data dir the runtime creates gets mode 0711 (traversable, not
    /// listable).
    #[serde(default)]
    pub data_dir: Option<String>,
    /// Remote backend for `remote_slim` (https unless loopback).
    #[serde(default)]
    pub backend_url: Option<String>,
    /// PEM files of extra certificate authorities (relative to this file) trusted for HTTPS, on
    /// top of the system's: the runtime's probes of the remote backend use them, and sidecars
    /// get their absolute paths in `SIDECAR_EXTRA_CA_FILES` (joined like `PATH`). For a company
    /// or self-signed CA. `RUNTIME_EXTRA_CA_FILES` (a `PATH`-like list) adds more.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_ca_files: Vec<String>,
    /// Restart budget for every sidecar that does not set its own.
    #[serde(default)]
    pub restart: RestartPolicy,
    /// `false` turns automatic restarts off for every sidecar (twin of `--no-auto-restart`).
    #[serde(default = "yes")]
    pub auto_restart: bool,
    /// How many events the persisted feed keeps (newest first out last).
    #[serde(default = "default_max_events")]
    pub max_events: usize,
    /// The sidecars, in any order; `depends_on` decides the start order.
    pub sidecars: Vec<SidecarSpec>,
}

fn yes() -> bool {
    true
}
fn default_max_events() -> usize {
    1000
}

/// Runtime mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "RuntimeMode"))]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    LocalFullstack,
    RemoteSlim,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::LocalFullstack => "local_fullstack",
            Mode::RemoteSlim => "remote_slim",
        }
    }
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "local_fullstack" => Some(Mode::LocalFullstack),
            "remote_slim" => Some(Mode::RemoteSlim),
            _ => None,
        }
    }
}

/// One declared sidecar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SidecarSpec {
    /// Unique name: lowercase letters, digits, `_` and `-`.
    pub name: String,
    /// What the sidecar is for: free-form, but `backend` and `database` are not run in
    /// `remote_slim` mode (the remote backend replaces them), and the app's UI talks to the
    /// `backend`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub role: Option<Role>,
    /// Bundled sidecar name, a name on `PATH` or in `search_path`, or a path (relative to this
    /// file). Looked up in this order: `<NAME>_BIN` (or `<COMMAND>_BIN`), a path containing `/`,
    /// the bundled sidecars, `PATH`, then `search_path`.
    pub command: String,
    /// Where else to look for `command` when it is neither bundled nor on `PATH` (PostgreSQL on
    /// Debian lives in `/usr/lib/postgresql/<major>/bin`), tried in order. Helper commands
    /// (`prepare`, exec probes) are looked up next to the resolved `command` first, then in the
    /// same places. Evaluated once per sidecar, and only when something is not found otherwise.
    #[serde(default)]
    pub search_path: Vec<SearchPathEntry>,
    /// Appended to the error when `command` or one of its helper commands is not found: how to
    /// install it (e.g. "PostgreSQL is not installed: run `sudo apt install postgresql`").
    #[serde(default)]
    pub install_hint: Option<String>,
    /// Arguments; templates such as `{port}`, `{data_dir}`, `{other.port}` are resolved at spawn.
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra environment; values are templated like `args`.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Working directory (templated). Default: the sidecar's own data dir.
    #[serde(default)]
    pub cwd: Option<String>,
    /// `"auto"`, `"announce"`, or a fixed port number. Absent: no port.
    #[serde(default)]
    pub port: Option<PortSpec>,
    /// Sidecars that must be ready before this one starts.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// How many copies to run (named `name#1`, `name#2`, ...).
    #[serde(default = "one")]
    pub replicas: u32,
    /// Readiness probe. Absent: ready once spawned.
    #[serde(default)]
    pub ready: Option<ProbeSpec>,
    /// Liveness probe: after `failure_threshold` failures in a row the process is killed and
    /// restarted. Absent: no liveness check (an exit is still noticed at once; a readiness probe
    /// keeps running once ready and marks the sidecar unhealthy, but never kills it).
    #[serde(default)]
    pub live: Option<ProbeSpec>,
    /// What stdin and stdout are. `"lifeline"` (the default): stdin is never written, its EOF
    /// tells the sidecar the runtime is gone; stdout is its log (and the port announcement).
    /// `"jsonrpc"`: a two-way JSON-RPC 2.0 channel, one message per line (at most 1 MiB), the
    /// sidecar told so by `SIDECAR_STDIO=jsonrpc`. The app calls the sidecar's methods
    /// (`sidecar_request`, `desktop-runtime ctl request`); the sidecar's notifications (no `id`)
    /// are pushed to the app and kept in a bounded buffer; any other stdout line still goes to
    /// the log. stdin's EOF still means the runtime is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdio: Option<StdioMode>,
    /// Restart budget for this sidecar (overrides the profile-wide one).
    #[serde(default)]
    pub restart: Option<RestartPolicy>,
    /// Signal sent to the process group to stop it (`SIGTERM`, `SIGINT`, `SIGQUIT`, `SIGHUP`).
    #[serde(default)]
    pub stop_signal: Option<StopSignal>,
    /// A command that asks the sidecar to stop gracefully, run with its environment and
    /// templates and looked up like the prepare step (next to the program first), e.g.
    /// `{"command": "pg_ctl", "args": ["stop", "-D", "{sidecar_data_dir}/pg", "-m", "fast"]}`.
    /// When set it is used instead of the stop signal, on every OS. Without it: the stop signal
    /// on Linux and macOS; on Windows, which has no signals, `sidecar.v1.Control/Shutdown` for a
    /// sidecar with a port (sidecar-kit serves it), else Ctrl-Break (reaches it only when the
    /// runtime has a console).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_command: Option<ExecSpec>,
    /// How long to wait after asking it to stop before its whole process tree is killed.
    #[serde(default = "default_stop_timeout")]
    pub stop_timeout_ms: u64,
    /// How long the readiness probe may take to first pass after spawn.
    #[serde(default = "default_startup_timeout")]
    pub startup_timeout_ms: u64,
    /// A command run before the sidecar's first spawn of each run of the runtime (e.g.
    /// `initdb`, skipped through `unless_exists` once done), or a list of them run in order.
    #[serde(default, deserialize_with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Option<PrepareSteps>")]
    pub prepare: Vec<PrepareSpec>,
    /// Unix user to run as when the runtime itself runs as root (ignored otherwise). The
    /// prepare step and exec probes run as this user too. The sidecar's data dir is given to
    /// the user, and every directory above it (and `cwd` with the directories above it) must
    /// let the user through (search permission), else the sidecar fails naming the directory.
    #[serde(default)]
    pub user: Option<String>,
    /// `false`: this sidecar is never restarted automatically.
    #[serde(default = "yes")]
    pub auto_restart: bool,
    /// Pass the launch's API key (`SIDECAR_API_KEY`) to this sidecar, its prepare step and its
    /// exec probes. Default: yes, except when the sidecar runs as another `user` (every process
    /// of that user could read the key from its environment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<bool>,
    /// This sidecar is a PostgreSQL server whose data directory the runtime looks after (see
    /// [`PostgresSpec`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PostgresSpec>,
    /// Fields that differ on one operating system, merged into this sidecar on that OS only
    /// (a field replaces the one above, `null` removes it), e.g.
    /// `{"windows": {"user": null, "stop_command": {...}}}`. Every OS's result is validated,
    /// wherever the profile is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<OsOverrides>,
}

fn one() -> u32 {
    1
}

impl SidecarSpec {
    /// A sidecar with nothing but a name and a command: every other field at its default.
    pub fn new(name: impl Into<String>, command: impl Into<String>) -> SidecarSpec {
        SidecarSpec {
            name: name.into(),
            role: None,
            command: command.into(),
            search_path: Vec::new(),
            install_hint: None,
            args: Vec::new(),
            env: BTreeMap::new(),
            cwd: None,
            port: None,
            depends_on: Vec::new(),
            replicas: one(),
            ready: None,
            live: None,
            stdio: None,
            restart: None,
            stop_signal: None,
            stop_command: None,
            stop_timeout_ms: default_stop_timeout(),
            startup_timeout_ms: default_startup_timeout(),
            prepare: Vec::new(),
            user: None,
            auto_restart: yes(),
            api_key: None,
            postgres: None,
            os: None,
        }
    }
}

/// A sidecar's `stdio`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StdioMode {
    /// stdin is the lifeline only; stdout is the log.
    #[default]
    Lifeline,
    /// JSON-RPC 2.0 over stdin/stdout, one message per line.
    Jsonrpc,
}

/// What a sidecar is for. Two roles mean something to the runtime; any other is a label.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Role {
    /// The app's backend: the UI talks to it; `remote_slim` uses `backend_url` instead.
    Backend,
    /// The app's database: not run in `remote_slim` mode.
    Database,
    /// Any other role (`worker`, ...).
    Other(String),
}

impl Role {
    pub fn as_str(&self) -> &str {
        match self {
            Role::Backend => "backend",
            Role::Database => "database",
            Role::Other(s) => s,
        }
    }
}

impl From<String> for Role {
    fn from(s: String) -> Role {
        match s.as_str() {
            "backend" => Role::Backend,
            "database" => Role::Database,
            _ => Role::Other(s),
        }
    }
}

impl From<Role> for String {
    fn from(r: Role) -> String {
        r.as_str().to_string()
    }
}
fn default_stop_timeout() -> u64 {
    5000
}
fn default_startup_timeout() -> u64 {
    30_000
}

/// Port assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PortSpec {
    /// A fixed port; the sidecar fails fast with a clear error if it is taken.
    Fixed(u16),
    /// `auto` or `announce`.
    Keyword(PortKeyword),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PortKeyword {
    /// The runtime picks a free loopback port and passes it in `SIDECAR_PORT`.
    Auto,
    /// The sidecar binds 127.0.0.1:0 and prints `SIDECAR_PORT=<n>` or `{"port": n}` on stdout.
    Announce,
}

/// A probe: exactly one of `http`, `grpc`, `tcp`, `exec`, `stdout`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProbeSpec {
    /// HTTP GET of this path on the sidecar's port; 2xx passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    /// `grpc.health.v1.Health/Check` of this service name (`""`: the whole server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc: Option<String>,
    /// `true`: a TCP connect to the port passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<bool>,
    /// PostgreSQL on the port accepts connections, judged as `pg_isready` does but with no
    /// program to run: a startup message for this role (no password is sent) is answered with
    /// an authentication request, or with an error other than "starting up / shutting down /
    /// in recovery" (SQLSTATE 57P03). E.g. `{"postgres": "app"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<String>,
    /// A command whose exit code 0 passes (templated like args).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecSpec>,
    /// Passes once the sidecar printed a stdout line containing this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    /// Whose server answers on the port (HTTP and gRPC probes; checked once per process, by
    /// its first passing probe). The runtime asks `GET /runtime/info?nonce=<fresh>` (gRPC:
    /// `sidecar.v1.Control/Info` with `nonce`, when served) and ranks the answer: `proven`
    /// (this launch's `instance_id` and `proof` = hex HMAC-SHA256 of `"sidecar-identity:" +
    /// nonce` under `SIDECAR_API_KEY`), `echoed` (this launch's `instance_id`, no proof),
    /// `unverified` (no `/runtime/info`: 404), `foreign` (another `instance_id` or a wrong proof:
    /// another program or an older instance holds the port; never ready). `true` (the default
    /// for readiness) accepts `proven`, `echoed` and `unverified`; `"echoed"` or `"proven"`
    /// require at least that tier; `false` asks nothing. The tier is shown in the status
    /// (`identity`), the dialog and the feed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityCheck>,
    /// Steady-state interval once ready.
    #[serde(default = "default_interval")]
    pub interval_ms: u64,
    /// Per-probe timeout.
    #[serde(default = "default_probe_timeout")]
    pub timeout_ms: u64,
    /// Consecutive failures before a ready sidecar counts as unhealthy (readiness) or is
    /// restarted (liveness).
    #[serde(default = "default_failures")]
    pub failure_threshold: u32,
}

impl ProbeSpec {
    /// Every kind of probe there is: its field's name, whether this probe sets it, and whether
    /// that kind connects to the sidecar's port. A new kind is a field above and a line here.
    pub fn kinds(&self) -> [(&'static str, bool, bool); 6] {
        [
            ("http", self.http.is_some(), true),
            ("grpc", self.grpc.is_some(), true),
            ("tcp", self.tcp == Some(true), true),
            ("postgres", self.postgres.is_some(), true),
            ("exec", self.exec.is_some(), false),
            ("stdout", self.stdout.is_some(), false),
        ]
    }
}

fn default_interval() -> u64 {
    1000
}
fn default_probe_timeout() -> u64 {
    1000
}
fn default_failures() -> u32 {
    3
}

/// A probe's `identity` setting: `true`, `false`, or the lowest tier accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum IdentityCheck {
    /// `true`: accept `proven`, `echoed` and `unverified` (refuse only `foreign`); `false`: no check.
    Check(bool),
    /// The lowest tier accepted.
    AtLeast(IdentityTier),
}

/// A tier a profile can require (`foreign` is never accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentityTier {
    Unverified,
    Echoed,
    Proven,
}

/// One place of a sidecar's `search_path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SearchPathEntry {
    /// A directory (absolute, or relative to this file; no `~`, no templates). A `*` in a
    /// path component matches any name not starting with `.` (`/usr/lib/postgresql/*/bin`);
    /// when several directories match, the highest version comes first (16 before 15 before
    /// 9.6).
    Dir(String),
    /// A command whose output names a directory.
    Command(SearchPathCommand),
    /// A directory the app ships, e.g. `{"bundled": "postgres/bin"}` for a server bundled with
    /// it: relative to each bundle directory (the executable's, the app's resources). Tried
    /// with the bundled sidecars, before `PATH`, so what the app ships wins over what the
    /// machine has; a missing one is simply skipped.
    Bundled(SearchPathBundled),
}

/// `{"bundled": "<relative dir>"}`: see [`SearchPathEntry::Bundled`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchPathBundled {
    /// A relative directory inside the bundle (`/` separates components on every OS).
    pub bundled: String,
}

/// A command printing a directory on stdout, e.g. `{"command": "pg_config", "args": ["--bindir"]}`.
/// It runs as the runtime's own user, with a 2 s timeout; its trimmed first line of output must
/// be an absolute directory. A command that is missing, fails, hangs or prints something else
/// is skipped (the not-found error says why).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchPathCommand {
    /// A name looked up on `PATH`, or a path (relative to this file).
    pub command: String,
    /// Its arguments (not templated).
    #[serde(default)]
    pub args: Vec<String>,
}

/// A command with arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecSpec {
    pub command: String,
    #[serde(default)]
    pub args: Vec<String>,
}

/// A preparation step: run to completion (exit code 0) before the sidecar starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrepareSpec {
    pub command: String,
    #[serde(default)]
    pub args: Vec<String>,
    /// Skip the step when this path exists (templated).
    #[serde(default)]
    pub unless_exists: Option<String>,
    /// Text written to the step's stdin, which is then closed (templated; the one place besides
    /// `env` where `{password}` may appear, since arguments are visible to every local user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    /// Give up after this long.
    #[serde(default = "default_prepare_timeout")]
    pub timeout_ms: u64,
}

/// `prepare` as the schema shows it: one step or a list of steps.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum PrepareSteps {
    One(PrepareSpec),
    Many(Vec<PrepareSpec>),
}

/// `prepare`: one step (an object), a list of them, or null. Errors keep their JSON path.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<PrepareSpec>, D::Error> {
    use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
    struct Steps;
    impl<'de> serde::de::Visitor<'de> for Steps {
        type Value = Vec<PrepareSpec>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a prepare step (an object with a command) or a list of them")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            PrepareSpec::deserialize(MapAccessDeserializer::new(map)).map(|step| vec![step])
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Vec::deserialize(SeqAccessDeserializer::new(seq))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
    }
    d.deserialize_any(Steps)
}

fn default_prepare_timeout() -> u64 {
    120_000
}

/// Restart budget and backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestartPolicy {
    /// Restarts allowed inside any window of `window_secs`.
    #[serde(default = "default_max_restarts")]
    pub max_restarts: u32,
    #[serde(default = "default_window")]
    pub window_secs: u64,
    /// A process ready for at least this long is restarted at once after a crash.
    #[serde(default = "default_min_uptime")]
    pub min_uptime_ms: u64,
    /// First crash-loop delay; doubles per quick crash.
    #[serde(default = "default_backoff_initial")]
    pub backoff_initial_ms: u64,
    /// Cap of the crash-loop delay (further capped so the budget can trip inside the window).
    #[serde(default = "default_backoff_max")]
    pub backoff_max_ms: u64,
    /// Ready this long without a crash resets the backoff (never the budget).
    #[serde(default = "default_backoff_reset")]
    pub backoff_reset_secs: u64,
}

fn default_max_restarts() -> u32 {
    6
}
fn default_window() -> u64 {
    90
}
fn default_min_uptime() -> u64 {
    1000
}
fn default_backoff_initial() -> u64 {
    100
}
fn default_backoff_max() -> u64 {
    5000
}
fn default_backoff_reset() -> u64 {
    30
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            max_restarts: default_max_restarts(),
            window_secs: default_window(),
            min_uptime_ms: default_min_uptime(),
            backoff_initial_ms: default_backoff_initial(),
            backoff_max_ms: default_backoff_max(),
            backoff_reset_secs: default_backoff_reset(),
        }
    }
}

/// Stop signal names accepted in a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum StopSignal {
    #[serde(rename = "SIGTERM")]
    Term,
    #[serde(rename = "SIGINT")]
    Int,
    #[serde(rename = "SIGQUIT")]
    Quit,
    #[serde(rename = "SIGHUP")]
    Hup,
}

impl StopSignal {
    pub fn as_str(self) -> &'static str {
        match self {
            StopSignal::Term => "SIGTERM",
            StopSignal::Int => "SIGINT",
            StopSignal::Quit => "SIGQUIT",
            StopSignal::Hup => "SIGHUP",
        }
    }
}

/// The JSON Schema of [`Profile`], as checked in at the repo root.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(Profile);
    let mut s = serde_json::to_string_pretty(&schema).expect("schema serializes");
    s.push('\n');
    s
}
