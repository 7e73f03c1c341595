//! What a started process is on every Unix, whichever way it was started (Linux's vfork-style
//! clone, macOS's `std` spawn): the stdin [`Lifeline`], the runtime's
//! non-blocking ends of the output pipes, and reaping (`waitpid`), now or when the handle of a
//! process that still runs is dropped. How its exit is awaited (a pidfd, kqueue) is each OS's.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use tokio::net::unix::pipe;

use crate::domain::Exit;

/// The write end of a child's stdin, never written to (but by [`Lifeline::feed`]).
pub struct Lifeline(pub(in crate::platform) OwnedFd);

impl Lifeline {
    /// Writes `input` to the child's stdin and closes it: for a prepare step given `stdin`
    /// (its lifeline then is its job, group and guardian only).
    pub async fn feed(self, input: Vec<u8>) -> io::Result<()> {
        super::feed(self.0, input).await
    }

    /// The stdin pipe as an async writer (a `"stdio": "jsonrpc"` channel): the lifeline is then
    /// held by whoever holds the writer, and dropping it is the EOF.
    pub fn into_writer(self) -> io::Result<crate::platform::Input> {
        Ok(Box::new(pipe::Sender::from_owned_fd(self.0)?))
    }
}

/// The runtime's end of an output pipe, non-blocking, registered with tokio.
pub(in crate::platform) fn receiver(fd: OwnedFd) -> io::Result<pipe::Receiver> {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    pipe::Receiver::from_owned_fd_unchecked(fd)
}

/// `waitpid` on our child: its exit, or `None` while it runs (`WNOHANG`).
pub(in crate::platform) fn reap(pid: libc::pid_t, flags: libc::c_int) -> io::Result<Option<Exit>> {
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, flags) };
        if r == 0 {
            return Ok(None);
        }
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(Some(super::exit_of_wait_status(status)));
    }
}

/// The handle of `pid` goes away before its end was awaited (the engine is going away): reap it
/// when it ends, so that it does not stay a zombie of an app that keeps running.
pub(in crate::platform) fn reap_when_it_ends(pid: libc::pid_t) {
    if !matches!(reap(pid, libc::WNOHANG), Ok(Some(_))) {
        let _ = std::thread::Builder::new().name("reap-child".into()).spawn(move || reap(pid, 0));
    }
}
