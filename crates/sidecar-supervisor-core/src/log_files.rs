//! A sidecar's whole rotated log read back as one byte stream, oldest first.
//!
//! Why a snapshot of open files: rotation renames `name.log` → `name.log.1` while a reader may
//! be halfway through. Every file is opened first and read through its open handle up to the
//! size it had then, so a rotation during the read neither repeats nor loses bytes of the
//! snapshot (handles survive renames on Unix; Rust opens files with delete sharing on Windows,
//! so the rename is not blocked either). What is written after the snapshot is not in it.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The files of one log, opened, with the size each had when opened.
pub struct LogSnapshot {
    parts: Vec<(PathBuf, File, u64)>,
}

impl LogSnapshot {
    /// Opens `paths` (oldest first). A file that vanished since it was listed (rotated away) is
    /// skipped; any other error names the file.
    pub fn open(paths: &[PathBuf]) -> io::Result<LogSnapshot> {
        let mut parts = Vec::with_capacity(paths.len());
        for p in paths {
            match File::open(p) {
                Ok(f) => {
                    let len = f.metadata()?.len();
                    parts.push((p.clone(), f, len));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", p.display()))),
            }
        }
        Ok(LogSnapshot { parts })
    }

    /// Bytes in the snapshot.
    pub fn len(&self) -> u64 {
        self.parts.iter().map(|(_, _, n)| n).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The files it covers, oldest first.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.parts.iter().map(|(p, _, _)| p.as_path())
    }

    /// Writes the whole snapshot to `out`; returns the bytes written.
    pub fn copy_to(&mut self, out: &mut impl Write) -> io::Result<u64> {
        let mut total = 0;
        for (path, file, len) in &mut self.parts {
            file.seek(SeekFrom::Start(0))?;
            let n = io::copy(&mut (&*file).take(*len), out)
                .map_err(|e| io::Error::new(e.kind(), format!("reading {}: {e}", path.display())))?;
            total += n;
        }
        Ok(total)
    }

    /// The whole snapshot in memory.
    pub fn read_all(&mut self) -> io::Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(self.len() as usize);
        self.copy_to(&mut buf)?;
        Ok(buf)
    }
}

/// Copies the snapshot to `dest` (in a directory that exists) through a temporary sibling
/// renamed into place (`atomic_file::replace_with`), so a failed export leaves no
/// half-written file under the chosen name. Returns the bytes.
pub fn export_to(snapshot: &mut LogSnapshot, dest: &Path) -> io::Result<u64> {
    let mut n = 0;
    crate::atomic_file::replace_with(dest, |f| {
        let mut out = io::BufWriter::with_capacity(1 << 20, f);
        n = snapshot.copy_to(&mut out)?;
        out.flush()
    })?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_oldest_first_and_keeps_the_snapshot_across_a_rename() {
        let dir = tempfile::tempdir().unwrap();
        let (old, cur) = (dir.path().join("a.log.1"), dir.path().join("a.log"));
        std::fs::write(&old, "one\n").unwrap();
        std::fs::write(&cur, "two\n").unwrap();
        let mut snap = LogSnapshot::open(&[old.clone(), cur.clone(), dir.path().join("gone")]).unwrap();
        assert_eq!(snap.len(), 8);
        // A rotation as the log does it (`.1` → `.2`, current → `.1`, a new current) and new
        // output, after the snapshot: not in it, nothing repeated. Windows too lets files open
        // for reading be renamed.
        std::fs::rename(&old, dir.path().join("a.log.2")).unwrap();
        std::fs::rename(&cur, &old).unwrap();
        std::fs::write(&cur, "three\n").unwrap();
        assert_eq!(snap.read_all().unwrap(), b"one\ntwo\n");
        let out = dir.path().join("export.log");
        assert_eq!(export_to(&mut snap, &out).unwrap(), 8);
        assert_eq!(std::fs::read(&out).unwrap(), b"one\ntwo\n");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert!(!left.iter().any(|n| n.to_string_lossy().contains(".tmp")), "{left:?}");
    }

    #[test]
    fn an_export_into_a_missing_dir_names_it_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        std::fs::write(&p, "x\n").unwrap();
        let mut snap = LogSnapshot::open(&[p]).unwrap();
        let e = export_to(&mut snap, &dir.path().join("no/such/dir/out.log")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
    }
}
