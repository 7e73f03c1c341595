//! `cargo xtask python` and `cargo xtask k8s`: the two Python-based steps. `k8s` checks the
//! Kubernetes manifests with the pinned `kubernetes-validate`; `python` packages the Python
//! reference sidecar (`sidecars/python-reference`) packaged as
//! one file with PyInstaller `--onefile`, as a Python app ships as a sidecar.
//!
//! Its PyPI packages are pinned (`requirements.txt`, transitive ones too) and installed into a
//! venv under the target dir (outside the clone, reused across runs, rebuilt when the pins
//! change). The program lands beside the other binaries, `<target>/debug/desktop-runtime-executor`
//! (`.exe` on Windows: the default profile's executor sidecar), and is rebuilt only when its
//! source or pins changed.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{prereq, step, target_dir, workspace_root};

/// The built program's name: the executor sidecar of the default profile, and the tests' Python
/// sidecar (found beside `test-sidecar`).
pub const PROGRAM: &str = "desktop-runtime-executor";

pub fn build() -> Result<PathBuf, String> {
    let src = workspace_root().join("sidecars/python-reference");
    let target = target_dir()?;
    let out = target.join("debug").join(format!("{PROGRAM}{}", std::env::consts::EXE_SUFFIX));
    let pins = std::fs::read_to_string(src.join("requirements.txt")).map_err(|e| format!("requirements.txt: {e}"))?;
    let work = target.join("python");
    let venv = ensure_venv(&work.join("venv"), &src.join("requirements.txt"), &pins, "pyinstaller")?;
    // The build hash the executor states (`build_info.py`, rewritten only when it changes).
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let info = work.join("build_info.py");
    let stamp = format!("BUILD = {:?}\n", crate::bundle::build_stamp().unwrap_or_default());
    if std::fs::read_to_string(&info).ok().as_deref() != Some(stamp.as_str()) {
        std::fs::write(&info, &stamp).map_err(|e| format!("{}: {e}", info.display()))?;
    }
    let inputs = [src.join("sidecar.py"), src.join("executor.py"), src.join("requirements.txt"), info.clone()];
    if is_newer(&out, &inputs) {
        eprintln!("==> {PROGRAM}: {} is up to date", out.display());
        return Ok(out);
    }
    let mut cmd = Command::new(bin(&venv, "pyinstaller"));
    cmd.args(["--onefile", "--noconfirm", "--log-level", "WARN", "--name", PROGRAM, "--distpath"])
        .arg(out.parent().expect("debug dir"))
        .arg("--workpath")
        .arg(work.join("build"))
        .arg("--specpath")
        .arg(work.join("build"))
        .arg("--paths")
        .arg(&work)
        .arg("--hidden-import")
        .arg("build_info")
        .arg(src.join("sidecar.py"));
    step("package the Python reference sidecar (PyInstaller --onefile)", &mut cmd)?;
    Ok(out)
}

/// `cargo xtask k8s`: the Kubernetes manifests (`deploy/kubernetes/*.yaml`) checked against
/// Kubernetes' own schema, strictly (an unknown field fails), with the pinned
/// `kubernetes-validate` (its schemas ship with it: no cluster, no download of schemas).
pub fn k8s() -> Result<(), String> {
    let dir = workspace_root().join("deploy/kubernetes");
    let reqs = dir.join("requirements.txt");
    let pins = std::fs::read_to_string(&reqs).map_err(|e| format!("{}: {e}", reqs.display()))?;
    let venv = ensure_venv(&target_dir()?.join("python/k8s-venv"), &reqs, &pins, "kubernetes-validate")?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut cmd = Command::new(bin(&venv, "kubernetes-validate"));
    cmd.args(["--strict", "--no-warn"]).args(&files);
    step("check the Kubernetes manifests against the Kubernetes schema", &mut cmd)
}

/// The venv at `venv` with the pinned packages of `reqs`, made or remade when they changed.
fn ensure_venv(venv: &Path, reqs: &Path, pins: &str, tool: &str) -> Result<PathBuf, String> {
    let venv = venv.to_path_buf();
    let stamp = venv.join("requirements.installed");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == pins) && bin(&venv, tool).is_file() {
        return Ok(venv);
    }
    let python = find_python()?;
    let _ = std::fs::remove_dir_all(&venv);
    let mut mk = Command::new(&python);
    mk.args(["-m", "venv"]).arg(&venv);
    if step("make a Python venv", &mut mk).is_err() {
        // Debian's python3 splits venv (and ensurepip) into a package of its own.
        let _ = std::fs::remove_dir_all(&venv);
        prereq::apt_install("Python's venv module (the Python reference sidecar is built in one)", &["python3-venv"])?;
        step("make a Python venv", &mut mk)?;
    }
    let mut pip = Command::new(bin(&venv, "python"));
    pip.args(["-m", "pip", "install", "--disable-pip-version-check", "-q", "-r"]).arg(reqs);
    step(&format!("install the pinned PyPI packages of {}", reqs.display()), &mut pip)
        .map_err(|e| format!("{e}\n    PyPI must be reachable (or a mirror set with PIP_INDEX_URL)"))?;
    std::fs::write(&stamp, pins).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(venv)
}

fn find_python() -> Result<PathBuf, String> {
    for name in ["python3", "python"] {
        let ok = Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success());
        if ok {
            return Ok(PathBuf::from(name));
        }
    }
    prereq::apt_install("Python 3 (the Python reference sidecar is built with it)", &["python3", "python3-venv"])?;
    Ok(PathBuf::from("python3"))
}

fn bin(venv: &Path, name: &str) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join(format!("{name}.exe"))
    } else {
        venv.join("bin").join(name)
    }
}

/// `out` exists and is newer than every input.
fn is_newer(out: &Path, inputs: &[PathBuf]) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let Some(built) = modified(out) else { return false };
    inputs.iter().all(|i| modified(i).is_some_and(|m| m <= built))
}
