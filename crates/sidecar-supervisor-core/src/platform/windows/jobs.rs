//! Job objects: one per started process, with `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`. While the
//! runtime holds a job's handle the process tree lives; when the handle closes — the process was
//! reaped and its leftovers are to go, or the runtime ended however it ended — Windows kills
//! every process in the job. A stop is Ctrl-Break to the process group (the child was started
//! in a new one), a force kill terminates the job.

use std::collections::HashMap;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::Console::{GenerateConsoleCtrlEvent, CTRL_BREAK_EVENT};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JobObjectBasicAccountingInformation, JobObjectBasicProcessIdList,
    JobObjectExtendedLimitInformation, QueryInformationJobObject, SetInformationJobObject, TerminateJobObject,
    JOBOBJECT_BASIC_ACCOUNTING_INFORMATION, JOBOBJECT_BASIC_PROCESS_ID_LIST, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
};
use windows_sys::Win32::System::Threading::{OpenProcess, TerminateProcess, PROCESS_TERMINATE};

use crate::domain::Stop;

/// A job object with kill-on-close.
pub(super) struct Job(OwnedHandle);

impl Job {
    pub(super) fn new() -> std::io::Result<Job> {
        // SAFETY: plain calls; the handle is owned at once, the struct is zeroed and sized.
        unsafe {
            let h = CreateJobObjectW(std::ptr::null(), std::ptr::null());
            if h.is_null() {
                return Err(std::io::Error::last_os_error());
            }
            let job = Job(OwnedHandle::from_raw_handle(h));
            let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = std::mem::zeroed();
            info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
            let ok = SetInformationJobObject(
                job.handle(),
                JobObjectExtendedLimitInformation,
                (&info as *const JOBOBJECT_EXTENDED_LIMIT_INFORMATION).cast(),
                std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            );
            if ok == 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(job)
        }
    }

    fn handle(&self) -> HANDLE {
        self.0.as_raw_handle() as HANDLE
    }

    /// Puts the (still suspended) process into the job.
    pub(super) fn assign(&self, process: HANDLE) -> std::io::Result<()> {
        // SAFETY: both handles are valid for the call.
        if unsafe { AssignProcessToJobObject(self.handle(), process) } == 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// The ids of the processes in the job now (up to 1024).
    fn processes(&self) -> Vec<u32> {
        const MAX: usize = 1024;
        // The list struct ends in a one-element array: give it room for MAX ids.
        let words = 2 + MAX;
        let mut buf = vec![0usize; words];
        // SAFETY: the buffer is large enough for the header and MAX ids, and aligned for usize.
        unsafe {
            let ok = QueryInformationJobObject(
                self.handle(),
                JobObjectBasicProcessIdList,
                buf.as_mut_ptr().cast(),
                (words * std::mem::size_of::<usize>()) as u32,
                std::ptr::null_mut(),
            );
            if ok == 0 {
                return Vec::new();
            }
            let list = &*(buf.as_ptr() as *const JOBOBJECT_BASIC_PROCESS_ID_LIST);
            let n = (list.NumberOfProcessIdsInList as usize).min(MAX);
            let ids = std::ptr::addr_of!(list.ProcessIdList) as *const usize;
            (0..n).map(|i| *ids.add(i) as u32).collect()
        }
    }

    /// CPU time of every process that ran in the job (ended ones too: the sum only grows) and
    /// how many are alive.
    fn accounting(&self) -> Option<(std::time::Duration, u32)> {
        // SAFETY: a zeroed struct of the size the call is told.
        unsafe {
            let mut info: JOBOBJECT_BASIC_ACCOUNTING_INFORMATION = std::mem::zeroed();
            let ok = QueryInformationJobObject(
                self.handle(),
                JobObjectBasicAccountingInformation,
                (&mut info as *mut JOBOBJECT_BASIC_ACCOUNTING_INFORMATION).cast(),
                std::mem::size_of::<JOBOBJECT_BASIC_ACCOUNTING_INFORMATION>() as u32,
                std::ptr::null_mut(),
            );
            if ok == 0 {
                return None;
            }
            // 100 ns units.
            let hundreds = (info.TotalUserTime.max(0) + info.TotalKernelTime.max(0)) as u64;
            Some((std::time::Duration::from_nanos(hundreds * 100), info.ActiveProcesses))
        }
    }

    fn terminate(&self) -> bool {
        // SAFETY: a valid job handle.
        unsafe { TerminateJobObject(self.handle(), 1) != 0 }
    }
}

/// The jobs of the processes started, by process id (the leader's pid is the group's name in
/// the platform interface).
fn jobs() -> MutexGuard<'static, HashMap<u32, Arc<Job>>> {
    static JOBS: OnceLock<Mutex<HashMap<u32, Arc<Job>>>> = OnceLock::new();
    JOBS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner())
}

pub(super) fn register(pid: u32, job: Arc<Job>) {
    jobs().insert(pid, job);
}

/// The process was reaped: its job closes with the last handle (kill-on-close takes what is
/// left of its tree).
pub(super) fn unregister(pid: u32) {
    jobs().remove(&pid);
}

fn job_of(pid: u32) -> Option<Arc<Job>> {
    jobs().get(&pid).cloned()
}

/// Stops the tree started as `pid`: Ctrl-Break to its process group (graceful: only reaches it
/// when the runtime has a console), or terminates its job (forced). `false` if that failed.
pub fn stop_group(pid: u32, how: Stop) -> bool {
    match how {
        Stop::Force => kill_group(pid),
        // SAFETY: a plain call; the group id is the pid of a process started with
        // CREATE_NEW_PROCESS_GROUP.
        Stop::Graceful(_) => unsafe { GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, pid) != 0 },
    }
}

/// The processes of the tree started as `pid` (its job's), for pause and resume.
pub(super) fn job_processes(pid: u32) -> Vec<u32> {
    job_of(pid).map(|j| j.processes()).unwrap_or_default()
}

/// The job's CPU time and live process count, and its processes, for the tree started as `pid`.
pub(super) fn job_usage(pid: u32) -> Option<(std::time::Duration, u32, Vec<u32>)> {
    let job = job_of(pid)?;
    let (cpu, active) = job.accounting()?;
    Some((cpu, active, job.processes()))
}

/// Kills every process of the tree started as `pid` at once.
pub fn kill_group(pid: u32) -> bool {
    job_of(pid).is_some_and(|j| j.terminate())
}

/// Kills one process at once.
pub fn kill_process(pid: u32) -> bool {
    // SAFETY: plain calls on a handle we open and close here.
    unsafe {
        let h = OpenProcess(PROCESS_TERMINATE, 0, pid);
        if h.is_null() {
            return false;
        }
        let h = OwnedHandle::from_raw_handle(h);
        TerminateProcess(h.as_raw_handle() as HANDLE, 1) != 0
    }
}

/// The death watch on Windows is the jobs themselves (kill-on-close): nothing to run.
pub struct DeathWatch;

impl DeathWatch {
    pub fn start() -> std::io::Result<DeathWatch> {
        Ok(DeathWatch)
    }
    /// Every process is in its job from the start: nothing to add.
    pub fn watch(&mut self, _pid: u32) {}
    /// The job closes when its process is reaped: nothing to do.
    pub fn forget(&mut self, _pid: u32) {}
}
