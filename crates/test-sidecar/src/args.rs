//! Hand-written flag parsing.
//!
//! Exists so the binary needs no clap (fast start, small binary) and so that
//! the exact flag spellings and error behaviour (unknown flag → exit 2) live in
//! one place that tests can read.

use std::path::PathBuf;

/// How the listening port is chosen and communicated to the supervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortMode {
    /// Bind `$SIDECAR_HOST:$SIDECAR_PORT`.
    Env,
    /// Bind port 0 and print `SIDECAR_PORT=<n>`.
    Announce,
    /// Bind port 0 and print `{"port": <n>}`.
    AnnounceJson,
    /// Do not listen at all.
    None,
}

/// What is served on the listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Http,
    Grpc,
    Tcp,
}

/// Every flag, already validated.
#[derive(Debug)]
pub struct Args {
    pub report_socket: Option<PathBuf>,
    pub port: PortMode,
    /// `SIDECAR_PORT` parsed (only meaningful with [`PortMode::Env`]).
    pub env_port: u16,
    pub bind_gate: Option<PathBuf>,
    pub protocol: Protocol,
    pub ready_after_ms: u64,
    pub print_ready_line: Option<String>,
    pub echo_env: Vec<String>,
    pub crash_after_ms: Option<u64>,
    pub exit_code: i32,
    pub abort: bool,
    pub hang_after_ms: Option<u64>,
    pub unready_after_ms: Option<u64>,
    pub ignore_sigterm: bool,
    pub stop_delay_ms: u64,
    pub fork_grandchild: bool,
    pub grandchild_ignore_sigterm: bool,
    pub grandchild: bool,
    pub ignore_stdin_eof: bool,
    pub stdout_lines: u64,
    pub stderr_lines: u64,
    pub print_secret: bool,
    pub foreign_instance_id: Option<String>,
    /// `--identity proven|echoed|none`: what `/runtime/info` and `Control/Info` show.
    pub identity: IdentityMode,
    /// `--stdin-to FILE`: copy stdin to FILE up to its end, then exit 0 (a prepare step).
    pub stdin_to: Option<PathBuf>,
    /// `--help`: print [`USAGE`] on stderr and exit 0.
    pub help: bool,
}

/// What the identity endpoints show (`--identity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityMode {
    /// This launch's instance id and an HMAC proof of the key.
    Proven,
    /// The instance id, no proof.
    Echoed,
    /// No identity endpoint at all.
    None,
}

pub const USAGE: &str = "\
usage: test-sidecar [flags]
  --report-socket PATH        datagrams \"start <pid> <ns>\" / \"ready <pid> <ns>\"
  --port env|announce|announce-json|none
  --bind-gate PATH            wait for PATH to exist before binding
  --protocol http|grpc|tcp    (default http)
  --ready-after-ms N          (default 0)
  --print-ready-line TEXT
  --echo-env A,B,C
  --crash-after-ms N  --exit-code C  --abort
  --hang-after-ms N
  --unready-after-ms N
  --ignore-sigterm  --stop-delay-ms N
  --fork-grandchild  --grandchild-ignore-sigterm  --grandchild
  --ignore-stdin-eof
  --stdout-lines N  --stderr-lines N
  --print-secret
  --foreign-instance-id ID
  --identity proven|echoed|none   (default proven: instance id and key proof)
  --stdin-to FILE     copy stdin to FILE, then exit 0
  --help
";

/// Finds `--report-socket` without a full parse, so the start datagram can be
/// sent before anything else happens.
pub fn find_report_socket(argv: &[String]) -> Option<PathBuf> {
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        if a == "--report-socket" {
            return it.next().map(PathBuf::from);
        }
        if let Some(v) = a.strip_prefix("--report-socket=") {
            return Some(PathBuf::from(v));
        }
    }
    None
}

/// Parses the flags (without the program name). `Err` carries the message to
/// print on stderr; the caller exits with code 2.
pub fn parse(argv: Vec<String>) -> Result<Args, String> {
    let mut a = Args {
        report_socket: None,
        port: PortMode::None,
        env_port: 0,
        bind_gate: None,
        protocol: Protocol::Http,
        ready_after_ms: 0,
        print_ready_line: None,
        echo_env: Vec::new(),
        crash_after_ms: None,
        exit_code: 1,
        abort: false,
        hang_after_ms: None,
        unready_after_ms: None,
        ignore_sigterm: false,
        stop_delay_ms: 0,
        fork_grandchild: false,
        grandchild_ignore_sigterm: false,
        grandchild: false,
        ignore_stdin_eof: false,
        stdout_lines: 0,
        stderr_lines: 0,
        print_secret: false,
        foreign_instance_id: None,
        identity: IdentityMode::Proven,
        stdin_to: None,
        help: false,
    };
    let mut port: Option<PortMode> = None;

    let mut it = argv.into_iter();
    while let Some(raw) = it.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match raw.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (raw.clone(), None),
        };
        let value = |it: &mut std::vec::IntoIter<String>| -> Result<String, String> {
            match inline.clone().or_else(|| it.next()) {
                Some(v) => Ok(v),
                None => Err(format!("test-sidecar: flag {flag} needs a value")),
            }
        };
        let takes_value = matches!(
            flag.as_str(),
            "--report-socket"
                | "--port"
                | "--bind-gate"
                | "--protocol"
                | "--ready-after-ms"
                | "--print-ready-line"
                | "--echo-env"
                | "--crash-after-ms"
                | "--exit-code"
                | "--hang-after-ms"
                | "--unready-after-ms"
                | "--stop-delay-ms"
                | "--stdout-lines"
                | "--stderr-lines"
                | "--foreign-instance-id"
                | "--identity"
                | "--stdin-to"
        );
        if !takes_value && inline.is_some() {
            return Err(format!("test-sidecar: flag {flag} takes no value"));
        }
        match flag.as_str() {
            "--report-socket" => a.report_socket = Some(PathBuf::from(value(&mut it)?)),
            "--port" => {
                let v = value(&mut it)?;
                port = Some(match v.as_str() {
                    "env" => PortMode::Env,
                    "announce" => PortMode::Announce,
                    "announce-json" => PortMode::AnnounceJson,
                    "none" => PortMode::None,
                    _ => return Err(bad(&flag, &v)),
                });
            }
            "--bind-gate" => a.bind_gate = Some(PathBuf::from(value(&mut it)?)),
            "--protocol" => {
                let v = value(&mut it)?;
                a.protocol = match v.as_str() {
                    "http" => Protocol::Http,
                    "grpc" => Protocol::Grpc,
                    "tcp" => Protocol::Tcp,
                    _ => return Err(bad(&flag, &v)),
                };
            }
            "--ready-after-ms" => a.ready_after_ms = num(&flag, &value(&mut it)?)?,
            "--print-ready-line" => a.print_ready_line = Some(value(&mut it)?),
            "--echo-env" => {
                a.echo_env = value(&mut it)?.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect();
            }
            "--crash-after-ms" => a.crash_after_ms = Some(num(&flag, &value(&mut it)?)?),
            "--exit-code" => a.exit_code = num(&flag, &value(&mut it)?)?,
            "--abort" => a.abort = true,
            "--hang-after-ms" => a.hang_after_ms = Some(num(&flag, &value(&mut it)?)?),
            "--unready-after-ms" => a.unready_after_ms = Some(num(&flag, &value(&mut it)?)?),
            "--ignore-sigterm" => a.ignore_sigterm = true,
            "--stop-delay-ms" => a.stop_delay_ms = num(&flag, &value(&mut it)?)?,
            "--fork-grandchild" => a.fork_grandchild = true,
            "--grandchild-ignore-sigterm" => a.grandchild_ignore_sigterm = true,
            "--grandchild" => a.grandchild = true,
            "--ignore-stdin-eof" => a.ignore_stdin_eof = true,
            "--stdout-lines" => a.stdout_lines = num(&flag, &value(&mut it)?)?,
            "--stderr-lines" => a.stderr_lines = num(&flag, &value(&mut it)?)?,
            "--print-secret" => a.print_secret = true,
            "--foreign-instance-id" => a.foreign_instance_id = Some(value(&mut it)?),
            "--identity" => {
                let v = value(&mut it)?;
                a.identity = match v.as_str() {
                    "proven" => IdentityMode::Proven,
                    "echoed" => IdentityMode::Echoed,
                    "none" => IdentityMode::None,
                    _ => return Err(bad(&flag, &v)),
                };
            }
            "--stdin-to" => a.stdin_to = Some(PathBuf::from(value(&mut it)?)),
            "--help" | "-h" => a.help = true,
            _ => return Err(format!("test-sidecar: unknown flag {raw}")),
        }
    }

    if a.help {
        return Ok(a);
    }
    let env_port = std::env::var("SIDECAR_PORT").ok();
    a.port = match port {
        Some(p) => p,
        None if env_port.is_some() => PortMode::Env,
        None => PortMode::None,
    };
    if a.port == PortMode::Env {
        let Some(p) = env_port else {
            return Err("test-sidecar: --port env but SIDECAR_PORT is unset".to_string());
        };
        a.env_port = p.trim().parse().map_err(|_| format!("test-sidecar: invalid SIDECAR_PORT: {p}"))?;
    }
    Ok(a)
}

fn bad(flag: &str, v: &str) -> String {
    format!("test-sidecar: invalid value for {flag}: {v}")
}

fn num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.parse().map_err(|_| bad(flag, v))
}
