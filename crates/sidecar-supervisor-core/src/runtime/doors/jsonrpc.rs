//! The two-way stdio channel of a `"stdio": "jsonrpc"` sidecar: JSON-RPC 2.0, one message per
//! line, the runtime the client and the sidecar the server.
//!
//! Requests (`Supervisor::request`) get an id, are written to the sidecar's stdin and wait for
//! the response with that id, a timeout, or the end of the process — whichever comes first, so
//! a call never hangs: a process that exits (or is restarted) mid-call fails every call in
//! flight with the reason. Notifications from the sidecar (a `method` and no `id`) are pushed to
//! subscribers and kept in a buffer per sidecar bounded in count and bytes. Every message is at
//! most [`MAX_MESSAGE`] bytes both ways; the reader never holds more than that of a line, so a
//! sidecar that floods stdout without newlines costs bounded memory. Lines that are not JSON-RPC
//! go to the log as before.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::domain::{CommandError, ErrorKind, ErrorPayload};
use crate::runtime::status::Notification;
pub use crate::runtime::status::SidecarMessage;

/// Largest message, either way (a line of JSON without its newline).
pub const MAX_MESSAGE: usize = 1 << 20;
/// Most notifications kept per sidecar, and their most bytes in all.
pub const BUFFER_MESSAGES: usize = 1000;
pub const BUFFER_BYTES: usize = 4 << 20;
/// Longest timeout a caller may ask for.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);

/// Why a request got no result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("`{sidecar}` has no JSON-RPC channel: give it \"stdio\": \"jsonrpc\" in the profile")]
    NotJsonrpc { sidecar: String },
    #[error("`{sidecar}` is {state}: there is no process to ask")]
    NotRunning { sidecar: String, state: String },
    #[error("`{sidecar}` did not answer `{method}` within {ms} ms")]
    Timeout { sidecar: String, method: String, ms: u64 },
    #[error("`{sidecar}`'s process ended before it answered `{method}` ({why})")]
    Ended { sidecar: String, method: String, why: String },
    #[error("the message is {bytes} bytes; a message is at most {max} bytes (1 MiB)")]
    TooLarge { sidecar: String, bytes: usize, max: usize },
    #[error("`{sidecar}`'s answer to `{method}` was {bytes} bytes; a message is at most 1 MiB: it was dropped")]
    AnswerTooLarge { sidecar: String, method: String, bytes: usize },
    #[error("`{sidecar}` answered `{method}` with error {code}: {message}")]
    Remote { sidecar: String, method: String, code: i64, message: String, data: Option<Value> },
    #[error("{message}")]
    InvalidArgument { message: String },
}

impl RequestError {
    /// The sidecar the error is about, if any.
    pub fn sidecar(&self) -> Option<&str> {
        match self {
            RequestError::Command(c) => c.sidecar(),
            RequestError::NotJsonrpc { sidecar }
            | RequestError::NotRunning { sidecar, .. }
            | RequestError::Timeout { sidecar, .. }
            | RequestError::Ended { sidecar, .. }
            | RequestError::TooLarge { sidecar, .. }
            | RequestError::AnswerTooLarge { sidecar, .. }
            | RequestError::Remote { sidecar, .. } => Some(sidecar),
            RequestError::InvalidArgument { .. } => None,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            RequestError::Command(c) => c.kind(),
            RequestError::NotJsonrpc { .. } => ErrorKind::NotJsonrpc,
            RequestError::NotRunning { .. } => ErrorKind::WrongState,
            RequestError::Timeout { .. } => ErrorKind::Timeout,
            RequestError::Ended { .. } => ErrorKind::ProcessEnded,
            RequestError::TooLarge { .. } | RequestError::AnswerTooLarge { .. } => ErrorKind::TooLarge,
            RequestError::Remote { .. } => ErrorKind::Remote,
            RequestError::InvalidArgument { .. } => ErrorKind::InvalidArgument,
        }
    }
}

impl From<&RequestError> for ErrorPayload {
    fn from(e: &RequestError) -> ErrorPayload {
        let mut p = ErrorPayload::new(e.kind(), e.to_string()).about(e.sidecar());
        if let RequestError::Remote { code, data, .. } = e {
            (p.code, p.data) = (Some(*code), data.clone());
        }
        p
    }
}

/// A request's timeout as callers give it, in milliseconds: at least 1, at most
/// [`MAX_TIMEOUT`].
pub fn timeout_of(ms: i64) -> Result<Duration, RequestError> {
    match u64::try_from(ms).ok().map(Duration::from_millis) {
        Some(t) if !t.is_zero() && t <= MAX_TIMEOUT => Ok(t),
        _ => Err(RequestError::InvalidArgument {
            message: format!("timeout: {ms} ms is outside 1..={} ms", MAX_TIMEOUT.as_millis()),
        }),
    }
}

type Reply = Result<Value, Failure>;

/// Why a response carries no result.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The sidecar's JSON-RPC error.
    Remote(RemoteError),
    /// The response was this many bytes, over [`MAX_MESSAGE`], and was dropped.
    TooLarge(usize),
}

/// A JSON-RPC error object as the sidecar sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

/// The client side of one process's channel.
pub struct Peer {
    name: String,
    out: mpsc::Sender<Vec<u8>>,
    /// Calls waiting for their answer; `None` once the process ended (with why).
    pending: Mutex<Result<HashMap<u64, oneshot::Sender<Reply>>, String>>,
    next_id: AtomicU64,
}

impl Peer {
    /// The channel over `stdin` (which it then holds: dropping the last `Peer` is the EOF).
    pub fn start(name: String, mut stdin: crate::platform::Input) -> Arc<Peer> {
        let (out, mut rx) = mpsc::channel::<Vec<u8>>(64);
        tokio::spawn(async move {
            while let Some(line) = rx.recv().await {
                if stdin.write_all(&line).await.is_err() || stdin.flush().await.is_err() {
                    break; // the process is gone; its exit fails what is pending
                }
            }
        });
        Arc::new(Peer { name, out, pending: Mutex::new(Ok(HashMap::new())), next_id: AtomicU64::new(1) })
    }

    /// Calls `method` and waits up to `timeout` for its result.
    pub async fn call(&self, method: &str, params: Option<Value>, timeout: Duration) -> Result<Value, RequestError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut msg = json!({ "jsonrpc": "2.0", "id": id, "method": method });
        if let Some(p) = params {
            msg["params"] = p;
        }
        let mut line = serde_json::to_vec(&msg).expect("a JSON value serializes");
        if line.len() > MAX_MESSAGE {
            return Err(RequestError::TooLarge { sidecar: self.name.clone(), bytes: line.len(), max: MAX_MESSAGE });
        }
        line.push(b'\n');
        let (tx, rx) = oneshot::channel();
        match &mut *self.pending.lock().expect("pending lock") {
            Ok(p) => p.insert(id, tx),
            Err(why) => return Err(self.ended(method, why.clone())),
        };
        let exchange = async {
            self.out.send(line).await.map_err(|_| self.ended(method, "its stdin is closed".into()))?;
            match rx.await {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(Failure::Remote(e))) => Err(RequestError::Remote {
                    sidecar: self.name.clone(),
                    method: method.into(),
                    code: e.code,
                    message: e.message,
                    data: e.data,
                }),
                Ok(Err(Failure::TooLarge(bytes))) => {
                    Err(RequestError::AnswerTooLarge { sidecar: self.name.clone(), method: method.into(), bytes })
                }
                Err(_) => Err(self.ended(method, self.why_closed())),
            }
        };
        let r = tokio::time::timeout(timeout, exchange).await.unwrap_or_else(|_| {
            Err(RequestError::Timeout {
                sidecar: self.name.clone(),
                method: method.into(),
                ms: timeout.as_millis() as u64,
            })
        });
        if let Ok(p) = &mut *self.pending.lock().expect("pending lock") {
            p.remove(&id);
        }
        r
    }

    fn ended(&self, method: &str, why: String) -> RequestError {
        RequestError::Ended { sidecar: self.name.clone(), method: method.into(), why }
    }

    fn why_closed(&self) -> String {
        match &*self.pending.lock().expect("pending lock") {
            Err(why) => why.clone(),
            Ok(_) => "its channel closed".into(),
        }
    }

    /// A response arrived; one for no waiting call (late, after a timeout) is dropped.
    fn answer(&self, id: u64, reply: Reply) {
        let waiter = match &mut *self.pending.lock().expect("pending lock") {
            Ok(p) => p.remove(&id),
            Err(_) => None,
        };
        if let Some(w) = waiter {
            let _ = w.send(reply);
        }
    }

    /// A stdout line of `bytes` bytes, over the limit, was dropped; `head` is its start. If it
    /// answers a call in flight (`{"jsonrpc":"2.0","id":N,...`), that call fails now.
    pub fn refuse_too_long(&self, head: &[u8], bytes: usize) {
        let Some(id) = id_in_head(head) else { return };
        let waiter = match &mut *self.pending.lock().expect("pending lock") {
            Ok(p) => p.remove(&id),
            Err(_) => None,
        };
        if let Some(w) = waiter {
            let _ = w.send(Err(Failure::TooLarge(bytes)));
        }
    }

    /// The process ended: every call in flight fails now, and later ones at once.
    pub fn close(&self, why: String) {
        let before = std::mem::replace(&mut *self.pending.lock().expect("pending lock"), Err(why));
        drop(before); // dropping the senders wakes every waiter with the reason above
    }

    /// Answers a request the sidecar made: the runtime serves no methods.
    fn refuse(&self, id: Value, method: &str) {
        let msg = json!({ "jsonrpc": "2.0", "id": id,
            "error": { "code": -32601, "message": format!("method not found: the runtime serves no methods ({method})") } });
        let mut line = serde_json::to_vec(&msg).expect("a JSON value serializes");
        line.push(b'\n');
        let _ = self.out.try_send(line);
    }
}

/// The `id` of a JSON-RPC message from its first bytes: `"id":` followed by digits.
fn id_in_head(head: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(head);
    let at = text.find("\"id\"")? + 4;
    let rest = text[at..].trim_start().strip_prefix(':')?.trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// What a stdout line of a JSON-RPC sidecar is.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    Response {
        id: u64,
        reply: Reply,
    },
    Notification {
        method: String,
        params: Value,
    },
    Request {
        id: Value,
        method: String,
    },
    /// Not JSON-RPC (a log line, or the port announcement): goes to the log.
    Other,
}

/// Classifies one line (pure; unit-tested).
pub fn classify(line: &str) -> Incoming {
    let t = line.trim();
    if !t.starts_with('{') {
        return Incoming::Other;
    }
    let Ok(Value::Object(mut m)) = serde_json::from_str::<Value>(t) else { return Incoming::Other };
    if m.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Incoming::Other;
    }
    match (m.remove("method"), m.remove("id")) {
        (Some(Value::String(method)), None) => {
            Incoming::Notification { method, params: m.remove("params").unwrap_or(Value::Null) }
        }
        (Some(Value::String(method)), Some(id)) => Incoming::Request { id, method },
        (None, Some(id)) => {
            let Some(id) = id.as_u64() else { return Incoming::Other };
            let reply = match (m.remove("result"), m.remove("error")) {
                (_, Some(e)) => Err(Failure::Remote(RemoteError {
                    code: e.get("code").and_then(Value::as_i64).unwrap_or(-32603),
                    message: e.get("message").and_then(Value::as_str).unwrap_or("(no message)").to_string(),
                    data: e.get("data").cloned(),
                })),
                (Some(r), None) => Ok(r),
                (None, None) => return Incoming::Other,
            };
            Incoming::Response { id, reply }
        }
        _ => Incoming::Other,
    }
}

/// Every unit's channel and notification buffer, shared by the engine (which opens and closes
/// channels), the output readers (which deliver) and the supervisor handle (which calls).
pub struct Channels {
    peers: Mutex<Vec<Option<Arc<Peer>>>>,
    buffers: Mutex<Vec<Buffer>>,
    seq: AtomicU64,
    notify: broadcast::Sender<Notification>,
}

#[derive(Default)]
struct Buffer {
    messages: VecDeque<(SidecarMessage, usize)>,
    bytes: usize,
}

impl Channels {
    pub fn new(units: usize, notify: broadcast::Sender<Notification>) -> Channels {
        Channels {
            peers: Mutex::new(vec![None; units]),
            buffers: Mutex::new((0..units).map(|_| Buffer::default()).collect()),
            seq: AtomicU64::new(0),
            notify,
        }
    }

    pub fn open(&self, unit: usize, peer: Arc<Peer>) {
        self.peers.lock().expect("peers lock")[unit] = Some(peer);
    }

    /// The process of `unit` ended (`why`): calls in flight fail.
    pub fn close(&self, unit: usize, why: String) {
        if let Some(p) = self.peers.lock().expect("peers lock")[unit].take() {
            p.close(why);
        }
    }

    pub fn peer(&self, unit: usize) -> Option<Arc<Peer>> {
        self.peers.lock().expect("peers lock")[unit].clone()
    }

    /// A stdout line of `unit`'s process `peer`: `true` if it was a JSON-RPC message (handled
    /// here), `false` if it belongs in the log.
    pub fn deliver(&self, unit: usize, peer: &Peer, line: &str) -> bool {
        match classify(line) {
            Incoming::Other => false,
            Incoming::Response { id, reply } => {
                peer.answer(id, reply);
                true
            }
            Incoming::Request { id, method } => {
                peer.refuse(id, &method);
                true
            }
            Incoming::Notification { method, params } => {
                let msg = SidecarMessage {
                    sidecar: peer.name.clone(),
                    seq: self.seq.fetch_add(1, Ordering::Relaxed) + 1,
                    at: crate::wallclock::now_rfc3339(),
                    method,
                    params,
                };
                self.keep(unit, msg.clone(), line.len());
                let _ = self.notify.send(Notification::Message(msg));
                true
            }
        }
    }

    fn keep(&self, unit: usize, msg: SidecarMessage, bytes: usize) {
        let mut all = self.buffers.lock().expect("buffers lock");
        let b = &mut all[unit];
        b.messages.push_back((msg, bytes));
        b.bytes += bytes;
        while b.messages.len() > BUFFER_MESSAGES || (b.bytes > BUFFER_BYTES && b.messages.len() > 1) {
            if let Some((_, n)) = b.messages.pop_front() {
                b.bytes -= n;
            }
        }
    }

    /// The newest `limit` notifications of `unit`, oldest first.
    pub fn messages(&self, unit: usize, limit: usize) -> Vec<SidecarMessage> {
        let all = self.buffers.lock().expect("buffers lock");
        let m = &all[unit].messages;
        m.iter().skip(m.len().saturating_sub(limit)).map(|(m, _)| m.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_told_apart() {
        assert_eq!(classify("SIDECAR_PORT=4000"), Incoming::Other);
        assert_eq!(classify(r#"{"port": 4000}"#), Incoming::Other, "the announcement is not JSON-RPC");
        assert_eq!(
            classify(r#"{"jsonrpc":"2.0","id":3,"result":{"a":1}}"#),
            Incoming::Response { id: 3, reply: Ok(json!({"a": 1})) }
        );
        let Incoming::Response { id: 4, reply: Err(Failure::Remote(e)) } =
            classify(r#"{"jsonrpc":"2.0","id":4,"error":{"code":-32000,"message":"busy","data":[1]}}"#)
        else {
            panic!()
        };
        assert_eq!((e.code, e.message.as_str(), e.data), (-32000, "busy", Some(json!([1]))));
        assert_eq!(
            classify(r#"{"jsonrpc":"2.0","method":"progress","params":{"done":5}}"#),
            Incoming::Notification { method: "progress".into(), params: json!({"done": 5}) }
        );
        assert_eq!(
            classify(r#"{"jsonrpc":"2.0","id":"x","method":"ask"}"#),
            Incoming::Request { id: json!("x"), method: "ask".into() }
        );
        assert_eq!(classify(r#"{"jsonrpc":"2.0","id":"str","result":1}"#), Incoming::Other, "not an id we sent");
        assert_eq!(classify("{not json"), Incoming::Other);
    }

    #[test]
    fn the_id_of_an_over_long_answer_is_read_from_its_head() {
        assert_eq!(id_in_head(br#"{"jsonrpc":"2.0","id":42,"result":"xxxx"#), Some(42));
        assert_eq!(id_in_head(br#"{"jsonrpc": "2.0", "id" : 7 , "result""#), Some(7));
        assert_eq!(id_in_head(br#"{"jsonrpc":"2.0","method":"m","params":"#), None);
        assert_eq!(id_in_head(b"yyyyyyyy"), None);
    }

    #[test]
    fn the_buffer_is_bounded_in_count_and_bytes() {
        let (tx, _rx) = broadcast::channel(16);
        let ch = Channels::new(1, tx);
        let (w, _r) = tokio::io::duplex(64);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let peer = rt.block_on(async { Peer::start("s".into(), Box::new(w)) });
        for i in 0..(BUFFER_MESSAGES + 10) {
            assert!(ch.deliver(0, &peer, &format!(r#"{{"jsonrpc":"2.0","method":"m","params":{i}}}"#)));
        }
        let kept = ch.messages(0, usize::MAX);
        assert_eq!(kept.len(), BUFFER_MESSAGES);
        assert_eq!(kept.last().unwrap().params, json!(BUFFER_MESSAGES + 9));
        let big = format!(r#"{{"jsonrpc":"2.0","method":"m","params":"{}"}}"#, "x".repeat(MAX_MESSAGE - 100));
        for _ in 0..10 {
            ch.deliver(0, &peer, &big);
        }
        let kept = ch.messages(0, usize::MAX);
        assert!(kept.len() <= BUFFER_BYTES / (MAX_MESSAGE - 100) + 1, "{}", kept.len());
        assert_eq!(ch.messages(0, 2).len(), 2);
    }
}
