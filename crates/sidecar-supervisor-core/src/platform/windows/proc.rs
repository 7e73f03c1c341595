//! Process identity on Windows: a process's creation time (so a recycled pid is never taken
//! for ours). Finding a dead runtime's grandchildren by environment is not needed here: the
//! kill-on-close job of each sidecar took its whole tree down with the runtime.

use windows_sys::Win32::Foundation::{CloseHandle, FILETIME, STILL_ACTIVE};
use windows_sys::Win32::System::Threading::{
    GetExitCodeProcess, GetProcessTimes, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
};

/// Creation time of `pid` (100 ns units since 1601), if it runs.
pub fn start_time(pid: u32) -> Option<u64> {
    // SAFETY: plain calls on a handle we open and close here.
    unsafe {
        let h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
        if h.is_null() {
            return None;
        }
        let zero = FILETIME { dwLowDateTime: 0, dwHighDateTime: 0 };
        let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
        let mut code = 0u32;
        let ok = GetProcessTimes(h, &mut created, &mut exited, &mut kernel, &mut user) != 0
            && GetExitCodeProcess(h, &mut code) != 0
            && code == STILL_ACTIVE as u32;
        CloseHandle(h);
        ok.then(|| (u64::from(created.dwHighDateTime) << 32) | u64::from(created.dwLowDateTime))
    }
}

/// Always empty on Windows (see the module doc).
pub fn processes_with_env(_entry: &str) -> Vec<u32> {
    Vec::new()
}
