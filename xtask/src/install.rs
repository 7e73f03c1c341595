//! `cargo xtask install-test` (the last step of `cargo xtask test` when run as root): the
//! release `.deb` is built by `cargo xtask bundle`, installed with apt, and the installed app is
//! driven as a user would meet it: started from its installed path under Xvfb, as an ordinary
//! user (a desktop app never runs as root) with a fresh `HOME`, no `RUNTIME_*` variables and a
//! `PATH` that holds no PostgreSQL. `ui/e2e/installed.e2e.mjs` checks, over WebDriver, that
//! every sidecar is ready from the installed binaries and the bundled PostgreSQL, that the data
//! dir is `~/.local/share/<identifier>`, that a job is processed, and that Quit leaves no
//! process; a second launch finds the data; `apt-get remove`, run while the app is open, leaves
//! no process running and the user's data in place. Sizes and launch times are printed.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::e2e::{self, Reaper};
use crate::{bundle, prereq, step};

/// The package, its install dir and the app's identifier (`src-tauri/tauri.conf.json`).
const PACKAGE: &str = "desktop-runtime";
const APP: &str = "/usr/bin/desktop-runtime-app";
const INSTALL_DIR: &str = "/usr/lib/Desktop Runtime";
const IDENTIFIER: &str = "dev.desktop-runtime.app";
/// The ordinary user the installed app runs as.
const USER: &str = "desktop-runtime-e2e";

pub fn run() -> Result<(), String> {
    if !prereq::is_root() {
        eprintln!(
            "\n==> install test skipped: it installs a .deb with apt (needs root); run `sudo -E cargo xtask install-test`"
        );
        return Ok(());
    }
    let driver = e2e::ensure_tools()?;
    let built = bundle::build(&["--bundles".into(), "deb,rpm".into()])?;
    let deb = built
        .iter()
        .find(|(p, _)| p.extension().is_some_and(|e| e == "deb"))
        .map(|(p, _)| p.clone())
        .ok_or("cargo xtask bundle built no .deb")?;
    step("install the .deb (apt-get install)", apt().args(["install", "-y", "--reinstall"]).arg(&deb))?;
    let installed_kib = Command::new("dpkg-query")
        .args(["-W", "-f=${Installed-Size}", PACKAGE])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if !Path::new(APP).is_file() || !Path::new(INSTALL_DIR).join("postgres/bin/postgres").is_file() {
        return Err(format!("the .deb did not install {APP} and {INSTALL_DIR}/postgres/bin/postgres"));
    }

    let work = std::env::temp_dir().join(format!("desktop-runtime-install-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let (home, path_dir, tools) = (work.join("home"), work.join("path"), work.join("tools"));
    for d in [&home, &path_dir, &tools] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    set_mode(&work, 0o755)?;
    ensure_user()?;
    step("give the fresh HOME to the test user", Command::new("chown").args(["-R", USER]).arg(&home))?;
    // The user cannot reach root's cargo bin: a copy it can run.
    let td = tools.join("tauri-driver");
    let driver = if driver.is_file() { driver } else { which(&driver.to_string_lossy())? };
    std::fs::copy(&driver, &td).map_err(|e| format!("copying {} to {}: {e}", driver.display(), td.display()))?;
    set_mode(&td, 0o755)?;
    let data_dir = home.join(".local/share").join(IDENTIFIER);

    let mut reaper = Reaper(Vec::new());
    let display = e2e::start_display(&mut reaper)?;
    let mut launches = Vec::new();
    for launch in 1..=2 {
        // tauri-driver and its WebKitWebDriver end with each launch.
        let mut driver_reaper = Reaper(Vec::new());
        let port = start_driver(&mut driver_reaper, &td, &home, &path_dir, &display)?;
        let out = work.join(format!("launch-{launch}.json"));
        let result = step(
            &format!("installed app, launch {launch} (webdriverio)"),
            Command::new("node")
                .arg("e2e/installed.e2e.mjs")
                .current_dir("ui")
                .env("APP", APP)
                .env("INSTALL_DIR", INSTALL_DIR)
                .env("DATA_DIR", &data_dir)
                .env("APP_PATH", &path_dir)
                .env("LAUNCH", launch.to_string())
                .env("PACKAGE", PACKAGE)
                .env("RESULT", &out)
                .env("DRIVER", format!("http://127.0.0.1:{port}")),
        );
        drop(driver_reaper);
        result.map_err(|e| format!("{e}\n    the test user's data dir is kept for a look: {}", data_dir.display()))?;
        launches.push(std::fs::read_to_string(&out).unwrap_or_default());
    }
    drop(reaper);
    // The package is gone (the second launch removed it while the app was open), the data not.
    let still = Command::new("dpkg-query").args(["-W", "-f=${Status}", PACKAGE]).output().map(|o| o.stdout);
    if still.is_ok_and(|s| String::from_utf8_lossy(&s).contains("install ok installed")) {
        return Err(format!("{PACKAGE} is still installed after apt-get remove"));
    }
    if !data_dir.join("database/pg/PG_VERSION").is_file() {
        return Err(format!("the user's data is gone after apt-get remove: {}", data_dir.display()));
    }

    eprintln!("\n==> install test: figures");
    for (p, size) in &built {
        eprintln!("    {}: {:.1} MB", p.file_name().unwrap_or_default().to_string_lossy(), *size as f64 / 1e6);
    }
    eprintln!("    installed size: {installed_kib} KiB");
    for (i, l) in launches.iter().enumerate() {
        eprintln!("    launch {}: {}", i + 1, l.trim());
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

fn apt() -> Command {
    let mut c = Command::new("apt-get");
    c.env("DEBIAN_FRONTEND", "noninteractive");
    c
}

fn set_mode(p: &Path, mode: u32) -> Result<(), String> {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).map_err(|e| format!("{}: {e}", p.display()))
}

/// The ordinary user the app runs as (made once, no home of its own, no login).
fn ensure_user() -> Result<(), String> {
    let exists = Command::new("id").arg(USER).stdout(Stdio::null()).stderr(Stdio::null()).status();
    if exists.is_ok_and(|s| s.success()) {
        return Ok(());
    }
    step(
        &format!("create the test user {USER}"),
        Command::new("useradd").args([
            "--system",
            "--user-group",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            USER,
        ]),
    )
}

/// tauri-driver as the test user, with nothing of this environment: a fresh `HOME`, `PATH`
/// an empty directory (no PostgreSQL on it, no `pg_config`), the display. Returns its port.
fn start_driver(reaper: &mut Reaper, td: &Path, home: &Path, path: &Path, display: &str) -> Result<u16, String> {
    let (port, native) = (e2e::free_port()?, e2e::free_port()?);
    eprintln!("==> starting tauri-driver as {USER} on port {port}");
    let child = Command::new("runuser")
        .args(["-u", USER, "--", "env", "-i"])
        .arg(format!("HOME={}", home.display()))
        .arg(format!("PATH={}", path.display()))
        .arg(format!("DISPLAY={display}"))
        .arg(td)
        .args(["--port", &port.to_string(), "--native-port", &native.to_string()])
        .args(["--native-driver", &which("WebKitWebDriver")?.to_string_lossy()])
        .process_group(0)
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start tauri-driver as {USER}: {e}"))?;
    e2e::track(&child);
    reaper.0.push(child);
    e2e::wait_port(port, "tauri-driver")?;
    Ok(port)
}

fn which(cmd: &str) -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("{cmd} is not on PATH"))
}
