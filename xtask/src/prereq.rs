//! What the default stack needs from the system: PostgreSQL. Found the way the profile finds
//! it (`POSTGRES_BIN`, `pg_config --bindir`, the Debian layout, `PATH`); when missing, root
//! gets it installed with apt, anyone else gets the exact command to run.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
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
    let cmd = "apt-get install -y postgresql";
    if !is_root() {
        return Err(format!(
            "PostgreSQL is not installed; the default stack runs it as its database sidecar.\n    run:  sudo apt-get update && sudo {cmd}\n    (or set POSTGRES_BIN to a postgres executable), then rerun"
        ));
    }
    if !Path::new("/usr/bin/apt-get").exists() {
        return Err("PostgreSQL is not installed and this is not a Debian/Ubuntu system: install PostgreSQL (server) with the system's package manager, or set POSTGRES_BIN".into());
    }
    eprintln!("\n==> PostgreSQL is missing: installing it ({cmd})");
    let ok = |c: &mut Command| c.status().map(|s| s.success()).unwrap_or(false);
    if !ok(Command::new("apt-get").args(["update", "-qq"]))
        || !ok(Command::new("apt-get")
            .args(["install", "-y", "-qq", "postgresql"])
            .env("DEBIAN_FRONTEND", "noninteractive"))
    {
        return Err(format!("installing PostgreSQL failed; run `{cmd}` yourself and look at its output"));
    }
    find_postgres().map(|_| ()).ok_or_else(|| "PostgreSQL was installed but no postgres executable was found".into())
}
