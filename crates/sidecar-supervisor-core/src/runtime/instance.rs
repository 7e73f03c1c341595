//! One runtime instance per data dir, and cleanup of a dead instance's leftovers.
//!
//! - `instance.lock` is held for the runtime's whole life. A second runtime on the same data dir
//!   is refused (two instances on one database dir corrupt it, and one's cleanup would kill the
//!   other's live sidecars); the OS drops the lock when the holder dies, however it dies.
//! - `instance.json` records this launch (instance id, pid, start time) and each child
//!   (pid, process group, start time). The next launch, once it holds the lock (so the old
//!   instance is certainly dead), kills what is left of the old one: a recorded process only if
//!   its start time still matches (a recycled pid is never killed), plus any process whose
//!   environment carries the dead instance's `SIDECAR_INSTANCE_ID` (grandchildren that left the
//!   group). A live instance's children are never touched: they live under its own data dir and
//!   its lock is held.

use serde::{Deserialize, Serialize};

use crate::layout::DataDirLayout;
pub use crate::platform::InstanceLock;
use crate::platform::{kill_group, kill_process, processes_with_env, start_time};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChildRecord {
    pub name: String,
    pub pid: u32,
    pub pgid: u32,
    /// When the process started ([`crate::platform::start_time`]: clock ticks since boot on
    /// Linux).
    pub start_ticks: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InstanceRecord {
    pub instance_id: String,
    pub pid: u32,
    pub start_ticks: Option<u64>,
    pub started_at: String,
    pub children: Vec<ChildRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error("another runtime instance (pid {pid}) is already running on data dir {dir}; stop it first or use another --data-dir")]
    AlreadyRunning { pid: String, dir: String },
    #[error("cannot use runtime dir {dir}: {source}")]
    Io { dir: String, source: std::io::Error },
}

pub fn acquire_lock(layout: &DataDirLayout) -> Result<InstanceLock, InstanceError> {
    let runtime_dir = &layout.runtime_dir();
    let io = |source| InstanceError::Io { dir: runtime_dir.display().to_string(), source };
    crate::atomic_file::private_dir_all(runtime_dir).map_err(io)?;
    match InstanceLock::try_acquire(&layout.lock_file()).map_err(io)? {
        Some(lock) => Ok(lock),
        None => {
            let pid = read_record(layout).map(|r| r.pid.to_string()).unwrap_or_else(|| "unknown".into());
            Err(InstanceError::AlreadyRunning { pid, dir: layout.root().display().to_string() })
        }
    }
}

pub fn read_record(layout: &DataDirLayout) -> Option<InstanceRecord> {
    let text = std::fs::read_to_string(layout.record_file()).ok()?;
    serde_json::from_str(&text).ok()
}

/// Whether the runtime that recorded itself as `instance_id` on this data dir still runs: its
/// record names it, and its pid is the same process (same start time), not a recycled pid.
pub fn instance_alive(layout: &DataDirLayout, instance_id: &str) -> bool {
    match read_record(layout) {
        Some(r) if r.instance_id == instance_id => {
            r.start_ticks.is_some() && crate::platform::start_time(r.pid) == r.start_ticks
        }
        _ => false,
    }
}

/// A leftover that was killed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Killed {
    pub name: String,
    pub pid: u32,
    pub how: &'static str,
}

/// Kills what a dead instance left behind. Must be called with the lock held.
pub fn kill_leftovers(record: &InstanceRecord) -> Vec<Killed> {
    let mut killed = Vec::new();
    // Belt and braces where flock is a no-op (NFS, some FUSE) or the data dir was copied: a
    // recorded runtime that is still alive (same pid, same start time) is not dead.
    if record.start_ticks.is_some() && start_time(record.pid) == record.start_ticks && record.pid != std::process::id()
    {
        return killed;
    }
    for c in &record.children {
        match (start_time(c.pid), c.start_ticks) {
            (Some(now), Some(then)) if now == then => {
                // Identified by its start time: the group it led, and itself.
                kill_group(c.pgid);
                kill_process(c.pid);
                killed.push(Killed { name: c.name.clone(), pid: c.pid, how: "recorded pid with matching start time" });
            }
            _ => {} // gone, or the pid was recycled by an unrelated process: leave it alone
        }
    }
    for pid in processes_with_env(&format!("SIDECAR_INSTANCE_ID={}", record.instance_id)) {
        if killed.iter().any(|k| k.pid == pid) {
            continue;
        }
        kill_process(pid);
        killed.push(Killed { name: "descendant".into(), pid, how: "environment carries the dead instance's id" });
    }
    killed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_on_same_dir_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let layout = DataDirLayout::new(d.path());
        let _a = acquire_lock(&layout).unwrap();
        let e = acquire_lock(&layout).unwrap_err();
        assert!(e.to_string().contains("already running"), "{e}");
    }

    #[test]
    fn recycled_pid_is_left_alone() {
        // Our own pid with a wrong start time stands for a recycled pid: must not be killed.
        let rec = InstanceRecord {
            instance_id: "no-such-instance-id-for-test".into(),
            pid: 1,
            start_ticks: None,
            started_at: String::new(),
            children: vec![ChildRecord {
                name: "x".into(),
                pid: std::process::id(),
                pgid: std::process::id(),
                start_ticks: Some(start_time(std::process::id()).unwrap() + 12345),
            }],
        };
        assert!(kill_leftovers(&rec).is_empty());
    }
}
