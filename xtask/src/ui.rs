//! The web UI (`ui/`): its npm packages (`npm ci`), lint, type check and build into `dist/`
//! (embedded by `generate_context!` when the app is built with `custom-protocol`), its tests,
//! and the npm Tauri CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::step;

/// npm's program name: on Windows it is a batch file, which `Command` finds only by its full
/// name.
pub fn npm_program() -> &'static str {
    if cfg!(windows) {
        "npm.cmd"
    } else {
        "npm"
    }
}

/// `npm`, or the command that installs it.
fn npm() -> Result<Command, String> {
    let ok = Command::new(npm_program()).arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
    if ok {
        let mut c = Command::new(npm_program());
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
    // `npm ci`: exactly the lock, which records every platform's optional packages (the Tauri
    // CLI's and the bundler's native builds), so that macOS and Windows install the same.
    step("install the UI's npm packages (npm ci)", npm()?.args(["ci", "--no-audit", "--no-fund"]))
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

/// The npm Tauri CLI (installed by [`install`]), as an absolute path.
pub fn tauri_cli() -> PathBuf {
    let name = if cfg!(windows) { "tauri.cmd" } else { "tauri" };
    std::env::current_dir().unwrap_or_default().join("ui/node_modules/.bin").join(name)
}

/// The GitHub workflows checked against the workflow schema (SchemaStore's, by
/// `@action-validator/cli` from the UI's npm packages: no Go or network needed at run time).
pub fn validate_workflows() -> Result<(), String> {
    install()?;
    let bin = std::env::current_dir().unwrap_or_default().join("ui/node_modules/.bin").join(if cfg!(windows) {
        "action-validator.cmd"
    } else {
        "action-validator"
    });
    let mut files: Vec<PathBuf> = std::fs::read_dir(".github/workflows")
        .map_err(|e| format!(".github/workflows: {e}"))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    for f in files {
        step(&format!("validate {}", f.display()), Command::new(&bin).arg(&f))?;
    }
    Ok(())
}
