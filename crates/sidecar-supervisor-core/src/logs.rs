//! Per-sidecar output capture: an in-memory ring plus a size-rotated file.
//!
//! Why both: the ring answers "what did it just print?" instantly (the UI's log tail, the last
//! stderr lines quoted in a crash event) without reading files, while the file keeps a longer
//! history for diagnostics. The file is rotated by size (`name.log` → `name.log.1` → ...) so a
//! chatty sidecar cannot fill the disk, and each line is capped so one huge line cannot either.
//! Every line is redacted before it is kept anywhere. A file that cannot be opened does not stop
//! capture: the ring keeps working and [`SidecarLog::file_error`] says why the file is missing.
//!
//! Lines are appended with one unbuffered `write` each (no fsync): cheap, and nothing is held
//! back in a buffer if the runner dies.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::events::now_rfc3339;
use crate::redact::Redactor;

/// Default size at which `name.log` is rotated.
pub const DEFAULT_MAX_BYTES: u64 = 5 * 1024 * 1024;
/// Default number of rotated files kept (`name.log.1` ... `name.log.3`).
pub const DEFAULT_MAX_FILES: usize = 3;
/// Default number of lines kept in memory.
pub const DEFAULT_RING_LINES: usize = 500;
/// Longer lines are cut (at a char boundary) and marked, in the ring and in the file.
pub const MAX_LINE_BYTES: usize = 16 * 1024;
const TRUNCATED_MARK: &str = " [truncated]";

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
pub struct LogLine {
    /// RFC 3339 UTC with milliseconds.
    pub at: String,
    pub stream: Stream,
    pub line: String,
}

struct Inner {
    ring: VecDeque<LogLine>,
    ring_lines: usize,
    file: Option<File>,
    size: u64,
    file_error: Option<String>,
    max_bytes: u64,
    max_files: usize,
}

/// A sidecar's log. Cheap to clone; clones share the ring and the file.
#[derive(Clone)]
pub struct SidecarLog {
    inner: Arc<Mutex<Inner>>,
    path: Arc<PathBuf>,
    redactor: Redactor,
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
        fs::create_dir_all(dir)?;
    }
    let file = OpenOptions::new().create(true).append(true).open(path)?;
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
        SidecarLog {
            inner: Arc::new(Mutex::new(Inner {
                ring: VecDeque::with_capacity(cfg.ring_lines.min(4096)),
                ring_lines: cfg.ring_lines,
                file,
                size,
                file_error,
                max_bytes: cfg.max_bytes,
                max_files: cfg.max_files,
            })),
            path: Arc::new(path),
            redactor,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Redacts `line` (trailing newline removed, capped at [`MAX_LINE_BYTES`]), adds it to the
    /// ring and appends `<at> <stream> <line>\n` to the file, rotating first if the file would
    /// exceed `max_bytes`.
    pub fn push(&self, stream: Stream, line: &str) {
        let line = line.trim_end_matches(['\n', '\r']);
        let line = self.redactor.redact(line);
        let line = cap(&line);
        let entry = LogLine { at: now_rfc3339(), stream, line };
        let record = format!("{} {} {}\n", entry.at, stream.as_str(), entry.line);
        let mut inner = self.lock();
        if inner.ring_lines > 0 {
            if inner.ring.len() >= inner.ring_lines {
                inner.ring.pop_front();
            }
            inner.ring.push_back(entry);
        }
        if inner.file.is_some() {
            if inner.size > 0 && inner.size + record.len() as u64 > inner.max_bytes {
                self.rotate(&mut inner);
            }
            if let Some(file) = inner.file.as_mut() {
                match file.write_all(record.as_bytes()) {
                    Ok(()) => inner.size += record.len() as u64,
                    Err(e) => {
                        inner.file_error = Some(err_text(&self.path, &e));
                        inner.file = None;
                    }
                }
            }
        }
    }

    /// `name.log` → `name.log.1` → ... → `name.log.<max_files>`, the oldest deleted.
    fn rotate(&self, inner: &mut Inner) {
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
                match fs::rename(rotated(path, n), rotated(path, n + 1)) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            fs::rename(path, rotated(path, 1))
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

    /// The newest `n` lines, oldest first.
    pub fn tail(&self, n: usize) -> Vec<LogLine> {
        let inner = self.lock();
        let skip = inner.ring.len().saturating_sub(n);
        inner.ring.iter().skip(skip).cloned().collect()
    }

    /// The last `n` stderr lines, oldest first (what a crash event quotes).
    pub fn last_stderr(&self, n: usize) -> Vec<String> {
        let inner = self.lock();
        let mut lines: Vec<String> =
            inner.ring.iter().rev().filter(|l| l.stream == Stream::Stderr).take(n).map(|l| l.line.clone()).collect();
        lines.reverse();
        lines
    }

    /// `<dir>/<sanitized name>.log`.
    pub fn path(&self) -> PathBuf {
        self.path.as_ref().clone()
    }

    /// Why the file is not being written, if it is not (or the last write/rotation failed).
    pub fn file_error(&self) -> Option<String> {
        self.lock().file_error.clone()
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
