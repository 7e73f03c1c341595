//! Per-sidecar output capture: an in-memory ring plus a size-rotated file.
//!
//! Why both: the ring answers "what did it just print?" instantly (the UI's log tail, the last
//! stderr lines quoted in a crash event) without reading files, while the file keeps a longer
//! history for diagnostics. The file is rotated by size (`name.log` → `name.log.1` → ...) so a
//! chatty sidecar cannot fill the disk, and each line is capped so one huge line cannot either.
//! Every line is redacted before it is kept anywhere. A file that cannot be opened does not stop
//! capture: the ring keeps working and [`SidecarLog::file_error`] says why the file is missing.
//!
//! [`SidecarLog::push`] runs on the engine's thread, so it never touches the disk: it appends to
//! the ring and to a bounded pending buffer. The runtime's one background writer
//! ([`crate::writer`]) moves pending bytes to the files in batches (a moment after the first new
//! line, or at once on [`SidecarLog::flush`]), rotating at line boundaries. If the disk cannot keep up, lines beyond the bound are dropped
//! and the file says how many: a slow disk never stalls restarts nor grows memory unbounded.
//!
//! Live lines: while someone watches a log ([`SidecarLog::watch`], a lease the dialog renews),
//! each pushed line is also sent on the runtime's [`LiveLines`] channel; unwatched, a push costs
//! nothing more than before. The whole rotated history is read back as one byte stream, oldest
//! first ([`crate::log_files`]).

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::redact::Redactor;
use crate::wallclock::now_rfc3339;

/// Default size at which `name.log` is rotated.
pub const DEFAULT_MAX_BYTES: u64 = 5 * 1024 * 1024;
/// Default number of rotated files kept (`name.log.1` ... `name.log.3`).
pub const DEFAULT_MAX_FILES: usize = 3;
/// Default number of lines kept in memory.
pub const DEFAULT_RING_LINES: usize = 500;
/// Longer lines are cut (at a char boundary) and marked, in the ring and in the file.
pub const MAX_LINE_BYTES: usize = 16 * 1024;
const TRUNCATED_MARK: &str = " [truncated]";
/// Bytes a log may hold for the writer before it drops lines (and says so in the file).
const PENDING_CAP: usize = 4 * 1024 * 1024;

/// Where logs go and how much is kept.
#[derive(Debug, Clone)]
pub struct LogConfig {
    pub dir: PathBuf,
    /// Size at which the current file is rotated (default 5 MiB).
    pub max_bytes: u64,
    /// Rotated files kept besides the current one (default 3).
    pub max_files: usize,
    /// Lines kept in memory (default 500).
    pub ring_lines: usize,
}

impl LogConfig {
    /// `dir` with the default bounds.
    pub fn new(dir: impl Into<PathBuf>) -> LogConfig {
        LogConfig {
            dir: dir.into(),
            max_bytes: DEFAULT_MAX_BYTES,
            max_files: DEFAULT_MAX_FILES,
            ring_lines: DEFAULT_RING_LINES,
        }
    }
}

/// Which pipe a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One captured (already redacted) line.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LogLine {
    /// RFC 3339 UTC with milliseconds.
    pub at: String,
    pub stream: Stream,
    pub line: String,
}

/// A line as it is pushed live to whoever watches: the sidecar instance it came from, then the
/// line.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LiveLine {
    pub sidecar: String,
    pub at: String,
    pub stream: Stream,
    pub line: String,
}

/// The runtime's one channel of live lines (every watched log sends on it).
pub type LiveLines = tokio::sync::broadcast::Sender<LiveLine>;

/// What the engine's thread touches: the ring and the bytes waiting for the writer.
struct Mem {
    ring: VecDeque<LogLine>,
    ring_lines: usize,
    pending: Vec<u8>,
    dropped: u64,
    /// Watched until then: pushes also go to `live`.
    watched_until: Option<Instant>,
    live: Option<(String, LiveLines)>,
}

/// What only the writer (or a flush) touches.
struct Disk {
    file: Option<File>,
    size: u64,
    file_error: Option<String>,
    max_bytes: u64,
    max_files: usize,
}

struct Shared {
    mem: Mutex<Mem>,
    disk: Mutex<Disk>,
    path: PathBuf,
}

/// A sidecar's log. Cheap to clone; clones share the ring and the file.
#[derive(Clone)]
pub struct SidecarLog {
    shared: Arc<Shared>,
    redactor: Redactor,
}

/// The file name stem of an instance's log (`api#1` → `api_1`).
pub fn file_stem(name: &str) -> String {
    sanitize(name)
}

/// Keeps `[A-Za-z0-9_.-]`, maps anything else to `_` (so names cannot escape the log dir).
fn sanitize(name: &str) -> String {
    let s: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '_' }).collect();
    if s.is_empty() || s.chars().all(|c| c == '.') {
        format!("_{s}")
    } else {
        s
    }
}

fn rotated(path: &Path, n: usize) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

fn open_append(path: &Path) -> io::Result<(File, u64)> {
    if let Some(dir) = path.parent() {
        crate::atomic_file::private_dir_all(dir)?;
    }
    let file = crate::platform::open_append_private(path)?;
    let size = file.metadata()?.len();
    Ok((file, size))
}

fn err_text(path: &Path, e: &io::Error) -> String {
    format!("{}: {e}", path.display())
}

impl SidecarLog {
    /// Opens (appending) `<dir>/<name>.log`, `name` sanitized. Never fails: if the file cannot be
    /// opened, the ring still works and [`SidecarLog::file_error`] tells why.
    pub fn open(cfg: &LogConfig, name: &str, redactor: Redactor) -> SidecarLog {
        let path = cfg.dir.join(format!("{}.log", sanitize(name)));
        let (file, size, file_error) = match open_append(&path) {
            Ok((f, size)) => (Some(f), size, None),
            Err(e) => {
                tracing::warn!("sidecar log file unavailable: {}", err_text(&path, &e));
                (None, 0, Some(err_text(&path, &e)))
            }
        };
        // Files beyond a (possibly reduced) max_files are stale leftovers.
        let mut n = cfg.max_files + 1;
        while fs::remove_file(rotated(&path, n)).is_ok() {
            n += 1;
        }
        let mem = Mem {
            ring: VecDeque::with_capacity(cfg.ring_lines.min(4096)),
            ring_lines: cfg.ring_lines,
            pending: Vec::new(),
            dropped: 0,
            watched_until: None,
            live: None,
        };
        let disk = Disk { file, size, file_error, max_bytes: cfg.max_bytes, max_files: cfg.max_files };
        SidecarLog { shared: Arc::new(Shared { mem: Mutex::new(mem), disk: Mutex::new(disk), path }), redactor }
    }

    /// Where live lines go while the log is watched, and under which instance name.
    pub fn with_live(self, name: &str, live: LiveLines) -> SidecarLog {
        self.mem().live = Some((name.to_string(), live));
        self
    }

    /// Sends every line pushed during the next `lease` live (a watcher renews the lease while
    /// it looks; when it stops renewing, the lines stop). `Duration::ZERO` ends it now.
    pub fn watch(&self, lease: Duration) {
        self.mem().watched_until = (!lease.is_zero()).then(|| Instant::now() + lease);
    }

    fn mem(&self) -> MutexGuard<'_, Mem> {
        self.shared.mem.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Redacts `line` (trailing newline removed, capped at [`MAX_LINE_BYTES`]), adds it to the
    /// ring and queues `<at> <stream> <line>\n` for the file. No disk I/O here.
    pub fn push(&self, stream: Stream, line: &str) {
        let line = line.trim_end_matches(['\n', '\r']);
        let line = self.redactor.redact(line);
        let line = cap(&line);
        let entry = LogLine { at: now_rfc3339(), stream, line };
        let record = format!("{} {} {}\n", entry.at, stream.as_str(), entry.line);
        let mut mem = self.mem();
        if let (Some(until), Some((name, live))) = (mem.watched_until, &mem.live) {
            if Instant::now() < until {
                let _ = live.send(LiveLine {
                    sidecar: name.clone(),
                    at: entry.at.clone(),
                    stream,
                    line: entry.line.clone(),
                });
            } else {
                mem.watched_until = None;
            }
        }
        if mem.ring_lines > 0 {
            if mem.ring.len() >= mem.ring_lines {
                mem.ring.pop_front();
            }
            mem.ring.push_back(entry);
        }
        let wake = mem.pending.is_empty() && mem.dropped == 0;
        if mem.pending.len() + record.len() > PENDING_CAP {
            mem.dropped += 1;
        } else {
            mem.pending.extend_from_slice(record.as_bytes());
        }
        drop(mem);
        if wake {
            let weak: Weak<dyn crate::writer::Pending> =
                Arc::downgrade(&self.shared) as Weak<dyn crate::writer::Pending>;
            crate::writer::mark(weak);
        }
    }

    /// Holds the file side, as a disk that does not keep up would: pushes queue, the writer
    /// waits. For tests of the pending bound.
    #[cfg(feature = "testing")]
    pub fn pause_writes(&self) -> impl Sized + '_ {
        self.shared.disk()
    }

    /// Writes every queued line to the file now (shutdown, tests, before reading the file).
    pub fn flush(&self) {
        self.shared.write_pending();
    }

    /// The newest `n` lines, oldest first.
    pub fn tail(&self, n: usize) -> Vec<LogLine> {
        let mem = self.mem();
        let skip = mem.ring.len().saturating_sub(n);
        mem.ring.iter().skip(skip).cloned().collect()
    }

    /// The last `n` stderr lines, oldest first (what a crash event quotes).
    pub fn last_stderr(&self, n: usize) -> Vec<String> {
        let mem = self.mem();
        let mut lines: Vec<String> =
            mem.ring.iter().rev().filter(|l| l.stream == Stream::Stderr).take(n).map(|l| l.line.clone()).collect();
        lines.reverse();
        lines
    }

    /// `<dir>/<sanitized name>.log`.
    pub fn path(&self) -> PathBuf {
        self.shared.path.clone()
    }

    /// The files of this log, oldest first (`name.log.<max_files>` … `name.log.1`, `name.log`),
    /// those that exist, with what is queued written first.
    pub fn files(&self) -> Vec<PathBuf> {
        self.flush();
        let max = self.shared.disk().max_files;
        let path = &self.shared.path;
        (1..=max).rev().map(|n| rotated(path, n)).chain(std::iter::once(path.clone())).filter(|p| p.is_file()).collect()
    }

    /// Why the file is not being written, if it is not (or the last write/rotation failed).
    pub fn file_error(&self) -> Option<String> {
        self.shared.disk().file_error.clone()
    }
}

impl Shared {
    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.disk.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves the pending bytes to the file, rotating at line boundaries so no file exceeds
    /// `max_bytes` (unless one line does).
    fn write_pending(&self) {
        let mut disk = self.disk();
        let (mut bytes, dropped) = {
            let mut mem = self.mem.lock().unwrap_or_else(|e| e.into_inner());
            (std::mem::take(&mut mem.pending), std::mem::take(&mut mem.dropped))
        };
        if dropped > 0 {
            let note = format!("{} stderr [log: {dropped} lines dropped: the disk could not keep up]\n", now_rfc3339());
            bytes.extend_from_slice(note.as_bytes());
        }
        if bytes.is_empty() || disk.file.is_none() {
            return;
        }
        let (mut start, mut len) = (0usize, 0usize);
        for line in bytes.split_inclusive(|b| *b == b'\n') {
            if disk.size + (len + line.len()) as u64 > disk.max_bytes && disk.size + len as u64 > 0 {
                self.write_chunk(&mut disk, &bytes[start..start + len]);
                self.rotate(&mut disk);
                start += len;
                len = 0;
            }
            len += line.len();
        }
        self.write_chunk(&mut disk, &bytes[start..start + len]);
    }

    fn write_chunk(&self, disk: &mut Disk, chunk: &[u8]) {
        if chunk.is_empty() {
            return;
        }
        if let Some(file) = disk.file.as_mut() {
            match file.write_all(chunk) {
                Ok(()) => disk.size += chunk.len() as u64,
                Err(e) => {
                    disk.file_error = Some(err_text(&self.path, &e));
                    disk.file = None;
                }
            }
        }
    }

    /// `name.log` → `name.log.1` → ... → `name.log.<max_files>`, the oldest deleted.
    fn rotate(&self, inner: &mut Disk) {
        inner.file = None;
        let path = self.path.as_path();
        let result = (|| -> io::Result<()> {
            if inner.max_files == 0 {
                return fs::remove_file(path);
            }
            match fs::remove_file(rotated(path, inner.max_files)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            for n in (1..inner.max_files).rev() {
                match crate::platform::replace_file(&rotated(path, n), &rotated(path, n + 1)) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            crate::platform::replace_file(path, &rotated(path, 1))
        })();
        if let Err(e) = result {
            inner.file_error = Some(format!("rotating {}", err_text(path, &e)));
        }
        match open_append(path) {
            Ok((file, size)) => {
                inner.file = Some(file);
                inner.size = size;
            }
            Err(e) => inner.file_error = Some(err_text(path, &e)),
        }
    }
}

impl crate::writer::Pending for Shared {
    fn write_pending(&self) {
        Shared::write_pending(self);
    }
}

impl Drop for Shared {
    /// The last handle is gone: what it queued still reaches the file.
    fn drop(&mut self) {
        self.write_pending();
    }
}

fn cap(line: &str) -> String {
    if line.len() <= MAX_LINE_BYTES {
        return line.to_string();
    }
    let mut end = MAX_LINE_BYTES;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{TRUNCATED_MARK}", &line[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_names() {
        assert_eq!(sanitize("api#1 worker"), "api_1_worker");
        assert_eq!(sanitize("../etc/passwd"), ".._etc_passwd");
        assert_eq!(sanitize("db-main_2.x"), "db-main_2.x");
        assert_eq!(sanitize(""), "_");
        assert_eq!(sanitize(".."), "_..");
    }

    #[test]
    fn cap_cuts_at_char_boundary() {
        let long = "é".repeat(MAX_LINE_BYTES);
        let capped = cap(&long);
        assert!(capped.ends_with(TRUNCATED_MARK));
        assert!(capped.len() <= MAX_LINE_BYTES + TRUNCATED_MARK.len());
        assert_eq!(cap("short"), "short");
    }
}
