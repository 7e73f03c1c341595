//! CPU time and memory of a sidecar's job: the job's own accounting for CPU (every process that
//! ever ran in it, so a child that ended keeps its share) and the working set of each process
//! alive in it.

use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};

use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::ProcessStatus::{K32GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS};
use windows_sys::Win32::System::Threading::{OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION};

use super::jobs::job_usage;
use crate::platform::GroupUsage;

/// Usage of the trees started as `leaders`, in the same order (`None`: no job or nothing alive).
pub fn group_usage(leaders: &[u32]) -> Vec<Option<GroupUsage>> {
    leaders
        .iter()
        .map(|&leader| {
            let (cpu, active, pids) = job_usage(leader)?;
            if active == 0 {
                return None;
            }
            let rss_bytes = pids.iter().filter_map(|p| working_set(*p)).sum();
            Some(GroupUsage { cpu, rss_bytes, processes: active })
        })
        .collect()
}

fn working_set(pid: u32) -> Option<u64> {
    // SAFETY: a handle we own at once; a zeroed counters struct with its size set.
    unsafe {
        let h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
        if h.is_null() {
            return None;
        }
        let h = OwnedHandle::from_raw_handle(h);
        let mut c: PROCESS_MEMORY_COUNTERS = std::mem::zeroed();
        c.cb = std::mem::size_of::<PROCESS_MEMORY_COUNTERS>() as u32;
        (K32GetProcessMemoryInfo(h.as_raw_handle() as HANDLE, &mut c, c.cb) != 0).then_some(c.WorkingSetSize as u64)
    }
}
