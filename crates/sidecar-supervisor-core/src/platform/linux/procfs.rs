//! Process identity from `/proc`: when a process started (so a recorded pid that was recycled
//! by an unrelated process is never taken for ours), and which processes carry an environment
//! entry (the grandchildren of a dead runtime that left their process group), and what a pid
//! is (a stale `postmaster.pid` is judged by it).

/// Start time of `pid` in clock ticks since boot (`/proc/<pid>/stat` field 22), if it exists
/// and is not a zombie.
pub fn start_time(pid: u32) -> Option<u64> {
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

/// Live processes (not this one) whose environment contains exactly `entry` (`NAME=value`).
pub fn processes_with_env(entry: &str) -> Vec<u32> {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me || start_time(pid).is_none() {
            continue;
        }
        if let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) {
            if env.split(|b| *b == 0).any(|kv| kv == entry.as_bytes()) {
                out.push(pid);
            }
        }
    }
    out
}

/// What this user may see of `pid`: its program's name (the executable's file name, else the
/// kernel's `comm` for another user's process), its working directory and its owner.
pub fn look(pid: u32) -> crate::platform::Look {
    use std::os::unix::fs::MetadataExt;
    if start_time(pid).is_none() {
        return crate::platform::Look::Gone;
    }
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    let name = match exe.as_ref().and_then(|e| e.file_name()) {
        Some(n) => n.to_string_lossy().trim_end_matches(" (deleted)").to_string(),
        None => std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim().to_string(),
    };
    crate::platform::Look::Seen {
        name,
        cwd: std::fs::read_link(format!("/proc/{pid}/cwd")).ok(),
        uid: std::fs::metadata(format!("/proc/{pid}")).ok().map(|m| m.uid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_start_time_is_readable_and_a_missing_pid_has_none() {
        assert!(start_time(std::process::id()).is_some());
        assert!(start_time(u32::MAX - 1).is_none());
    }

    #[test]
    fn a_process_is_seen_with_its_program_and_directory() {
        let crate::platform::Look::Seen { name, cwd, uid } = look(std::process::id()) else { panic!("gone") };
        assert_eq!(Some(name.as_str()), std::env::current_exe().unwrap().file_name().and_then(|n| n.to_str()));
        assert_eq!(cwd, Some(std::env::current_dir().unwrap()));
        assert_eq!(uid, Some(unsafe { libc::geteuid() }));
        assert_eq!(look(u32::MAX - 1), crate::platform::Look::Gone);
    }
}
