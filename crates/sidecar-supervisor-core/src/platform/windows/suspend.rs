//! Pause and resume on Windows, which has no SIGSTOP: every thread of every process in the
//! sidecar's job is suspended (`SuspendThread`) or resumed. The job lists its processes, so a
//! grandchild is paused with the rest, as a Unix process group is.

use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};

use windows_sys::Win32::Foundation::{HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, Thread32First, Thread32Next, TH32CS_SNAPTHREAD, THREADENTRY32,
};
use windows_sys::Win32::System::Threading::{OpenThread, ResumeThread, SuspendThread, THREAD_SUSPEND_RESUME};

use super::jobs::job_processes;

/// Suspends every thread of the tree started as `pid`. `false` if none could be.
pub fn suspend_group(pid: u32) -> bool {
    for_each_thread(pid, |t| {
        // SAFETY: a thread handle opened with THREAD_SUSPEND_RESUME.
        unsafe { SuspendThread(t) != u32::MAX }
    })
}

/// Resumes every thread of the tree started as `pid` (once per suspension made by pause).
pub fn resume_group(pid: u32) -> bool {
    for_each_thread(pid, |t| {
        // SAFETY: as above.
        unsafe { ResumeThread(t) != u32::MAX }
    })
}

fn for_each_thread(pid: u32, mut f: impl FnMut(HANDLE) -> bool) -> bool {
    let procs = job_processes(pid);
    if procs.is_empty() {
        return false;
    }
    // SAFETY: a snapshot handle owned at once; the entry struct is sized as the API asks.
    unsafe {
        let snap = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
        if snap == INVALID_HANDLE_VALUE || snap.is_null() {
            return false;
        }
        let snap = OwnedHandle::from_raw_handle(snap);
        let mut entry: THREADENTRY32 = std::mem::zeroed();
        entry.dwSize = std::mem::size_of::<THREADENTRY32>() as u32;
        let mut any = false;
        let mut more = Thread32First(snap.as_raw_handle() as HANDLE, &mut entry) != 0;
        while more {
            if procs.contains(&entry.th32OwnerProcessID) {
                let t = OpenThread(THREAD_SUSPEND_RESUME, 0, entry.th32ThreadID);
                if !t.is_null() {
                    let t = OwnedHandle::from_raw_handle(t);
                    any |= f(t.as_raw_handle() as HANDLE);
                }
            }
            more = Thread32Next(snap.as_raw_handle() as HANDLE, &mut entry) != 0;
        }
        any
    }
}
