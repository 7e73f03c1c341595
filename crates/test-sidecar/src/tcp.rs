//! The raw TCP server (`--protocol tcp`).
//!
//! Exists for supervisors that only probe "does the port accept a
//! connection": connections are accepted and held open until the peer closes
//! them. After `--unready-after-ms` the listener is closed (new connects are
//! refused) while already accepted connections stay open.

use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use crate::out::err;
use crate::state::Shared;

/// Accepts on `listener` in a background task.
pub fn spawn(listener: TcpListener, shared: Shared) {
    tokio::spawn(async move {
        let mut rx = shared.subscribe();
        loop {
            if rx.borrow_and_update().unready {
                break;
            }
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        tokio::spawn(hold(stream));
                    }
                    Err(e) => {
                        err(&format!("test-sidecar: accept failed: {e}"));
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                },
                changed = rx.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        // Dropping `listener` here closes the port.
    });
}

/// Reads and discards until the peer closes.
async fn hold(mut stream: TcpStream) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}
