//! What every part of the engine reads and nobody changes after start: the settings, the plan,
//! this launch's identity and key, where things are. Plus the two things computed from it and
//! the orchestrator's ports: templates (`{port}`, `{db.url}`) and the contract environment.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::domain::{Orchestrator, Plan};
use crate::layout::DataDirLayout;
use crate::profile::template::{self, Piece};
use crate::profile::{Mode, RuntimeConfig};
use crate::redact::Redactor;

/// The resolved settings the effect side uses (never the profile: that is the plan's to read).
pub(crate) struct Settings {
    pub data_dir: PathBuf,
    pub mode: Mode,
    pub backend_url: Option<String>,
    /// The remote backend's key (remote_slim), handed to sidecars; a secret.
    pub backend_api_key: Option<String>,
    pub extra_ca_files: Vec<PathBuf>,
    pub app_name: String,
}

impl Settings {
    pub fn of(cfg: &RuntimeConfig) -> Settings {
        Settings {
            data_dir: cfg.data_dir.clone(),
            mode: cfg.mode,
            backend_url: cfg.backend_url.clone(),
            backend_api_key: cfg.backend_api_key.clone(),
            extra_ca_files: cfg.extra_ca_files.clone(),
            app_name: cfg.app_name.clone(),
        }
    }
}

pub(crate) struct Context {
    pub settings: Settings,
    pub plan: Arc<Plan>,
    pub layout: DataDirLayout,
    pub instance_id: String,
    pub api_key: String,
    /// This launch's `{password}` per sidecar name (only those some template uses).
    pub passwords: std::collections::HashMap<String, String>,
    /// Base of relative paths in the profile (commands, cwd, search path).
    pub profile_dir: PathBuf,
    /// Directories holding bundled sidecars (`<command>-<triple>` or `<command>`).
    pub bundled_dirs: Vec<PathBuf>,
    pub triple: String,
    /// The instant `now` counts from.
    pub epoch: Instant,
    /// Scrubs secrets from what reaches the status (probe details, errors).
    pub redactor: Redactor,
    /// Per unit: the `user` to run as (uid, gid), looked up once at start; `None` when not root
    /// or unset; an error (unknown user) fails the sidecar when it is launched.
    pub users: Vec<Result<Option<(u32, u32)>, String>>,
    /// Per unit: its log (ring and file).
    pub logs: Vec<crate::logs::SidecarLog>,
    /// Per unit: the JSON-RPC channel of its process (`"stdio": "jsonrpc"`) and its messages.
    pub channels: Arc<crate::runtime::doors::jsonrpc::Channels>,
}

impl Context {
    pub fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// The unit's own directory (its default cwd).
    pub fn unit_dir(&self, i: usize) -> PathBuf {
        self.layout.sidecar_dir(&self.plan.units[i].sidecar)
    }

    /// Whether unit `i` gets `SIDECAR_API_KEY` ([`RunSpec::gets_api_key`]: not when it runs as
    /// another user, unless its profile says so).
    ///
    /// [`RunSpec::gets_api_key`]: crate::domain::plan::RunSpec::gets_api_key
    pub fn gets_api_key(&self, i: usize) -> bool {
        self.plan.units[i].run.gets_api_key(matches!(self.users[i], Ok(Some(_))))
    }

    /// Renders a template of unit `i` with the ports known now.
    pub fn render(&self, orch: &Orchestrator, i: usize, t: &str) -> Result<String, String> {
        let sidecar = &self.plan.units[i].sidecar;
        template::render(t, &|p| match p {
            Piece::Own("port") => orch.port(i).map(|p| p.to_string()),
            Piece::Own("host") => Some("127.0.0.1".into()),
            Piece::Own("name") => Some(sidecar.clone()),
            Piece::Own("data_dir") => Some(self.settings.data_dir.display().to_string()),
            Piece::Own("sidecar_data_dir") => Some(self.unit_dir(i).display().to_string()),
            Piece::Own("instance_id") => Some(self.instance_id.clone()),
            Piece::Own("password") => self.passwords.get(sidecar).cloned(),
            Piece::Other { sidecar, field: "password" } => self.passwords.get(*sidecar).cloned(),
            Piece::Other { sidecar, field } => {
                let (j, port) = orch.port_of_sidecar(sidecar)?;
                if !self.plan.units[j].runs_here() {
                    return (*field == "url").then(|| self.settings.backend_url.clone()).flatten();
                }
                let port = port?;
                Some(match *field {
                    "port" => port.to_string(),
                    "host" => "127.0.0.1".into(),
                    _ => format!("http://127.0.0.1:{port}"),
                })
            }
            _ => None,
        })
    }

    /// Renders one templated field; an error names the field (`env.DATABASE_URL: ...`).
    pub fn render_field(&self, orch: &Orchestrator, i: usize, t: &str, field: &str) -> Result<String, String> {
        self.render(orch, i, t).map_err(|e| format!("{field}: {e}"))
    }

    /// Renders a templated list (`args[2]: ...` on error).
    pub fn render_all(
        &self,
        orch: &Orchestrator,
        i: usize,
        list: &[String],
        field: &str,
    ) -> Result<Vec<String>, String> {
        list.iter().enumerate().map(|(j, t)| self.render_field(orch, i, t, &format!("{field}[{j}]"))).collect()
    }

    /// The environment every process of unit `i` gets (the sidecar contract).
    pub fn contract_env(&self, orch: &Orchestrator, i: usize) -> Vec<(String, String)> {
        let u = &self.plan.units[i];
        let mut env = vec![
            ("SIDECAR_NAME".to_string(), u.sidecar.clone()),
            ("SIDECAR_INSTANCE_NAME".to_string(), u.name.clone()),
            ("SIDECAR_HOST".to_string(), "127.0.0.1".to_string()),
            ("SIDECAR_INSTANCE_ID".to_string(), self.instance_id.clone()),
            ("SIDECAR_DATA_DIR".to_string(), self.unit_dir(i).display().to_string()),
            ("SIDECAR_RUNTIME_MODE".to_string(), self.settings.mode.as_str().to_string()),
        ];
        if let Some(p) = orch.port(i) {
            env.push(("SIDECAR_PORT".to_string(), p.to_string()));
        }
        if self.gets_api_key(i) {
            env.push(("SIDECAR_API_KEY".to_string(), self.api_key.clone()));
        }
        if !self.settings.extra_ca_files.is_empty() {
            let joined = std::env::join_paths(&self.settings.extra_ca_files).unwrap_or_default();
            env.push(("SIDECAR_EXTRA_CA_FILES".to_string(), joined.to_string_lossy().into_owned()));
        }
        if u.run.jsonrpc() {
            env.push(("SIDECAR_STDIO".to_string(), "jsonrpc".to_string()));
        }
        if let Some(url) = &self.settings.backend_url {
            if self.settings.mode == Mode::RemoteSlim {
                env.push(("BACKEND_URL".to_string(), url.clone()));
                if let Some(key) = &self.settings.backend_api_key {
                    env.push(("BACKEND_API_KEY".to_string(), key.clone()));
                }
            }
        }
        env
    }
}
