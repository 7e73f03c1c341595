//! Windows has no "drop to another user" for a child the way a Unix root runtime has: a
//! profile's `user` is refused with a clear error when the sidecar starts.

use std::path::Path;

/// Never "root": there is nothing to drop from (tests ask).
#[cfg(any(test, feature = "testing"))]
pub fn is_root() -> bool {
    false
}

pub fn lookup_user(user: &str) -> Result<Option<(u32, u32)>, String> {
    Err(format!(
        "\"user\": \"{user}\" is not supported on Windows: sidecars run as the runtime's own user; remove \"user\" from the profile (or keep it in a profile used only on Linux and macOS)"
    ))
}

pub fn give_to(dir: &Path, _uid: u32, _gid: u32) -> Result<(), String> {
    Err(format!("cannot give {} to another user on Windows", dir.display()))
}

/// What a `user` must reach (never checked on Windows: no `user` gets this far).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    DataDir,
    Cwd,
    Program,
}

/// The reach check of a `user` (always passes on Windows: there is no `user`). The fields are
/// the Unix check's, so that the engine builds one the same way on every OS.
#[allow(dead_code)]
pub struct Reach<'a> {
    pub user: &'a str,
    pub uid: u32,
    pub gid: u32,
    pub sidecar: &'a str,
    pub app_name: &'a str,
}

impl Reach<'_> {
    pub fn check(&self, _target: Target, _path: &Path) -> Result<(), String> {
        Ok(())
    }
}
