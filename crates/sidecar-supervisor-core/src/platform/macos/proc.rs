//! Process identity on macOS, from libproc and `sysctl`: when a process started (a recycled pid
//! is never taken for ours), which processes carry an environment entry, and what a pid is.

/// `proc_pidinfo` of `flavor` into a `T`, when the whole struct came back. `T` must be the
/// libproc struct of that flavor (a plain C struct, valid all-zero).
pub(super) fn pid_info<T>(pid: u32, flavor: libc::c_int) -> Option<T> {
    // SAFETY: T is a plain C struct (zeroed is a valid value); proc_pidinfo fills at most
    // `size` bytes of it.
    unsafe {
        let mut info: T = std::mem::zeroed();
        let size = std::mem::size_of::<T>() as libc::c_int;
        let n = libc::proc_pidinfo(pid as libc::c_int, flavor, 0, (&mut info as *mut T).cast(), size);
        (n == size).then_some(info)
    }
}

/// The BSD info of a live (not zombie) `pid`.
fn bsd_info(pid: u32) -> Option<libc::proc_bsdinfo> {
    pid_info::<libc::proc_bsdinfo>(pid, libc::PROC_PIDTBSDINFO).filter(|i| i.pbi_status != libc::SZOMB)
}

/// Start time of `pid` in microseconds since the epoch, if it exists.
pub fn start_time(pid: u32) -> Option<u64> {
    bsd_info(pid).map(|i| i.pbi_start_tvsec * 1_000_000 + i.pbi_start_tvusec)
}

/// Live processes (not this one) whose environment contains exactly `entry` (`NAME=value`),
/// among those this user may read (`KERN_PROCARGS2`).
pub fn processes_with_env(entry: &str) -> Vec<u32> {
    let me = std::process::id();
    all_pids()
        .into_iter()
        .filter(|&pid| pid != me && start_time(pid).is_some())
        .filter(|&pid| environment(pid).is_some_and(|env| env.split(|b| *b == 0).any(|kv| kv == entry.as_bytes())))
        .collect()
}

fn all_pids() -> Vec<u32> {
    // SAFETY: the first call asks for the count; the second fills a buffer of that size.
    unsafe {
        let n = libc::proc_listallpids(std::ptr::null_mut(), 0);
        if n <= 0 {
            return Vec::new();
        }
        let mut pids = vec![0 as libc::pid_t; n as usize + 64];
        let bytes = (pids.len() * std::mem::size_of::<libc::pid_t>()) as libc::c_int;
        let got = libc::proc_listallpids(pids.as_mut_ptr().cast(), bytes);
        pids.truncate(got.max(0) as usize);
        pids.into_iter().filter(|p| *p > 0).map(|p| p as u32).collect()
    }
}

/// The raw `KERN_PROCARGS2` of `pid`: argc, the executable path, argv, then the environment,
/// NUL-separated; returns the environment part.
fn environment(pid: u32) -> Option<Vec<u8>> {
    let mut mib = [libc::CTL_KERN, libc::KERN_PROCARGS2, pid as libc::c_int];
    let mut size: libc::size_t = 0;
    // SAFETY: sysctl with a valid mib; first the size, then a buffer of that size.
    let buf = unsafe {
        if libc::sysctl(mib.as_mut_ptr(), 3, std::ptr::null_mut(), &mut size, std::ptr::null_mut(), 0) != 0 {
            return None;
        }
        let mut buf = vec![0u8; size];
        if libc::sysctl(mib.as_mut_ptr(), 3, buf.as_mut_ptr().cast(), &mut size, std::ptr::null_mut(), 0) != 0 {
            return None;
        }
        buf.truncate(size);
        buf
    };
    let argc = i32::from_ne_bytes(buf.get(..4)?.try_into().ok()?).max(0) as usize;
    let mut rest = &buf[4..];
    // The executable path, then NUL padding.
    let path_end = rest.iter().position(|b| *b == 0)?;
    rest = &rest[path_end..];
    let start = rest.iter().position(|b| *b != 0)?;
    rest = &rest[start..];
    // argc arguments, then the environment.
    for _ in 0..argc {
        let end = rest.iter().position(|b| *b == 0)?;
        rest = rest.get(end + 1..)?;
    }
    Some(rest.to_vec())
}

/// What this user may see of `pid`: its program's name (`proc_pidpath`), its working
/// directory (`PROC_PIDVNODEPATHINFO`) and its owner.
pub fn look(pid: u32) -> crate::platform::Look {
    use std::ffi::{CStr, OsStr};
    use std::os::unix::ffi::OsStrExt;
    let Some(bsd) = bsd_info(pid) else {
        return crate::platform::Look::Gone;
    };
    let mut path = vec![0u8; libc::PROC_PIDPATHINFO_MAXSIZE as usize];
    // SAFETY: proc_pidpath writes at most `path.len()` bytes into the buffer we own.
    let n = unsafe { libc::proc_pidpath(pid as libc::c_int, path.as_mut_ptr().cast(), path.len() as u32) };
    path.truncate(n.max(0) as usize);
    let name = std::path::Path::new(OsStr::from_bytes(&path))
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cwd = pid_info::<libc::proc_vnodepathinfo>(pid, libc::PROC_PIDVNODEPATHINFO).map(|vp| {
        // SAFETY: the kernel wrote a NUL-terminated path into the fixed-size buffer.
        let raw = unsafe { CStr::from_ptr(vp.pvi_cdir.vip_path.as_ptr().cast::<libc::c_char>()) };
        std::path::PathBuf::from(OsStr::from_bytes(raw.to_bytes()))
    });
    crate::platform::Look::Seen { name, cwd, uid: Some(bsd.pbi_uid) }
}
