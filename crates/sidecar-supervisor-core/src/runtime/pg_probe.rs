//! PostgreSQL's readiness, judged the way `pg_isready` judges it, without running a program.
//!
//! Why in the engine: a bundled PostgreSQL (the relocatable server builds apps ship) has no
//! `pg_isready`, and a TCP connect is not enough — the postmaster accepts connections while it
//! is still starting or recovering from a crash, and refuses them only after the startup
//! message. So the probe sends a protocol-3 startup message for a role and reads the first
//! reply: an authentication request means the server accepts connections (ready); an error
//! with SQLSTATE `57P03` (cannot connect now: starting up, shutting down, in recovery) means not
//! yet; any other error (unknown role, no such database) still comes from a server that is up,
//! which is what `pg_isready` reports too. No password is ever sent: the connection is closed
//! after the first reply.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::ports::LOOPBACK;

/// Protocol 3.0.
const PROTOCOL: u32 = 3 << 16;
/// The most of a first reply that is read (an ErrorResponse is far shorter).
const MAX_REPLY: usize = 8 * 1024;

/// The startup message asking for `user`'s own database.
pub fn startup_message(user: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(32 + 2 * user.len());
    body.extend_from_slice(&PROTOCOL.to_be_bytes());
    for (k, v) in [("user", user), ("database", user), ("application_name", "sidecar-supervisor probe")] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut msg = Vec::with_capacity(body.len() + 4);
    msg.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    msg.extend_from_slice(&body);
    msg
}

/// What the server's first reply says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Not all of the first message has arrived yet.
    Incomplete,
    /// An authentication request (or anything but an error): accepting connections.
    Accepting,
    /// An ErrorResponse: its SQLSTATE and message.
    Error { code: String, message: String },
    /// Not PostgreSQL's protocol.
    Garbled(String),
}

/// Reads the first backend message in `buf`.
pub fn classify(buf: &[u8]) -> Reply {
    let Some(&tag) = buf.first() else { return Reply::Incomplete };
    if !tag.is_ascii_alphabetic() {
        return Reply::Garbled(format!("first byte 0x{tag:02x} is no message type"));
    }
    if buf.len() < 5 {
        return Reply::Incomplete;
    }
    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    if !(4..=MAX_REPLY).contains(&len) {
        return Reply::Garbled(format!("message length {len}"));
    }
    if tag != b'E' {
        return Reply::Accepting;
    }
    if buf.len() < 1 + len {
        return Reply::Incomplete;
    }
    let (mut code, mut message) = (String::new(), String::new());
    // Fields: a type byte, a NUL-terminated string; a 0 type byte ends them.
    for field in buf[5..1 + len].split(|b| *b == 0) {
        match field.split_first() {
            Some((b'C', v)) => code = String::from_utf8_lossy(v).into_owned(),
            Some((b'M', v)) => message = String::from_utf8_lossy(v).into_owned(),
            _ => {}
        }
    }
    Reply::Error { code, message }
}

/// `(passed, detail)` for the server on 127.0.0.1:`port`, asking as `user`.
pub async fn probe(port: u16, user: &str) -> (bool, String) {
    let mut stream = match TcpStream::connect((LOOPBACK, port)).await {
        Ok(s) => s,
        Err(e) => return (false, format!("postgres 127.0.0.1:{port}: {e}")),
    };
    if let Err(e) = stream.write_all(&startup_message(user)).await {
        return (false, format!("postgres 127.0.0.1:{port}: {e}"));
    }
    let mut buf = Vec::with_capacity(512);
    loop {
        match classify(&buf) {
            Reply::Incomplete => {}
            Reply::Accepting => return (true, format!("postgres on port {port} accepts connections")),
            // cannot_connect_now: starting up, shutting down, or in recovery.
            Reply::Error { code, message } if code == "57P03" => return (false, format!("postgres: {message}")),
            Reply::Error { code, message } => {
                return (true, format!("postgres on port {port} is up (it answered {code}: {message})"))
            }
            Reply::Garbled(why) => return (false, format!("port {port} does not speak PostgreSQL's protocol ({why})")),
        }
        let mut chunk = [0u8; 1024];
        match stream.read(&mut chunk).await {
            Ok(0) => return (false, format!("postgres on port {port} closed the connection without an answer")),
            Ok(n) if buf.len() + n <= MAX_REPLY + 1 => buf.extend_from_slice(&chunk[..n]),
            Ok(_) => return (false, format!("port {port} does not speak PostgreSQL's protocol (reply too long)")),
            Err(e) => return (false, format!("postgres 127.0.0.1:{port}: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(fields: &[(u8, &str)]) -> Vec<u8> {
        let mut body = Vec::new();
        for (t, v) in fields {
            body.push(*t);
            body.extend_from_slice(v.as_bytes());
            body.push(0);
        }
        body.push(0);
        let mut m = vec![b'E'];
        m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        m.extend_from_slice(&body);
        m
    }

    #[test]
    fn the_startup_message_is_length_prefixed_protocol_3_with_user_and_database() {
        let m = startup_message("app");
        assert_eq!(u32::from_be_bytes(m[0..4].try_into().unwrap()) as usize, m.len());
        assert_eq!(&m[4..8], &[0, 3, 0, 0]);
        let text = String::from_utf8_lossy(&m[8..]);
        assert!(text.starts_with("user\0app\0database\0app\0"), "{text:?}");
        assert!(m.ends_with(&[0, 0]));
    }

    #[test]
    fn an_authentication_request_means_accepting() {
        // AuthenticationSASL ('R', length 23, code 10, "SCRAM-SHA-256\0\0").
        let mut m = vec![b'R', 0, 0, 0, 23, 0, 0, 0, 10];
        m.extend_from_slice(b"SCRAM-SHA-256\0\0");
        assert_eq!(classify(&m), Reply::Accepting);
        assert_eq!(classify(&m[..3]), Reply::Incomplete);
    }

    #[test]
    fn an_error_is_read_whole_with_its_code_and_message() {
        let m = error(&[(b'S', "FATAL"), (b'C', "57P03"), (b'M', "the database system is starting up")]);
        assert_eq!(classify(&m[..m.len() - 1]), Reply::Incomplete);
        assert_eq!(
            classify(&m),
            Reply::Error { code: "57P03".into(), message: "the database system is starting up".into() }
        );
    }

    #[test]
    fn other_protocols_are_garbled_not_ready() {
        assert!(matches!(classify(b"HTTP/1.1 400 Bad Request\r\n"), Reply::Garbled(_)));
        assert!(matches!(classify(&[0x16, 3, 1]), Reply::Garbled(_)));
        assert!(matches!(classify(&[b'E', 0xff, 0xff, 0xff, 0xff]), Reply::Garbled(_)));
    }
}
