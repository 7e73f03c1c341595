//! "Open data folder" / "Open logs folder": the app command `open_folder(which)` opens the
//! runtime's data dir or its sidecar logs dir in the OS file manager (`tauri-plugin-opener`,
//! called from Rust).
//!
//! The webview names a folder by a word, never by a path: the path is resolved here from the
//! running status ([`folder_path`], pure and unit-tested), so no path crosses IPC and the page
//! needs no opener permission or scope, only `allow-open-folder` (the app's own command).

use std::path::{Path, PathBuf};

use sidecar_supervisor_core::DataDirLayout;
use tauri::{AppHandle, Runtime};
use tauri_plugin_opener::OpenerExt;
use tauri_plugin_sidecar_supervisor::SidecarSupervisorExt;

/// The folder `which` names under `data_dir`: `data` is the data dir itself, `logs` where the
/// engine writes each sidecar's rotated output (`<data_dir>/logs`).
pub fn folder_path(data_dir: &Path, which: &str) -> Result<PathBuf, String> {
    match which {
        "data" => Ok(data_dir.to_path_buf()),
        "logs" => Ok(DataDirLayout::new(data_dir).logs_dir()),
        other => Err(format!("unknown folder {other:?}: expected \"data\" or \"logs\"")),
    }
}

/// Opens the data (`which = "data"`) or logs (`"logs"`) folder in the file manager. Errors are
/// sentences: an unknown `which` (named), a runtime that is not running, or the OS failing to
/// open it.
#[tauri::command]
pub async fn open_folder<R: Runtime>(app: AppHandle<R>, which: String) -> Result<(), String> {
    // The word first: a wrong one is refused whatever the runtime's state.
    folder_path(Path::new(""), &which)?;
    let status = app.sidecar_supervisor().status().map_err(|e| e.to_string())?;
    let dir = folder_path(Path::new(&status.data_dir), &which)?;
    // The logs dir exists once a sidecar has run; an empty one is still the right place to show.
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    app.opener()
        .open_path(dir.to_string_lossy(), None::<&str>)
        .map_err(|e| format!("cannot open {}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_and_logs_resolve_under_the_data_dir() {
        let root = Path::new("/home/u/.local/share/desktop-runtime");
        assert_eq!(folder_path(root, "data").unwrap(), root);
        assert_eq!(folder_path(root, "logs").unwrap(), root.join("logs"));
    }

    #[test]
    fn anything_else_is_refused_by_name() {
        for bad in ["", "Data", "exports", "../etc", "/tmp"] {
            let e = folder_path(Path::new("/d"), bad).unwrap_err();
            assert_eq!(e, format!("unknown folder {bad:?}: expected \"data\" or \"logs\""));
        }
    }
}
