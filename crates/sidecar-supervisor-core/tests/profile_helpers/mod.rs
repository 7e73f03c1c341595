//! What the profile tests share: writing a profile file, and the smallest sidecar.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The app name the settings are resolved for.
pub const APP: &str = "profile-tests";

/// One sidecar with nothing but a command.
pub const ONE: &str = r#"{ "name": "a", "command": "x" }"#;

/// `{"sidecars": [<sidecars>]}` plus `extra` top-level fields.
pub fn profile(extra: &str, sidecars: &str) -> String {
    format!(r#"{{ {extra} "sidecars": [ {sidecars} ] }}"#)
}

/// Writes `json` to `dir/name` (creating its directory) and returns the path.
pub fn write(dir: &Path, name: &str, json: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, json).unwrap();
    p
}
