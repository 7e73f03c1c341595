//! Finding what to run ([`Lookup`]): a sidecar's program and its helper commands (prepare step,
//! exec probes), with errors that say where it looked and what to do.

use std::path::{Path, PathBuf};

use super::search_path::SearchDirs;
use crate::platform::{executable_names, is_executable, is_path};
use crate::profile::SearchPathEntry;

/// Where a sidecar's programs are looked for, and what to say when one is not found.
pub struct Lookup<'a> {
    pub sidecar: &'a str,
    /// Base of relative paths (the profile's dir).
    pub profile_dir: &'a Path,
    /// Bundled sidecars: `<dir>/<command>-<target-triple>` or `<dir>/<command>`.
    pub bundled_dirs: &'a [PathBuf],
    /// The sidecar's `search_path` (its `bundled` entries are tried inside each bundled dir,
    /// before `PATH`).
    pub search_entries: &'a [SearchPathEntry],
    pub target_triple: &'a str,
    /// The evaluated `search_path`, tried after `PATH`; `None` when the sidecar has none (or it
    /// was not evaluated).
    pub search: Option<&'a SearchDirs>,
    /// Appended to a not-found error (`install_hint`).
    pub install_hint: Option<&'a str>,
}

impl Lookup<'_> {
    /// Finds the executable for a sidecar: `<NAME>_BIN` override, a path, a bundled sidecar,
    /// `PATH`, then the search path.
    pub fn program(&self, command: &str, override_bin: Option<&Path>) -> Result<PathBuf, String> {
        self.find_program(command, override_bin).map_err(|e| self.with_hint(e))
    }

    fn find_program(&self, command: &str, override_bin: Option<&Path>) -> Result<PathBuf, String> {
        let sidecar = self.sidecar;
        let var = crate::profile::settings::bin_var(sidecar);
        if let Some(p) = override_bin {
            return if is_executable(p) {
                Ok(p.to_path_buf())
            } else {
                Err(format!("the override for `{sidecar}` ({var} or the command's _BIN variable) points to {}, which is not an executable file", p.display()))
            };
        }
        if is_path(command) {
            let p = self.profile_dir.join(command);
            if let Some(p) = executable_names(&p).into_iter().find(|p| is_executable(p)) {
                return Ok(p);
            }
            return Err(format!("command {} of sidecar `{sidecar}` is not an executable file", p.display()));
        }
        if let Some(p) = self.find(command, &self.bundle()) {
            return Ok(p);
        }
        let cmd_var = crate::profile::settings::bin_var(command);
        let vars = if cmd_var != var { format!("{var} or {cmd_var}") } else { var };
        let fix = match self.hint() {
            Some(_) => format!("set {vars} to its path"),
            None => format!("install it, or set {vars} to its path"),
        };
        Err(format!("command `{command}` of sidecar `{sidecar}` not found: {}; {fix}", self.looked(&[])))
    }

    /// Finds a helper command (prepare step, exec probe): next to the sidecar's program `main`
    /// first (`pg_isready` beside `postgres`), also where `main` really is when it is a symlink
    /// (`/usr/local/bin/postgres` → `/usr/lib/postgresql/15/bin/postgres`), then like the
    /// program itself (no override).
    pub fn helper(&self, command: &str, main: Option<&Path>) -> Result<PathBuf, String> {
        if is_path(command) {
            return self.program(command, None);
        }
        // The program's dir, then the dir of each symlink hop (a few at most).
        let mut beside: Vec<PathBuf> = Vec::new();
        let mut cur = main.map(Path::to_path_buf);
        for _ in 0..8 {
            let Some(p) = cur.take() else { break };
            if let Some(dir) = p.parent().filter(|d| !beside.iter().any(|b| b == d)) {
                beside.push(dir.to_path_buf());
            }
            cur = std::fs::read_link(&p).ok().map(|t| p.parent().unwrap_or(Path::new("/")).join(t));
        }
        let dirs: Vec<PathBuf> = beside.iter().cloned().chain(self.bundle()).collect();
        if let Some(p) = self.find(command, &dirs) {
            return Ok(p);
        }
        let var = crate::profile::settings::bin_var(self.sidecar);
        let point = format!(
            "point {var} to a program that has `{command}` in its directory (helpers are looked up there first)"
        );
        let fix = if self.hint().is_some() { point } else { format!("install it, or {point}") };
        let looked = self.looked(&beside);
        Err(self
            .with_hint(format!("helper command `{command}` of sidecar `{}` not found: {looked}; {fix}", self.sidecar)))
    }

    /// The bundled dirs, then each `bundled` search path entry inside each of them.
    fn bundle(&self) -> Vec<PathBuf> {
        let subs = self.search_entries.iter().filter_map(|e| match e {
            SearchPathEntry::Bundled(b) => Some(b.bundled.as_str()),
            _ => None,
        });
        let inside = subs.flat_map(|s| self.bundled_dirs.iter().map(move |d| d.join(s)));
        self.bundled_dirs.iter().cloned().chain(inside).collect()
    }

    /// `dirs` (bundled names), `PATH`, then the search path.
    fn find(&self, command: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
        for dir in dirs {
            for name in [format!("{command}-{}", self.target_triple), command.to_string()] {
                if let Some(p) = executable_names(&dir.join(&name)).into_iter().find(|p| is_executable(p)) {
                    return Some(p);
                }
            }
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        let search = self.search.map(|s| s.dirs.as_slice()).unwrap_or_default();
        std::env::split_paths(&path)
            .chain(search.iter().cloned())
            .flat_map(|d| executable_names(&d.join(command)))
            .find(|p| is_executable(p))
    }

    /// Where a lookup went, for the error: beside the program, bundle, PATH, search path.
    fn looked(&self, beside: &[PathBuf]) -> String {
        let mut parts = Vec::new();
        if !beside.is_empty() {
            let dirs: Vec<String> = beside.iter().map(|d| d.display().to_string()).collect();
            parts.push(format!("not next to its program in {}", dirs.join(", ")));
        }
        let bundled: Vec<String> = self.bundle().iter().map(|d| d.display().to_string()).collect();
        parts.push(if bundled.is_empty() {
            "not a bundled sidecar (no bundle dir)".to_string()
        } else {
            format!("not a bundled sidecar (looked in {})", bundled.join(", "))
        });
        parts.push(match std::env::var("PATH") {
            Ok(p) if !p.is_empty() => format!("not on PATH ({p})"),
            _ => "not on PATH (PATH is not set)".to_string(),
        });
        if let Some(s) = self.search {
            parts.push(format!("not in search_path ({})", s.tried.join("; ")));
        }
        parts.join(", ")
    }

    fn hint(&self) -> Option<&str> {
        self.install_hint.map(str::trim).filter(|h| !h.is_empty())
    }

    /// Every error of a lookup ends with the profile's `install_hint`.
    fn with_hint(&self, mut e: String) -> String {
        if let Some(h) = self.hint() {
            e.push_str("; ");
            e.push_str(h);
        }
        e
    }
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    use super::*;

    #[cfg(unix)]
    fn on_path(name: &str) -> PathBuf {
        let path = std::env::var_os("PATH").unwrap();
        std::env::split_paths(&path).map(|d| d.join(name)).find(|p| is_executable(p)).unwrap()
    }

    #[cfg(unix)]
    fn lookup<'a>(base: &'a Path, bundled: &'a [PathBuf], search: Option<&'a SearchDirs>) -> Lookup<'a> {
        Lookup {
            sidecar: "database",
            profile_dir: base,
            bundled_dirs: bundled,
            search_entries: &[],
            target_triple: "x86_64-unknown-linux-gnu",
            search,
            install_hint: Some("Install it with `apt install thing`"),
        }
    }

    #[cfg(unix)]
    #[test]
    fn order_is_override_path_bundle_path_env_then_search_path() {
        let tmp = tempfile::tempdir().unwrap();
        let (bundle, extra) = (tmp.path().join("bundle"), tmp.path().join("extra"));
        std::fs::create_dir_all(&bundle).unwrap();
        std::fs::create_dir_all(&extra).unwrap();
        let sh = on_path("sh");
        for (dir, name) in [(&bundle, "bundled-xyz-x86_64-unknown-linux-gnu"), (&extra, "sh"), (&extra, "extra-xyz")] {
            std::os::unix::fs::symlink(&sh, dir.join(name)).unwrap();
        }
        let search = SearchDirs { dirs: vec![extra.clone()], tried: vec![extra.display().to_string()] };
        let bundled = [bundle.clone()];
        let l = lookup(tmp.path(), &bundled, Some(&search));
        assert_eq!(l.program("sh", Some(&sh)).unwrap(), sh, "override");
        assert_eq!(
            l.program("bundle/bundled-xyz-x86_64-unknown-linux-gnu", None).unwrap(),
            bundle.join("bundled-xyz-x86_64-unknown-linux-gnu"),
            "path relative to the profile"
        );
        assert_eq!(
            l.program("bundled-xyz", None).unwrap(),
            bundle.join("bundled-xyz-x86_64-unknown-linux-gnu"),
            "bundled, with the triple"
        );
        assert_eq!(l.program("sh", None).unwrap(), sh, "PATH before the search path");
        assert_eq!(l.program("extra-xyz", None).unwrap(), extra.join("extra-xyz"), "then the search path");
        let err = l.program("missing-xyz", None).unwrap_err();
        assert!(err.contains(&format!("not in search_path ({})", extra.display())), "{err}");
        assert!(err.contains("set DATABASE_BIN or MISSING_XYZ_BIN to its path; Install it with"), "{err}");
        let err = l.program("sh", Some(&tmp.path().join("nope"))).unwrap_err();
        assert!(
            err.contains("not an executable file") && err.ends_with("; Install it with `apt install thing`"),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn helpers_are_found_beside_the_program_and_where_it_really_is() {
        let tmp = tempfile::tempdir().unwrap();
        let (real, linked) = (tmp.path().join("real/bin"), tmp.path().join("linked"));
        std::fs::create_dir_all(&real).unwrap();
        std::fs::create_dir_all(&linked).unwrap();
        let sh = on_path("sh");
        std::os::unix::fs::symlink(&sh, real.join("server")).unwrap();
        std::os::unix::fs::symlink(&sh, real.join("helper-xyz")).unwrap();
        std::os::unix::fs::symlink(real.join("server"), linked.join("server")).unwrap();
        let l = lookup(tmp.path(), &[], None);
        assert_eq!(l.helper("helper-xyz", Some(&real.join("server"))).unwrap(), real.join("helper-xyz"));
        assert_eq!(
            l.helper("helper-xyz", Some(&linked.join("server"))).unwrap(),
            real.join("helper-xyz"),
            "through the symlink"
        );
        let err = l.helper("other-xyz", Some(&linked.join("server"))).unwrap_err();
        assert!(
            err.starts_with("helper command `other-xyz` of sidecar `database` not found: not next to its program in "),
            "{err}"
        );
        assert!(
            err.contains(&linked.display().to_string()) && err.ends_with("; Install it with `apt install thing`"),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_bundled_search_path_entry_is_tried_inside_each_bundle_dir_before_path() {
        let tmp = tempfile::tempdir().unwrap();
        let (exe_dir, resources) = (tmp.path().join("bin"), tmp.path().join("resources"));
        let shipped = resources.join("pg/bin");
        std::fs::create_dir_all(&exe_dir).unwrap();
        std::fs::create_dir_all(&shipped).unwrap();
        let sh = on_path("sh");
        // `sh` is on PATH too: the shipped one must win.
        std::os::unix::fs::symlink(&sh, shipped.join("sh")).unwrap();
        std::os::unix::fs::symlink(&sh, shipped.join("initdb-xyz")).unwrap();
        let entries = [SearchPathEntry::Bundled(crate::profile::SearchPathBundled { bundled: "pg/bin".into() })];
        let bundled = [exe_dir.clone(), resources.clone()];
        let l = Lookup { search_entries: &entries, ..lookup(tmp.path(), &bundled, None) };
        assert_eq!(l.program("sh", None).unwrap(), shipped.join("sh"), "the shipped program before PATH");
        assert_eq!(l.helper("initdb-xyz", Some(&shipped.join("sh"))).unwrap(), shipped.join("initdb-xyz"));
        let err = l.program("missing-xyz", None).unwrap_err();
        assert!(err.contains(&exe_dir.join("pg/bin").display().to_string()), "the error lists where it looked: {err}");
        let plain = lookup(tmp.path(), &bundled, None);
        assert_eq!(plain.program("sh", None).unwrap(), sh, "without the entry: PATH");
    }
}
