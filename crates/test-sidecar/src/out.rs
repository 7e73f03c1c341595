//! Line output, the monotonic clock and the report socket.
//!
//! Exists because stdout is a protocol (the supervisor parses it for the port
//! handshake): every line must be flushed at once, and a closed pipe must not
//! panic the process the way `println!` would.

use std::io::Write;
use std::path::Path;

/// Writes one line on stdout and flushes it; errors are ignored.
pub fn out(line: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{line}");
    let _ = o.flush();
}

/// Writes one line on stderr; errors are ignored.
pub fn err(line: &str) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "{line}");
    let _ = e.flush();
}

/// `clock_gettime(CLOCK_MONOTONIC)` in nanoseconds (0 on Windows, where nothing reads it: the
/// benchmarks that do run on Linux).
#[cfg(not(unix))]
pub fn monotonic_ns() -> u64 {
    0
}

/// `clock_gettime(CLOCK_MONOTONIC)` in nanoseconds.
#[cfg(unix)]
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

/// Sends `"<kind> <pid> <ns>"` to the unix datagram socket at `path`; errors
/// are ignored (the listener may be gone).
pub fn report(path: &Path, kind: &str, ns: u64) {
    #[cfg(not(unix))]
    let _ = (path, kind, ns);
    #[cfg(unix)]
    if let Ok(sock) = std::os::unix::net::UnixDatagram::unbound() {
        let msg = format!("{kind} {} {ns}", std::process::id());
        let _ = sock.send_to(msg.as_bytes(), path);
    }
}
