//! Starting a process on Linux so that it can never outlive the runtime unnoticed, and fast.
//!
//! The child gets, before its program's first instruction:
//! - its own process group (`setpgid`), so a stop reaches its whole tree;
//! - `PR_SET_PDEATHSIG(SIGKILL)`: it dies with the thread that started it. The engine starts
//!   processes from its own thread, which lives exactly as long as the engine (the signal
//!   follows the parent *thread*, so never start a sidecar from a pool thread that may exit).
//!   If the runtime died between the clone and the `prctl`, the child exits at once;
//! - the `user`'s credentials when the runtime runs as root (dropped first: a credential change
//!   clears the death signal);
//! - the open-files limit the runtime started with (it raises its own);
//! - default signal handling and an empty signal mask;
//! - stdin: a lifeline pipe the runtime never writes to (EOF means the runtime is gone);
//!   stdout and stderr: pipes the runtime reads line by line.
//!
//! Why not `std::process::Command`: anything it must do between fork and exec (the death
//! signal, the privilege drop) needs a `pre_exec` closure, and with one std falls back from
//! `posix_spawn` to a full `fork` of the runtime, copying the page tables of a multi-threaded
//! process and waiting for the child's exec before it returns. Here the child is made with
//! `clone(CLONE_VM | CLONE_VFORK)`, as glibc's `posix_spawn` does: it borrows the parent's
//! memory, runs a few system calls on its own small stack, and execs; the calling thread is
//! suspended until then. Everything the child needs is prepared before the clone, and the
//! child only makes raw system calls (no allocation, no locks, no glibc `set*id` broadcast).
//!
//! Its exit is awaited on a pidfd registered with tokio: no signal handler, no polling.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use tokio::io::unix::AsyncFd;

use crate::domain::Exit;
use crate::platform::unix::process::{reap, reap_when_it_ends, receiver, Lifeline};
use crate::platform::{SpawnRequest, Spawned};

/// Starts the process (inside a tokio runtime: its pipes and exit are registered with it).
pub fn spawn(req: &SpawnRequest<'_>) -> io::Result<Spawned> {
    let program = resolve(req.program)?;
    let path = cstring(program.as_os_str())?;
    let mut argv_owned = vec![cstring(req.program.as_os_str())?];
    for a in req.args {
        argv_owned.push(cstring(OsStr::new(a))?);
    }
    let envp_owned = environment(req.env)?;
    let cwd = cstring(req.cwd.as_os_str())?;
    let argv = pointers(&argv_owned);
    let envp = pointers(&envp_owned);

    let (stdin_r, stdin_w) = pipe_pair()?;
    let (stdout_r, stdout_w) = pipe_pair()?;
    let (stderr_r, stderr_w) = pipe_pair()?;

    let mut args = ChildArgs {
        path: path.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        cwd: cwd.as_ptr(),
        fds: [stdin_r.as_raw_fd(), stdout_w.as_raw_fd(), stderr_w.as_raw_fd()],
        user: req.user,
        parent: std::process::id() as libc::pid_t,
        nofile: crate::platform::original_nofile(),
        failed_at: 0,
        errno: 0,
    };
    // The child's stack: it runs a handful of system calls. Freed once the clone returned, which
    // is after the child's exec or exit (CLONE_VFORK).
    let mut stack = vec![0u8; 64 * 1024];
    let top = (stack.as_mut_ptr() as usize + stack.len()) & !15;

    // No signal handler of ours may run in the child while it shares our memory: block every
    // signal around the clone; the child resets handlers and unblocks before it execs.
    let pid = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let pid = libc::clone(
            child_main,
            top as *mut libc::c_void,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            &mut args as *mut ChildArgs as *mut libc::c_void,
        );
        let clone_error = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        if pid < 0 {
            return Err(clone_error);
        }
        pid
    };
    drop(stack);
    drop((stdin_r, stdout_w, stderr_w));
    // The child wrote these before it exec'd or exited (we were suspended until then).
    let (failed_at, errno) =
        unsafe { (std::ptr::read_volatile(&args.failed_at), std::ptr::read_volatile(&args.errno)) };
    if failed_at != 0 {
        let mut status = 0;
        unsafe { libc::waitpid(pid, &mut status, 0) };
        let e = io::Error::from_raw_os_error(errno);
        return Err(match failed_at {
            STEP_EXEC => e,
            step => io::Error::new(e.kind(), format!("{} in the new process: {e}", step_name(step))),
        });
    }
    Ok(Spawned {
        pid: pid as u32,
        child: Child::new(pid)?,
        lifeline: Lifeline(stdin_w),
        stdout: Box::new(receiver(stdout_r)?),
        stderr: Box::new(receiver(stderr_r)?),
    })
}

/// A started process's end, awaited on its pidfd.
pub struct Child {
    pid: libc::pid_t,
    pidfd: Option<AsyncFd<OwnedFd>>,
    exit: Option<Exit>,
}

impl Child {
    fn new(pid: libc::pid_t) -> io::Result<Child> {
        // SAFETY: plain system call; the pid is our unreaped child, so it cannot be recycled.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as RawFd;
        let pidfd = if fd >= 0 {
            // SAFETY: a fresh descriptor we own; an OwnedFd keeps it open and unchanged for as
            // long as the AsyncFd holds it.
            let owned = unsafe { OwnedFd::from_raw_fd(fd) };
            Some(
                unsafe { AsyncFd::register_with_interest(owned, tokio::io::Interest::READABLE) }
                    .map_err(io::Error::from)?,
            )
        } else {
            None // a kernel before 5.3: wait on a helper thread instead
        };
        Ok(Child { pid, pidfd, exit: None })
    }

    /// Waits for the process to end and reaps it.
    pub async fn wait(&mut self) -> io::Result<Exit> {
        if let Some(e) = &self.exit {
            return Ok(e.clone());
        }
        let exit = match &self.pidfd {
            Some(fd) => loop {
                let mut ready = fd.readable().await?;
                match reap(self.pid, libc::WNOHANG)? {
                    Some(exit) => break exit,
                    None => ready.clear_ready(),
                }
            },
            None => {
                let pid = self.pid;
                tokio::task::spawn_blocking(move || reap(pid, 0)).await.map_err(io::Error::other)??.unwrap_or_default()
            }
        };
        self.exit = Some(exit.clone());
        Ok(exit)
    }
}

impl Drop for Child {
    /// Dropped before its end was awaited (the engine is going away): reap it when it ends,
    /// so it does not stay a zombie of an app that keeps running.
    fn drop(&mut self) {
        if self.exit.is_none() {
            reap_when_it_ends(self.pid);
        }
    }
}

/// Steps of the child, for the error when one fails.
const STEP_SETPGID: i32 = 1;
const STEP_CREDENTIALS: i32 = 2;
const STEP_DEATH_SIGNAL: i32 = 3;
const STEP_STDIO: i32 = 4;
const STEP_CWD: i32 = 5;
const STEP_EXEC: i32 = 6;

fn step_name(step: i32) -> &'static str {
    match step {
        STEP_SETPGID => "setpgid",
        STEP_CREDENTIALS => "dropping privileges",
        STEP_DEATH_SIGNAL => "arming the parent-death signal",
        STEP_STDIO => "connecting stdin/stdout/stderr",
        STEP_CWD => "changing to the working directory",
        _ => "exec",
    }
}

/// Everything the child reads, prepared by the parent; the child writes only the last two.
#[repr(C)]
struct ChildArgs {
    path: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    cwd: *const libc::c_char,
    /// Become 0, 1, 2.
    fds: [RawFd; 3],
    user: Option<(u32, u32)>,
    parent: libc::pid_t,
    nofile: Option<u64>,
    failed_at: i32,
    errno: i32,
}

/// The child, between clone and exec: raw system calls only (it shares the parent's memory).
extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the parent's `ChildArgs`, alive until this process execs or exits.
    let a = unsafe { &mut *(arg as *mut ChildArgs) };
    unsafe {
        // Default handling for every signal the runtime catches (its handlers must not run
        // here), SIGPIPE included (Rust ignores it); then nothing blocked.
        for sig in 1..libc::SIGRTMAX() {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                && (old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN || sig == libc::SIGPIPE)
            {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(sig, &dfl, std::ptr::null_mut());
            }
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_SETMASK, &none, std::ptr::null_mut::<libc::sigset_t>(), 8);

        if libc::setpgid(0, 0) != 0 {
            fail(a, STEP_SETPGID);
        }
        if let Some((uid, gid)) = a.user {
            let groups = [gid as libc::gid_t];
            if libc::syscall(libc::SYS_setgroups, 1, groups.as_ptr()) != 0
                || libc::syscall(libc::SYS_setgid, gid) != 0
                || libc::syscall(libc::SYS_setuid, uid) != 0
            {
                fail(a, STEP_CREDENTIALS);
            }
        }
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
            fail(a, STEP_DEATH_SIGNAL);
        }
        // The runtime may have died before the death signal was armed.
        if libc::getppid() != a.parent {
            libc::_exit(1);
        }
        if let Some(cur) = a.nofile {
            let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
                lim.rlim_cur = cur as libc::rlim_t;
                libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            }
        }
        for (target, &fd) in a.fds.iter().enumerate() {
            // dup2 clears close-on-exec on the copy; the originals close at exec.
            if libc::dup2(fd, target as RawFd) < 0 {
                fail(a, STEP_STDIO);
            }
        }
        if libc::chdir(a.cwd) != 0 {
            fail(a, STEP_CWD);
        }
        libc::execve(a.path, a.argv, a.envp);
        fail(a, STEP_EXEC)
    }
}

/// Tells the parent which step failed and why, and ends the child.
unsafe fn fail(a: &mut ChildArgs, step: i32) -> ! {
    std::ptr::write_volatile(&mut a.errno, *libc::__errno_location());
    std::ptr::write_volatile(&mut a.failed_at, step);
    libc::_exit(127)
}

/// A program named without a `/` is looked up on `PATH`, like `execvp` would.
fn resolve(program: &Path) -> io::Result<PathBuf> {
    if program.as_os_str().as_bytes().contains(&b'/') {
        return Ok(program.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| crate::platform::is_executable(p))
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{} is not on PATH", program.display())))
}

fn cstring(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("{:?} contains a NUL byte", s.to_string_lossy()))
    })
}

/// The runtime's environment with `extra` set on top (later entries win).
fn environment(extra: &[(String, String)]) -> io::Result<Vec<CString>> {
    let mut vars: Vec<(OsString, OsString)> =
        std::env::vars_os().filter(|(k, _)| !extra.iter().any(|(e, _)| OsStr::new(e) == k.as_os_str())).collect();
    vars.extend(extra.iter().map(|(k, v)| (OsString::from(k), OsString::from(v))));
    vars.into_iter()
        .map(|(k, v)| {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend(v.into_vec());
            CString::new(kv)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "an environment variable contains a NUL byte"))
        })
        .collect()
}

/// A NULL-terminated array of pointers into `owned`.
fn pointers(owned: &[CString]) -> Vec<*const libc::c_char> {
    owned.iter().map(|c| c.as_ptr()).chain(std::iter::once(std::ptr::null())).collect()
}

/// A close-on-exec pipe (read end, write end), both at descriptor 3 or above so they never
/// collide with the 0, 1, 2 they are copied to.
fn pipe_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: plain system calls on descriptors we own.
    unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut owned = [OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])];
        for fd in owned.iter_mut() {
            if fd.as_raw_fd() < 3 {
                let high = libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3);
                if high < 0 {
                    return Err(io::Error::last_os_error());
                }
                *fd = OwnedFd::from_raw_fd(high);
            }
        }
        let [r, w] = owned;
        Ok((r, w))
    }
}
