//! `search_path`: where a sidecar's program lives when it is neither bundled nor on `PATH`.
//!
//! PostgreSQL on Debian/Ubuntu keeps its server programs in `/usr/lib/postgresql/<major>/bin`,
//! which is not on `PATH`, and `pg_config --bindir` names that directory. Rather than knowing
//! about PostgreSQL, the engine lets a profile list such places: directories, possibly with `*`
//! (the highest version first), and commands that print a directory. Evaluating runs processes,
//! so the engine does it off its loop, once per sidecar, and only when something is not found
//! otherwise; every entry's outcome is kept for the not-found error.

use std::cmp::Ordering;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use crate::platform;
use crate::profile::{SearchPathCommand, SearchPathEntry};

/// How long a command of a search path may take (it should answer in milliseconds).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// What evaluating a search path gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchDirs {
    /// Existing directories, in the order to try them (no duplicates).
    pub dirs: Vec<PathBuf>,
    /// One note per entry, what it was and what it gave, for the not-found error.
    pub tried: Vec<String>,
}

/// Evaluates `entries` in order; relative paths are relative to `base` (the profile's dir).
/// Never fails: an entry that gives nothing is noted in `tried` and skipped.
pub async fn evaluate(entries: &[SearchPathEntry], base: &Path, timeout: Duration) -> SearchDirs {
    let mut out = SearchDirs::default();
    for entry in entries {
        match entry {
            SearchPathEntry::Dir(pattern) => {
                let found = expand_dir_pattern(&base.join(pattern));
                let shown: Vec<String> = found.iter().map(|d| d.display().to_string()).collect();
                out.tried.push(match (pattern.contains('*'), shown.is_empty()) {
                    (_, true) => format!("{pattern}: no such directory"),
                    (false, false) => pattern.clone(),
                    (true, false) => format!("{pattern} → {}", shown.join(", ")),
                });
                for d in found {
                    if !out.dirs.contains(&d) {
                        out.dirs.push(d);
                    }
                }
            }
            // Looked up with the bundled sidecars, not here (it needs no evaluating).
            SearchPathEntry::Bundled(_) => {}
            SearchPathEntry::Command(cmd) => {
                let shown = std::iter::once(cmd.command.as_str())
                    .chain(cmd.args.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(" ");
                match dir_from_command(cmd, base, timeout).await {
                    Ok(d) => {
                        out.tried.push(format!("`{shown}` → {}", d.display()));
                        if !out.dirs.contains(&d) {
                            out.dirs.push(d);
                        }
                    }
                    Err(why) => out.tried.push(format!("`{shown}`: {why}")),
                }
            }
        }
    }
    out
}

/// Runs `cmd` (own process group, killed on timeout) and takes the first non-empty line of its
/// output as a directory.
async fn dir_from_command(cmd: &SearchPathCommand, base: &Path, timeout: Duration) -> Result<PathBuf, String> {
    let program = if cmd.command.contains('/') { base.join(&cmd.command) } else { PathBuf::from(&cmd.command) };
    let text = output_of(&program, &cmd.args, base, timeout).await?;
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).ok_or("printed nothing")?;
    let dir = PathBuf::from(line);
    if !dir.is_absolute() {
        return Err(format!("printed `{line}`, not an absolute directory"));
    }
    if !dir.is_dir() {
        return Err(format!("printed {line}, which is not a directory"));
    }
    Ok(dir)
}

/// The existing directories matching `pattern`, where `*` in a component matches any name not
/// starting with `.`; the highest version first (see [`version_cmp`]).
pub fn expand_dir_pattern(pattern: &Path) -> Vec<PathBuf> {
    let mut current = vec![PathBuf::new()];
    for comp in pattern.components() {
        match comp {
            Component::Normal(name) if name.to_string_lossy().contains('*') => {
                let glob = name.to_string_lossy();
                let mut next = Vec::new();
                for dir in &current {
                    let Ok(entries) = std::fs::read_dir(if dir.as_os_str().is_empty() { Path::new(".") } else { dir })
                    else {
                        continue;
                    };
                    for e in entries.flatten() {
                        let n = e.file_name().to_string_lossy().into_owned();
                        if !n.starts_with('.') && wildcard_match(&glob, &n) {
                            next.push(dir.join(&n));
                        }
                    }
                }
                current = next;
            }
            other => current.iter_mut().for_each(|d| d.push(other)),
        }
    }
    current.retain(|d| d.is_dir());
    current.sort_by(|a, b| version_cmp(&b.to_string_lossy(), &a.to_string_lossy()));
    current.dedup();
    current
}

/// `*` matches any run of characters (none included); everything else matches itself.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // Greedy match with backtracking to the last `*`.
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Compares like version numbers: runs of digits by their value (`9.6` < `15` < `16`,
/// `9.6` < `9.10`), everything else character by character.
pub fn version_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let la = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let lb = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let strip = |d: &[u8]| -> usize { d.iter().take_while(|c| **c == b'0').count() };
                let (da, db) = (&a[strip(&a[..la])..la], &b[strip(&b[..lb])..lb]);
                let ord = da.len().cmp(&db.len()).then_with(|| da.cmp(db));
                if ord != Ordering::Equal {
                    return ord;
                }
                (a, b) = (&a[la..], &b[lb..]);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                (a, b) = (&a[1..], &b[1..]);
            }
        }
    }
}

/// Runs `program` (in a group of its own, killed with whatever it left when it ends or after
/// `timeout`) and returns what it printed on stdout (at most 64 KiB), or why it gave nothing.
pub(crate) async fn output_of(
    program: &Path,
    args: &[String],
    cwd: &Path,
    timeout: Duration,
) -> Result<String, String> {
    use tokio::io::AsyncReadExt;
    let req = platform::SpawnRequest { program, args, env: &[], cwd, user: None };
    let platform::Spawned { mut child, pid, lifeline, stdout, stderr } = match platform::spawn(&req) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err("not found".into()),
        Err(e) => return Err(format!("cannot run it: {e}")),
    };
    let work = async {
        let (mut out, mut sink) = (Vec::new(), tokio::io::sink());
        let (mut stdout, mut stderr) = (stdout.take(64 * 1024), stderr.take(64 * 1024));
        let _ = tokio::join!(stdout.read_to_end(&mut out), tokio::io::copy(&mut stderr, &mut sink));
        (child.wait().await, out)
    };
    let waited = tokio::time::timeout(timeout, work).await;
    drop(lifeline);
    let (status, out) = match waited {
        Err(_) => {
            platform::kill_group(pid);
            return Err(format!("no answer within {} ms", timeout.as_millis()));
        }
        Ok((Err(e), _)) => return Err(e.to_string()),
        Ok((Ok(st), out)) => (st, out),
    };
    platform::kill_group(pid); // whatever it left behind in its group
    if status.code != Some(0) {
        return Err(format!("failed ({})", status.describe()));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_value() {
        assert_eq!(version_cmp("16", "15"), Ordering::Greater);
        assert_eq!(version_cmp("15", "9.6"), Ordering::Greater);
        assert_eq!(version_cmp("9.10", "9.6"), Ordering::Greater);
        assert_eq!(version_cmp("/usr/lib/postgresql/9.6/bin", "/usr/lib/postgresql/16/bin"), Ordering::Less);
        assert_eq!(version_cmp("010", "10"), Ordering::Equal);
        assert_eq!(version_cmp("1.2", "1.2"), Ordering::Equal);
        assert_eq!(version_cmp("a", "b"), Ordering::Less);
        assert_eq!(version_cmp("16", "16beta"), Ordering::Less);
        assert_eq!(version_cmp("99999999999999999999999", "2"), Ordering::Greater, "no overflow");
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", "15"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("v*", "v15"));
        assert!(!wildcard_match("v*", "15"));
        assert!(wildcard_match("*-bin", "pg-16-bin"));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("a*b*c", "aXXbYY"));
        assert!(wildcard_match("exact", "exact"));
        assert!(!wildcard_match("exact", "exactly"));
    }

    #[test]
    fn pattern_matches_highest_version_first() {
        let tmp = tempfile::tempdir().unwrap();
        for v in ["9.6", "15", "16", "10"] {
            std::fs::create_dir_all(tmp.path().join(format!("pg/{v}/bin"))).unwrap();
        }
        std::fs::create_dir_all(tmp.path().join("pg/14")).unwrap(); // no bin: no match
        std::fs::create_dir_all(tmp.path().join("pg/.hidden/bin")).unwrap();
        std::fs::write(tmp.path().join("pg/file"), "").unwrap();
        let found = expand_dir_pattern(&tmp.path().join("pg/*/bin"));
        let names: Vec<String> =
            found.iter().map(|p| p.parent().unwrap().file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["16", "15", "10", "9.6"]);
        assert_eq!(expand_dir_pattern(&tmp.path().join("pg/15/bin")), [tmp.path().join("pg/15/bin")]);
        assert!(expand_dir_pattern(&tmp.path().join("nope/*/bin")).is_empty());
    }

    #[cfg(unix)]
    fn cmd(command: &str, args: &[&str]) -> SearchPathEntry {
        SearchPathEntry::Command(SearchPathCommand {
            command: command.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[cfg(unix)] // uses sh, or Unix signal semantics
    #[tokio::test]
    async fn commands_that_give_nothing_are_skipped_with_a_reason() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("bin");
        std::fs::create_dir(&dir).unwrap();
        let shown = dir.display().to_string();
        let entries = vec![
            cmd("no-such-command-xyz", &[]),
            cmd("sh", &["-c", "exit 3"]),
            cmd("sh", &["-c", "sleep 30"]),
            cmd("sh", &["-c", "echo relative/dir"]),
            cmd("sh", &["-c", "echo /no/such/dir/xyz"]),
            SearchPathEntry::Dir("missing/*/bin".into()),
            cmd("sh", &["-c", &format!("echo; echo '  {shown}  '")]),
            SearchPathEntry::Dir(shown.clone()),
        ];
        let started = std::time::Instant::now();
        let got = evaluate(&entries, tmp.path(), Duration::from_millis(300)).await;
        assert!(started.elapsed() < Duration::from_secs(10), "the hanging command was cut short");
        assert_eq!(got.dirs, [dir], "found once, duplicates dropped");
        let t = &got.tried;
        assert_eq!(t.len(), entries.len(), "{t:?}");
        assert!(t[0].contains("no-such-command-xyz") && t[0].contains("not found"), "{}", t[0]);
        assert!(t[1].contains("failed"), "{}", t[1]);
        assert!(t[2].contains("no answer within 300 ms"), "{}", t[2]);
        assert!(t[3].contains("not an absolute directory"), "{}", t[3]);
        assert!(t[4].contains("not a directory"), "{}", t[4]);
        assert!(t[5].contains("missing/*/bin: no such directory"), "{}", t[5]);
        assert!(t[6].ends_with(&format!("→ {shown}")), "{}", t[6]);
        assert_eq!(t[7], shown);
    }
}
