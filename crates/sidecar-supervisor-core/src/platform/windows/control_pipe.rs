//! The control endpoint on Windows: a named pipe per data dir whose security descriptor grants
//! only the user that runs the runtime (`D:P(A;;GA;;;<our SID>)`, no inherited entries), and
//! that refuses clients from other machines. Its name is derived from the endpoint's path.

use std::hash::{Hash, Hasher};
use std::path::Path;

use tokio::net::windows::named_pipe::{ClientOptions, NamedPipeServer, ServerOptions};
use windows_sys::Win32::Foundation::{CloseHandle, LocalFree, HANDLE};
use windows_sys::Win32::Security::Authorization::{
    ConvertSidToStringSidW, ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{GetTokenInformation, TokenUser, SECURITY_ATTRIBUTES, TOKEN_QUERY, TOKEN_USER};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

use crate::platform::control_endpoint::{Accepted, ControlStream};

/// `\\.\pipe\desktop-runtime-ctl-<hash of the endpoint's path>`: one per data dir, as the lock is.
pub fn pipe_name(path: &Path) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    path.to_string_lossy().to_lowercase().hash(&mut h);
    format!(r"\\.\pipe\desktop-runtime-ctl-{:016x}", h.finish())
}

/// A security descriptor that grants our user alone; freed on drop.
struct OwnerOnly(*mut core::ffi::c_void);

impl Drop for OwnerOnly {
    fn drop(&mut self) {
        // SAFETY: allocated by ConvertStringSecurityDescriptorToSecurityDescriptorW.
        unsafe { LocalFree(self.0) };
    }
}

// SAFETY: the descriptor is plain memory only read by the pipe calls.
unsafe impl Send for OwnerOnly {}
// SAFETY: as above: never written after it is made.
unsafe impl Sync for OwnerOnly {}

fn owner_only() -> std::io::Result<OwnerOnly> {
    let sid = current_user_sid()?;
    let sddl: Vec<u16> = format!("D:P(A;;GA;;;{sid})").encode_utf16().chain([0]).collect();
    let mut sd = std::ptr::null_mut();
    // SAFETY: a NUL-terminated string and an out pointer.
    let ok = unsafe {
        ConvertStringSecurityDescriptorToSecurityDescriptorW(
            sddl.as_ptr(),
            SDDL_REVISION_1,
            &mut sd,
            std::ptr::null_mut(),
        )
    };
    if ok == 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(OwnerOnly(sd))
}

/// Our user's SID as a string (`S-1-5-21-…`).
fn current_user_sid() -> std::io::Result<String> {
    // SAFETY: plain calls; the token handle is closed, the buffer is sized by the first call,
    // and the string from ConvertSidToStringSidW is freed with LocalFree.
    unsafe {
        let mut token: HANDLE = std::ptr::null_mut();
        if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) == 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut len = 0u32;
        GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &mut len);
        let mut buf = vec![0u64; (len as usize).div_ceil(8)];
        let ok = GetTokenInformation(token, TokenUser, buf.as_mut_ptr().cast(), len, &mut len);
        CloseHandle(token);
        if ok == 0 {
            return Err(std::io::Error::last_os_error());
        }
        let user = &*(buf.as_ptr() as *const TOKEN_USER);
        let mut s: windows_sys::core::PWSTR = std::ptr::null_mut();
        if ConvertSidToStringSidW(user.User.Sid, &mut s) == 0 {
            return Err(std::io::Error::last_os_error());
        }
        let n = (0..).take_while(|&i| *s.add(i) != 0).count();
        let text = String::from_utf16_lossy(std::slice::from_raw_parts(s, n));
        LocalFree(s.cast());
        Ok(text)
    }
}

fn new_instance(name: &str, sd: &OwnerOnly, first: bool) -> std::io::Result<NamedPipeServer> {
    let mut attrs = SECURITY_ATTRIBUTES {
        nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: sd.0,
        bInheritHandle: 0,
    };
    // SAFETY: the attributes and the descriptor they point to outlive the call.
    unsafe {
        ServerOptions::new()
            .first_pipe_instance(first)
            .reject_remote_clients(true)
            .create_with_security_attributes_raw(name, (&mut attrs as *mut SECURITY_ATTRIBUTES).cast())
    }
}

/// The listening pipe: one instance waits for the next client at a time.
pub struct ControlListener {
    name: String,
    sd: OwnerOnly,
    next: tokio::sync::Mutex<NamedPipeServer>,
}

impl ControlListener {
    /// Listens on the pipe named after `path` (inside a tokio runtime).
    pub fn bind(path: &Path) -> std::io::Result<ControlListener> {
        let name = pipe_name(path);
        let sd = owner_only()?;
        let first = new_instance(&name, &sd, true)?;
        Ok(ControlListener { name, sd, next: tokio::sync::Mutex::new(first) })
    }

    pub fn path(&self) -> &Path {
        Path::new(&self.name)
    }

    /// The next connection: only our user can open the pipe, so every one is ours.
    pub async fn accept(&self) -> std::io::Result<Accepted> {
        let mut next = self.next.lock().await;
        next.connect().await?;
        let conn = std::mem::replace(&mut *next, new_instance(&self.name, &self.sd, false)?);
        Ok(Accepted::Ours(Box::new(conn)))
    }
}

/// Connects to the pipe named after `path`; `data_dir` names the data dir in the error.
pub async fn connect(path: &Path, data_dir: &Path) -> Result<Box<dyn ControlStream>, String> {
    let name = pipe_name(path);
    match ClientOptions::new().open(&name) {
        Ok(conn) => Ok(Box::new(conn)),
        Err(e) => Err(match e.kind() {
            std::io::ErrorKind::NotFound => {
                format!("no runtime is running on data dir {} (no control pipe {name})", data_dir.display())
            }
            std::io::ErrorKind::PermissionDenied => {
                format!("refused: {name} belongs to another user; only the user that runs the runtime may control it")
            }
            _ => format!("cannot reach the runtime at {name}: {e}"),
        }),
    }
}
