//! Whole-file replacement that readers can never observe half-done.
//!
//! The event feed is rewritten while other processes (the headless runner's `events` command, a
//! UI) may read it at any moment, and the runner may be killed mid-write. Writing in place would
//! let either of them see a truncated or interleaved file. Instead we write a sibling temp file,
//! fsync it, and `rename` it over the target: on POSIX filesystems a rename within a directory is
//! atomic, so a reader opens either the old complete file or the new complete file. The final
//! directory fsync makes the rename itself survive a power loss. Windows may refuse the rename
//! for a moment while another program holds the file open; `platform::replace_file` waits that
//! out, and a write that still fails leaves the old file and no temp file.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes temp files of concurrent writers within one process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

pub use crate::platform::private_dir_all;

/// Atomically replaces `path` with `bytes`, as a file only its owner can read.
///
/// Creates the parent directories, then replaces the file atomically (`replace_with`): readers never see a torn file and a
/// crash leaves either the old or the new content. On error the temp file is removed and `path`
/// is untouched (the error message names `path`).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    private_dir_all(&parent_of(path))
        .map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", path.display())))?;
    replace_with(path, |f| f.write_all(bytes))
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Atomically replaces `path` (in a directory that must exist) with what `write` puts in a new
/// file only its owner can read: `.<name>.tmp-<pid>-<counter>` beside it, fsynced, renamed over
/// `path`, the directory fsynced. On error the temp file is removed and `path` is untouched (the
/// error message names `path`). For writers that stream (an export, a zip) as for whole buffers.
pub fn replace_with(path: &Path, write: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("{}: not a file path", path.display())))?;
    let dir = parent_of(path);
    let context = |e: io::Error| io::Error::new(e.kind(), format!("writing {}: {e}", path.display()));

    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let tmp = dir.join(tmp_name);

    let result = (|| {
        let mut file = crate::platform::create_private(&tmp)?;
        write(&mut file)?;
        file.sync_all()?;
        drop(file);
        crate::platform::replace_file(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(context(e));
    }
    sync_dir(&dir).map_err(context)
}

/// Makes the rename durable. Some filesystems refuse fsync on a directory; the rename is still
/// atomic there, so those refusals are not errors.
fn sync_dir(dir: &Path) -> io::Result<()> {
    match File::open(dir).and_then(|d| d.sync_all()) {
        Ok(()) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported | io::ErrorKind::PermissionDenied
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn creates_parent_dirs_and_writes() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a/b/c.json");
        write_atomic(&path, b"[1]").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"[1]");
        assert_eq!(entries(&tmp.path().join("a/b")), vec!["c.json"]);
    }

    #[test]
    fn replaces_existing_content_without_leftovers() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f.json");
        write_atomic(&path, b"a much longer first content").unwrap();
        write_atomic(&path, b"short").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"short");
        assert_eq!(entries(tmp.path()), vec!["f.json"]);
    }

    #[test]
    fn error_leaves_no_temp_file() {
        let tmp = tempfile::tempdir().unwrap();
        // Renaming a file over a non-empty directory fails.
        let path = tmp.path().join("target");
        fs::create_dir_all(path.join("inside")).unwrap();
        let err = write_atomic(&path, b"x").unwrap_err();
        assert!(err.to_string().contains("target"), "{err}");
        assert_eq!(entries(tmp.path()), vec!["target"]);
    }

    #[test]
    fn parent_that_is_a_file_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("file.txt"), b"x").unwrap();
        assert!(write_atomic(&tmp.path().join("file.txt/sub/f.json"), b"x").is_err());
    }
}
