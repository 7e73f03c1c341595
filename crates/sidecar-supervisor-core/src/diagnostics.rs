//! The one-click diagnostics bundle: a zip a user attaches to a bug report instead of copying
//! five things by hand.
//!
//! What goes in: `status.json` (with the warnings and, sampled now, each sidecar's resources),
//! `feed.json`, `logs/<instance>.log` (the last lines each log keeps in memory), `profile.json`
//! (the profile as loaded, with secrets redacted), `versions.json` (runtime, app, OS) and
//! `data-dir.txt` (the data dir's layout with sizes). Everything is text the runtime already
//! redacted (feed, logs, status) or is redacted here: the profile by value *and* by key (an
//! `env` entry named `*_TOKEN` is a secret whatever its value looks like), with the run's own
//! secrets (API key, passwords) replaced wherever they appear. The bundle is written through a
//! temporary file renamed into place: a failed write leaves nothing under the chosen name.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::redact::{Redactor, REDACTED};
use crate::runtime::Supervisor;

/// Lines of each log in the bundle.
pub const LOG_LINES: usize = 500;
/// The data dir is listed this deep (deeper dirs are summed into their parent's line).
const LAYOUT_DEPTH: usize = 3;
/// At most this many entries of the layout are listed.
const LAYOUT_ENTRIES: usize = 2000;

/// Who is asking: the app's name and version for `versions.json`.
#[derive(Debug, Clone, Default)]
pub struct BundleInfo {
    pub app_name: String,
    pub app_version: String,
}

/// Object keys whose values are secrets whatever they hold (compared upper-cased).
fn secret_key(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    ["KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL"].iter().any(|s| k.ends_with(s))
        || ["API_KEY", "APIKEY", "AUTHORIZATION"].contains(&k.as_str())
}

/// `v` with every string redacted and every value under a secret-named key replaced.
pub fn redact_json(v: &Value, redactor: &Redactor) -> Value {
    match v {
        Value::String(s) => Value::String(redactor.redact(s).into_owned()),
        Value::Array(a) => Value::Array(a.iter().map(|x| redact_json(x, redactor)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| {
                    let x = if secret_key(k) && !x.is_null() && !x.is_boolean() {
                        Value::String(REDACTED.into())
                    } else {
                        redact_json(x, redactor)
                    };
                    (redactor.redact(k).into_owned(), x)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Writes the bundle of `sup` to `dest` (a `.zip`); returns the bytes written.
pub fn write_bundle(sup: &Supervisor, info: &BundleInfo, dest: &Path) -> std::io::Result<u64> {
    let redactor = sup.redactor();
    let _ = sup.sample_resources(); // the status then carries each sidecar's resources
    let status = sup.status();
    let data_dir = PathBuf::from(&status.data_dir);
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let pretty = |v: &Value| serde_json::to_vec_pretty(v).expect("JSON serializes");
    files.push(("status.json".into(), pretty(&serde_json::to_value(&status).expect("status serializes"))));
    files.push(("feed.json".into(), pretty(&serde_json::to_value(sup.events(None)).expect("events serialize"))));
    for name in sup.instance_names() {
        let lines = sup.logs(&name, LOG_LINES).unwrap_or_default();
        let text: String = lines.iter().map(|l| format!("{} {} {}\n", l.at, l.stream.as_str(), l.line)).collect();
        files.push((format!("logs/{}.log", crate::logs::file_stem(&name)), text.into_bytes()));
    }
    let profile = match std::fs::read(&status.profile_path) {
        Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) => redact_json(&v, &redactor),
            Err(e) => json!({ "unreadable": format!("{}: {e}", status.profile_path) }),
        },
        Err(e) => json!({ "unreadable": format!("{}: {e}", status.profile_path) }),
    };
    files.push(("profile.json".into(), pretty(&profile)));
    files.push(("versions.json".into(), pretty(&versions(info))));
    let layout = redactor.redact(&layout_text(&data_dir)).into_owned();
    files.push(("data-dir.txt".into(), layout.into_bytes()));
    write_zip(dest, &files)
}

fn versions(info: &BundleInfo) -> Value {
    json!({
        "runtime": env!("CARGO_PKG_VERSION"),
        "app": { "name": info.app_name, "version": info.app_version },
        "os": { "family": crate::platform::OS_NAME, "arch": std::env::consts::ARCH, "release": os_release() },
        "written_at": crate::wallclock::now_rfc3339(),
    })
}

/// The OS's own name for itself where it is cheap to read (Linux `/etc/os-release`; macOS and
/// Windows give their family and architecture only).
fn os_release() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=")).map(|v| v.trim_matches('"').to_string())
}

/// One line per file or dir (to [`LAYOUT_DEPTH`]): size, then the path under the data dir.
pub fn layout_text(root: &Path) -> String {
    let mut out = format!("{}\n", root.display());
    let mut lines = Vec::new();
    let total = walk(root, root, 0, &mut lines);
    let shown = lines.len().min(LAYOUT_ENTRIES);
    for (size, rel) in &lines[..shown] {
        out.push_str(&format!("{:>10}  {rel}\n", human(*size)));
    }
    if lines.len() > shown {
        out.push_str(&format!("… {} more entries\n", lines.len() - shown));
    }
    out.push_str(&format!("{:>10}  (total)\n", human(total)));
    out
}

fn walk(root: &Path, dir: &Path, depth: usize, lines: &mut Vec<(u64, String)>) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else { return 0 };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    let mut total = 0;
    for e in entries {
        let Ok(meta) = e.path().symlink_metadata() else { continue };
        // `/` between parts on every OS: the same layout reads the same in every bug report.
        let rel = e
            .path()
            .strip_prefix(root)
            .map(|p| p.iter().map(|c| c.to_string_lossy()).collect::<Vec<_>>().join("/"))
            .unwrap_or_default();
        if meta.is_dir() {
            let at = lines.len();
            let mut below = Vec::new();
            let size = walk(root, &e.path(), depth + 1, &mut below);
            lines.insert(at, (size, format!("{rel}/")));
            if depth + 1 < LAYOUT_DEPTH {
                lines.extend(below);
            }
            total += size;
        } else {
            lines.push((meta.len(), rel));
            total += meta.len();
        }
    }
    total
}

fn human(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// The zip, written through a temporary sibling renamed into place.
fn write_zip(dest: &Path, files: &[(String, Vec<u8>)]) -> std::io::Result<u64> {
    crate::atomic_file::replace_with(dest, |f| {
        let mut zip = zip::ZipWriter::new(f);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (path, bytes) in files {
            zip.start_file(format!("diagnostics/{path}"), opts).map_err(std::io::Error::other)?;
            zip.write_all(bytes)?;
        }
        zip.finish().map_err(std::io::Error::other)?;
        Ok(())
    })?;
    Ok(std::fs::metadata(dest)?.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_secrets_go_by_key_and_by_value() {
        let r = Redactor::new(["the-launch-key".to_string()]);
        let profile = json!({
            "sidecars": [{
                "name": "api",
                "env": { "GITHUB_TOKEN": "ghp_abc", "DB_PASSWORD": "pw", "LOG_LEVEL": "info",
                         "DATABASE_URL": "postgres://app:hunter2@127.0.0.1/db", "NOTE": "uses the-launch-key" },
                "health": { "enabled": true }
            }],
            "backend_api_key": "remote-secret"
        });
        let out = redact_json(&profile, &r).to_string();
        for secret in ["ghp_abc", "\"pw\"", "hunter2", "the-launch-key", "remote-secret"] {
            assert!(!out.contains(secret), "{secret} leaked: {out}");
        }
        assert!(out.contains("\"LOG_LEVEL\":\"info\"") && out.contains("\"enabled\":true"), "{out}");
    }

    #[test]
    fn layout_lists_sizes_to_a_depth_and_sums_below() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a/b/c/d")).unwrap();
        std::fs::write(d.path().join("a/b/c/d/deep.bin"), vec![0u8; 2048]).unwrap();
        std::fs::write(d.path().join("top.txt"), "hello").unwrap();
        let t = layout_text(d.path());
        assert!(t.contains("2.0 KiB  a/\n"), "{t}");
        assert!(t.contains("a/b/c/") && !t.contains("deep.bin"), "deeper entries are summed: {t}");
        assert!(t.contains("5 B  top.txt"), "{t}");
    }
}
