//! Spawning a sidecar so that it can never outlive the runtime unnoticed:
//! - its own process group (`setpgid`), so stop signals reach grandchildren too;
//! - `PR_SET_PDEATHSIG(SIGKILL)` on Linux, set from the engine's dedicated thread, which lives
//!   as long as the engine (field notes trap 12: the signal fires when the parent *thread*
//!   exits, so never spawn from a pool thread);
//! - stdin is a lifeline pipe the runtime never writes to: EOF means the runtime is gone;
//! - when the runtime runs as root and the profile names a `user`, privileges are dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

pub struct SpawnRequest<'a> {
    pub program: &'a Path,
    pub args: &'a [String],
    pub env: &'a [(String, String)],
    pub cwd: &'a Path,
    /// (uid, gid) to switch to.
    pub user: Option<(u32, u32)>,
}

pub struct Spawned {
    pub child: Child,
    pub pid: u32,
    pub stdin: ChildStdin,
    pub stdout: ChildStdout,
    pub stderr: ChildStderr,
}

pub fn spawn(req: &SpawnRequest<'_>) -> std::io::Result<Spawned> {
    let mut cmd = Command::new(req.program);
    cmd.args(req.args)
        .envs(req.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(req.cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(false);
    let parent = std::process::id() as libc::pid_t;
    let user = req.user;
    // SAFETY: the closure runs between fork and exec and only makes async-signal-safe calls.
    unsafe {
        cmd.pre_exec(move || {
            // Drop privileges first: changing credentials clears the parent-death signal.
            if let Some((uid, gid)) = user {
                let groups = [gid as libc::gid_t];
                if libc::setgroups(1, groups.as_ptr()) != 0
                    || libc::setgid(gid as libc::gid_t) != 0
                    || libc::setuid(uid as libc::uid_t) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
            }
            #[cfg(target_os = "linux")]
            {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The runtime may have died between fork and prctl.
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
            }
            #[cfg(not(target_os = "linux"))]
            let _ = parent;
            restore_fd_limit();
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let pid = child.id().unwrap_or(0);
    let stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    Ok(Spawned { child, pid, stdin, stdout, stderr })
}

/// The soft open-files limit the runtime started with (it raises its own, see
/// `raise_fd_limit`); children get the original back, as programs that close every possible
/// descriptor up to the limit slow down with a huge one.
pub(crate) static ORIGINAL_NOFILE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(u64::MAX);

/// Async-signal-safe: one atomic load and one system call.
fn restore_fd_limit() {
    let cur = ORIGINAL_NOFILE.load(std::sync::atomic::Ordering::Relaxed);
    if cur != u64::MAX {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: get/setrlimit with a valid struct.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
                lim.rlim_cur = cur as libc::rlim_t;
                libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            }
        }
    }
}

/// Sends `signal` to the whole process group `pgid`. `false` if the group is gone.
pub fn signal_group(pgid: u32, signal: i32) -> bool {
    if pgid <= 1 {
        return false;
    }
    // SAFETY: plain kill(2) on a negative pid (a process group we created).
    unsafe { libc::kill(-(pgid as libc::pid_t), signal) == 0 }
}

/// Finds the executable for a sidecar: `<NAME>_BIN` override, a path, a bundled sidecar
/// (`<dir>/<command>-<target-triple>` or `<dir>/<command>`), then `PATH`.
pub fn resolve_program(
    sidecar: &str,
    command: &str,
    override_bin: Option<&Path>,
    profile_dir: &Path,
    bundled_dirs: &[PathBuf],
    target_triple: &str,
) -> Result<PathBuf, String> {
    let var = crate::profile::settings::bin_var(sidecar);
    if let Some(p) = override_bin {
        return if is_executable(p) {
            Ok(p.to_path_buf())
        } else {
            Err(format!("the override for `{sidecar}` ({var} or the command's _BIN variable) points to {}, which is not an executable file", p.display()))
        };
    }
    if command.contains('/') {
        let p = profile_dir.join(command);
        return if is_executable(&p) {
            Ok(p)
        } else {
            Err(format!("command {} of sidecar `{sidecar}` is not an executable file", p.display()))
        };
    }
    for dir in bundled_dirs {
        for name in [format!("{command}-{target_triple}"), command.to_string()] {
            let p = dir.join(&name);
            if is_executable(&p) {
                return Ok(p);
            }
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(command);
            if is_executable(&p) {
                return Ok(p);
            }
        }
    }
    let looked: Vec<String> = bundled_dirs.iter().map(|d| d.display().to_string()).collect();
    let cmd_var = crate::profile::settings::bin_var(command);
    Err(format!(
        "command `{command}` of sidecar `{sidecar}` not found: not a bundled sidecar ({}) and not on PATH; install it, or set {var}{} to its path",
        if looked.is_empty() { "no bundle dir".to_string() } else { format!("looked in {}", looked.join(", ")) },
        if cmd_var != var { format!(" or {cmd_var}") } else { String::new() }
    ))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

/// The host's target triple, as Tauri names bundled sidecars (`backend-x86_64-unknown-linux-gnu`).
pub fn host_triple() -> String {
    let arch = std::env::consts::ARCH;
    match std::env::consts::OS {
        "linux" => format!("{arch}-unknown-linux-gnu"),
        "macos" => format!("{arch}-apple-darwin"),
        "windows" => format!("{arch}-pc-windows-msvc"),
        os => format!("{arch}-unknown-{os}"),
    }
}

/// (uid, gid) of `user` if the runtime is root; `None` when not root (the field is ignored).
pub fn lookup_user(user: &str) -> Result<Option<(u32, u32)>, String> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    match nix::unistd::User::from_name(user) {
        Ok(Some(u)) => Ok(Some((u.uid.as_raw(), u.gid.as_raw()))),
        Ok(None) => Err(format!(
            "user `{user}` does not exist; the runtime runs as root and drops to this user for the sidecar: create it (e.g. `useradd --system {user}`) or remove \"user\""
        )),
        Err(e) => Err(format!("cannot look up user `{user}`: {e}")),
    }
}
