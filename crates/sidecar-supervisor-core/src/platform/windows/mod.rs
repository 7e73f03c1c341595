//! Windows: every sidecar in a job object of its own with kill-on-close, assigned while the
//! process is still suspended (before its first instruction), so neither it nor anything it
//! starts can escape; the runtime holding the job handles is the death watch. Graceful stops
//! are Ctrl-Break to its process group when the runtime has a console (the engine also tries
//! `sidecar.v1.Control/Shutdown` and a profile's `stop_command`); a force kill terminates the
//! job. Windows has no users to drop to and no file modes: the profile's `user` is refused.

pub(crate) mod control_pipe;
mod files;
mod jobs;
mod proc;
mod spawn;
mod suspend;
mod usage;
mod users;

pub use files::{
    create_dir_traversable, create_private, is_executable, open_append_private, open_lock_file, owner_of,
    private_dir_all, replace_file,
};
pub use jobs::{kill_group, kill_process, stop_group, DeathWatch};
pub use proc::{look, processes_with_env, start_time};
pub use spawn::{spawn, Child, Lifeline};
pub use suspend::{resume_group, suspend_group};
pub use usage::group_usage;
#[cfg(any(test, feature = "testing"))]
pub use users::is_root;
pub use users::{give_to, lookup_user, Reach, Target};

/// Nothing to raise: Windows has no per-process open-files limit like Unix's.
pub fn raise_fd_limit() {}

/// This OS, as the profile's `os` blocks name it.
pub const OS: crate::profile::Os = crate::profile::Os::Windows;

/// Whether a data dir nobody configured is system-wide: never on Windows (no users to drop to).
pub fn system_wide_data_dir() -> bool {
    false
}

/// How processes are asked to stop here.
pub const STOP_MECHANISM: crate::domain::StopMechanism = crate::domain::StopMechanism::ConsoleEvents;

/// Waits until `pid` has ended, without a polling loop; `true` if it ended within `timeout`
/// (or was gone already). For tests.
#[cfg(any(test, feature = "testing"))]
pub fn wait_gone(pid: u32, timeout: std::time::Duration) -> bool {
    use windows_sys::Win32::Foundation::{CloseHandle, WAIT_OBJECT_0};
    use windows_sys::Win32::System::Threading::{OpenProcess, WaitForSingleObject, PROCESS_SYNCHRONIZE};
    // SAFETY: plain calls on a handle we open and close here.
    unsafe {
        let h = OpenProcess(PROCESS_SYNCHRONIZE, 0, pid);
        if h.is_null() {
            return true; // no such process
        }
        let ms = timeout.as_millis().min(u32::MAX as u128 - 1) as u32;
        let r = WaitForSingleObject(h, ms);
        CloseHandle(h);
        r == WAIT_OBJECT_0
    }
}
