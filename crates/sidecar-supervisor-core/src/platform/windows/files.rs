//! Files on Windows: the data dir lives under the user's own profile (its ACL already keeps
//! other users out), so files are created plainly; "executable" means an existing file.
//! Replacing a file retries briefly while another program holds it open (see [`replace_file`]).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;
use std::time::Duration;

/// How long [`replace_file`] keeps retrying a replacement the OS refuses for the moment.
const REPLACE_PATIENCE: Duration = Duration::from_millis(500);

pub fn private_dir_all(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)
}

pub fn create_dir_traversable(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)
}

pub fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

pub fn open_append_private(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

pub fn open_lock_file(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).truncate(false).read(true).write(true).open(path)
}

/// Windows has no uid: owners are not compared there.
pub fn owner_of(_p: &Path) -> Option<u32> {
    None
}

pub fn is_executable(p: &Path) -> bool {
    p.is_file()
}

/// Renames `from` over `to`. Windows refuses to replace a file that another program has open
/// without delete sharing (a reader that is not Rust's std, an antivirus or indexer scanning the
/// new file, or any reader on a filesystem without POSIX rename semantics, Wine's included):
/// "Access is denied" or a sharing violation, gone as soon as that handle closes. So those two
/// errors are retried with a doubling pause (1 ms, 2 ms, … 64 ms) for up to half a second, as
/// Go's toolchain and npm do; any other error, or the last refusal, is returned.
pub fn replace_file(from: &Path, to: &Path) -> io::Result<()> {
    const ERROR_ACCESS_DENIED: i32 = 5;
    const ERROR_SHARING_VIOLATION: i32 = 32;
    const ERROR_LOCK_VIOLATION: i32 = 33;
    let mut waited = Duration::ZERO;
    let mut pause = Duration::from_millis(1);
    loop {
        match std::fs::rename(from, to) {
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(ERROR_ACCESS_DENIED | ERROR_SHARING_VIOLATION | ERROR_LOCK_VIOLATION)
                ) && waited < REPLACE_PATIENCE =>
            {
                std::thread::sleep(pause);
                waited += pause;
                pause = (pause * 2).min(Duration::from_millis(64));
            }
            result => return result,
        }
    }
}
