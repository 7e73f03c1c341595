//! One rule for stop signals, shared by the headless runner, the Tauri plugin and sidecars built
//! on sidecar-kit: the first SIGINT or SIGTERM (Windows: Ctrl-C, Ctrl-Break, or the console
//! closing) asks for a graceful stop (sidecars are stopped in order, work is handed back); a
//! second one, while that stop is under way, means "now" and the process exits at once with
//! status 130. A person pressing Ctrl-C twice is never kept waiting.

use std::io;

/// Exit status after a second stop signal (128 + SIGINT, as shells report an interrupted job).
pub const FORCED_EXIT: i32 = 130;

/// Watches SIGINT and SIGTERM from now on (inside a tokio runtime): on the first, `graceful` is
/// called with the signal's name (`"SIGINT"`); on a second one, `forced` is called (to say so)
/// and the process exits with [`FORCED_EXIT`]. Until this is called, the signals keep their
/// default action.
pub fn on_stop_signals(
    graceful: impl FnOnce(&'static str) + Send + 'static,
    forced: impl FnOnce() + Send + 'static,
) -> io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::spawn(async move {
            let name = tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
            graceful(name);
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            forced();
            std::process::exit(FORCED_EXIT);
        });
    }
    #[cfg(windows)]
    {
        use tokio::signal::windows::{ctrl_break, ctrl_c, ctrl_close};
        let (mut c, mut b, mut close) = (ctrl_c()?, ctrl_break()?, ctrl_close()?);
        tokio::spawn(async move {
            let name = tokio::select! {
                _ = c.recv() => "Ctrl-C",
                _ = b.recv() => "Ctrl-Break",
                _ = close.recv() => "console close",
            };
            graceful(name);
            tokio::select! {
                _ = c.recv() => {}
                _ = b.recv() => {}
                _ = close.recv() => {}
            }
            forced();
            std::process::exit(FORCED_EXIT);
        });
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// The graceful half, in-process (the forced half exits the process: the runner's and the
    /// kit's tests check it from outside).
    #[tokio::test]
    async fn the_first_signal_asks_for_a_graceful_stop_and_names_it() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        on_stop_signals(
            move |name| {
                let _ = tx.send(name);
            },
            || {},
        )
        .unwrap();
        // SAFETY: signalling ourselves; the handler above is installed.
        unsafe { libc::kill(std::process::id() as i32, libc::SIGTERM) };
        assert_eq!(rx.await.unwrap(), "SIGTERM");
    }
}
