//! When a sidecar must stop: SIGTERM or SIGINT from the runtime (a graceful stop), the stdin
//! lifeline reaching EOF (the runtime died, even by SIGKILL: the kernel closes its end of the
//! pipe), or a `Shutdown` call on the control API. All end in one [`Shutdown`] handle that any
//! task can await.

use std::sync::Arc;

use tokio::sync::watch;

/// Why the sidecar is stopping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// SIGTERM or SIGINT: the runtime asks for a graceful stop.
    Signal(&'static str),
    /// stdin closed: the runtime is gone; stop at once.
    LifelineClosed,
    /// `sidecar.v1.Control/Shutdown` was called.
    Requested(String),
}

impl StopReason {
    /// `true` when the runtime is gone: nobody waits for a graceful stop, so skip it.
    pub fn is_urgent(&self) -> bool {
        matches!(self, StopReason::LifelineClosed)
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Signal(s) => write!(f, "received {s}"),
            StopReason::LifelineClosed => write!(f, "stdin lifeline closed: the runtime is gone"),
            StopReason::Requested(r) if r.is_empty() => write!(f, "shutdown requested over gRPC"),
            StopReason::Requested(r) => write!(f, "shutdown requested over gRPC: {r}"),
        }
    }
}

/// A cloneable handle: trigger a stop, or wait for one.
#[derive(Clone)]
pub struct Shutdown {
    tx: Arc<watch::Sender<Option<StopReason>>>,
    rx: watch::Receiver<Option<StopReason>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A handle that nothing triggers yet (see [`Shutdown::install`]).
    pub fn new() -> Shutdown {
        let (tx, rx) = watch::channel(None);
        Shutdown { tx: Arc::new(tx), rx }
    }

    /// A handle triggered by SIGTERM and SIGINT (Windows: Ctrl-C, Ctrl-Break, closing the
    /// console) and, when stdin is a pipe (as the runtime makes it), by EOF on stdin. Must be
    /// called inside a tokio runtime.
    pub fn install() -> std::io::Result<Shutdown> {
        let s = Shutdown::new();
        let on_signal = s.clone();
        // A second one (Ctrl-C again on a sidecar run by hand): stop waiting, exit now.
        stop_signals::on_stop_signals(
            move |name| on_signal.trigger(StopReason::Signal(name)),
            || eprintln!("second stop signal: exiting without waiting"),
        )?;
        if stdin_is_pipe() {
            let on_eof = s.clone();
            // A plain thread: a blocking read of stdin cannot be cancelled, and it must not hold
            // up the tokio runtime's shutdown.
            std::thread::Builder::new().name("lifeline".into()).spawn(move || {
                use std::io::Read;
                let mut buf = [0u8; 256];
                let mut stdin = std::io::stdin().lock();
                loop {
                    match stdin.read(&mut buf) {
                        Ok(0) => break,
                        Ok(_) => continue, // the runtime never writes; ignore stray bytes
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(_) => break,
                    }
                }
                on_eof.trigger(StopReason::LifelineClosed);
            })?;
        }
        Ok(s)
    }

    /// Starts the stop. The first reason wins; later ones are ignored.
    pub fn trigger(&self, reason: StopReason) {
        self.tx.send_if_modified(|cur| {
            if cur.is_none() {
                *cur = Some(reason);
                true
            } else {
                false
            }
        });
    }

    /// The reason, once stopping.
    pub fn reason(&self) -> Option<StopReason> {
        self.rx.borrow().clone()
    }

    /// Resolves when the stop begins.
    pub async fn wait(&self) -> StopReason {
        let mut rx = self.rx.clone();
        loop {
            if let Some(r) = rx.borrow_and_update().clone() {
                return r;
            }
            if rx.changed().await.is_err() {
                // Unreachable while `self` holds the sender; treat as a stop.
                return StopReason::LifelineClosed;
            }
        }
    }
}

/// Only a pipe is a lifeline: a terminal or /dev/null on stdin (a sidecar started by hand) must
/// not stop it.
#[cfg(unix)]
fn stdin_is_pipe() -> bool {
    // SAFETY: fstat on fd 0 into a zeroed struct.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        libc::fstat(0, &mut st) == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFIFO
    }
}

/// Only a pipe is a lifeline (see the Unix twin): the runtime gives an anonymous pipe.
#[cfg(windows)]
fn stdin_is_pipe() -> bool {
    use windows_sys::Win32::Storage::FileSystem::{GetFileType, FILE_TYPE_PIPE};
    use windows_sys::Win32::System::Console::{GetStdHandle, STD_INPUT_HANDLE};
    // SAFETY: plain queries of our own standard input handle.
    unsafe {
        let h = GetStdHandle(STD_INPUT_HANDLE);
        !h.is_null() && GetFileType(h) == FILE_TYPE_PIPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn first_reason_wins_and_every_clone_sees_it() {
        let s = Shutdown::new();
        let waiter = s.clone();
        let h = tokio::spawn(async move { waiter.wait().await });
        s.trigger(StopReason::Requested("test".into()));
        s.trigger(StopReason::LifelineClosed);
        assert_eq!(h.await.unwrap(), StopReason::Requested("test".into()));
        assert_eq!(s.reason(), Some(StopReason::Requested("test".into())));
        assert_eq!(s.wait().await, StopReason::Requested("test".into()), "a late waiter returns at once");
    }
}
