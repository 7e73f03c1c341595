//! Loopback ports.
//!
//! `portpicker` is not used: it probes the unspecified address (0.0.0.0) and random candidates,
//! while a sidecar must only ever bind 127.0.0.1. Asking the kernel for `127.0.0.1:0` gives a
//! free loopback port in one call. The remaining race (another process may take the port between
//! the pick and the child's bind) is handled by the engine: a child that exits with "address in
//! use" before it was ready is re-spawned on a new port without charging its budget.
//! `"announce"` avoids the race entirely.

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};

use crate::domain::Cause;

pub const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// A port that was free on 127.0.0.1 a moment ago.
pub fn pick_free_port() -> std::io::Result<u16> {
    let l = TcpListener::bind(SocketAddrV4::new(LOOPBACK, 0))?;
    Ok(l.local_addr()?.port())
}

/// `Ok` when 127.0.0.1:`port` can be bound now (a fixed port must fail fast when taken); else
/// why, and the cause (a taken port is [`Cause::FixedPortTaken`], which the status warns of).
pub fn check_fixed_port(port: u16) -> Result<(), (String, Cause)> {
    match TcpListener::bind(SocketAddrV4::new(LOOPBACK, port)) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err((
            format!(
                "fixed port {port} on 127.0.0.1 is already in use by another process; stop that process or use \"port\": \"auto\""
            ),
            Cause::FixedPortTaken,
        )),
        Err(e) => Err((format!("cannot use fixed port {port} on 127.0.0.1: {e}"), Cause::LaunchFailed)),
    }
}

/// Parses a port handshake line: `SIDECAR_PORT=<n>` or JSON `{"port": n}`.
pub fn parse_announcement(line: &str) -> Option<u16> {
    let l = line.trim();
    if let Some(v) = l.strip_prefix("SIDECAR_PORT=") {
        return v.trim().parse().ok().filter(|p| *p != 0);
    }
    if l.starts_with('{') && l.contains("\"port\"") {
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        return v.get("port")?.as_u64().and_then(|p| u16::try_from(p).ok()).filter(|p| *p != 0);
    }
    None
}

/// Does a stderr line say the bind failed because the address was taken? Unix (`EADDRINUSE`,
/// "Address already in use") and Windows (`WSAEADDRINUSE`, error 10048, "Only one usage of each
/// socket address ... is normally permitted") alike.
pub fn is_addr_in_use(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    l.contains("address already in use")
        || l.contains("eaddrinuse")
        || l.contains("address in use")
        || l.contains("os error 10048")
        || l.contains("only one usage of each socket address")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcement_forms() {
        assert_eq!(parse_announcement("SIDECAR_PORT=4312"), Some(4312));
        assert_eq!(parse_announcement(" {\"port\": 4313} "), Some(4313));
        assert_eq!(parse_announcement("SIDECAR_PORT=0"), None);
        assert_eq!(parse_announcement("listening on 4312"), None);
        assert_eq!(parse_announcement("{\"port\": 70000}"), None);
    }

    #[test]
    fn picked_port_is_free_and_fixed_check_sees_it_taken() {
        let p = pick_free_port().unwrap();
        assert!(check_fixed_port(p).is_ok());
        let _hold = TcpListener::bind(SocketAddrV4::new(LOOPBACK, p)).unwrap();
        let (e, cause) = check_fixed_port(p).unwrap_err();
        assert!(e.contains("already in use"), "{e}");
        assert_eq!(cause, Cause::FixedPortTaken);
    }

    #[test]
    fn addr_in_use_detection() {
        assert!(is_addr_in_use("Error: Address already in use (os error 98)"));
        assert!(is_addr_in_use("listen EADDRINUSE: address already in use :::3000"));
        assert!(is_addr_in_use(
            "Only one usage of each socket address (protocol/network address/port) is normally permitted. (os error 10048)"
        ));
        assert!(is_addr_in_use("bind: WSAEADDRINUSE"));
        assert!(!is_addr_in_use("GET /health 200"));
    }
}
