//! `cargo xtask wine`: the Windows process backend for real, on Linux, under Wine.
//!
//! Builds `test-sidecar`, the runner, the reference backend (a sidecar-kit sidecar) and every
//! test of the core for `x86_64-pc-windows-gnu` (mingw as the linker), makes a fresh Wine
//! prefix, and runs them there: the Windows process tests (`tests/windows_*.rs`) and every
//! engine test that makes sense on Windows (the others are gated by `cfg`). Job objects with
//! kill-on-close, process waits, file locks and loopback TCP behave under Wine as on Windows.
//! Then a probe from this (Linux) side reaches a sidecar running inside Wine.
//! One Wine server serves the whole run; `wineserver -k` ends it and every Wine process
//! afterwards, and the prefix is removed.
//!
//! Wine 8 lacks `ProcessPrng` in `bcryptprimitives.dll`, which every Rust program since 1.78
//! calls before `main` (without it, it exits with code 53 and says nothing): a ten-line DLL
//! (`xtask/wine/bcryptprimitives.c`) built with mingw goes into the prefix's system32.
//! Console control events (Ctrl-Break) do not work under Wine 8: the tests that need them run
//! on the workflow's Windows runner only.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{cargo, prereq, show, step, target_dir};

const TARGET: &str = "x86_64-pc-windows-gnu";

/// Tests that cannot pass under Wine 8, by test binary, with the reason: left out here (and
/// said so), run by the workflow's Windows runner.
const NOT_UNDER_WINE: &[(&str, &str, &str)] = &[(
    "windows_processes",
    "a_sidecar_without_a_port_stops_on_ctrl_break_when_the_runtime_has_a_console",
    "Wine 8 delivers no console control events (Ctrl-Break)",
)];

pub fn run() -> Result<(), String> {
    prereq::ensure_wine()?;
    prereq::ensure_rust_target(TARGET)?;
    step(
        "build test-sidecar, the runner and the reference backend for Windows (mingw)",
        cargo().args(["build", "-p", "test-sidecar", "-p", "desktop-runtime", "-p", "backend", "--target", TARGET]),
    )?;
    let tests = build_tests()?;
    let bin = target_dir()?.join(TARGET).join("debug");
    let prefix = Prefix::new(&target_dir()?.join("wine-prefix"))?;
    let result = (|| {
        for t in &tests {
            let name = t.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let name = name.rsplit_once('-').map_or(name.as_str(), |(n, _)| n).to_string();
            let mut cmd = prefix.wine(t);
            cmd.args(["--test-threads", "2"]).current_dir(&bin);
            for (_, test, why) in NOT_UNDER_WINE.iter().filter(|(binary, _, _)| *binary == name) {
                eprintln!("\n==> not run under Wine: {name}::{test} ({why}); the workflow's Windows runner runs it");
                cmd.args(["--skip", test]);
            }
            run_binary(&prefix, &format!("{name}, under Wine"), &mut cmd)?;
        }
        probe_from_linux(&prefix, &bin.join("test-sidecar.exe"))
    })();
    drop(prefix); // wineserver -k, prefix removed: nothing of Wine is left running
    result
}

/// Builds every test of the core for Windows; returns the test executables.
fn build_tests() -> Result<Vec<PathBuf>, String> {
    let mut cmd = cargo();
    cmd.args([
        "test",
        "--no-run",
        "-p",
        "sidecar-supervisor-core",
        "--features",
        "testing",
        "--target",
        TARGET,
        "--message-format",
        "json-render-diagnostics",
    ]);
    eprintln!("\n==> build the core's Windows tests\n    $ {}", show(&cmd));
    let out = cmd.stderr(Stdio::inherit()).output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err("building the Windows tests failed (see above)".into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let exes: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| {
            let key = "\"executable\":\"";
            let start = l.find(key)? + key.len();
            let end = l[start..].find('"')? + start;
            Some(PathBuf::from(&l[start..end]))
        })
        .collect();
    if exes.is_empty() {
        return Err("cargo printed no test executable for Windows".into());
    }
    Ok(exes)
}

/// A throwaway Wine prefix, with the `ProcessPrng` shim in it.
struct Prefix {
    dir: PathBuf,
}

impl Prefix {
    fn new(dir: &Path) -> Result<Prefix, String> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let prefix = Prefix { dir: dir.to_path_buf() };
        // A Wine server left from an earlier run on this path (a run that was killed) would be
        // reused by the new prefix; end it first.
        let _ = prefix.command("wineserver").arg("-k").status();
        if step("make a fresh Wine prefix", prefix.command("wineboot").arg("-i")).is_err() {
            // Seen once on a fresh machine: wineboot exited 1 at once, printing nothing, and
            // succeeded when run again. One retry from scratch, said out loud.
            eprintln!("    wineboot failed; ending this prefix's Wine server and trying once more");
            let _ = prefix.command("wineserver").args(["-k"]).status();
            let _ = std::fs::remove_dir_all(dir);
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            step("make a fresh Wine prefix (second try)", prefix.command("wineboot").arg("-i"))?;
        }
        step("wait for wineboot's Wine server to end", prefix.command("wineserver").arg("-w"))?;
        prefix.start_server()?;
        let system32 = dir.join("drive_c/windows/system32");
        let source = Path::new("xtask/wine/bcryptprimitives.c");
        step(
            "build the ProcessPrng shim (bcryptprimitives.dll) into the prefix",
            Command::new("x86_64-w64-mingw32-gcc")
                .args(["-shared", "-O2", "-o"])
                .arg(system32.join("bcryptprimitives.dll"))
                .arg(source)
                .arg("-ladvapi32"),
        )?;
        Ok(prefix)
    }

    /// A command with this prefix's environment.
    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("WINEPREFIX", &self.dir)
            .env("WINEDEBUG", "-all")
            // The shim in system32 rather than Wine's own DLL of that name.
            .env("WINEDLLOVERRIDES", "bcryptprimitives=n,b")
            .env_remove("DISPLAY");
        c
    }

    /// Starts this prefix's Wine server for the run: `-p60` keeps it between test binaries
    /// (a server that ends 3 s after its last client could be ending just as the next binary
    /// connects) and still ends a minute after a run that was killed. Its stdio is null: the
    /// server outlives this command and would hold a caller's pipe (`| tee`) open.
    fn start_server(&self) -> Result<(), String> {
        let mut cmd = self.command("wineserver");
        cmd.arg("-p60").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        step("start a Wine server that stays between test binaries", &mut cmd)
    }

    /// Ends this prefix's Wine server (and any Wine process in it) and starts a fresh one.
    fn restart_server(&self) -> Result<(), String> {
        let _ = self.command("wineserver").arg("-k").status();
        let _ = self.command("wineserver").arg("-w").status();
        self.start_server()
    }

    fn wine(&self, exe: &Path) -> Command {
        let mut c = self.command("wine");
        c.arg(exe);
        c
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let _ = self.command("wineserver").arg("-k").status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs one test binary as a step. When Wine itself lost its server before the binary ran
/// (`wine client error: … Connection reset by peer`, seen once in CI between two binaries),
/// that is not a test result: the server is restarted and the binary runs once more, said out
/// loud. A test that fails is never run again.
fn run_binary(prefix: &Prefix, title: &str, cmd: &mut Command) -> Result<(), String> {
    eprintln!("\n==> {title}\n    $ {}", show(cmd));
    let t = Instant::now();
    let (status, wine_lost) = run_watching_wine(prefix, cmd)?;
    eprintln!("    ({title}: {:.1} s)", t.elapsed().as_secs_f64());
    if status.success() {
        return Ok(());
    }
    if !wine_lost {
        return Err(format!("step `{title}` failed ({status}); command: {}", show(cmd)));
    }
    eprintln!("    Wine lost its server before `{title}` ran (a `wine client error`, not a test result): restarting the server and running it once more");
    prefix.restart_server()?;
    step(&format!("{title} (again, after Wine lost its server)"), cmd)
}

/// Runs `cmd` with its stderr in a file of the prefix, shown once it ends (a file, not a pipe:
/// a Windows process a test leaves behind cannot hold it open); says whether Wine printed a
/// client error (its connection to the Wine server failed).
fn run_watching_wine(prefix: &Prefix, cmd: &mut Command) -> Result<(std::process::ExitStatus, bool), String> {
    let path = prefix.dir.join("stderr.txt");
    let file = std::fs::File::create(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let status = cmd.stderr(file).status().map_err(|e| format!("cannot run {}: {e}", show(cmd)));
    cmd.stderr(Stdio::inherit());
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    eprint!("{text}");
    Ok((status?, text.lines().any(|l| l.starts_with("wine client error"))))
}

/// A sidecar inside Wine answers a health probe from Linux over loopback TCP.
fn probe_from_linux(prefix: &Prefix, sidecar: &Path) -> Result<(), String> {
    eprintln!("\n==> a probe from Linux to a sidecar running under Wine");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("cannot pick a port: {e}"))?
        .port();
    let mut child = Killed(
        prefix
            .wine(sidecar)
            .args(["--port", "env", "--ignore-stdin-eof"])
            .env("SIDECAR_PORT", port.to_string())
            .env("SIDECAR_HOST", "127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the sidecar under Wine: {e}"))?,
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match get(port, "/health/live") {
            Ok(status) if status.starts_with("HTTP/1.1 200") => {
                eprintln!("    GET http://127.0.0.1:{port}/health/live from Linux: {status}");
                break;
            }
            Ok(status) => return Err(format!("the sidecar under Wine answered `{status}`, not 200")),
            Err(_) if Instant::now() < deadline => {
                if let Ok(Some(st)) = child.0.try_wait() {
                    return Err(format!("the sidecar under Wine exited before it answered ({st})"));
                }
                std::thread::sleep(Duration::from_millis(50)); // it is starting: try again
            }
            Err(e) => return Err(format!("no answer from the sidecar under Wine on port {port}: {e}")),
        }
    }
    Ok(())
}

/// A child killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET path` on 127.0.0.1:`port`; returns the status line.
fn get(port: u16, path: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    Ok(text.lines().next().unwrap_or_default().to_string())
}
