//! The `user` a sidecar runs as when the runtime runs as root.

use std::path::Path;

/// The runtime runs as root.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// (uid, gid) of `user` if the runtime is root; `None` when not root (the field is ignored).
pub fn lookup_user(user: &str) -> Result<Option<(u32, u32)>, String> {
    lookup_user_as(user, is_root())
}

/// [`lookup_user`] with the question "is the runtime root?" answered by the caller.
fn lookup_user_as(user: &str, root: bool) -> Result<Option<(u32, u32)>, String> {
    if !root {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runtime_that_is_not_root_ignores_the_user_field() {
        assert_eq!(lookup_user_as("nobody", false), Ok(None));
        assert_eq!(lookup_user_as("no-such-user-xyz", false), Ok(None), "not even looked up");
    }

    #[test]
    fn root_finds_a_user_or_says_how_to_create_it() {
        let nobody = lookup_user_as("nobody", true).unwrap().expect("nobody exists");
        assert!(nobody.0 > 0);
        let e = lookup_user_as("no-such-user-xyz", true).unwrap_err();
        assert!(e.contains("does not exist") && e.contains("useradd --system no-such-user-xyz"), "{e}");
    }
}
