//! Files on Windows: the data dir lives under the user's own profile (its ACL already keeps
//! other users out), so files are created plainly; "executable" means an existing file.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

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

pub fn is_executable(p: &Path) -> bool {
    p.is_file()
}
