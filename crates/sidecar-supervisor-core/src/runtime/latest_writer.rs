//! Writes "the latest version" of small files (status.json, instance.json) off the engine
//! thread: the engine never waits on fsync (a restart must not wait for the disk), bursts are
//! coalesced, and every write is atomic.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc;

enum Job {
    Write(PathBuf, Vec<u8>),
    Flush(mpsc::Sender<()>),
}

fn take(job: Job, pending: &mut HashMap<PathBuf, Vec<u8>>, flushes: &mut Vec<mpsc::Sender<()>>) {
    match job {
        Job::Write(p, b) => {
            pending.insert(p, b);
        }
        Job::Flush(done) => flushes.push(done),
    }
}

pub struct LatestWriter {
    tx: mpsc::Sender<Job>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LatestWriter {
    pub fn start() -> std::io::Result<LatestWriter> {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new().name("runtime-writer".into()).spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut pending: HashMap<PathBuf, Vec<u8>> = HashMap::new();
                let mut flushes = Vec::new();
                take(first, &mut pending, &mut flushes);
                // Debounce (see the feed writer): let a burst of changes gather, unless someone
                // waits for a flush.
                let deadline = std::time::Instant::now() + std::time::Duration::from_millis(20);
                while flushes.is_empty() {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    match rx.recv_timeout(left) {
                        Ok(job) => take(job, &mut pending, &mut flushes),
                        Err(_) => break,
                    }
                }
                while let Ok(job) = rx.try_recv() {
                    take(job, &mut pending, &mut flushes);
                }
                for (path, bytes) in pending {
                    if let Err(e) = crate::atomic_file::write_atomic(&path, &bytes) {
                        tracing::warn!("cannot write {}: {e}", path.display());
                    }
                }
                for f in flushes {
                    let _ = f.send(());
                }
            }
        })?;
        Ok(LatestWriter { tx, thread: Some(thread) })
    }

    pub fn write(&self, path: PathBuf, bytes: Vec<u8>) {
        let _ = self.tx.send(Job::Write(path, bytes));
    }

    /// Blocks until everything sent before is on disk.
    pub fn flush(&self) {
        let (tx, rx) = mpsc::channel();
        if self.tx.send(Job::Flush(tx)).is_ok() {
            let _ = rx.recv();
        }
    }
}

impl Drop for LatestWriter {
    fn drop(&mut self) {
        self.flush();
        let (dead, _) = mpsc::channel();
        self.tx = dead;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
