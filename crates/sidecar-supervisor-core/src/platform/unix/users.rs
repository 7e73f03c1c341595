//! The `user` a sidecar runs as when the runtime runs as root.

use std::path::Path;

/// The runtime runs as root.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// (uid, gid) of `user` if the runtime is root; `None` when not root (the field is ignored).
pub fn lookup_user(user: &str) -> Result<Option<(u32, u32)>, String> {
    if !is_root() {
        return Ok(None);
    }
    match nix::unistd::User::from_name(user) {
        Ok(Some(u)) => Ok(Some((u.uid.as_raw(), u.gid.as_raw()))),
        Ok(None) => Err(format!(
            "user `{user}` does not exist; the runtime runs as root and drops to this user for the sidecar: create it (e.g. `useradd --system {user}`) or remove \"user\""
        )),
        Err(e) => Err(format!("cannot look up user `{user}`: {e}")),
    }
}

/// Gives `dir` to the user.
pub fn give_to(dir: &Path, uid: u32, gid: u32) -> Result<(), String> {
    std::os::unix::fs::chown(dir, Some(uid), Some(gid))
        .map_err(|e| format!("cannot give {} to uid {uid}: {e}", dir.display()))
}
