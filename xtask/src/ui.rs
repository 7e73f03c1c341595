//! The web UI (`ui/`) and the files the Tauri app needs before cargo can build it: the UI's
//! `dist/` (embedded by `generate_context!`) and the sidecars staged in `binaries/` as
//! `<name>-<target triple>` (Tauri `externalBin` refuses to build without them).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::step;

/// `npm`, or the command that installs it.
fn npm() -> Result<Command, String> {
    let ok = Command::new("npm").arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
    if ok {
        let mut c = Command::new("npm");
        c.current_dir("ui");
        Ok(c)
    } else {
        Err("Node.js and npm are needed for the UI: install them (`sudo apt-get install -y nodejs npm`, Node 20 or newer), then rerun".into())
    }
}

/// Installs the UI's packages when `package-lock.json` is newer than what is installed.
pub fn install() -> Result<(), String> {
    let stamp = Path::new("ui/node_modules/.package-lock.json");
    let lock = Path::new("ui/package-lock.json");
    let fresh =
        match (std::fs::metadata(stamp).and_then(|m| m.modified()), std::fs::metadata(lock).and_then(|m| m.modified()))
        {
            (Ok(installed), Ok(wanted)) => installed >= wanted,
            _ => false,
        };
    if fresh {
        return Ok(());
    }
    // `npm install`, not `npm ci`: the lock records only this platform's optional package of
    // @tauri-apps/cli, which `npm ci` takes for a lock out of sync; `npm install` installs
    // exactly the locked versions and leaves the lock as it is.
    step("install the UI's npm packages", npm()?.args(["install", "--no-audit", "--no-fund"]))
}

/// Lint, type check and build the UI into `ui/dist`.
pub fn build() -> Result<(), String> {
    install()?;
    step("UI lint (eslint)", npm()?.args(["run", "lint"]))?;
    step("UI type check and build (tsc, vite)", npm()?.args(["run", "build"]))
}

/// The UI's unit tests (vitest).
pub fn test() -> Result<(), String> {
    step("UI unit tests (vitest)", npm()?.args(["test"]))
}

/// The host's target triple, as Tauri names external binaries.
pub fn host_triple() -> Result<String, String> {
    let out = Command::new("rustc").arg("-vV").output().map_err(|e| format!("rustc -vV: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .ok_or_else(|| "rustc -vV printed no host triple".into())
}

/// Copies the built sidecars into `binaries/<name>-<triple>` for the app (dev and bundle).
pub fn stage(bin_dir: &Path, names: &[&str]) -> Result<Vec<PathBuf>, String> {
    let triple = host_triple()?;
    std::fs::create_dir_all("binaries").map_err(|e| format!("binaries/: {e}"))?;
    let mut staged = Vec::new();
    for n in names {
        let from = bin_dir.join(n);
        let to = PathBuf::from("binaries").join(format!("{n}-{triple}"));
        // Copy to a temp name and rename: a running app never sees a half-written binary.
        let tmp = to.with_extension("tmp");
        std::fs::copy(&from, &tmp).map_err(|e| format!("staging {} as {}: {e}", from.display(), to.display()))?;
        std::fs::rename(&tmp, &to).map_err(|e| format!("staging {}: {e}", to.display()))?;
        staged.push(to);
    }
    eprintln!(
        "    staged for the app: {}",
        staged.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    );
    Ok(staged)
}
