//! One runtime instance per data dir, and cleanup of a dead instance's leftovers.
//!
//! - `instance.lock` is held with `flock` for the runtime's whole life. A second runtime on the
//!   same data dir is refused (two instances on one database dir corrupt it, field notes trap
//!   5); the kernel drops the lock when the holder dies, however it dies.
//! - `instance.json` records this launch (instance id, pid, start time) and each child
//!   (pid, process group, start time). The next launch, once it holds the lock (so the old
//!   instance is certainly dead), kills what is left of the old one: a recorded process only if
//!   its start time still matches (a recycled pid is never killed), plus any process whose
//!   environment carries the dead instance's `SIDECAR_INSTANCE_ID` (grandchildren that left the
//!   group). A live instance's children are never touched: they live under its own data dir and
//!   its lock is held.

use std::fs::File;

use crate::layout::DataDirLayout;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChildRecord {
    pub name: String,
    pub pid: u32,
    pub pgid: u32,
    /// Start time in clock ticks since boot (`/proc/<pid>/stat` field 22).
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

/// Held for the runtime's life; released by the kernel when the process ends.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
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
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .mode(0o600)
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(layout.lock_file())
        .map_err(io)?;
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a valid fd we own.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            let pid = read_record(layout).map(|r| r.pid.to_string()).unwrap_or_else(|| "unknown".into());
            return Err(InstanceError::AlreadyRunning { pid, dir: layout.root().display().to_string() });
        }
        return Err(io(e));
    }
    Ok(InstanceLock { _file: file })
}

pub fn read_record(layout: &DataDirLayout) -> Option<InstanceRecord> {
    let text = std::fs::read_to_string(layout.record_file()).ok()?;
    serde_json::from_str(&text).ok()
}

/// Start time of `pid` in clock ticks since boot, if it exists (Linux).
pub fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which is in parentheses and may contain spaces).
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state); starttime is field 22.
    if fields.first() == Some(&"Z") {
        return None; // a zombie is already dead
    }
    fields.get(19)?.parse().ok()
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
    if record.start_ticks.is_some() && start_ticks(record.pid) == record.start_ticks && record.pid != std::process::id()
    {
        return killed;
    }
    for c in &record.children {
        match (start_ticks(c.pid), c.start_ticks) {
            (Some(now), Some(then)) if now == then => {
                // SAFETY: signalling a process group / process we identified by start time.
                unsafe {
                    libc::kill(-(c.pgid as i32), libc::SIGKILL);
                    libc::kill(c.pid as i32, libc::SIGKILL);
                }
                killed.push(Killed { name: c.name.clone(), pid: c.pid, how: "recorded pid with matching start time" });
            }
            _ => {} // gone, or the pid was recycled by an unrelated process: leave it alone
        }
    }
    for pid in processes_with_instance_id(&record.instance_id) {
        if killed.iter().any(|k| k.pid == pid) {
            continue;
        }
        unsafe {
            libc::kill(pid as i32, libc::SIGKILL);
        }
        killed.push(Killed { name: "descendant".into(), pid, how: "environment carries the dead instance's id" });
    }
    killed
}

/// Processes whose environment has `SIDECAR_INSTANCE_ID=<id>` (Linux; empty elsewhere).
pub fn processes_with_instance_id(id: &str) -> Vec<u32> {
    let needle = format!("SIDECAR_INSTANCE_ID={id}");
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me || start_ticks(pid).is_none() {
            continue;
        }
        if let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) {
            if env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()) {
                out.push(pid);
            }
        }
    }
    out
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
    fn own_start_ticks_are_readable() {
        assert!(start_ticks(std::process::id()).is_some());
        assert!(start_ticks(u32::MAX - 1).is_none());
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
                start_ticks: Some(start_ticks(std::process::id()).unwrap() + 12345),
            }],
        };
        assert!(kill_leftovers(&rec).is_empty());
    }
}
