//! The platform boundary: every effect that depends on the operating system, behind one small
//! interface. The rest of the runtime (`domain`, the engine, probes, feed, logs) is written
//! against the items re-exported here and names no OS; adding an OS is adding a module that
//! provides them.
//!
//! What an OS module must provide, and what each item must guarantee:
//!
//! **Processes**
//! - [`spawn`] a [`SpawnRequest`] (program, arguments, extra environment, working directory,
//!   optional `user`) into a *killable group* of its own (a process group on Unix, a job object
//!   on Windows) that the child cannot escape before its first instruction runs, with the
//!   *death watch armed*: the child, and everything it starts, dies when the runtime dies,
//!   however it dies. stdin is a [`Lifeline`] the runtime never writes (its EOF tells the child
//!   the runtime is gone) but for a prepare step given input ([`Lifeline::feed`]); stdout and
//!   stderr are pipes read asynchronously. Must be called
//!   inside the engine's tokio runtime, on the engine's thread.
//! - [`Child::wait`]: the child's end as an [`Exit`](crate::domain::Exit) (its code, and the
//!   name of the signal that ended it where the OS has signals), awaited without polling.
//! - [`stop_group`] with a [`Stop`](crate::domain::Stop): the graceful stop of the whole group
//!   (a named signal on Unix, Ctrl-Break on Windows), or a force kill of every process in it; [`kill_group`] is the
//!   latter. [`kill_process`] kills one process.
//!
//! **Identity of processes** (to clean up after a dead runtime without ever killing a recycled
//! pid): [`start_time`] of a pid, comparable across runs of the runtime; and
//! [`processes_with_env`], the live processes whose environment holds an entry (a dead
//! runtime's grandchildren that left their group carry its `SIDECAR_INSTANCE_ID`); [`look`]:
//! what a pid is — its program's name, and where the OS shows them its working directory and
//! owner ([`Look`]; a stale `postmaster.pid` is judged by it).
//!
//! **Resources**: [`group_usage`] of the groups led by some pids: CPU time so far, resident
//! memory and live processes summed over each whole group (job), read in one pass.
//!
//! **Death watch**: [`DeathWatch`], started once per engine, told each group to kill if the
//! runtime dies (`watch`) and each group that ended (`forget`). Unix: a forked guardian
//! process that kills the registered groups when the runtime's end of a pipe closes (on Linux
//! next to each child's parent-death signal). Windows: the kill-on-close job objects whose
//! handles the runtime holds (the OS closes them when it dies).
//!
//! **Instance lock**: [`InstanceLock::try_acquire`], an exclusive lock on a file, refused while
//! another process holds it and released by the OS when the holder dies.
//!
//! **Files**: [`private_dir_all`], [`create_private`] and [`open_append_private`] make
//! directories and files only the runtime's user can read; [`create_dir_traversable`] makes the
//! data dir passable (not listable) for sidecars that run as another user; [`is_executable`];
//! [`owner_of`] a file (the uid; `None` where the OS has none).
//!
//! **Users** (Unix, when the runtime runs as root): `is_root`, [`lookup_user`], [`give_to`]
//! (a sidecar's directory to its user), and the reach check ([`Reach`], [`Target`]) that names
//! the directory a user cannot pass. An OS without users refuses the profile's `user` field.
//!
//! **Limits**: [`raise_fd_limit`] (children get the original limit back).
//!
//! **Suspension**: [`suspend_group`] and [`resume_group`] (a pause: SIGSTOP/SIGCONT to the
//! group on Unix, every thread of the job's processes on Windows); `false` when the OS refused.
//!
//! **The control endpoint** ([`control_endpoint`]): a listener and a client connection only the
//! runtime's user can use (a 0600 socket with a peer-uid check; a named pipe granting only our
//! user).
//!
//! **How programs are named** (`programs.rs`): [`is_path`], [`executable_names`] (`PATHEXT`),
//! [`host_triple`], [`TEMP_DIR_VARS`].
//!
//! **The host's facts** for the plan and the settings: `OS` (whose `os` blocks apply),
//! `STOP_MECHANISM` (signals, or console events), `system_wide_data_dir`, gathered by [`host`].
//!
//! Modules: `unix` (what Linux and macOS share: signals, file modes, users, the guardian, a
//! started process's handles and reaping, the control socket), `linux`, `macos`, `windows`. A
//! build for any other OS stops here with a message instead of failing deep inside the engine.

use std::path::Path;

pub mod control_endpoint;
#[cfg(target_os = "linux")]
mod linux;
mod lock;
#[cfg(target_os = "macos")]
mod macos;
mod programs;
#[cfg(unix)]
mod unix;
#[cfg(windows)]
mod windows;

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
compile_error!(
    "sidecar-supervisor-core runs on Linux, macOS and Windows: an OS module providing the interface documented in platform/mod.rs is needed for this target"
);

pub use lock::InstanceLock;
pub use programs::{executable_names, host_triple, is_path, TEMP_DIR_VARS};

/// Whether the runtime runs as root (Linux decides the default data dir by it; tests ask).
#[cfg(all(unix, any(target_os = "linux", test, feature = "testing")))]
pub use unix::is_root;
#[cfg(all(windows, any(test, feature = "testing")))]
pub use windows::is_root;

/// Waits until a process has ended, without polling (tests).
#[cfg(all(any(test, feature = "testing"), target_os = "linux"))]
pub use linux::wait_gone;
#[cfg(all(any(test, feature = "testing"), target_os = "macos"))]
pub use macos::wait_gone;
#[cfg(all(any(test, feature = "testing"), windows))]
pub use windows::wait_gone;

#[cfg(target_os = "linux")]
pub use linux::{group_usage, look, processes_with_env, spawn, start_time, system_wide_data_dir, Child, OS};
#[cfg(target_os = "macos")]
pub use macos::{group_usage, look, processes_with_env, spawn, start_time, system_wide_data_dir, Child, OS};
#[cfg(unix)]
pub(crate) use unix::open_lock_file;
#[cfg(all(unix, target_os = "linux"))]
pub(crate) use unix::original_nofile;
#[cfg(unix)]
pub use unix::{
    create_dir_traversable, create_private, give_to, is_executable, kill_group, kill_process, lookup_user,
    open_append_private, owner_of, private_dir_all, raise_fd_limit, replace_file, resume_group, stop_group,
    suspend_group, DeathWatch, Lifeline, Reach, Target, STOP_MECHANISM,
};
#[cfg(windows)]
pub(crate) use windows::open_lock_file;
#[cfg(windows)]
pub use windows::{
    create_dir_traversable, create_private, give_to, group_usage, is_executable, kill_group, kill_process, look,
    lookup_user, open_append_private, owner_of, private_dir_all, processes_with_env, raise_fd_limit, replace_file,
    resume_group, spawn, start_time, stop_group, suspend_group, system_wide_data_dir, Child, DeathWatch, Lifeline,
    Reach, Target, OS, STOP_MECHANISM,
};

/// What a pid is, as far as this OS lets the runtime's user see ([`look`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Look {
    /// No live process has it.
    Gone,
    /// Its program's file name (`postgres`, `postgres.exe`; empty when hidden), its working
    /// directory and owner where the OS shows them.
    Seen { name: String, cwd: Option<std::path::PathBuf>, uid: Option<u32> },
}

/// What the host adds to the settings: which OS's `os` blocks apply, and whether a data dir
/// nobody configured is system-wide.
pub fn host() -> crate::profile::Host {
    crate::profile::Host { os: Some(OS), system_wide_data_dir: system_wide_data_dir() }
}

/// The OS's own name, for reports (`linux`, `macos`, `windows`).
pub const OS_NAME: &str = std::env::consts::OS;

/// What a process group (job) uses now: CPU time so far, resident memory, live processes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupUsage {
    pub cpu: std::time::Duration,
    pub rss_bytes: u64,
    pub processes: u32,
}

/// A started process: the leader of its own group (process group; job on Windows).
pub struct Spawned {
    pub pid: u32,
    pub child: Child,
    /// The child's stdin: dropping it is the lifeline's EOF.
    pub lifeline: Lifeline,
    pub stdout: Output,
    pub stderr: Output,
}

/// What to start.
pub struct SpawnRequest<'a> {
    pub program: &'a Path,
    pub args: &'a [String],
    /// Set on top of the runtime's own environment.
    pub env: &'a [(String, String)],
    pub cwd: &'a Path,
    /// (uid, gid) to switch to (a Unix runtime running as root).
    pub user: Option<(u32, u32)>,
}

/// A child's stdout or stderr, read asynchronously.
pub type Output = Box<dyn tokio::io::AsyncRead + Unpin + Send>;

/// A child's stdin, written asynchronously (`Lifeline::into_writer`).
pub type Input = Box<dyn tokio::io::AsyncWrite + Unpin + Send>;
