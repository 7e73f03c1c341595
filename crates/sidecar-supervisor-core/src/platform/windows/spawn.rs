//! Starting a process on Windows: created suspended, in a new process group, without a console
//! window when the runtime has no console (so none ever flashes, for it or its console
//! children); assigned to its own kill-on-close job object before its first instruction; then
//! resumed. stdin is a lifeline the runtime never writes (its EOF means the runtime is gone),
//! stdout and stderr are pipes. The exit is awaited on the process handle (tokio registers a
//! wait on it: no polling).

use std::io;
use std::sync::Arc;

use tokio::process::Command;
use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::Console::GetConsoleWindow;
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, Thread32First, Thread32Next, TH32CS_SNAPTHREAD, THREADENTRY32,
};
use windows_sys::Win32::System::Threading::{
    OpenThread, ResumeThread, CREATE_NEW_PROCESS_GROUP, CREATE_NO_WINDOW, CREATE_SUSPENDED, THREAD_SUSPEND_RESUME,
};

use super::jobs::{self, Job};
use crate::domain::Exit;
use crate::platform::{Output, SpawnRequest, Spawned};

/// The write end of a child's stdin, never written to (but by [`Lifeline::feed`]).
pub struct Lifeline(tokio::process::ChildStdin);

impl Lifeline {
    /// Writes `input` to the child's stdin and closes it: for a prepare step given `stdin`
    /// (its lifeline then is its job only).
    pub async fn feed(mut self, input: Vec<u8>) -> io::Result<()> {
        use tokio::io::AsyncWriteExt;
        // A child that exits without reading all of it is not an error: its exit code tells.
        match self.0.write_all(&input).await {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(e),
            Ok(()) => self.0.shutdown().await,
        }
    }

    /// The stdin pipe as an async writer (a `"stdio": "jsonrpc"` channel): the lifeline is then
    /// held by whoever holds the writer, and dropping it is the EOF.
    pub fn into_writer(self) -> io::Result<crate::platform::Input> {
        Ok(Box::new(self.0))
    }
}

/// Starts the process (inside a tokio runtime: its pipes and exit are registered with it).
pub fn spawn(req: &SpawnRequest<'_>) -> io::Result<Spawned> {
    if req.user.is_some() {
        return Err(io::Error::new(io::ErrorKind::Unsupported, "a `user` to run as is not supported on Windows"));
    }
    let mut cmd = Command::new(req.program);
    cmd.args(req.args)
        .envs(req.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(req.cwd)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(false);
    let mut flags = CREATE_SUSPENDED | CREATE_NEW_PROCESS_GROUP;
    // SAFETY: a plain query.
    if unsafe { GetConsoleWindow() }.is_null() {
        flags |= CREATE_NO_WINDOW;
    }
    cmd.creation_flags(flags);
    let mut child = cmd.spawn()?;
    let pid = child.id().ok_or_else(|| io::Error::other("the new process has no id"))?;
    let process = child.raw_handle().ok_or_else(|| io::Error::other("the new process has no handle"))? as HANDLE;
    let job = match Job::new().and_then(|j| j.assign(process).map(|()| j)) {
        Ok(j) => Arc::new(j),
        Err(e) => {
            let _ = child.start_kill(); // never ran a single instruction
            return Err(io::Error::new(e.kind(), format!("cannot put the new process in a job object: {e}")));
        }
    };
    jobs::register(pid, job);
    if let Err(e) = resume(pid) {
        jobs::kill_group(pid);
        jobs::unregister(pid);
        return Err(io::Error::new(e.kind(), format!("cannot resume the new process: {e}")));
    }
    let missing = || io::Error::other("a piped stdio handle is missing");
    let lifeline = Lifeline(child.stdin.take().ok_or_else(missing)?);
    let stdout: Output = Box::new(child.stdout.take().ok_or_else(missing)?);
    let stderr: Output = Box::new(child.stderr.take().ok_or_else(missing)?);
    Ok(Spawned { pid, child: Child { pid, inner: child }, lifeline, stdout, stderr })
}

/// Resumes every thread of `pid` (a process created suspended has one).
fn resume(pid: u32) -> io::Result<()> {
    // SAFETY: a thread snapshot walked with a correctly sized entry; handles closed here.
    unsafe {
        let snap = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
        if snap == INVALID_HANDLE_VALUE {
            return Err(io::Error::last_os_error());
        }
        let mut entry: THREADENTRY32 = std::mem::zeroed();
        entry.dwSize = std::mem::size_of::<THREADENTRY32>() as u32;
        let mut resumed = 0;
        let mut more = Thread32First(snap, &mut entry) != 0;
        while more {
            if entry.th32OwnerProcessID == pid {
                let t = OpenThread(THREAD_SUSPEND_RESUME, 0, entry.th32ThreadID);
                if !t.is_null() {
                    if ResumeThread(t) != u32::MAX {
                        resumed += 1;
                    }
                    CloseHandle(t);
                }
            }
            more = Thread32Next(snap, &mut entry) != 0;
        }
        CloseHandle(snap);
        if resumed == 0 {
            return Err(io::Error::other("no thread of the new process could be resumed"));
        }
    }
    Ok(())
}

/// A started process's end, awaited on its handle.
pub struct Child {
    pid: u32,
    inner: tokio::process::Child,
}

impl Child {
    /// Waits for the process to end.
    pub async fn wait(&mut self) -> io::Result<Exit> {
        let status = self.inner.wait().await?;
        Ok(Exit { code: status.code(), signal: None })
    }
}

impl Drop for Child {
    /// Its job closes with it: whatever is left of its tree is killed.
    fn drop(&mut self) {
        jobs::unregister(self.pid);
    }
}
