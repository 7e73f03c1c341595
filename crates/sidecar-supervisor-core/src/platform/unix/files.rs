//! Files only the runtime's user may read: its directories are 0700 and its files 0600 (status,
//! feed, logs and sidecar dirs may name sidecars, ports and errors), and what counts as an
//! executable.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` and any missing parents with mode 0700. An existing directory keeps its mode.
pub fn private_dir_all(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Creates a new file (it must not exist) that only its owner can read, for writing.
pub fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

/// Opens a file for appending, creating it (0600) if needed.
pub fn open_append_private(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).mode(0o600).open(path)
}

/// Opens (creating, 0600) a file to hold a lock in.
pub fn open_lock_file(path: &Path) -> io::Result<File> {
    OpenOptions::new().mode(0o600).create(true).truncate(false).read(true).write(true).open(path)
}

/// Renames `from` over `to`: atomic within a directory, whoever has `to` open.
pub fn replace_file(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::rename(from, to)
}

/// The uid that owns `p`.
pub fn owner_of(p: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).ok().map(|m| m.uid())
}

/// A regular file some execute bit is set on.
pub fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}
