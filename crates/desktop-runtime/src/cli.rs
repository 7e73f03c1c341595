//! Subcommands of the runner.

use std::path::{Path, PathBuf};

use sidecar_supervisor_core::DataDirLayout;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use sidecar_supervisor_core::profile::{self, Mode, Overrides};
use sidecar_supervisor_core::{Notification, RuntimeStatus};
use sidecar_supervisor_core::{Supervisor, SupervisorOptions, Verb};

use crate::print;

pub const APP_NAME: &str = "desktop-runtime";

#[derive(Parser)]
#[command(
    name = "desktop-runtime",
    version,
    about = "Runs an app's local services (sidecars) from a runtime profile, headless."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Start every sidecar of a profile; Ctrl-C or SIGTERM stops them all gracefully.
    Run(RunArgs),
    /// Print the status of a running or stopped runner.
    Status(StatusArgs),
    /// Print the persisted runtime-event feed.
    Events(EventsArgs),
    /// Control a running runner from another shell: restart, stop, start, pause or resume a
    /// sidecar, or call a method of a "stdio": "jsonrpc" one (prints the result as JSON).
    /// Only the user that runs the runtime can.
    Ctl(CtlArgs),
    /// Check a profile; exits 2 with the error if it is bad.
    Validate(ValidateArgs),
    /// Print the JSON Schema of runtime profiles.
    Schema,
}

#[derive(Args)]
pub struct RunArgs {
    /// Runtime profile (else RUNTIME_PROFILE_PATH, else runtime-profile.json beside the binary).
    #[arg(long)]
    pub runtime_profile: Option<PathBuf>,
    /// local_fullstack or remote_slim (else RUNTIME_MODE, else the profile's).
    #[arg(long, value_parser = parse_mode)]
    pub runtime_mode: Option<Mode>,
    /// Data dir (else RUNTIME_DATA_DIR, else the profile's, else the OS app-data dir).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Remote backend URL for remote_slim (else BACKEND_URL, else the profile's).
    #[arg(long)]
    pub backend_url: Option<String>,
    /// Never restart a crashed sidecar (also RUNTIME_NO_AUTO_RESTART=1, profile "auto_restart": false).
    #[arg(long)]
    pub no_auto_restart: bool,
    /// Extra directory holding bundled sidecar binaries (repeatable; the binary's own dir is always searched).
    #[arg(long = "bundled-dir")]
    pub bundled_dirs: Vec<PathBuf>,
    /// Write this launch's API key to this file (mode 0600) for a headless client of the
    /// sidecars, e.g. `curl -H "x-api-key: $(cat FILE)"`; removed again on a clean stop.
    #[arg(long)]
    pub api_key_file: Option<PathBuf>,
}

#[derive(Args)]
pub struct StatusArgs {
    /// Data dir of the runner (else RUNTIME_DATA_DIR, else the OS app-data dir).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct EventsArgs {
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
    /// Only the newest N events.
    #[arg(long)]
    pub limit: Option<usize>,
}

#[derive(Args)]
pub struct CtlArgs {
    /// Data dir of the runner (else RUNTIME_DATA_DIR, else the OS app-data dir).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub what: CtlCmd,
}

/// What `ctl` does: one subcommand per verb of the core's one list ([`Verb::ALL`]: restart,
/// stop, start, pause, resume), plus `watch`, `request`, `backup` and `restore`.
pub enum CtlCmd {
    Verb { verb: Verb, name: String },
    Other(CtlOther),
}

#[derive(Subcommand)]
pub enum CtlOther {
    /// Sample every sidecar's CPU and memory once a second for LEASE_MS (as the open dialog does).
    Watch {
        #[arg(long, default_value_t = 5000)]
        lease_ms: u64,
    },
    /// Back the database up while it runs: a consistent snapshot plus a manifest, in one file
    /// (default: <data_dir>/backups/<sidecar>-<time>.backup.zip); prints what was written.
    Backup {
        /// Where to write the backup.
        #[arg(long)]
        to: Option<std::path::PathBuf>,
    },
    /// Restore a backup: checked first, then the sidecars that use the database are stopped,
    /// the database restored in one transaction, and they are started again.
    Restore { file: std::path::PathBuf },
    /// Call METHOD of a "stdio": "jsonrpc" sidecar with PARAMS (JSON); prints the result.
    Request {
        name: String,
        method: String,
        params: Option<String>,
        /// How long to wait for the answer.
        #[arg(long, default_value_t = sidecar_supervisor_core::ctl::DEFAULT_TIMEOUT_MS)]
        timeout_ms: u64,
    },
}

impl clap::FromArgMatches for CtlCmd {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        if let Some((sub, args)) = m.subcommand() {
            if let Some(verb) = Verb::parse(sub) {
                let name = args.get_one::<String>("name").cloned().unwrap_or_default();
                return Ok(CtlCmd::Verb { verb, name });
            }
        }
        CtlOther::from_arg_matches(m).map(CtlCmd::Other)
    }
    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl Subcommand for CtlCmd {
    fn augment_subcommands(cmd: clap::Command) -> clap::Command {
        let cmd = Verb::ALL.into_iter().fold(cmd, |cmd, verb| {
            let name = clap::Arg::new("name")
                .required(true)
                .help("A sidecar (every replica of it), or one instance such as worker#2");
            cmd.subcommand(clap::Command::new(verb.as_str()).about(verb.about()).arg(name))
        });
        CtlOther::augment_subcommands(cmd)
    }
    fn augment_subcommands_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_subcommands(cmd)
    }
    fn has_subcommand(name: &str) -> bool {
        Verb::parse(name).is_some() || CtlOther::has_subcommand(name)
    }
}

#[derive(Args)]
pub struct ValidateArgs {
    pub profile: PathBuf,
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    Mode::parse(s).ok_or_else(|| format!("unknown mode `{s}`; use local_fullstack or remote_slim"))
}

fn exe_dir() -> Option<PathBuf> {
    std::env::current_exe().ok()?.parent().map(Path::to_path_buf)
}

fn data_dir_arg(d: Option<PathBuf>) -> DataDirLayout {
    DataDirLayout::new(
        d.or_else(|| std::env::var_os(profile::ENV_DATA_DIR).filter(|v| !v.is_empty()).map(PathBuf::from))
            .unwrap_or_else(|| sidecar_supervisor_core::default_data_dir(APP_NAME)),
    )
}

pub fn run(a: RunArgs) -> ExitCode {
    let cli = Overrides {
        profile_path: a.runtime_profile,
        mode: a.runtime_mode,
        data_dir: a.data_dir,
        backend_url: a.backend_url,
        no_auto_restart: a.no_auto_restart,
        // The runner keeps the built-in default (`runtime::default_data_dir`).
        default_data_dir: None,
    };
    let default_profile = exe_dir().map(|d| d.join("runtime-profile.json")).filter(|p| p.is_file());
    let config = match sidecar_supervisor_core::resolve_from_env(&cli, default_profile.as_deref(), APP_NAME) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("desktop-runtime: bad profile or settings:\n{e}");
            return ExitCode::from(2);
        }
    };
    let mut bundled_dirs = a.bundled_dirs;
    bundled_dirs.extend(exe_dir());
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("desktop-runtime: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(async move {
        // Subscribed before the engine runs: the first state changes are printed too.
        let (sup, mut rx) = match Supervisor::start_subscribed(SupervisorOptions {
            config,
            bundled_dirs,
            write_status_file: true,
            app_version: env!("CARGO_PKG_VERSION").to_string(),
            app_build: option_env!("DESKTOP_RUNTIME_BUILD").unwrap_or_default().to_string(),
        }) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("desktop-runtime: {e}");
                return ExitCode::from(1);
            }
        };
        if let Some(path) = &a.api_key_file {
            if let Err(e) = sidecar_supervisor_core::write_atomic(path, sup.api_key().as_bytes()) {
                eprintln!("desktop-runtime: --api-key-file {}: {e}", path.display());
                sup.shutdown().await;
                return ExitCode::from(1);
            }
        }
        let st = sup.status();
        println!(
            "desktop-runtime: instance {} ({} mode), {} sidecar(s), data dir {}",
            st.instance_id,
            st.mode.as_str(),
            st.sidecars.len(),
            st.data_dir
        );
        // `desktop-runtime ctl` reaches this runner through its data dir's control endpoint.
        let _ctl = match sidecar_supervisor_core::ctl::serve(sup.clone(), &DataDirLayout::new(&st.data_dir)) {
            Ok(ep) => Some(ep),
            Err(e) => {
                eprintln!("desktop-runtime: no control endpoint (`desktop-runtime ctl` will not reach this runner): {e}");
                None
            }
        };
        let mut printer = print::StatePrinter::new(&st);
        let (signal_tx, mut signal_rx) = tokio::sync::oneshot::channel();
        let installed = stop_signals::on_stop_signals(
            move |name| {
                let _ = signal_tx.send(name);
            },
            || eprintln!("desktop-runtime: forced exit; sidecars are killed by the lifeline"),
        );
        if let Err(e) = installed {
            eprintln!("desktop-runtime: cannot install signal handlers: {e}");
            sup.shutdown().await;
            return ExitCode::from(1);
        }
        let why = loop {
            tokio::select! {
                n = rx.recv() => match n {
                    Ok(Notification::Stopped) | Err(tokio::sync::broadcast::error::RecvError::Closed) => break "engine ended",
                    Ok(n) => printer.on(&n),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(k)) => println!("({k} updates skipped)"),
                },
                name = &mut signal_rx => break name.unwrap_or("a stop signal"),
            }
        };
        println!("desktop-runtime: {why}: stopping every sidecar (Ctrl-C again to force)");
        let stop = sup.shutdown();
        tokio::pin!(stop);
        // A second signal meanwhile exits at once (stop_signals).
        loop {
            tokio::select! {
                _ = &mut stop => break,
                n = rx.recv() => if let Ok(n) = n { printer.on(&n) },
            }
        }
        while let Ok(n) = rx.try_recv() {
            printer.on(&n);
        }
        if let Some(err) = sup.status().error {
            eprintln!("desktop-runtime: {err}");
            return ExitCode::from(1);
        }
        if let Some(path) = &a.api_key_file {
            let _ = std::fs::remove_file(path);
        }
        println!("desktop-runtime: stopped cleanly");
        ExitCode::SUCCESS
    })
}

fn read_status(layout: &DataDirLayout) -> Result<RuntimeStatus, String> {
    let path = layout.status_file();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("no status at {}: {e} (has a runner used this data dir?)", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("status file {} is unreadable: {e}", path.display()))
}

pub fn status(a: StatusArgs) -> ExitCode {
    let dir = data_dir_arg(a.data_dir);
    let st = match read_status(&dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("desktop-runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let running = print::runner_alive(&dir, &st);
    // A running runner is asked for its live status: each sidecar's resources are sampled
    // for this ask (nothing samples them otherwise). status.json is the fallback.
    let st = if running { live_status(&dir).unwrap_or(st) } else { st };
    if a.json {
        let mut v = serde_json::to_value(&st).expect("status serializes");
        v["running"] = serde_json::Value::Bool(running);
        println!("{}", serde_json::to_string_pretty(&v).expect("json"));
    } else {
        print!("{}", print::status_table(&st, running));
    }
    ExitCode::SUCCESS
}

fn live_status(layout: &DataDirLayout) -> Option<RuntimeStatus> {
    use sidecar_supervisor_core::ctl::{self, CtlRequest};
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
    let answer = rt.block_on(async {
        tokio::time::timeout(std::time::Duration::from_secs(5), ctl::call(layout, &CtlRequest::Status)).await
    });
    match answer {
        Ok(Ok(r)) if r.ok => serde_json::from_value(r.result?).ok(),
        Ok(Ok(r)) => {
            eprintln!("desktop-runtime: the runner did not give its live status ({:?}); showing status.json", r.error);
            None
        }
        Ok(Err(e)) => {
            eprintln!("desktop-runtime: cannot ask the runner ({e}); showing status.json");
            None
        }
        Err(_) => {
            eprintln!("desktop-runtime: the runner did not answer within 5 s; showing status.json");
            None
        }
    }
}

pub fn events(a: EventsArgs) -> ExitCode {
    let path = data_dir_arg(a.data_dir).feed_file();
    let mut evs = match sidecar_supervisor_core::read_feed_file(&path) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("desktop-runtime: {e}");
            return ExitCode::from(1);
        }
    };
    if let Some(n) = a.limit {
        let skip = evs.len().saturating_sub(n);
        evs.drain(..skip);
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&evs).expect("json"));
    } else {
        for e in &evs {
            println!("{}", print::event_line(e));
        }
    }
    ExitCode::SUCCESS
}

fn absolute(p: &std::path::Path) -> std::path::PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Exit codes: 0 done, 1 the runtime refused or could not be reached (the message says why),
/// 2 bad usage (e.g. PARAMS is not JSON).
pub fn ctl(a: CtlArgs) -> ExitCode {
    use sidecar_supervisor_core::ctl::{self, CtlRequest};
    let layout = data_dir_arg(a.data_dir);
    let req = match a.what {
        CtlCmd::Verb { verb, name } => CtlRequest::Command { verb, name },
        CtlCmd::Other(CtlOther::Watch { lease_ms }) => CtlRequest::Watch { lease_ms },
        // Paths are this shell's: made absolute here, not in the runner's directory.
        CtlCmd::Other(CtlOther::Backup { to }) => CtlRequest::Backup { to: to.map(|p| absolute(&p)) },
        CtlCmd::Other(CtlOther::Restore { file }) => CtlRequest::Restore { from: absolute(&file) },
        CtlCmd::Other(CtlOther::Request { name, method, params, timeout_ms }) => {
            let params = match params.as_deref().map(serde_json::from_str::<serde_json::Value>).transpose() {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("desktop-runtime ctl: PARAMS is not JSON: {e}");
                    return ExitCode::from(2);
                }
            };
            CtlRequest::Request { name, method, params, timeout_ms }
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("desktop-runtime ctl: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(ctl::call(&layout, &req)) {
        Ok(r) if r.ok => {
            if let Some(v) = r.result.filter(|v| !v.is_null()) {
                println!("{}", serde_json::to_string_pretty(&v).expect("json"));
            }
            ExitCode::SUCCESS
        }
        Ok(r) => {
            let e = r.error.map(|e| e.message).unwrap_or_else(|| "refused without a reason".into());
            eprintln!("desktop-runtime ctl: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("desktop-runtime ctl: {e}");
            ExitCode::from(1)
        }
    }
}

pub fn validate(a: ValidateArgs) -> ExitCode {
    match sidecar_supervisor_core::load_profile(&a.profile) {
        Ok(p) => {
            println!("{}: ok ({} sidecar(s), mode {})", a.profile.display(), p.sidecars.len(), p.mode.as_str());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
