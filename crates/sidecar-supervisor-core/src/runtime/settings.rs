//! The settings as this host resolves them: the pure precedence rules of
//! [`crate::profile::settings`] (flag > environment > profile > default) with the host's facts
//! from the platform layer (which OS's `os` blocks apply, whether a data dir nobody configured
//! is system-wide).

use std::path::{Path, PathBuf};

use crate::profile::settings::default_data_dir_for;
use crate::profile::{Overrides, Profile, ProfileError, RuntimeConfig};

/// Resolves the profile and settings on this host with `env` as the environment (tests pass
/// their own).
pub fn resolve_settings(
    cli: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
    default_profile: Option<&Path>,
    app_name: &str,
) -> Result<RuntimeConfig, ProfileError> {
    crate::profile::resolve(cli, env, crate::platform::host(), default_profile, app_name)
}

/// Resolves settings from the real process environment (CLI flags win).
pub fn resolve_from_env(
    cli: &Overrides,
    default_profile: Option<&Path>,
    app_name: &str,
) -> Result<RuntimeConfig, ProfileError> {
    resolve_settings(cli, &|k| std::env::var(k).ok(), default_profile, app_name)
}

/// Reads and checks a profile file as it reads on this OS (every OS's `os` blocks checked).
pub fn load_profile(file: &Path) -> Result<Profile, ProfileError> {
    crate::profile::load_profile(file, crate::platform::host().os)
}

/// The data dir when none is configured: the OS app-data dir for `app_name`, or
/// `/var/lib/<app_name>` as root on Linux.
pub fn default_data_dir(app_name: &str) -> PathBuf {
    default_data_dir_for(app_name, crate::platform::host().system_wide_data_dir)
}
