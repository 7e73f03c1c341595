//! What the dialog watches: a sidecar's log live, its whole rotated history, an export of it,
//! and the resources of every sidecar.
//!
//! Why leases: the dialog says "I am looking" with `watch` every few seconds; the engine sends
//! live lines and samples resources only while a lease runs. A page that reloads or a window
//! that closes simply stops renewing, so nothing keeps streaming into a webview nobody looks
//! at, and a closed dialog costs what no dialog costs.
//!
//! Why raw bytes, in chunks: the whole history (up to the rotation limit, tens of MB) crosses
//! IPC as `ArrayBuffer`s streamed through a `Channel` (4 MiB each, from one snapshot of the
//! files) — no JSON array of numbers, no base64, and no single message big enough to stall the
//! page while it arrives. The JSON encoding of `log_history` (one JSON array of numbers) exists
//! only to measure what that saves (the e2e prints the ratio); the UI never asks for it.

use std::time::Duration;

use serde::Serialize;
use sidecar_supervisor_core::LiveLine;
use tauri::ipc::{Channel, InvokeResponseBody, Response};
use tauri::{AppHandle, Emitter, Runtime};

use crate::{Error, Result, SidecarSupervisorExt};

/// Live log lines (payload: [`LiveBatch`]).
pub const EVENT_LOG: &str = "sidecar-supervisor://log";
/// A resources sample of every sidecar (payload: `SidecarResources[]`).
pub const EVENT_RESOURCES: &str = "sidecar-supervisor://resources";

/// How long one `watch` keeps lines and samples coming (the UI renews every 2 s).
pub const WATCH_LEASE: Duration = Duration::from_secs(5);
/// Largest history `log_history` hands over (the default rotation keeps 20 MiB).
pub const MAX_HISTORY: u64 = 256 * 1024 * 1024;
/// Bytes per chunk of the history.
pub const CHUNK: usize = 4 * 1024 * 1024;

/// Live lines pushed together: those of one short window, and how many were missed because the
/// webview fell behind (then re-read the tail).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LiveBatch {
    pub lines: Vec<LiveLine>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub missed: u64,
}

/// "I am looking": for the next few seconds push `log`'s lines live (if named) and sample the
/// resources of every sidecar at most once a second (if `resources`).
#[tauri::command]
pub(crate) async fn watch<R: Runtime>(app: AppHandle<R>, log: Option<String>, resources: bool) -> Result<()> {
    let sup = app.sidecar_supervisor().supervisor()?;
    if let Some(name) = log {
        sup.watch_log(&name, WATCH_LEASE)?;
    }
    if resources {
        sup.watch_resources(WATCH_LEASE);
    }
    Ok(())
}

/// The whole rotated log of a sidecar instance, oldest first (`<at> <stream> <line>\n` records,
/// already redacted), sent on `on_chunk` as raw chunks of at most 4 MiB; returns the total
/// bytes sent (the caller has it all when its chunks add up to that). `encoding: "json"`
/// instead returns the bytes as one JSON array of numbers (nothing on the channel), for the
/// measurement only.
#[tauri::command]
pub(crate) async fn log_history<R: Runtime>(
    app: AppHandle<R>,
    name: String,
    on_chunk: Channel,
    encoding: Option<String>,
) -> Result<Response> {
    let json = match encoding.as_deref() {
        None | Some("raw") => false,
        Some("json") => true,
        Some(other) => {
            return Err(Error::InvalidArgument {
                message: format!("encoding: `{other}` is neither \"raw\" nor \"json\""),
                sidecar: Some(name),
            })
        }
    };
    let sup = app.sidecar_supervisor().supervisor()?.clone();
    let bytes = tauri::async_runtime::spawn_blocking(move || -> Result<Vec<u8>> {
        let mut snap = sup.log_snapshot(&name)?;
        if snap.len() > MAX_HISTORY {
            return Err(Error::InvalidArgument {
                message: format!(
                    "the log of `{name}` holds {} MB, over the {} MB one read hands over: export it instead",
                    snap.len() >> 20,
                    MAX_HISTORY >> 20
                ),
                sidecar: Some(name),
            });
        }
        snap.read_all().map_err(|e| Error::Io(format!("cannot read the log of `{name}`: {e}")))
    })
    .await
    .map_err(|e| Error::Io(format!("reading the log stopped: {e}")))??;
    if json {
        let text = serde_json::to_vec(&bytes).map_err(|e| Error::Io(e.to_string()))?;
        return Ok(Response::new(InvokeResponseBody::Json(String::from_utf8(text).expect("JSON is UTF-8"))));
    }
    for chunk in bytes.chunks(CHUNK) {
        on_chunk
            .send(InvokeResponseBody::Raw(chunk.to_vec()))
            .map_err(|e| Error::Io(format!("cannot send the log to the webview: {e}")))?;
    }
    Ok(Response::new(InvokeResponseBody::Json(bytes.len().to_string())))
}

/// Writes the whole rotated log of a sidecar instance to `path` (the file the user chose in the
/// save dialog): through a temporary file renamed into place, so a failed export leaves nothing
/// half-written under that name. Only a new file or a regular file the user agreed to replace;
/// the bytes never cross IPC. Returns the bytes written.
#[tauri::command]
pub(crate) async fn export_log<R: Runtime>(app: AppHandle<R>, name: String, path: String) -> Result<u64> {
    let dest = std::path::PathBuf::from(&path);
    check_save_path(&dest).map_err(|message| Error::InvalidArgument { message, sidecar: Some(name.clone()) })?;
    let sup = app.sidecar_supervisor().supervisor()?.clone();
    tauri::async_runtime::spawn_blocking(move || -> Result<u64> {
        let mut snap = sup.log_snapshot(&name)?;
        sidecar_supervisor_core::export_to(&mut snap, &dest)
            .map_err(|e| Error::Io(format!("cannot export the log of `{name}` to {}: {e}", dest.display())))
    })
    .await
    .map_err(|e| Error::Io(format!("the export stopped: {e}")))?
}

/// A path a save dialog can have returned: absolute, naming a file in an existing directory, and
/// not a directory or anything but a regular file.
pub(crate) fn check_save_path(p: &std::path::Path) -> std::result::Result<(), String> {
    if !p.is_absolute() {
        return Err(format!("path: `{}` is not absolute", p.display()));
    }
    if p.file_name().is_none() {
        return Err(format!("path: `{}` names no file", p.display()));
    }
    match p.parent() {
        Some(d) if d.is_dir() => {}
        _ => return Err(format!("path: the directory of `{}` does not exist", p.display())),
    }
    match std::fs::symlink_metadata(p) {
        Ok(m) if !m.file_type().is_file() => Err(format!("path: `{}` exists and is not a regular file", p.display())),
        _ => Ok(()),
    }
}

/// Most live lines one push carries, and how long a push waits for more after the first.
const LIVE_BATCH: usize = 500;
const LIVE_WINDOW: Duration = Duration::from_millis(16);

/// Pushes watched logs' lines to the webview in small batches. Only lines of a watched log are
/// ever sent on the channel, so with nothing watched this task just waits.
pub(crate) fn forward_live<R: Runtime>(app: AppHandle<R>, mut rx: tokio::sync::broadcast::Receiver<LiveLine>) {
    use tokio::sync::broadcast::error::RecvError;
    tauri::async_runtime::spawn(async move {
        loop {
            let mut batch = LiveBatch { lines: Vec::new(), missed: 0 };
            match rx.recv().await {
                Ok(l) => batch.lines.push(l),
                Err(RecvError::Lagged(n)) => batch.missed += n,
                Err(RecvError::Closed) => return,
            }
            let until = tokio::time::Instant::now() + LIVE_WINDOW;
            while batch.lines.len() < LIVE_BATCH {
                match tokio::time::timeout_at(until, rx.recv()).await {
                    Ok(Ok(l)) => batch.lines.push(l),
                    Ok(Err(RecvError::Lagged(n))) => batch.missed += n,
                    Ok(Err(RecvError::Closed)) | Err(_) => break,
                }
            }
            if let Err(e) = app.emit(EVENT_LOG, batch) {
                eprintln!("sidecar-supervisor: could not push log lines to the webview: {e}");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_paths_must_be_absolute_files_in_existing_dirs() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_save_path(&dir.path().join("out.log")).is_ok());
        assert!(check_save_path(std::path::Path::new("out.log")).unwrap_err().contains("not absolute"));
        assert!(check_save_path(&dir.path().join("nope/out.log")).unwrap_err().contains("does not exist"));
        assert!(check_save_path(dir.path()).unwrap_err().contains("not a regular file"));
        std::fs::write(dir.path().join("old.log"), "x").unwrap();
        assert!(check_save_path(&dir.path().join("old.log")).is_ok(), "replacing a file the user chose");
    }
}
