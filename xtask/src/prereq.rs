//! What the build and the default stack need from the system: WebKitGTK's development
//! packages (the Tauri plugin and app link against them) and PostgreSQL. Found the way the profile finds
//! it (`POSTGRES_BIN`, `pg_config --bindir`, the Debian layout, `PATH`); when missing, root
//! gets it installed with apt, anyone else gets the exact command to run.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    #[cfg(unix)]
    return unsafe { libc::geteuid() == 0 };
    #[cfg(not(unix))]
    return false;
}

/// Where `postgres` is, if installed.
pub fn find_postgres() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("POSTGRES_BIN").map(PathBuf::from) {
        return p.is_file().then_some(p);
    }
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()).join("postgres"));
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin/postgres"))
        .collect::<Vec<_>>();
    let on_path =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).map(|d| d.join("postgres")).collect::<Vec<_>>());
    from_pg_config.into_iter().chain(debian).chain(on_path.into_iter().flatten()).find(|p| p.is_file())
}

/// Makes sure PostgreSQL is installed (the default profile's database sidecar runs it).
pub fn ensure_postgres() -> Result<(), String> {
    if let Some(p) = find_postgres() {
        eprintln!("==> PostgreSQL: {}", p.display());
        return Ok(());
    }
    if !Path::new("/usr/bin/apt-get").exists() {
        return Err("PostgreSQL is not installed and this is not a Debian/Ubuntu system: install PostgreSQL (server) with the system's package manager, or set POSTGRES_BIN".into());
    }
    apt_install(
        "PostgreSQL (the default stack runs it as its database sidecar; or set POSTGRES_BIN)",
        &["postgresql"],
    )?;
    find_postgres().map(|_| ()).ok_or_else(|| "PostgreSQL was installed but no postgres executable was found".into())
}

/// Debian packages Tauri 2 builds against on Linux.
const WEBKIT_PACKAGES: &[&str] = &[
    "pkg-config",
    "libwebkit2gtk-4.1-dev",
    "libgtk-3-dev",
    "libsoup-3.0-dev",
    "libjavascriptcoregtk-4.1-dev",
    "libayatana-appindicator3-dev",
    "librsvg2-dev",
    "libssl-dev",
    "file",
];

/// Makes sure WebKitGTK's development files are there (checked with pkg-config).
pub fn ensure_webkit() -> Result<(), String> {
    let found = Command::new("pkg-config")
        .args(["--exists", "webkit2gtk-4.1", "javascriptcoregtk-4.1", "libsoup-3.0", "gtk+-3.0"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if found {
        return Ok(());
    }
    apt_install("WebKitGTK's development packages (the Tauri plugin and app build against them)", WEBKIT_PACKAGES)
}

pub fn apt_install(what: &str, packages: &[&str]) -> Result<(), String> {
    let list = packages.join(" ");
    if !is_root() {
        return Err(format!(
            "{what} are missing.\n    run:  sudo apt-get update && sudo apt-get install -y {list}\n    then rerun"
        ));
    }
    eprintln!("\n==> installing {what}: apt-get install -y {list}");
    let ok = |c: &mut Command| c.status().map(|s| s.success()).unwrap_or(false);
    if !ok(Command::new("apt-get").args(["update", "-qq"]))
        || !ok(Command::new("apt-get")
            .args(["install", "-y", "-qq"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"))
    {
        return Err(format!(
            "installing {what} failed; run `apt-get install -y {list}` yourself and look at its output"
        ));
    }
    Ok(())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// Wine and the mingw linker, for the Windows process tests (`cargo xtask wine`).
pub fn ensure_wine() -> Result<(), String> {
    if ["wine", "wineserver", "wineboot", "x86_64-w64-mingw32-gcc"].iter().all(|p| on_path(p)) {
        return Ok(());
    }
    apt_install(
        "Wine and the mingw-w64 linker (the Windows process tests run under Wine)",
        &["wine", "gcc-mingw-w64-x86-64"],
    )
}

/// The standard library for `target` (`rustup target add`, a download of a few seconds).
pub fn ensure_rust_target(target: &str) -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l.trim() == target))
        .unwrap_or(false);
    if installed {
        return Ok(());
    }
    eprintln!("\n==> installing the Rust standard library for {target}: rustup target add {target}");
    let ok = Command::new("rustup").args(["target", "add", target]).status().map(|s| s.success()).unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(format!("cannot add the Rust target {target}: run `rustup target add {target}` and look at its output"))
    }
}
