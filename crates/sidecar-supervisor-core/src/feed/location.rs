//! Where the feed file goes, and what happens to a corrupt one.
//!
//! Kept apart from the writer machinery because it is all start-up file-system policy: pick a
//! writable place (primary, then fallback) and set a corrupt file aside without losing a byte.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use super::{FeedConfig, FeedError};
use crate::atomic_file::write_atomic;

/// The primary path if its directory can be created and written, else the fallback with the
/// sentence saying why (shown as a warning in the status).
pub(super) fn choose_location(cfg: &FeedConfig) -> Result<(PathBuf, Option<String>), FeedError> {
    let reason = match probe(&cfg.path) {
        Ok(()) => return Ok((cfg.path.clone(), None)),
        Err(e) => e.to_string(),
    };
    let fallback = match &cfg.fallback_path {
        None => "no fallback location is configured".to_string(),
        Some(fb) => match probe(fb) {
            Ok(()) => {
                let why = format!(
                    "the event feed is kept in {} because {} is not writable ({reason})",
                    fb.display(),
                    cfg.path.display()
                );
                tracing::warn!("{why}");
                return Ok((fb.clone(), Some(why)));
            }
            Err(e) => format!("the fallback {} is not writable either ({e})", fb.display()),
        },
    };
    Err(FeedError::NotWritable { path: cfg.path.clone(), reason, fallback })
}

fn probe(path: &Path) -> io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    crate::atomic_file::private_dir_all(dir)?;
    let probe = dir.join(format!(".feed-probe-{}", std::process::id()));
    OpenOptions::new().write(true).create(true).truncate(true).open(&probe)?;
    fs::remove_file(&probe)
}

/// Moves a corrupt feed to `<stem>.corrupt-<UTC stamp>[-n].<ext>` beside it. If renaming fails
/// the bytes are copied there instead, so they survive the fresh feed overwriting `path`.
pub(super) fn set_aside(path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let stem = path.file_stem().map_or("runtime-events".into(), |s| s.to_string_lossy());
    let ext = path.extension().map_or("json".into(), |s| s.to_string_lossy());
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let dir = path.parent().unwrap_or(Path::new("."));
    let aside = (0..)
        .map(|n| {
            let suffix = if n == 0 { String::new() } else { format!("-{n}") };
            dir.join(format!("{stem}.corrupt-{stamp}{suffix}.{ext}"))
        })
        .find(|p| !p.exists())
        .expect("an unused name exists");
    match fs::rename(path, &aside) {
        Ok(()) => Ok(aside),
        Err(_) => write_atomic(&aside, bytes).map(|()| aside),
    }
}
