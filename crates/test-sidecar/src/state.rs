//! Readiness / hang state shared by the protocol servers and the timers.
//!
//! Exists so that the timers in `main.rs` (ready, unready, hang) flip one
//! value and every server (HTTP handlers, gRPC health wrapper, TCP accept
//! loop) reads or watches that same value.

use tokio::sync::watch;

/// The current behaviour of the servers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Status {
    /// `--ready-after-ms` has elapsed (and the listener is up).
    pub ready: bool,
    /// `--unready-after-ms` has elapsed: sticky, wins over `ready`.
    pub unready: bool,
    /// `--hang-after-ms` has elapsed: handlers never answer.
    pub hung: bool,
}

impl Status {
    pub fn is_ready(&self) -> bool {
        self.ready && !self.unready
    }
}

/// Cheap to clone; all clones see the same status.
#[derive(Clone, Debug)]
pub struct Shared {
    tx: watch::Sender<Status>,
}

impl Shared {
    pub fn new() -> Self {
        Self { tx: watch::Sender::new(Status::default()) }
    }

    pub fn get(&self) -> Status {
        *self.tx.borrow()
    }

    pub fn update(&self, f: impl FnOnce(&mut Status)) {
        self.tx.send_modify(f);
    }

    pub fn subscribe(&self) -> watch::Receiver<Status> {
        self.tx.subscribe()
    }

    /// Never returns once `--hang-after-ms` has elapsed.
    pub async fn hang_if_hung(&self) {
        if self.get().hung {
            std::future::pending::<()>().await;
        }
    }
}
