//! Precedence of settings: CLI flag > environment > profile > built-in default.
//!
//! The environment is passed in as a lookup function so the rules are unit-tested without
//! touching the process environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::ProfileError;
use super::model::{Mode, Profile};
use super::os::Os;
use super::validate::{check_backend_url, BACKEND_URL_FIX};

/// Values given on the command line (or by the embedding app); `None` = not given.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub profile_path: Option<PathBuf>,
    pub mode: Option<Mode>,
    pub data_dir: Option<PathBuf>,
    pub backend_url: Option<String>,
    pub no_auto_restart: bool,
    /// The embedding app's own data dir (a Tauri app's `app_data_dir`: `~/.local/share/<identifier>`,
    /// `~/Library/Application Support/<identifier>`, `%APPDATA%\<identifier>`), used when no
    /// flag, environment or profile sets one, in place of [`default_data_dir_for`]; not when
    /// the host's data dirs are system-wide ([`Host`]: as root on Linux, whose home the sidecars
    /// that drop to a `user` cannot reach).
    pub default_data_dir: Option<PathBuf>,
}

/// What the host the runtime runs on adds to the settings; the runtime fills it in from the
/// platform layer (`platform::host()`), tests say what they test.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Host {
    /// The OS whose `os` blocks apply (`None`: one no block names).
    pub os: Option<Os>,
    /// A data dir nobody configured is system-wide (`/var/lib/<app>`).
    pub system_wide_data_dir: bool,
}

/// Everything the engine needs, after precedence was applied.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub profile_path: PathBuf,
    pub profile: Profile,
    pub mode: Mode,
    /// Flag, environment, profile, else [`default_data_dir_for`] (`/var/lib/<app_name>` when
    /// the host's data dirs are system-wide).
    pub data_dir: PathBuf,
    pub backend_url: Option<String>,
    pub auto_restart: bool,
    /// `<NAME>_BIN` overrides, keyed by sidecar name.
    pub bin_overrides: BTreeMap<String, PathBuf>,
    /// Used for the default data dir and the feed's fallback dir (`~/.<app_name>`).
    pub app_name: String,
    /// `BACKEND_API_KEY` from the environment: the remote backend's key, handed to sidecars in
    /// `remote_slim` (a secret: redacted everywhere).
    pub backend_api_key: Option<String>,
    /// Extra CA certificates for HTTPS (profile `extra_ca_files` and `RUNTIME_EXTRA_CA_FILES`),
    /// absolute, each checked to hold at least one PEM certificate.
    pub extra_ca_files: Vec<PathBuf>,
}

pub const ENV_PROFILE: &str = "RUNTIME_PROFILE_PATH";
pub const ENV_MODE: &str = "RUNTIME_MODE";
pub const ENV_BACKEND_URL: &str = "BACKEND_URL";
pub const ENV_DATA_DIR: &str = "RUNTIME_DATA_DIR";
pub const ENV_NO_AUTO_RESTART: &str = "RUNTIME_NO_AUTO_RESTART";
pub const ENV_EXTRA_CA_FILES: &str = "RUNTIME_EXTRA_CA_FILES";
pub const ENV_BACKEND_API_KEY: &str = "BACKEND_API_KEY";

/// Resolves the profile and settings. `default_profile` is the bundled default, if any. Pure:
/// the environment is `env` and the host's facts are `host`.
pub fn resolve(
    cli: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
    host: Host,
    default_profile: Option<&Path>,
    app_name: &str,
) -> Result<RuntimeConfig, ProfileError> {
    let env_nonempty = |k: &str| env(k).filter(|v| !v.is_empty());

    let profile_path = cli
        .profile_path
        .clone()
        .or_else(|| env_nonempty(ENV_PROFILE).map(PathBuf::from))
        .or_else(|| default_profile.map(Path::to_path_buf))
        .ok_or_else(|| {
            ProfileError::new(
                "settings",
                "runtime profile",
                "no runtime profile given",
                format!("pass --runtime-profile <file> or set {ENV_PROFILE}"),
            )
        })?;
    let mut profile = super::load::load_profile_overridable(&profile_path, host.os)?;

    let mode = match (cli.mode, env_nonempty(ENV_MODE)) {
        (Some(m), _) => m,
        (None, Some(v)) => Mode::parse(&v).ok_or_else(|| {
            ProfileError::new(
                format!("environment variable {ENV_MODE}"),
                "$",
                format!("unknown mode `{v}`"),
                "use local_fullstack or remote_slim",
            )
        })?,
        (None, None) => profile.mode,
    };

    let (backend_url, url_source) = match (&cli.backend_url, env_nonempty(ENV_BACKEND_URL)) {
        (Some(u), _) => (Some(u.clone()), "flag --backend-url".to_string()),
        (None, Some(u)) => (Some(u), format!("environment variable {ENV_BACKEND_URL}")),
        (None, None) => (profile.backend_url.clone(), profile_path.display().to_string()),
    };
    if let Some(u) = &backend_url {
        check_backend_url(u).map_err(|m| ProfileError::new(url_source.clone(), "$.backend_url", m, BACKEND_URL_FIX))?;
    }
    if mode == Mode::RemoteSlim && backend_url.is_none() {
        return Err(ProfileError::new(
            profile_path.display().to_string(),
            "$.backend_url",
            "mode `remote_slim` needs a backend_url",
            format!("set backend_url in the profile, {ENV_BACKEND_URL}, or --backend-url"),
        ));
    }

    let profile_dir = profile_path.parent().map(Path::to_path_buf).unwrap_or_default();
    let data_dir = cli
        .data_dir
        .clone()
        .or_else(|| env_nonempty(ENV_DATA_DIR).map(PathBuf::from))
        .or_else(|| profile.data_dir.as_ref().map(|d| profile_dir.join(d)))
        .unwrap_or_else(|| match &cli.default_data_dir {
            Some(d) if !host.system_wide_data_dir => d.clone(),
            _ => default_data_dir_for(app_name, host.system_wide_data_dir),
        });

    let env_no_restart = match env_nonempty(ENV_NO_AUTO_RESTART) {
        None => None,
        Some(v) => Some(parse_bool(&v).ok_or_else(|| {
            ProfileError::new(
                format!("environment variable {ENV_NO_AUTO_RESTART}"),
                "$",
                format!("`{v}` is not a boolean"),
                "use 1/0, true/false or yes/no",
            )
        })?),
    };
    // The flag can only turn restarts off; the variable can say either (`0` overrides a
    // profile's `"auto_restart": false`).
    let auto_restart = !cli.no_auto_restart && env_no_restart.map_or(profile.auto_restart, |no| !no);

    let mut bin_overrides = BTreeMap::new();
    for s in &profile.sidecars {
        let by_name = bin_var(&s.name);
        let by_command = Path::new(&s.command).file_name().map(|c| bin_var(&c.to_string_lossy()));
        let hit = env_nonempty(&by_name).or_else(|| by_command.and_then(|v| env_nonempty(&v)));
        if let Some(path) = hit {
            bin_overrides.insert(s.name.clone(), PathBuf::from(path));
        }
    }

    let mut extra_ca_files = Vec::new();
    for (i, f) in profile.extra_ca_files.iter().enumerate() {
        let p = profile_dir.join(f);
        check_ca_file(&p).map_err(|m| {
            ProfileError::new(
                profile_path.display().to_string(),
                format!("$.extra_ca_files[{i}]"),
                m,
                "give the path (relative to the profile) of a PEM file with `-----BEGIN CERTIFICATE-----` blocks",
            )
        })?;
        extra_ca_files.push(absolute(&p));
    }
    if let Some(list) = env_nonempty(ENV_EXTRA_CA_FILES) {
        for p in std::env::split_paths(&list) {
            check_ca_file(&p).map_err(|m| {
                ProfileError::new(
                    format!("environment variable {ENV_EXTRA_CA_FILES}"),
                    "$",
                    m,
                    "list PEM files of CA certificates, separated like PATH",
                )
            })?;
            extra_ca_files.push(absolute(&p));
        }
    }

    profile.mode = mode;
    profile.backend_url = backend_url.clone();
    profile.auto_restart = auto_restart;
    Ok(RuntimeConfig {
        profile_path,
        profile,
        mode,
        data_dir,
        backend_url,
        auto_restart,
        bin_overrides,
        app_name: app_name.to_string(),
        extra_ca_files,
        backend_api_key: env_nonempty(ENV_BACKEND_API_KEY),
    })
}

/// A CA file must be readable and hold at least one PEM certificate.
fn check_ca_file(p: &Path) -> Result<(), String> {
    let text = std::fs::read(p).map_err(|e| format!("cannot read the CA file {}: {e}", p.display()))?;
    if !text.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
        return Err(format!("{} holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)", p.display()));
    }
    Ok(())
}

/// `database` → `DATABASE_BIN`, `my-worker` → `MY_WORKER_BIN`.
pub fn bin_var(name: &str) -> String {
    let mut s: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    s.push_str("_BIN");
    s
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// The data dir when none is configured (no flag, no environment, no profile field): the OS
/// app-data dir for `app_name`, else `~/.<app_name>`; or, `system_wide`, `/var/lib/<app_name>`
/// (what the runtime uses as root on Linux: root's home is private, mode 0700, so sidecars that
/// drop to their `user` — PostgreSQL refuses to run as root — could not reach a data dir in it).
pub fn default_data_dir_for(app_name: &str, system_wide: bool) -> PathBuf {
    if system_wide {
        return Path::new("/var/lib").join(app_name);
    }
    directories::ProjectDirs::from("", "", app_name)
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| home_fallback_dir(app_name))
}

/// `~/.<app_name>`: where the feed goes when the data dir is not writable.
pub fn home_fallback_dir(app_name: &str) -> PathBuf {
    directories::BaseDirs::new()
        .map(|b| b.home_dir().to_path_buf())
        .unwrap_or_else(std::env::temp_dir)
        .join(format!(".{app_name}"))
}

/// `p` as an absolute path (relative to the current directory), or as it is if that fails.
/// Sidecars run with their own working directory: every path handed to them must be absolute.
pub fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}
