//! How this OS names programs: which command is a path, which files a name may mean, the target
//! triple Tauri puts on bundled sidecars, and the variables that name the temp dir.

use std::path::{Path, PathBuf};

/// A command given as a path (relative to the profile) rather than a name to look up: it has a
/// `/` (or, on Windows, a `\`).
pub fn is_path(command: &str) -> bool {
    command.contains('/') || (cfg!(windows) && command.contains('\\'))
}

/// The files `p` may name: itself, and on Windows, when it has no extension, `p` with each
/// executable extension of `PATHEXT` — `postgres` is `postgres.exe` there.
pub fn executable_names(p: &Path) -> Vec<PathBuf> {
    if cfg!(windows) {
        with_pathext(p, &std::env::var("PATHEXT").unwrap_or_else(|_| DEFAULT_PATHEXT.into()))
    } else {
        vec![p.to_path_buf()]
    }
}

/// `PATHEXT` when it is not set.
const DEFAULT_PATHEXT: &str = ".COM;.EXE;.BAT;.CMD";

/// `p`, then (when it has no extension) `p` with each extension of `pathext` (`;`-separated).
fn with_pathext(p: &Path, pathext: &str) -> Vec<PathBuf> {
    let mut out = vec![p.to_path_buf()];
    if p.extension().is_none() {
        for ext in pathext.split(';').map(str::trim).filter(|e| e.starts_with('.') && e.len() > 1) {
            let mut s = p.as_os_str().to_owned();
            s.push(ext.to_ascii_lowercase());
            out.push(PathBuf::from(s));
        }
    }
    out
}

/// The host's target triple, as Tauri names bundled sidecars (`backend-x86_64-unknown-linux-gnu`).
pub fn host_triple() -> String {
    let arch = std::env::consts::ARCH;
    if cfg!(target_os = "linux") {
        format!("{arch}-unknown-linux-gnu")
    } else if cfg!(target_os = "macos") {
        format!("{arch}-apple-darwin")
    } else if cfg!(all(windows, target_env = "gnu")) {
        format!("{arch}-pc-windows-gnu")
    } else if cfg!(windows) {
        format!("{arch}-pc-windows-msvc")
    } else {
        format!("{arch}-unknown-{}", std::env::consts::OS)
    }
}

/// The environment variables that name the temp dir (a sidecar gets its own).
pub const TEMP_DIR_VARS: &[&str] = if cfg!(windows) { &["TMP", "TEMP"] } else { &["TMPDIR"] };

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_name_also_means_its_pathext_variants() {
        let p = Path::new("bin").join("postgres");
        let names = with_pathext(&p, DEFAULT_PATHEXT);
        assert_eq!(names[0], p);
        assert!(names.iter().any(|n| n.to_string_lossy().ends_with("postgres.exe")), "{names:?}");
        assert_eq!(with_pathext(&Path::new("bin").join("tool.exe"), DEFAULT_PATHEXT).len(), 1, "has an extension");
        assert_eq!(with_pathext(&p, "").len(), 1, "no PATHEXT, no variants");
    }

    #[test]
    fn the_host_triple_is_one_tauri_names_sidecars_with() {
        let t = host_triple();
        assert!(t.starts_with(std::env::consts::ARCH), "{t}");
        assert!(["-linux-gnu", "-apple-darwin", "-windows-gnu", "-windows-msvc"].iter().any(|s| t.ends_with(s)), "{t}");
    }
}
