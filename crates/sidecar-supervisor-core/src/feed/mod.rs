//! The persisted runtime-event feed (`<data_dir>/runtime/runtime-events.json`).
//!
//! Why it looks like this:
//! - The engine is an async event loop, so [`Feed::push`] only stamps the event, appends it to a
//!   bounded in-memory deque and marks the feed dirty for the runtime's background writer
//!   ([`crate::writer`]); it never touches the disk.
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
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::atomic_file::write_atomic;
use crate::domain::{EventKind, NewEvent};
use crate::redact::Redactor;
use crate::wallclock::now_rfc3339;

mod event;
mod location;
pub use event::RuntimeEvent;
use location::{choose_location, set_aside};

/// Default number of events kept.
pub const DEFAULT_MAX_EVENTS: usize = 1000;

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
    /// The standard layout: `<data_dir>/runtime/runtime-events.json`, falling back to
    /// `~/.<app_name>/runtime/runtime-events.json` (when a home directory is known).
    pub fn for_data_dir(data_dir: &Path, app_name: &str) -> FeedConfig {
        let fallback = directories::BaseDirs::new()
            .map(|b| crate::layout::DataDirLayout::new(b.home_dir().join(format!(".{app_name}"))).feed_file());
        FeedConfig {
            path: crate::layout::DataDirLayout::new(data_dir).feed_file(),
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
    /// Something was pushed that no write has taken yet (cleared when a write takes the events,
    /// so a push during that write marks the feed again).
    dirty: bool,
    last_error: Option<String>,
}

struct Shared {
    state: Mutex<State>,
    /// Held while writing, so writes of the background writer and of a flush never interleave.
    disk: Mutex<()>,
    path: PathBuf,
    /// Why the feed is not where the data dir would keep it, if it is not.
    fallback: Option<String>,
    max_events: usize,
    redactor: Redactor,
    /// Itself, for the writer to be told about it.
    me: Weak<dyn crate::writer::Pending>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Handle to the feed. Cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Feed {
    shared: Arc<Shared>,
}

impl Feed {
    /// Loads the existing file (events kept, seq continues from the max seen). If the file is
    /// corrupt (not a JSON array of `RuntimeEvent`), renames it to
    /// `runtime-events.corrupt-<UTC yyyymmddThhmmssZ>[-n].json` beside it and pushes a
    /// `FeedRecovered` event naming the set-aside file. If the primary directory is not writable
    /// (creating it or a probe write fails), uses `fallback_path` silently ([`Feed::path`]
    /// tells). Errors only if neither place is writable or the file cannot be read.
    pub fn open(cfg: FeedConfig, redactor: Redactor) -> Result<Feed, FeedError> {
        let (path, fallback) = choose_location(&cfg)?;
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
        let shared = Arc::new_cyclic(|me: &Weak<Shared>| Shared {
            state: Mutex::new(State { events, next_seq, dirty: false, last_error: None }),
            disk: Mutex::new(()),
            path,
            fallback,
            max_events,
            redactor,
            me: me.clone(),
        });
        let feed = Feed { shared };
        if let Some(message) = recovered {
            tracing::warn!("{message}");
            feed.push(NewEvent::new(EventKind::FeedRecovered, message));
        }
        Ok(feed)
    }

    /// Why the feed lives at its fallback location (the home dir), if it does.
    pub fn fallback_reason(&self) -> Option<String> {
        self.shared.fallback.clone()
    }

    fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Stamps `seq` and `at`, redacts the message, appends in memory (dropping the oldest beyond
    /// the bound), and marks the feed for the writer. Never does disk I/O.
    pub fn push(&self, ev: NewEvent) -> RuntimeEvent {
        let shared = self.shared();
        let message = shared.redactor.redact(&ev.message).into_owned();
        let mut st = shared.lock();
        let event = RuntimeEvent::stamped(st.next_seq, now_rfc3339(), NewEvent { message, ..ev });
        st.next_seq += 1;
        st.events.push_back(Arc::new(event.clone()));
        while st.events.len() > shared.max_events {
            st.events.pop_front();
        }
        let was_clean = !std::mem::replace(&mut st.dirty, true);
        drop(st);
        if was_clean {
            crate::writer::mark(shared.me.clone());
        }
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
    /// failed: the error is logged, once per new error). Used at shutdown and in tests.
    pub fn flush(&self) {
        crate::writer::Pending::write_pending(self.shared.as_ref());
    }
}

impl crate::writer::Pending for Shared {
    /// Writes the whole feed if anything was pushed since the last write.
    fn write_pending(&self) {
        let _disk = self.disk.lock().unwrap_or_else(|e| e.into_inner());
        let events = {
            let mut st = self.lock();
            if !std::mem::take(&mut st.dirty) {
                return;
            }
            st.events.iter().cloned().collect::<Vec<Arc<RuntimeEvent>>>()
        };
        let result = write_atomic(&self.path, &serialize(&events));
        let mut st = self.lock();
        match result {
            Ok(()) => st.last_error = None,
            Err(e) => {
                let msg = e.to_string();
                if st.last_error.as_deref() != Some(msg.as_str()) {
                    tracing::warn!("runtime event feed not saved: {msg}");
                }
                st.last_error = Some(msg);
                // Not saved: the writer tries again (a reader holding the file open on Windows,
                // a disk briefly full), rather than waiting for the next event that may not come.
                if !std::mem::replace(&mut st.dirty, true) {
                    crate::writer::mark(self.me.clone());
                }
            }
        }
    }
}

impl Drop for Shared {
    /// The last handle is gone: what was pushed still reaches the file.
    fn drop(&mut self) {
        crate::writer::Pending::write_pending(self);
    }
}
