//! `cargo xtask dev|test|e2e|bench|schema`: the developer entry points.
//!
//! - `dev`: builds the app, the runner and the sidecars, then opens the desktop app (`tauri dev`
//!   from the npm Tauri CLI) with the default stack running: real PostgreSQL, the backend and
//!   two workers. Without a display it runs the same stack headless with the runner. Closing the
//!   window, or Ctrl-C, stops every sidecar gracefully.
//! - `test`: everything CI checks, in order, with progress output: format, build of the helper
//!   binaries the integration tests spawn, UI lint/type check/build, clippy, UI tests, every
//!   test of the workspace (the root-only ones too when run as root), then `e2e`, then (as
//!   root) `install-test`.
//! - `bundle`: this system's installers (`bundle.rs`); `install-test`: the `.deb` installed and
//!   driven (`install.rs`); `workflows`: the GitHub workflows checked against their schema.
//! - `e2e`: the built app in a real window, driven over WebDriver.
//! - `bench`: the performance targets (README, "Performance"), each against a baseline measured
//!   in the same run.
//! - `python`: packages the Python reference sidecar with PyInstaller (`python.rs`); `test`
//!   does it before the tests, which run it.
//! - `schema`: regenerates `runtime-profile.schema.json` from the Rust types.
//! - `bindings`: regenerates the plugin's TypeScript types (`guest-js/bindings.ts`) from the Rust
//!   types; `test` fails while they are stale.

#[cfg(unix)]
mod e2e;
/// The end-to-end test drives the app under Xvfb with WebKitWebDriver: Linux.
#[cfg(not(unix))]
mod e2e {
    pub fn run() -> Result<(), String> {
        Err("the end-to-end test runs on Linux (Xvfb, WebKitWebDriver); the workflow's Linux job runs it".into())
    }
}
mod bundle;
#[cfg(target_os = "linux")]
mod install;
mod prereq;
mod python;
mod ui;
mod wine;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    std::env::set_current_dir(&root).expect("cd to workspace root");
    let result = match args.first().map(String::as_str) {
        Some("dev") => dev(&args[1..]),
        Some("test") => test(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("e2e") => e2e::run(),
        Some("schema") => schema(),
        Some("python") => python::build().map(|p| eprintln!("{}", p.display())),
        Some("k8s") => python::k8s(),
        Some("bindings") => bindings(),
        Some("wine") => wine::run(),
        Some("cross") => clippy_other_targets(),
        Some("bundle") => bundle::run(&args[1..]),
        Some("workflows") => ui::validate_workflows(),
        #[cfg(target_os = "linux")]
        Some("install-test") => install::run(),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n  dev     run the default stack headless (extra args go to `desktop-runtime run`)\n  test    format check, clippy and every test (what CI runs)\n  e2e     the built app in a real window over WebDriver (Xvfb when no display)
  bench   performance targets vs baselines (release build)\n  python  package the Python reference sidecar (PyInstaller --onefile) into <target>/debug\n  k8s     check deploy/kubernetes/*.yaml against the Kubernetes schema\n  schema  regenerate runtime-profile.schema.json\n  bindings  regenerate the plugin's TypeScript types (guest-js/bindings.ts) from the Rust types\n  cross   clippy for Windows and macOS (every crate, the app included)\n  wine    the Windows process tests under Wine (Linux)\n  install-test  build, install (apt) and drive the release .deb (Linux, root)\n  workflows  check .github/workflows/*.yml against the workflow schema\n  bundle  this system's installers with the sidecars and PostgreSQL inside [--target <triple>] [--bundles deb,rpm]"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn step(title: &str, cmd: &mut Command) -> Result<(), String> {
    eprintln!("\n==> {title}\n    $ {}", show(cmd));
    let t = Instant::now();
    let status = cmd.status().map_err(|e| format!("cannot run {}: {e}", show(cmd)))?;
    eprintln!("    ({title}: {:.1} s)", t.elapsed().as_secs_f64());
    if status.success() {
        Ok(())
    } else {
        Err(format!("step `{title}` failed ({status}); command: {}", show(cmd)))
    }
}

fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// The cargo target dir (respects CARGO_TARGET_DIR and config).
fn target_dir() -> Result<PathBuf, String> {
    let out = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let key = "\"target_directory\":\"";
    let start = text.find(key).ok_or("cargo metadata printed no target_directory")? + key.len();
    let end = text[start..].find('"').ok_or("bad cargo metadata")? + start;
    Ok(PathBuf::from(text[start..end].replace("\\\\", "\\")))
}

/// The packages of the sidecars the default profile runs, besides the runner itself.
const SIDECARS: [&str; 2] = ["backend", "worker"];
/// Their binaries (as the profile names them and the app bundles them).
const SIDECAR_BINS: [&str; 2] = ["desktop-runtime-backend", "desktop-runtime-worker"];

fn dev(extra: &[String]) -> Result<(), String> {
    prereq::ensure_webkit()?;
    prereq::ensure_postgres()?;
    let mut build = cargo();
    build.args(["build", "-p", "desktop-runtime"]);
    for s in SIDECARS {
        build.args(["-p", s]);
    }
    step("build the runner and the sidecars", &mut build)?;
    python::build()?;
    ui::install()?;
    let display = ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()));
    if display {
        // The app: the npm Tauri CLI starts the UI's dev server and the app, which runs the
        // default profile (debug builds use profiles/local_fullstack.json and binaries/).
        eprintln!("\n==> opening the app (tauri dev); closing its window stops every sidecar");
        let status = Command::new(ui::tauri_cli())
            .arg("dev")
            .args(extra)
            .status()
            .map_err(|e| format!("cannot run the Tauri CLI (ui/node_modules/.bin/tauri): {e}"))?;
        return if status.success() { Ok(()) } else { Err(format!("tauri dev exited with {status}")) };
    }
    eprintln!(
        "\n==> no display (DISPLAY/WAYLAND_DISPLAY unset): running the same stack headless instead of the window"
    );
    let bin_dir = target_dir()?.join("debug");
    // The database runs as user `postgres` when we are root, and root's home is private: use a
    // data dir that user can reach.
    let data_dir =
        if prereq::is_root() { PathBuf::from("/var/lib/desktop-runtime/dev") } else { target_dir()?.join("dev-data") };
    let key_file = target_dir()?.join("dev-api-key");
    eprintln!(
        "\n==> running the default stack (profiles/local_fullstack.json: PostgreSQL, backend, 2 workers, the executor)\n    data dir {}\n    API key of this launch: {} (e.g. curl -H \"x-api-key: $(cat {})\" http://127.0.0.1:<backend port>/api/jobs)\n    Ctrl-C stops every sidecar",
        data_dir.display(),
        key_file.display(),
        key_file.display()
    );
    let mut cmd = Command::new(bin_dir.join("desktop-runtime"));
    cmd.args(["run", "--runtime-profile", "profiles/local_fullstack.json", "--bundled-dir"])
        .arg(&bin_dir)
        .arg("--data-dir")
        .arg(&data_dir)
        .arg("--api-key-file")
        .arg(&key_file)
        .args(extra);
    // Ctrl-C reaches both of us: the runner stops its sidecars gracefully, and we wait for it
    // instead of dying first and leaving the terminal while it is still stopping them.
    let mut child = cmd.spawn().map_err(|e| format!("cannot start the runner: {e}"))?;
    // SAFETY: setting a signal disposition; no handler code runs.
    unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
    let status = child.wait().map_err(|e| format!("waiting for the runner: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the runner exited with {status}"))
    }
}

fn test(extra: &[String]) -> Result<(), String> {
    let t = Instant::now();
    step("format check", cargo().args(["fmt", "--all", "--", "--check"]))
        .map_err(|e| format!("{e}\n    fix: run `cargo fmt --all`"))?;
    prereq::ensure_webkit()?;
    prereq::ensure_postgres()?;
    let mut build = cargo();
    build.args(["build", "-p", "test-sidecar", "-p", "desktop-runtime"]);
    for s in SIDECARS {
        build.args(["-p", s]);
    }
    step("build the binaries the integration tests spawn", &mut build)?;
    python::build()?;
    // Clippy's --all-features builds the app with its UI embedded: ui/dist must exist first.
    ui::build()?;
    ui::validate_workflows()?;
    python::k8s()?;
    step("clippy", cargo().args(["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"]))?;
    clippy_other_targets()?;
    ui::test()?;
    let mut tests = cargo();
    tests.args(["test", "--workspace", "--all-features"]).args(extra);
    // Tests that need root are `#[ignore = "needs root"]`: run as root (CI is), they run too.
    if prereq::is_root() && !extra.iter().any(|a| a == "--include-ignored") {
        if !extra.iter().any(|a| a == "--") {
            tests.arg("--");
        }
        tests.arg("--include-ignored");
    } else if !prereq::is_root() {
        eprintln!("\n    note: tests marked `needs root` are skipped; run `sudo -E cargo xtask test` to include them");
    }
    step("tests", &mut tests)?;
    #[cfg(target_os = "linux")]
    wine::run()?;
    e2e::run()?;
    #[cfg(target_os = "linux")]
    install::run()?;
    eprintln!("\nxtask test: all steps passed in {:.0} s", t.elapsed().as_secs_f64());
    Ok(())
}

/// The other systems the product ships to, checked from here: clippy over every crate, the app
/// included, for each target (no SDK needed: nothing is linked).
const OTHER_TARGETS: [&str; 2] = ["x86_64-pc-windows-msvc", "aarch64-apple-darwin"];

fn clippy_other_targets() -> Result<(), String> {
    for target in OTHER_TARGETS {
        prereq::ensure_rust_target(target)?;
        let mut cmd = cargo();
        cmd.args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--target",
            target,
            "--",
            "-D",
            "warnings",
        ]);
        if target.contains("apple") {
            // objc2-exception-helper (under tao) compiles Objective-C in its build script, which
            // needs Apple's clang and SDK; it skips that when DOCS_RS is set, and a check links
            // nothing, so nothing is missed.
            cmd.env("DOCS_RS", "1");
        }
        step(&format!("clippy for {target}"), &mut cmd)?;
    }
    Ok(())
}

fn bench(extra: &[String]) -> Result<(), String> {
    step(
        "build release binaries",
        cargo().args(["build", "--release", "-p", "test-sidecar", "-p", "desktop-runtime"]),
    )?;
    step("benchmarks", cargo().args(["bench", "-p", "desktop-runtime", "--bench", "targets", "--"]).args(extra))
}

fn schema() -> Result<(), String> {
    step(
        "regenerate runtime-profile.schema.json",
        cargo()
            .args(["test", "-p", "sidecar-supervisor-core", "--test", "profile_errors", "schema"])
            .env("UPDATE_SCHEMA", "1"),
    )
}

fn bindings() -> Result<(), String> {
    step(
        "regenerate crates/sidecar-supervisor/guest-js/bindings.ts",
        cargo()
            .args(["test", "-p", "tauri-plugin-sidecar-supervisor", "--features", "ts", "bindings"])
            .env("UPDATE_BINDINGS", "1"),
    )
}
