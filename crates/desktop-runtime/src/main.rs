//! `desktop-runtime`: the headless runner. Same engine as the desktop app, no window.
//!
//! Exit codes: 0 clean stop, 1 runtime failure, 2 bad usage or bad profile.

mod cli;
mod print;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DESKTOP_RUNTIME_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal: piped or redirected output (a log
        // file, `2>&1 | tee`, a service manager's journal) gets plain text. NO_COLOR also
        // turns them off.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none())
        .init();
    match args.command {
        cli::Cmd::Run(r) => cli::run(r),
        cli::Cmd::Status(s) => cli::status(s),
        cli::Cmd::Events(e) => cli::events(e),
        cli::Cmd::Ctl(c) => cli::ctl(c),
        cli::Cmd::Validate(v) => cli::validate(v),
        cli::Cmd::Schema => {
            print!("{}", sidecar_supervisor_core::profile::schema_json());
            ExitCode::SUCCESS
        }
    }
}
