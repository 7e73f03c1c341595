//! CPU time and memory of process trees on macOS: the group's pids from libproc
//! (`proc_listpgrppids`) plus every descendant of the leader (`proc_listchildpids`: programs
//! that give children sessions of their own, as PostgreSQL does, are counted whole), each one's
//! times and resident size from `PROC_PIDTASKINFO`. Task
//! times are in Mach absolute time units, converted with the timebase (1:1 on Intel, not on
//! Apple silicon).

use std::time::Duration;

use crate::platform::GroupUsage;

/// Usage of the groups led by `leaders`, in the same order (`None`: no live process in it).
pub fn group_usage(leaders: &[u32]) -> Vec<Option<GroupUsage>> {
    let (numer, denom) = timebase();
    leaders
        .iter()
        .map(|&leader| {
            let mut u = GroupUsage::default();
            for pid in tree_pids(leader) {
                if let Some(t) = task_info(pid) {
                    let ticks = t.pti_total_user + t.pti_total_system;
                    u.cpu += Duration::from_nanos((ticks as u128 * numer as u128 / denom.max(1) as u128) as u64);
                    u.rss_bytes += t.pti_resident_size;
                    u.processes += 1;
                }
            }
            (u.processes > 0).then_some(u)
        })
        .collect()
}

#[allow(deprecated)] // libc points at the mach2 crate; this one call does not need it
fn timebase() -> (u32, u32) {
    let mut info = libc::mach_timebase_info { numer: 1, denom: 1 };
    // SAFETY: fills the struct we own.
    if unsafe { libc::mach_timebase_info(&mut info) } != 0 {
        return (1, 1);
    }
    (info.numer, info.denom)
}

/// The group led by `leader` and every descendant of its members.
fn tree_pids(leader: u32) -> Vec<u32> {
    let mut tree: std::collections::BTreeSet<u32> = list(|buf, bytes| {
        // SAFETY: the buffer holds `bytes` bytes; the call returns how many pids it wrote.
        unsafe { libc::proc_listpgrppids(leader as libc::pid_t, buf, bytes) }
    })
    .into_iter()
    .collect();
    tree.insert(leader);
    let mut todo: Vec<u32> = tree.iter().copied().collect();
    while let Some(pid) = todo.pop() {
        // SAFETY: as above.
        for c in list(|buf, bytes| unsafe { libc::proc_listchildpids(pid as libc::pid_t, buf, bytes) }) {
            if tree.insert(c) {
                todo.push(c);
            }
        }
    }
    tree.into_iter().collect()
}

fn list(call: impl Fn(*mut libc::c_void, libc::c_int) -> libc::c_int) -> Vec<u32> {
    let mut pids = vec![0 as libc::pid_t; 1024];
    let bytes = (pids.len() * std::mem::size_of::<libc::pid_t>()) as libc::c_int;
    let n = call(pids.as_mut_ptr().cast(), bytes);
    pids.truncate(n.clamp(0, 1024) as usize);
    pids.into_iter().filter(|p| *p > 0).map(|p| p as u32).collect()
}

fn task_info(pid: u32) -> Option<libc::proc_taskinfo> {
    super::proc::pid_info(pid, libc::PROC_PIDTASKINFO)
}
