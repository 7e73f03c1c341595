//! Process identity on Windows: a process's creation time (so a recycled pid is never taken
//! for ours), and what a pid is. Finding a dead runtime's grandchildren by environment is not needed here: the
//! kill-on-close job of each sidecar took its whole tree down with the runtime.

use windows_sys::Win32::Foundation::{CloseHandle, FILETIME, STILL_ACTIVE};
use windows_sys::Win32::System::Threading::{
    GetExitCodeProcess, GetProcessTimes, OpenProcess, QueryFullProcessImageNameW, PROCESS_QUERY_LIMITED_INFORMATION,
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

/// What this user may see of `pid`: its program's name (`QueryFullProcessImageNameW`). Windows
/// shows neither another process's working directory nor, simply, its owner.
pub fn look(pid: u32) -> crate::platform::Look {
    if start_time(pid).is_none() {
        return crate::platform::Look::Gone;
    }
    // SAFETY: plain calls on a handle we open and close here, into a buffer we own.
    let name = unsafe {
        let h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
        if h.is_null() {
            String::new()
        } else {
            let mut buf = vec![0u16; 1024];
            let mut len = buf.len() as u32;
            let ok = QueryFullProcessImageNameW(h, 0, buf.as_mut_ptr(), &mut len) != 0;
            CloseHandle(h);
            if ok {
                let path = String::from_utf16_lossy(&buf[..len as usize]);
                path.rsplit(['\\', '/']).next().unwrap_or_default().to_string()
            } else {
                String::new()
            }
        }
    };
    crate::platform::Look::Seen { name, cwd: None, uid: None }
}
