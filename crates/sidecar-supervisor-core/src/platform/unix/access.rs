//! Can a sidecar that drops to its `user` reach its data dir, its cwd and its program?
//!
//! The runtime runs as root and creates the data dirs; the sidecar (and its prepare step and
//! exec probes) then run as another user, who needs search permission (`x`) on every directory
//! above its data dir. When one is missing (root's home is 0700, and so are temp dirs), the
//! sidecar would fail later with an obscure "permission denied" from `initdb` or `chdir`; this
//! check fails it up front, naming the directory and the fix. Data dirs the runtime creates
//! itself get mode 0711 (traversable, not listable); directories it did not create are never
//! changed.

use std::collections::BTreeSet;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Mode of the directories the runtime creates for its data dir: others may pass, not list.
pub const CREATED_DIR_MODE: u32 = 0o711;

/// Creates `dir` and its missing parents; each directory this call created (and only those)
/// gets [`CREATED_DIR_MODE`], whatever the umask.
pub fn create_dir_traversable(dir: &Path) -> std::io::Result<()> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.as_os_str().is_empty() && !d.exists()).collect();
    for d in missing.into_iter().rev() {
        match std::fs::DirBuilder::new().mode(CREATED_DIR_MODE).create(d) {
            // Set explicitly: the umask may have taken bits away.
            Ok(()) => std::fs::set_permissions(d, std::fs::Permissions::from_mode(CREATED_DIR_MODE))?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {} // someone else's
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Does a directory with `mode`, owned by `owner`:`group`, let `uid`:`gid` pass (search, `x`)?
/// The Unix rule: the owner class applies to the owner, else the group class to the group,
/// else the other class. Only the primary group counts, as sidecars run with no supplementary
/// groups. Root passes everywhere. (POSIX ACLs are not read.)
pub fn can_traverse(mode: u32, owner: u32, group: u32, uid: u32, gid: u32) -> bool {
    if uid == 0 {
        return true;
    }
    if owner == uid {
        mode & 0o100 != 0
    } else if group == gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// Who the check is for and what to suggest.
pub struct Reach<'a> {
    pub user: &'a str,
    pub uid: u32,
    pub gid: u32,
    pub sidecar: &'a str,
    pub app_name: &'a str,
}

/// What the user must reach; each kind names itself in the error and suggests its own fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The sidecar's data dir; it may not exist yet (the runtime creates it), so only the
    /// directories above it are checked.
    DataDir,
    /// A `cwd` from the profile: it must exist, and the user must pass through it too.
    Cwd,
    /// The program to run: the directories above it.
    Program,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::DataDir => "data dir",
            Target::Cwd => "cwd",
            Target::Program => "program",
        }
    }

    fn including_self(self) -> bool {
        self == Target::Cwd
    }

    fn fix_elsewhere(self, app_name: &str) -> String {
        match self {
            Target::DataDir => format!("choose a data dir the user can reach, e.g. --data-dir /var/lib/{app_name}"),
            Target::Cwd => "choose a cwd the user can reach".to_string(),
            Target::Program => "install the program where the user can reach it (e.g. /usr/local/bin)".to_string(),
        }
    }
}

impl Reach<'_> {
    /// Checks that the user can pass through every directory above `path` (and `path` itself
    /// for a [`Target::Cwd`]). Both the path as written and its canonical form are checked
    /// (symlinks).
    pub fn check(&self, target: Target, path: &Path) -> Result<(), String> {
        let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
        let canonical = std::fs::canonicalize(path).ok();
        for p in std::iter::once(path).chain(canonical.as_deref()) {
            let skip = if target.including_self() { 0 } else { 1 };
            dirs.extend(p.ancestors().skip(skip).filter(|d| !d.as_os_str().is_empty()).map(Path::to_path_buf));
        }
        // From the root down, so the first directory in the way is the one reported.
        let mut ordered: Vec<PathBuf> = dirs.into_iter().collect();
        ordered.sort_by_key(|d| d.components().count());
        for d in ordered {
            let Ok(m) = std::fs::metadata(&d) else { continue }; // not there yet: created later
            if !m.is_dir() || can_traverse(m.mode(), m.uid(), m.gid(), self.uid, self.gid) {
                continue;
            }
            let owner = |id: u32, name: Option<String>| name.unwrap_or_else(|| id.to_string());
            let o = owner(m.uid(), nix::unistd::User::from_uid(m.uid().into()).ok().flatten().map(|u| u.name));
            let g = owner(m.gid(), nix::unistd::Group::from_gid(m.gid().into()).ok().flatten().map(|g| g.name));
            return Err(format!(
                "user `{}` (uid {}) cannot reach the {} {} of sidecar `{}`: {} has mode {:04o} (owner {o}:{g}) \
                 and does not let `{}` pass; {}, or `chmod o+x {}`",
                self.user,
                self.uid,
                target.name(),
                path.display(),
                self.sidecar,
                d.display(),
                m.mode() & 0o7777,
                self.user,
                target.fix_elsewhere(self.app_name),
                d.display()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traverse_rule_uses_exactly_one_class() {
        let (me, mine, other, theirs) = (1000, 1000, 2000, 2000);
        assert!(can_traverse(0o711, 0, 0, me, mine), "other-x");
        assert!(!can_traverse(0o700, 0, 0, me, mine), "nothing for others");
        assert!(can_traverse(0o710, 0, mine, me, mine), "group-x with my gid");
        assert!(!can_traverse(0o710, 0, theirs, me, mine), "group-x of another group");
        assert!(can_traverse(0o700, me, theirs, me, mine), "owner-x when I own it");
        assert!(!can_traverse(0o011, me, mine, me, mine), "owner without x: the group and other bits do not apply");
        assert!(!can_traverse(0o701, other, mine, me, mine), "group without x: the other bit does not apply");
        assert!(can_traverse(0o000, other, theirs, 0, 0), "root passes");
    }

    #[test]
    fn created_dirs_get_0711_and_existing_ones_are_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let dir = tmp.path().join("a/b");
        create_dir_traversable(&dir).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o7777;
        assert_eq!(mode(&tmp.path().join("a")), 0o711);
        assert_eq!(mode(&dir), 0o711);
        assert_eq!(mode(tmp.path()), 0o700, "not created by us: untouched");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o750)).unwrap();
        create_dir_traversable(&dir).unwrap();
        assert_eq!(mode(&dir), 0o750, "exists: untouched");
    }

    #[test]
    fn reach_names_the_first_directory_in_the_way() {
        let tmp = tempfile::tempdir().unwrap();
        let outer = tmp.path().join("outer");
        let inner = outer.join("inner");
        std::fs::create_dir_all(inner.join("data")).unwrap();
        std::fs::set_permissions(&outer, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        // An imaginary unprivileged user that owns nothing here.
        let reach = Reach { user: "someone", uid: 54_321, gid: 54_321, sidecar: "db", app_name: "my-app" };
        let err = reach.check(Target::DataDir, &inner.join("data")).unwrap_err();
        assert!(err.contains(&format!("{} has mode 0700", outer.display())), "{err}");
        assert!(err.contains("someone") && err.contains("--data-dir /var/lib/my-app"), "{err}");
        assert!(err.contains(&format!("`chmod o+x {}`", outer.display())), "{err}");
        std::fs::set_permissions(&outer, std::fs::Permissions::from_mode(0o711)).unwrap();
        let err = reach.check(Target::DataDir, &inner.join("data")).unwrap_err();
        assert!(err.contains(&format!("{} has mode 0700", inner.display())), "{err}");
        std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o755)).unwrap();
        reach.check(Target::DataDir, &inner.join("data")).unwrap();
        // The path itself counts when asked (a cwd must be entered, a data dir is given away).
        std::fs::set_permissions(inner.join("data"), std::fs::Permissions::from_mode(0o700)).unwrap();
        reach.check(Target::DataDir, &inner.join("data")).unwrap();
        assert!(reach.check(Target::Cwd, &inner.join("data")).is_err());
    }
}
