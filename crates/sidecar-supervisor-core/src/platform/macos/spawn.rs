//! Starting a process on macOS: its own process group (a stop reaches its whole tree), the
//! `user`'s credentials when the runtime runs as root, stdin as a lifeline the runtime never
//! writes, stdout and stderr as pipes. `std` uses `posix_spawn` for this unless credentials
//! must change.
//!
//! The exit is awaited through kqueue (`EVFILT_PROC` / `NOTE_EXIT`, registered on a kqueue
//! descriptor that tokio watches): no signal handler, no polling. The child is reaped here.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use tokio::io::unix::AsyncFd;

use crate::domain::Exit;
use crate::platform::unix::process::{reap, reap_when_it_ends, receiver, Lifeline};
use crate::platform::{SpawnRequest, Spawned};

/// Starts the process (inside a tokio runtime: its pipes and exit are registered with it).
pub fn spawn(req: &SpawnRequest<'_>) -> io::Result<Spawned> {
    let mut cmd = Command::new(req.program);
    cmd.args(req.args)
        .envs(req.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(req.cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some((uid, gid)) = req.user {
        cmd.uid(uid).gid(gid); // std drops the supplementary groups when root
    }
    let mut child = cmd.spawn()?;
    let pid = child.id();
    let take = |fd: Option<OwnedFd>| fd.ok_or_else(|| io::Error::other("a piped stdio handle is missing"));
    let stdin = take(child.stdin.take().map(OwnedFd::from))?;
    let stdout = take(child.stdout.take().map(OwnedFd::from))?;
    let stderr = take(child.stderr.take().map(OwnedFd::from))?;
    // The std handle is not needed any more: the exit is awaited and reaped below.
    drop(child);
    Ok(Spawned {
        pid,
        child: Child::new(pid as libc::pid_t)?,
        lifeline: Lifeline(stdin),
        stdout: Box::new(receiver(stdout)?),
        stderr: Box::new(receiver(stderr)?),
    })
}

/// A started process's end, awaited through kqueue.
pub struct Child {
    pid: libc::pid_t,
    kq: AsyncFd<OwnedFd>,
    exit: Option<Exit>,
}

impl Child {
    fn new(pid: libc::pid_t) -> io::Result<Child> {
        // SAFETY: kqueue and kevent with valid arguments; the descriptor is owned at once.
        let kq = unsafe {
            let fd = libc::kqueue();
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let kq = OwnedFd::from_raw_fd(fd);
            let mut ev: libc::kevent = std::mem::zeroed();
            ev.ident = pid as libc::uintptr_t;
            ev.filter = libc::EVFILT_PROC;
            ev.flags = libc::EV_ADD | libc::EV_ONESHOT;
            ev.fflags = libc::NOTE_EXIT;
            // An exit before the registration is not lost: ESRCH, and the child is a zombie.
            if libc::kevent(kq.as_raw_fd(), &ev, 1, std::ptr::null_mut(), 0, std::ptr::null()) < 0 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::ESRCH) {
                    return Err(e);
                }
            }
            kq
        };
        // SAFETY: the OwnedFd keeps the descriptor open and unchanged while the AsyncFd holds it.
        let kq =
            unsafe { AsyncFd::register_with_interest(kq, tokio::io::Interest::READABLE) }.map_err(io::Error::from)?;
        Ok(Child { pid, kq, exit: None })
    }

    /// Waits for the process to end and reaps it.
    pub async fn wait(&mut self) -> io::Result<Exit> {
        if let Some(e) = &self.exit {
            return Ok(e.clone());
        }
        let exit = loop {
            if let Some(exit) = reap(self.pid, libc::WNOHANG)? {
                break exit;
            }
            let mut ready = self.kq.readable().await?;
            ready.clear_ready();
        };
        self.exit = Some(exit.clone());
        Ok(exit)
    }
}

impl Drop for Child {
    /// Dropped before its end was awaited: reap it when it ends (no zombie left behind).
    fn drop(&mut self) {
        if self.exit.is_none() {
            reap_when_it_ends(self.pid);
        }
    }
}
