//! The guardian: a tiny forked process that kills every sidecar process group when the
//! runtime dies, even by `kill -9` (the Unix death watch; on Linux each child also has its
//! parent-death signal).
//!
//! Why: `PR_SET_PDEATHSIG` kills only the direct child; a grandchild (the real program behind a
//! PyInstaller onefile bootloader, say) would survive the runtime's death. The
//! runtime tells the guardian each group it creates (`+pgid\n`) and each it has cleaned up
//! (`-pgid\n`) over a pipe whose write end only the runtime holds (close-on-exec). When that
//! pipe reaches EOF — the runtime ended, however it ended — the guardian SIGKILLs every group
//! still registered and exits. After `fork` it only makes async-signal-safe system calls (no
//! allocation, no locks), so forking from a multi-threaded host such as a Tauri app is sound.

use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};

/// Handle kept by the runtime; dropping it (or dying) makes the guardian clean up and exit.
pub struct DeathWatch {
    pipe: Option<std::fs::File>,
    pid: libc::pid_t,
}

const MAX_GROUPS: usize = 8192;

impl DeathWatch {
    /// Forks the guardian; a failure is reported, not fatal.
    pub fn start() -> std::io::Result<DeathWatch> {
        let (rfd, wfd) = cloexec_pipe()?;
        // SAFETY: the child branch below only calls async-signal-safe functions and `_exit`s.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            let e = std::io::Error::last_os_error();
            unsafe {
                libc::close(rfd);
                libc::close(wfd);
            }
            return Err(e);
        }
        if pid == 0 {
            unsafe { guardian_main(rfd, wfd) }
        }
        // SAFETY: we own rfd/wfd; the read end belongs to the guardian now.
        unsafe { libc::close(rfd) };
        let pipe = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(wfd) });
        Ok(DeathWatch { pipe: Some(pipe), pid })
    }

    /// Registers a process group to kill if the runtime dies.
    pub fn watch(&mut self, pgid: u32) {
        self.send(b'+', pgid);
    }

    /// The group is gone (its leader exited and the group was killed).
    pub fn forget(&mut self, pgid: u32) {
        self.send(b'-', pgid);
    }

    fn send(&mut self, op: u8, pgid: u32) {
        if let Some(p) = self.pipe.as_mut() {
            let line = format!("{}{}\n", op as char, pgid);
            if let Err(e) = p.write_all(line.as_bytes()) {
                tracing::warn!("guardian pipe write failed ({e}); orphan protection for grandchildren is off");
                self.pipe = None;
            }
        }
    }
}

impl Drop for DeathWatch {
    fn drop(&mut self) {
        self.pipe = None; // EOF: the guardian kills what is left and exits
                          // SAFETY: reaping our own child.
        unsafe {
            let mut status = 0;
            libc::waitpid(self.pid, &mut status, 0);
        }
    }
}

/// A pipe whose ends close on exec (so no sidecar inherits the runtime's end).
fn cloexec_pipe() -> std::io::Result<(libc::c_int, libc::c_int)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: plain system calls on a valid array and the descriptors they return.
    unsafe {
        #[cfg(target_os = "linux")]
        let made = libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) == 0;
        #[cfg(not(target_os = "linux"))]
        let made = libc::pipe(fds.as_mut_ptr()) == 0
            && fds.iter().all(|&fd| libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) == 0);
        if !made {
            let e = std::io::Error::last_os_error();
            for fd in fds.into_iter().filter(|&fd| fd > 0) {
                libc::close(fd);
            }
            return Err(e);
        }
    }
    Ok((fds[0], fds[1]))
}

/// Closes descriptors 3..`max` except `keep` (async-signal-safe).
unsafe fn close_up_to(keep: libc::c_int, max: libc::c_int) {
    for fd in 3..max {
        if fd != keep {
            libc::close(fd);
        }
    }
}

/// The guardian's whole life, in async-signal-safe calls only.
unsafe fn guardian_main(rfd: libc::c_int, wfd: libc::c_int) -> ! {
    libc::close(wfd);
    // Own session: a terminal's Ctrl-C aimed at the runtime's group must not reach us.
    libc::setsid();
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT, libc::SIGPIPE] {
        libc::signal(sig, libc::SIG_IGN);
    }
    // Close everything else we inherited (notably the instance lock, which must die with
    // the runtime, and listening sockets of an embedding app).
    // close_range(2) (Linux 5.9+): everything but the pipe; elsewhere, or if it fails, a loop.
    #[cfg(target_os = "linux")]
    let closed = (rfd <= 3 || libc::syscall(libc::SYS_close_range, 3u32, (rfd - 1) as u32, 0u32) == 0)
        && libc::syscall(libc::SYS_close_range, (rfd + 1) as u32, u32::MAX, 0u32) == 0;
    #[cfg(not(target_os = "linux"))]
    let closed = false;
    if !closed {
        close_up_to(rfd, 65536);
    }
    let mut groups = [0 as libc::pid_t; MAX_GROUPS];
    let mut buf = [0u8; 4096];
    let (mut op, mut num, mut in_num) = (0u8, 0 as libc::pid_t, false);
    loop {
        let n = libc::read(rfd, buf.as_mut_ptr() as *mut libc::c_void, buf.len());
        if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        if n <= 0 {
            break;
        }
        for &b in &buf[..n as usize] {
            match b {
                b'+' | b'-' => {
                    op = b;
                    num = 0;
                    in_num = true;
                }
                b'0'..=b'9' if in_num => num = num.saturating_mul(10).saturating_add((b - b'0') as libc::pid_t),
                b'\n' if in_num => {
                    in_num = false;
                    if num > 1 {
                        if op == b'+' {
                            if let Some(slot) = groups.iter_mut().find(|g| **g == 0) {
                                *slot = num;
                            }
                        } else if let Some(slot) = groups.iter_mut().find(|g| **g == num) {
                            *slot = 0;
                        }
                    }
                }
                _ => in_num = false,
            }
        }
    }
    for &g in groups.iter() {
        if g > 1 {
            libc::kill(-g, libc::SIGKILL);
        }
    }
    libc::_exit(0)
}
