//! Where the runtime keeps its files under a data dir: one definition, used by the engine, the
//! headless runner's `status`/`events` commands, the plugin's exports and the tests.
//!
//! ```text
//! <data_dir>/runtime/instance.lock        held while a runtime runs on this data dir
//! <data_dir>/runtime/instance.json        this launch and its children (leftover cleanup)
//! <data_dir>/runtime/status.json          the current status (headless runner)
//! <data_dir>/runtime/runtime-events.json  the persisted event feed
//! <data_dir>/runtime/control.sock         the control endpoint (`desktop-runtime ctl`; a named
//!                                         pipe named after this path on Windows)
//! <data_dir>/logs/<sidecar>.log           size-rotated sidecar output
//! <data_dir>/<sidecar>/                   each sidecar's own files (its default cwd)
//! <data_dir>/exports/                     event exports made from the UI
//! ```

use std::path::{Path, PathBuf};

/// File name of the event feed inside [`DataDirLayout::runtime_dir`].
pub const FEED_FILE_NAME: &str = "runtime-events.json";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDirLayout {
    root: PathBuf,
}

impl DataDirLayout {
    pub fn new(data_dir: impl Into<PathBuf>) -> DataDirLayout {
        DataDirLayout { root: data_dir.into() }
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// The runtime's own files: lock, instance record, status, feed.
    pub fn runtime_dir(&self) -> PathBuf {
        self.root.join("runtime")
    }
    pub fn lock_file(&self) -> PathBuf {
        self.runtime_dir().join("instance.lock")
    }
    pub fn record_file(&self) -> PathBuf {
        self.runtime_dir().join("instance.json")
    }
    pub fn status_file(&self) -> PathBuf {
        self.runtime_dir().join("status.json")
    }
    pub fn feed_file(&self) -> PathBuf {
        self.runtime_dir().join(FEED_FILE_NAME)
    }
    /// Where the control endpoint listens (a Unix socket; Windows names its pipe after it).
    pub fn control_endpoint(&self) -> PathBuf {
        self.runtime_dir().join("control.sock")
    }
    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }
    /// A sidecar's own directory (`SIDECAR_DATA_DIR`, its default cwd).
    pub fn sidecar_dir(&self, sidecar: &str) -> PathBuf {
        self.root.join(sidecar)
    }
    /// Backups made without a destination (`ctl backup`).
    pub fn backups_dir(&self) -> PathBuf {
        self.root.join("backups")
    }
    pub fn exports_dir(&self) -> PathBuf {
        self.root.join("exports")
    }
}
