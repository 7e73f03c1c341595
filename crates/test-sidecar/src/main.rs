//! `test-sidecar`: a configurable child process for the supervisor's
//! integration tests and benchmarks.
//!
//! Every behaviour is driven by a flag (see [`args::USAGE`]); nothing is
//! printed on stdout unless a flag asks for it, because the supervisor parses
//! stdout for the port handshake. Diagnostics go to stderr.
//!
//! Environment read (the supervisor's contract): `SIDECAR_NAME`,
//! `SIDECAR_HOST` (default 127.0.0.1), `SIDECAR_PORT`, `SIDECAR_INSTANCE_ID`,
//! `SIDECAR_API_KEY`.
//!
//! This file holds the start-up sequence and the timers; the modules are:
//! - `args`: hand-written flag parsing (no clap, fast start);
//! - `out`: flushed line output, monotonic clock, report datagrams;
//! - `state`: the ready/unready/hung status shared by the servers;
//! - `http`, `grpc`, `tcp`: one module per `--protocol`.

mod args;
mod grpc;
mod http;
mod jsonrpc;
mod out;
mod state;
mod tcp;
mod who;

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::time::{sleep, sleep_until, Instant};

use args::{Args, PortMode, Protocol};
use out::{err, monotonic_ns, out, report};
use state::Shared;

fn main() {
    // The start datagram comes first: benchmarks measure spawn → start.
    let start_ns = monotonic_ns();
    let start = std::time::Instant::now();
    let argv: Vec<String> = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    if let Some(path) = args::find_report_socket(&argv) {
        report(&path, "start", start_ns);
    }

    let a = match args::parse(argv) {
        Ok(a) => a,
        Err(msg) => {
            err(&msg);
            std::process::exit(2);
        }
    };
    if a.help {
        err(args::USAGE);
        std::process::exit(0);
    }
    if let Some(file) = &a.stdin_to {
        let mut input = Vec::new();
        let copied =
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut input).and_then(|_| std::fs::write(file, &input));
        if let Err(e) = copied {
            err(&format!("test-sidecar: --stdin-to {}: {e}", file.display()));
            std::process::exit(1);
        }
        std::process::exit(0);
    }
    if a.grandchild {
        grandchild(a.ignore_sigterm);
    }
    if a.ignore_sigterm {
        set_stop_signals(false);
    }
    let host = if a.port == PortMode::None { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { bind_host() };

    startup_output(&a);
    if a.fork_grandchild {
        fork_grandchild(a.grandchild_ignore_sigterm);
    }
    if a.crash_after_ms == Some(0) {
        crash(&a);
    }
    let eof = if std::env::var("SIDECAR_STDIO").is_ok_and(|v| v == "jsonrpc") {
        Some(jsonrpc::serve())
    } else {
        (!a.ignore_stdin_eof).then(stdin_lifeline)
    };

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| {
        err(&format!("test-sidecar: cannot build runtime: {e}"));
        std::process::exit(1);
    });
    rt.block_on(run(a, host, Instant::from_std(start), eof));
}

/// Installs the timers and signal handlers, starts the servers, then waits
/// for stdin EOF (or forever). Every exit happens on this thread.
async fn run(a: Args, host: IpAddr, start: Instant, eof: Option<oneshot::Receiver<()>>) {
    if !a.ignore_sigterm {
        let delay = Duration::from_millis(a.stop_delay_ms);
        if let Err(e) = on_stop(move |name| async move {
            err(&format!("test-sidecar: stopping on {name}"));
            sleep(delay).await;
            std::process::exit(0);
        }) {
            err(&format!("test-sidecar: cannot install signal handlers: {e}"));
            std::process::exit(1);
        }
    } else {
        #[cfg(windows)]
        if let Err(e) = on_stop(|_| async {}) {
            // A handled Ctrl-Break is an ignored one.
            err(&format!("test-sidecar: cannot install console handlers: {e}"));
        }
    }
    if let Some(ms) = a.crash_after_ms {
        let (code, abort) = (a.exit_code, a.abort);
        tokio::spawn(async move {
            sleep_until(start + Duration::from_millis(ms)).await;
            crash_now(code, abort);
        });
    }

    tokio::spawn(lifecycle(a, host, start));

    match eof {
        Some(rx) => {
            let _ = rx.await;
            err("test-sidecar: stdin closed, exiting");
            std::process::exit(0);
        }
        None => std::future::pending().await,
    }
}

/// Bind, serve, and walk through ready → unready / hung on schedule.
async fn lifecycle(a: Args, host: IpAddr, start: Instant) {
    let shared = Shared::new();
    let after = move |ms: u64| start + Duration::from_millis(ms);

    // tcp + env: the port must refuse connections until ready, so bind late.
    let bind_late = a.port == PortMode::Env && a.protocol == Protocol::Tcp;
    let mut grpc_health = None;
    if a.port != PortMode::None && !bind_late {
        let listener = bind(&a, host).await;
        match a.protocol {
            Protocol::Http => http::spawn(listener, shared.clone(), who::Who::from_args(&a)),
            Protocol::Grpc => grpc_health = Some(grpc::spawn(listener, shared.clone(), who::Who::from_args(&a)).await),
            Protocol::Tcp => tcp::spawn(listener, shared.clone()),
        }
    }

    if let Some(ms) = a.unready_after_ms {
        let (shared, grpc_health) = (shared.clone(), grpc_health.clone());
        tokio::spawn(async move {
            sleep_until(after(ms)).await;
            shared.update(|s| s.unready = true);
            if let Some(g) = grpc_health {
                g.sync().await;
            }
        });
    }
    if let Some(ms) = a.hang_after_ms {
        let shared = shared.clone();
        tokio::spawn(async move {
            sleep_until(after(ms)).await;
            shared.update(|s| s.hung = true);
        });
    }

    sleep_until(after(a.ready_after_ms)).await;
    if bind_late {
        tcp::spawn(bind(&a, host).await, shared.clone());
    }
    if shared.get().unready {
        // --unready-after-ms fired first: never becomes ready.
        return;
    }
    shared.update(|s| s.ready = true);
    if let Some(g) = &grpc_health {
        g.sync().await;
    }
    let ready_ns = monotonic_ns();
    if let Some(path) = &a.report_socket {
        report(path, "ready", ready_ns);
    }
    if let Some(line) = &a.print_ready_line {
        out(line);
    }
}

/// Waits for `--bind-gate`, binds, and announces the port if asked to.
/// Exits 98 on AddrInUse, 1 on any other bind error.
async fn bind(a: &Args, host: IpAddr) -> TcpListener {
    if let Some(gate) = &a.bind_gate {
        while !gate.exists() {
            sleep(Duration::from_millis(5)).await;
        }
    }
    let port = if a.port == PortMode::Env { a.env_port } else { 0 };
    let addr = SocketAddr::new(host, port);
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            err(&format!("test-sidecar: cannot bind {addr}: {e}"));
            let code = if e.kind() == std::io::ErrorKind::AddrInUse { 98 } else { 1 };
            std::process::exit(code);
        }
    };
    let port = match listener.local_addr() {
        Ok(local) => local.port(),
        Err(e) => {
            err(&format!("test-sidecar: cannot read bound address: {e}"));
            std::process::exit(1);
        }
    };
    match a.port {
        PortMode::Announce => out(&format!("SIDECAR_PORT={port}")),
        PortMode::AnnounceJson => out(&format!("{{\"port\": {port}}}")),
        PortMode::Env | PortMode::None => {}
    }
    listener
}

/// `SIDECAR_HOST` (default 127.0.0.1; `localhost` means 127.0.0.1). Refuses
/// unspecified addresses (0.0.0.0, ::) and non-IP values with exit 2.
fn bind_host() -> IpAddr {
    let raw = std::env::var("SIDECAR_HOST").unwrap_or_default();
    let raw = raw.trim();
    let host = match raw {
        "" | "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        _ => match raw.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => {
                err(&format!("test-sidecar: invalid SIDECAR_HOST: {raw}"));
                std::process::exit(2);
            }
        },
    };
    if host.is_unspecified() {
        err(&format!("test-sidecar: refusing to bind unspecified address {host}"));
        std::process::exit(2);
    }
    host
}

/// `--echo-env`, `--print-secret`, `--stdout-lines`, `--stderr-lines`.
fn startup_output(a: &Args) {
    for name in &a.echo_env {
        match std::env::var_os(name) {
            Some(v) => out(&format!("ENV {name}={}", v.to_string_lossy())),
            None => out(&format!("ENV {name}=<unset>")),
        }
    }
    if a.print_secret {
        let key = std::env::var_os("SIDECAR_API_KEY").unwrap_or_default();
        out(&format!("key={}", key.to_string_lossy()));
    }
    for i in 1..=a.stdout_lines {
        out(&format!("line {i}"));
    }
    for i in 1..=a.stderr_lines {
        err(&format!("err {i}"));
    }
}

/// `--crash-after-ms`: message, then exit with `--exit-code` or `--abort`.
fn crash(a: &Args) -> ! {
    crash_now(a.exit_code, a.abort)
}

fn crash_now(code: i32, abort: bool) -> ! {
    err("test-sidecar: crashing on purpose");
    if abort {
        std::process::abort();
    }
    std::process::exit(code);
}

/// Calls `then` (in a task) on every stop signal: SIGTERM/SIGINT, or on Windows Ctrl-Break and
/// Ctrl-C (which are then handled, not fatal).
fn on_stop<F, Fut>(then: F) -> std::io::Result<()>
where
    F: Fn(&'static str) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (mut term, mut int) = (signal(SignalKind::terminate())?, signal(SignalKind::interrupt())?);
        tokio::spawn(async move {
            loop {
                let name = tokio::select! {
                    _ = term.recv() => "SIGTERM",
                    _ = int.recv() => "SIGINT",
                };
                then(name).await;
            }
        });
    }
    #[cfg(windows)]
    {
        use tokio::signal::windows::{ctrl_break, ctrl_c};
        let (mut brk, mut c) = (ctrl_break()?, ctrl_c()?);
        tokio::spawn(async move {
            loop {
                let name = tokio::select! {
                    _ = brk.recv() => "Ctrl-Break",
                    _ = c.recv() => "Ctrl-C",
                };
                then(name).await;
            }
        });
    }
    Ok(())
}

/// Ignores SIGTERM and SIGINT (`false`) or restores their default (`true`). On Windows the
/// console events are ignored by handling them (see `run`).
fn set_stop_signals(default: bool) {
    #[cfg(unix)]
    // SAFETY: SIG_IGN / SIG_DFL are valid dispositions; no handler code runs.
    unsafe {
        let disposition = if default { libc::SIG_DFL } else { libc::SIG_IGN };
        libc::signal(libc::SIGTERM, disposition);
        libc::signal(libc::SIGINT, disposition);
    }
    #[cfg(not(unix))]
    let _ = default;
}

/// `--grandchild`: sleep forever. Dispositions are set explicitly because
/// SIG_IGN is inherited across exec from an `--ignore-sigterm` parent.
fn grandchild(ignore_sigterm: bool) -> ! {
    set_stop_signals(!ignore_sigterm);
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// `--fork-grandchild`: re-exec ourselves with `--grandchild`, same process
/// group, stdin null, stdout/stderr inherited; print `GRANDCHILD_PID=<pid>`.
/// A detached thread reaps it so a killed grandchild does not linger as a
/// zombie (which `kill(pid, 0)` would still see).
fn fork_grandchild(ignore_sigterm: bool) {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            err(&format!("test-sidecar: cannot find own executable: {e}"));
            std::process::exit(1);
        }
    };
    let mut cmd = Command::new(exe);
    cmd.arg("--grandchild").stdin(Stdio::null()).stdout(Stdio::inherit()).stderr(Stdio::inherit());
    if ignore_sigterm {
        cmd.arg("--ignore-sigterm");
    }
    match cmd.spawn() {
        Ok(mut child) => {
            out(&format!("GRANDCHILD_PID={}", child.id()));
            let _ = std::thread::Builder::new()
                .name("reap-grandchild".into())
                .stack_size(64 * 1024)
                .spawn(move || child.wait());
        }
        Err(e) => {
            err(&format!("test-sidecar: cannot spawn grandchild: {e}"));
            std::process::exit(1);
        }
    }
}

/// The stdin lifeline: a thread reads stdin to EOF (or error) and then
/// completes the returned receiver.
fn stdin_lifeline() -> oneshot::Receiver<()> {
    let (tx, rx) = oneshot::channel();
    let spawned = std::thread::Builder::new().name("stdin-lifeline".into()).stack_size(64 * 1024).spawn(move || {
        let mut buf = [0u8; 4096];
        let mut stdin = std::io::stdin().lock();
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = tx.send(());
    });
    if let Err(e) = spawned {
        err(&format!("test-sidecar: cannot watch stdin: {e}"));
        std::process::exit(1);
    }
    rx
}
