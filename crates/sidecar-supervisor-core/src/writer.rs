//! One background writer for everything the runtime writes as it goes: the event feed,
//! `status.json` and `instance.json` ([`LatestFiles`]), and the sidecar logs.
//!
//! The engine's thread never touches the disk (a restart must not wait for an fsync), so each
//! of these keeps what it has to write in memory and marks itself dirty ([`mark`]). One thread
//! wakes at the first mark, lets the burst gather for [`DEBOUNCE`] (a crash brings several
//! events and lines within a millisecond, while the new process is starting), then writes
//! every dirty source. A source's `flush` writes synchronously in the caller instead, for the
//! shutdown, tests and readers of a file; each source serialises its own writes, so a flush
//! racing the thread leaves everything queued before it on disk when it returns.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

/// How long the writer lets changes gather before writing them.
pub const DEBOUNCE: Duration = Duration::from_millis(20);

/// Something with bytes waiting for the disk.
pub trait Pending: Send + Sync {
    /// Writes what is waiting, if anything (a no-op when nothing is).
    fn write_pending(&self);
}

struct Writer {
    dirty: Mutex<Vec<Weak<dyn Pending>>>,
    work: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn writer() -> &'static Writer {
    static WRITER: OnceLock<&'static Writer> = OnceLock::new();
    WRITER.get_or_init(|| {
        let w: &'static Writer = Box::leak(Box::new(Writer { dirty: Mutex::new(Vec::new()), work: Condvar::new() }));
        let spawned = std::thread::Builder::new().name("runtime-writer".into()).spawn(move || w.run());
        if let Err(e) = spawned {
            tracing::warn!("cannot start the writer thread ({e}); files are written on flush only");
        }
        w
    })
}

/// `source` has something to write: the writer writes it within [`DEBOUNCE`].
pub fn mark(source: Weak<dyn Pending>) {
    let w = writer();
    lock(&w.dirty).push(source);
    w.work.notify_one();
}

impl Writer {
    fn run(&self) {
        loop {
            let mut dirty = lock(&self.dirty);
            while dirty.is_empty() {
                dirty = self.work.wait(dirty).unwrap_or_else(|e| e.into_inner());
            }
            drop(dirty);
            std::thread::sleep(DEBOUNCE); // let a burst gather; marks only queue meanwhile
            let sources = std::mem::take(&mut *lock(&self.dirty));
            for s in sources.iter().filter_map(Weak::upgrade) {
                s.write_pending();
            }
        }
    }
}

/// Small files of which only the latest version matters (status.json, instance.json), each
/// replaced atomically.
#[derive(Clone)]
pub struct LatestFiles {
    shared: Arc<Files>,
}

struct Files {
    pending: Mutex<HashMap<PathBuf, Vec<u8>>>,
    /// Held while writing, so writes of the thread and of a flush never interleave.
    disk: Mutex<()>,
}

impl Pending for Files {
    fn write_pending(&self) {
        let _disk = lock(&self.disk);
        let batch = std::mem::take(&mut *lock(&self.pending));
        for (path, bytes) in batch {
            if let Err(e) = crate::atomic_file::write_atomic(&path, &bytes) {
                tracing::warn!("cannot write {}: {e}", path.display());
            }
        }
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        self.write_pending();
    }
}

impl Default for LatestFiles {
    fn default() -> Self {
        LatestFiles { shared: Arc::new(Files { pending: Mutex::new(HashMap::new()), disk: Mutex::new(()) }) }
    }
}

impl LatestFiles {
    /// `path` is to hold `bytes` (replacing what an earlier call queued for it).
    pub fn write(&self, path: PathBuf, bytes: Vec<u8>) {
        let was_clean = {
            let mut p = lock(&self.shared.pending);
            let clean = p.is_empty();
            p.insert(path, bytes);
            clean
        };
        if was_clean {
            let weak: Weak<dyn Pending> = Arc::downgrade(&self.shared) as Weak<dyn Pending>;
            mark(weak);
        }
    }

    /// Blocks until everything written before is on disk.
    pub fn flush(&self) {
        self.shared.write_pending();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_version_wins_and_flush_writes_at_once() {
        let tmp = tempfile::tempdir().unwrap();
        let files = LatestFiles::default();
        let path = tmp.path().join("runtime/status.json");
        files.write(path.clone(), b"1".to_vec());
        files.write(path.clone(), b"2".to_vec());
        files.flush();
        assert_eq!(std::fs::read(&path).unwrap(), b"2");
    }

    #[test]
    fn the_thread_writes_without_a_flush() {
        let tmp = tempfile::tempdir().unwrap();
        let files = LatestFiles::default();
        let path = tmp.path().join("a.json");
        files.write(path.clone(), b"x".to_vec());
        // Wait for the file to appear (the writer's debounce is 20 ms).
        crate::testing::wait_in_dir(tmp.path(), "a.json", Duration::from_secs(10), || path.exists().then_some(()));
        assert_eq!(std::fs::read(&path).unwrap(), b"x");
    }
}
