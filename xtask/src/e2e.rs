//! `cargo xtask e2e`: the built app in a real window, driven over WebDriver. Builds the app
//! with its UI embedded, starts Xvfb when there is no display, starts tauri-driver (which
//! drives WebKitWebDriver), and runs `ui/e2e/app.e2e.mjs` against a fresh data dir.
//! Screenshots land in `<target>/e2e-artifacts/`.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{cargo, prereq, step, target_dir, ui, SIDECARS};

/// Process groups to kill if xtask itself is interrupted (Ctrl-C never reaches them: each
/// leads its own group so that it can be killed whole).
static GROUPS: [std::sync::atomic::AtomicI32; 4] = [const { std::sync::atomic::AtomicI32::new(0) }; 4];

extern "C" fn on_interrupt(sig: libc::c_int) {
    for g in &GROUPS {
        let pgid = g.load(std::sync::atomic::Ordering::Relaxed);
        if pgid > 0 {
            // SAFETY: kill(2) is async-signal-safe.
            unsafe { libc::kill(-pgid, libc::SIGTERM) };
        }
    }
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(128 + sig) };
}

pub fn track(child: &Child) {
    for g in &GROUPS {
        if g.compare_exchange(
            0,
            child.id() as i32,
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
        )
        .is_ok()
        {
            return;
        }
    }
}

/// A port nobody listens on now (for tauri-driver and its WebKitWebDriver).
pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).map_err(|e| e.to_string())
}

/// Children killed when the e2e ends, however it ends.
pub struct Reaper(pub Vec<Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for c in &mut self.0 {
            // Each child leads its own process group: tauri-driver's WebKitWebDriver goes too.
            // SAFETY: kill(2) on a process group we created.
            unsafe { libc::kill(-(c.id() as libc::pid_t), libc::SIGTERM) };
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn on_path(cmd: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
}

fn cargo_bin(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default();
    home.join("bin").join(name)
}

/// What the e2e needs beyond the build: Xvfb, WebKitWebDriver, tauri-driver.
pub fn ensure_tools() -> Result<PathBuf, String> {
    let mut missing = Vec::new();
    if !on_path("Xvfb") {
        missing.push("xvfb");
    }
    if !on_path("WebKitWebDriver") {
        missing.push("webkit2gtk-driver");
    }
    if !missing.is_empty() {
        prereq::apt_install("the e2e's display server and WebDriver", &missing)?;
    }
    let driver = if on_path("tauri-driver") { PathBuf::from("tauri-driver") } else { cargo_bin("tauri-driver") };
    if driver.is_file() || on_path("tauri-driver") {
        return Ok(driver);
    }
    step("install tauri-driver", cargo().args(["install", "tauri-driver", "--locked"]))?;
    Ok(cargo_bin("tauri-driver"))
}

pub fn wait_port(port: u16, what: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50)); // a child process's port: nothing to await
    }
    Err(format!("{what} did not listen on port {port} within 30 s"))
}

/// A fresh data dir that a `user` sidecar (PostgreSQL as `postgres` when root) can reach.
fn fresh_data_dir() -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("desktop-runtime-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711)).map_err(|e| e.to_string())?;
    Ok(dir)
}

pub fn run() -> Result<(), String> {
    prereq::ensure_webkit()?;
    prereq::ensure_postgres()?;
    let driver = ensure_tools()?;
    let mut build = cargo();
    build.args(["build", "-p", "desktop-runtime"]);
    for s in SIDECARS {
        build.args(["-p", s]);
    }
    step("build the sidecars", &mut build)?;
    crate::python::build()?;
    let target = target_dir()?;
    ui::build()?;
    step(
        "build the app with its UI embedded",
        cargo().args(["build", "-p", "desktop-runtime-app", "--features", "custom-protocol"]),
    )?;
    let app = target.join("debug/desktop-runtime-app");
    let data = fresh_data_dir()?;
    let artifacts = target.join("e2e-artifacts");

    let mut reaper = Reaper(Vec::new());
    let display = start_display(&mut reaper)?;
    let (port, native) = (free_port()?, free_port()?);
    eprintln!("==> starting tauri-driver on port {port}");
    use std::os::unix::process::CommandExt;
    let td = Command::new(&driver)
        .args(["--port", &port.to_string(), "--native-port", &native.to_string()])
        .process_group(0)
        .env("DISPLAY", &display)
        .env("RUNTIME_DATA_DIR", &data)
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", driver.display()))?;
    track(&td);
    reaper.0.push(td);
    wait_port(port, "tauri-driver")?;
    let result = step(
        "e2e in the real window (webdriverio)",
        Command::new("node")
            .arg("e2e/app.e2e.mjs")
            .current_dir("ui")
            .env("APP", &app)
            .env("DATA_DIR", &data)
            .env("ARTIFACTS", &artifacts)
            .env("DRIVER", format!("http://127.0.0.1:{port}")),
    );
    drop(reaper);
    eprintln!("    screenshots: {}", artifacts.display());
    if result.is_ok() {
        let _ = std::fs::remove_dir_all(&data);
    } else {
        eprintln!("    the app's data dir is kept for a look: {}", data.display());
    }
    result
}

/// Ctrl-C handling for the children, and an X display: `DISPLAY` if set, else a fresh Xvfb
/// (killed with `reaper`).
pub fn start_display(reaper: &mut Reaper) -> Result<String, String> {
    // SAFETY: installing a handler that only calls async-signal-safe functions.
    unsafe {
        libc::signal(libc::SIGINT, on_interrupt as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_interrupt as *const () as libc::sighandler_t);
    }
    let display = match std::env::var("DISPLAY") {
        Ok(d) if !d.is_empty() => d,
        _ => {
            // A display number nobody uses (another Xvfb may hold :99).
            let n = (99..199).find(|n| !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()).unwrap_or(99);
            let d = format!(":{n}");
            eprintln!("==> no display: starting Xvfb {d}");
            use std::os::unix::process::CommandExt;
            let x = Command::new("Xvfb")
                .args([&d, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
                .process_group(0)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot start Xvfb: {e}"))?;
            track(&x);
            reaper.0.push(x);
            wait_x(&d)?;
            if let Ok(Some(st)) = reaper.0.last_mut().expect("Xvfb").try_wait() {
                return Err(format!("Xvfb {d} exited at once ({st})"));
            }
            d
        }
    };
    Ok(display)
}

/// Waits until the X server answers (its socket appears).
fn wait_x(display: &str) -> Result<(), String> {
    let sock = Path::new("/tmp/.X11-unix").join(format!("X{}", display.trim_start_matches(':')));
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if sock.exists() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20)); // no event for a socket file appearing here
    }
    Err(format!("Xvfb {display} did not come up ({} missing)", sock.display()))
}
