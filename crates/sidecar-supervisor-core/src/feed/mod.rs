//! The persisted runtime-event feed (`<data_dir>/runtime/runtime-events.json`).
//!
//! Why it looks like this:
//! - The engine is an async event loop, so [`Feed::push`] only stamps the event, appends it to a
//!   bounded in-memory deque and wakes a dedicated writer thread; it never touches the disk.
//! - The writer coalesces bursts (everything pushed while it was writing goes out in the next
//!   write) and replaces the whole file with [`write_atomic`], so the `events` command of another
//!   process never reads a torn file, even if the runner is killed mid-write.
//! - A corrupt file is never silently dropped: it is renamed aside (its bytes kept), a
//!   `feed_recovered` event says where it went, and a fresh feed starts.
//! - Messages pass through the [`Redactor`] before they are kept anywhere.
//! - The file is a JSON array with one compact event per line: valid JSON for tools, and
//!   readable/diffable for people.

use std::collections::VecDeque;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use tokio::sync::broadcast;

use crate::atomic_file::write_atomic;
use crate::events::{now_rfc3339, EventKind, NewEvent, RuntimeEvent};
use crate::redact::Redactor;

mod location;
use location::{choose_location, set_aside};

/// File name of the feed inside `<data_dir>/runtime/`.
pub const FEED_FILE_NAME: &str = "runtime-events.json";
/// Default number of events kept.
pub const DEFAULT_MAX_EVENTS: usize = 1000;
/// Capacity of the broadcast channel behind [`Feed::subscribe`].
pub const SUBSCRIBE_CAPACITY: usize = 1024;

/// Where the feed lives and how much of it is kept.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    pub path: PathBuf,
    /// Used when `path`'s directory is not writable.
    pub fallback_path: Option<PathBuf>,
    /// Newest events kept (default 1000); older ones are dropped.
    pub max_events: usize,
}

impl FeedConfig {
    /// `path`, no fallback, default bound.
    pub fn new(path: impl Into<PathBuf>) -> FeedConfig {
        FeedConfig { path: path.into(), fallback_path: None, max_events: DEFAULT_MAX_EVENTS }
    }

    /// The standard layout: `<data_dir>/runtime/runtime-events.json`, falling back to
    /// `~/.<app_name>/runtime/runtime-events.json` (when a home directory is known).
    pub fn for_data_dir(data_dir: &Path, app_name: &str) -> FeedConfig {
        let fallback = directories::BaseDirs::new()
            .map(|b| b.home_dir().join(format!(".{app_name}")).join("runtime").join(FEED_FILE_NAME));
        FeedConfig {
            path: data_dir.join("runtime").join(FEED_FILE_NAME),
            fallback_path: fallback,
            max_events: DEFAULT_MAX_EVENTS,
        }
    }
}

/// Why the feed could not be opened or read. Messages name the file and what to do.
#[derive(thiserror::Error, Debug)]
pub enum FeedError {
    #[error("cannot write the runtime event feed at {path}: {reason}; {fallback}. Make that directory writable or choose another data directory")]
    NotWritable { path: PathBuf, reason: String, fallback: String },
    #[error("cannot read the runtime event feed {path}: {source}. Check the file's permissions")]
    Read { path: PathBuf, source: io::Error },
    #[error("the runtime event feed {path} is not a JSON array of events ({source}). The runner sets such a file aside at its next start; you can also move it away yourself")]
    Corrupt { path: PathBuf, source: serde_json::Error },
    #[error("cannot start the runtime event feed writer thread: {0}")]
    Thread(io::Error),
}

/// Reads a feed file (for the `events` command). A missing or empty file is an empty feed.
pub fn read_feed_file(path: &Path) -> Result<Vec<RuntimeEvent>, FeedError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(FeedError::Read { path: path.to_path_buf(), source }),
    };
    parse(&bytes).map_err(|source| FeedError::Corrupt { path: path.to_path_buf(), source })
}

fn parse(bytes: &[u8]) -> Result<Vec<RuntimeEvent>, serde_json::Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new()); // write_atomic never produces this; nothing to keep either
    }
    serde_json::from_slice(bytes)
}

/// `[\n{..},\n{..}\n]\n`: one compact event per line.
fn serialize(events: &[Arc<RuntimeEvent>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(events.len() * 160 + 4);
    out.push(b'[');
    for (i, ev) in events.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
        serde_json::to_writer(&mut out, ev.as_ref()).expect("RuntimeEvent always serializes");
    }
    out.extend_from_slice(if events.is_empty() { b"]\n" } else { b"\n]\n" });
    out
}

struct State {
    events: VecDeque<Arc<RuntimeEvent>>,
    next_seq: u64,
    /// Bumped by every push; the writer records the generation it wrote.
    pushed: u64,
    written: u64,
    shutdown: bool,
    /// A `flush` is waiting: write now, skip the debounce.
    urgent: bool,
    last_error: Option<String>,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the writer.
    work: Condvar,
    /// Wakes `flush` callers after a write attempt.
    done: Condvar,
    path: PathBuf,
    max_events: usize,
    redactor: Redactor,
    tx: broadcast::Sender<RuntimeEvent>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Owns the writer thread; dropped with the last [`Feed`] clone.
struct Owner {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.work.notify_all();
        if let Some(handle) = self.writer.take() {
            let _ = handle.join(); // the writer flushes pending events before it exits
        }
    }
}

/// Handle to the feed. Cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Feed {
    owner: Arc<Owner>,
}

impl Feed {
    /// Loads the existing file (events kept, seq continues from the max seen). If the file is
    /// corrupt (not a JSON array of `RuntimeEvent`), renames it to
    /// `runtime-events.corrupt-<UTC yyyymmddThhmmssZ>[-n].json` beside it and pushes a
    /// `FeedRecovered` event naming the set-aside file. If the primary directory is not writable
    /// (creating it or a probe write fails), uses `fallback_path` silently ([`Feed::path`]
    /// tells). Errors only if neither place is writable or the file cannot be read.
    pub fn open(cfg: FeedConfig, redactor: Redactor) -> Result<Feed, FeedError> {
        let path = choose_location(&cfg)?;
        let mut recovered = None;
        let loaded = match fs::read(&path) {
            Ok(bytes) => match parse(&bytes) {
                Ok(events) => events,
                Err(err) => {
                    let aside = set_aside(&path, &bytes);
                    recovered = Some(match aside {
                        Ok(aside) => format!(
                            "the event feed {} was unreadable ({err}); it was set aside as {} and a fresh feed started",
                            path.display(),
                            aside.display()
                        ),
                        Err(e) => format!(
                            "the event feed {} was unreadable ({err}) and could not be set aside ({e}); a fresh feed started",
                            path.display()
                        ),
                    });
                    Vec::new()
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(FeedError::Read { path, source }),
        };
        let max_events = cfg.max_events.max(1);
        let next_seq = loaded.iter().map(|e| e.seq).max().map_or(1, |m| m + 1);
        let skip = loaded.len().saturating_sub(max_events);
        let events: VecDeque<_> = loaded.into_iter().skip(skip).map(Arc::new).collect();
        let (tx, _) = broadcast::channel(SUBSCRIBE_CAPACITY);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                events,
                next_seq,
                pushed: 0,
                written: 0,
                shutdown: false,
                urgent: false,
                last_error: None,
            }),
            work: Condvar::new(),
            done: Condvar::new(),
            path,
            max_events,
            redactor,
            tx,
        });
        let writer_shared = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name("runtime-feed-writer".into())
            .spawn(move || writer_loop(&writer_shared))
            .map_err(FeedError::Thread)?;
        let feed = Feed { owner: Arc::new(Owner { shared, writer: Some(writer) }) };
        if let Some(message) = recovered {
            tracing::warn!("{message}");
            feed.push(NewEvent::new(EventKind::FeedRecovered, message));
        }
        Ok(feed)
    }

    fn shared(&self) -> &Shared {
        &self.owner.shared
    }

    /// Stamps `seq` and `at`, redacts the message, appends in memory (dropping the oldest beyond
    /// the bound), notifies subscribers and wakes the writer. Never does disk I/O itself.
    pub fn push(&self, ev: NewEvent) -> RuntimeEvent {
        let shared = self.shared();
        let message = shared.redactor.redact(&ev.message).into_owned();
        let mut st = shared.lock();
        let event = RuntimeEvent {
            seq: st.next_seq,
            at: now_rfc3339(),
            sidecar: ev.sidecar,
            kind: ev.kind,
            message,
            pid: ev.pid,
            port: ev.port,
            code: ev.code,
            signal: ev.signal,
        };
        st.next_seq += 1;
        st.events.push_back(Arc::new(event.clone()));
        while st.events.len() > shared.max_events {
            st.events.pop_front();
        }
        st.pushed += 1;
        // Sent under the lock so subscribers see events in seq order. No receivers is fine.
        let _ = shared.tx.send(event.clone());
        drop(st);
        shared.work.notify_one();
        event
    }

    /// The newest `limit` events (all kept events when `None`), in seq order.
    pub fn snapshot(&self, limit: Option<usize>) -> Vec<RuntimeEvent> {
        let st = self.shared().lock();
        let skip = limit.map_or(0, |n| st.events.len().saturating_sub(n));
        st.events.iter().skip(skip).map(|e| e.as_ref().clone()).collect()
    }

    /// The file actually used (the fallback when the primary place was not writable).
    pub fn path(&self) -> PathBuf {
        self.shared().path.clone()
    }

    /// Blocks until everything pushed before the call has been written (or a write was tried and
    /// failed: see [`Feed::last_write_error`]). Used at shutdown and in tests.
    pub fn flush(&self) {
        let shared = self.shared();
        let mut st = shared.lock();
        let target = st.pushed;
        st.urgent = true;
        shared.work.notify_one();
        while st.written < target {
            st = shared.done.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The error of the latest write, if it failed (cleared by the next successful write).
    pub fn last_write_error(&self) -> Option<String> {
        self.shared().lock().last_error.clone()
    }

    /// New events as they are pushed (capacity 1024; a slow receiver sees `Lagged`).
    pub fn subscribe(&self) -> broadcast::Receiver<RuntimeEvent> {
        self.shared().tx.subscribe()
    }
}

/// How long the writer lets events gather before writing the file.
const WRITE_DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(20);

fn writer_loop(shared: &Shared) {
    let mut st = shared.lock();
    loop {
        while st.written == st.pushed && !st.shutdown {
            st = shared.work.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        if st.written == st.pushed {
            return; // shutdown with nothing pending
        }
        // Debounce: a crash brings several events within a millisecond, and the new process is
        // starting right then. Writing a moment later batches them and keeps the disk work off
        // the restart's critical path. `flush` and shutdown skip the wait.
        let deadline = std::time::Instant::now() + WRITE_DEBOUNCE;
        while !st.shutdown && !st.urgent {
            let now = std::time::Instant::now();
            if now >= deadline {
                break;
            }
            st = shared.work.wait_timeout(st, deadline - now).map(|(g, _)| g).unwrap_or_else(|e| e.into_inner().0);
        }
        st.urgent = false;
        let generation = st.pushed;
        let events: Vec<Arc<RuntimeEvent>> = st.events.iter().cloned().collect();
        drop(st);
        let result = write_atomic(&shared.path, &serialize(&events));
        st = shared.lock();
        match result {
            Ok(()) => st.last_error = None,
            Err(e) => {
                let msg = e.to_string();
                if st.last_error.as_deref() != Some(msg.as_str()) {
                    tracing::warn!("runtime event feed not saved: {msg}");
                }
                st.last_error = Some(msg);
            }
        }
        st.written = generation;
        shared.done.notify_all();
    }
}
