//! The IPC commands. Arguments from the webview are checked here and refused with a
//! structured error; nothing a caller sends can panic the app.

use sidecar_supervisor_core::LogLine;
use sidecar_supervisor_core::RuntimeEvent;
use sidecar_supervisor_core::RuntimeStatus;
use sidecar_supervisor_core::Verb;
use tauri::{AppHandle, Runtime};

use crate::{Diagnostics, Error, Result, SidecarSupervisorExt};

/// Most log lines one call returns (the ring holds no more anyway).
pub const MAX_TAIL: i64 = 10_000;

#[tauri::command]
pub(crate) async fn desktop_runtime_status<R: Runtime>(app: AppHandle<R>) -> Result<RuntimeStatus> {
    app.sidecar_supervisor().status()
}

/// The feed, newest last; `limit` keeps the newest N.
#[tauri::command]
pub(crate) async fn desktop_runtime_diagnostics<R: Runtime>(
    app: AppHandle<R>,
    limit: Option<i64>,
) -> Result<Diagnostics> {
    let sup = app.sidecar_supervisor().supervisor()?;
    let limit = match limit {
        None => None,
        Some(n) if n >= 0 => Some(n as usize),
        Some(n) => {
            return Err(Error::InvalidArgument { message: format!("limit: {n} is negative"), sidecar: None });
        }
    };
    Ok(Diagnostics { feed_path: sup.feed_path().display().to_string(), events: sup.events(limit) })
}

/// The last `tail` lines of a sidecar's stdout and stderr (already redacted).
#[tauri::command]
pub(crate) async fn logs<R: Runtime>(app: AppHandle<R>, name: String, tail: i64) -> Result<Vec<LogLine>> {
    if !(0..=MAX_TAIL).contains(&tail) {
        return Err(Error::InvalidArgument {
            message: format!("tail: {tail} is outside 0..={MAX_TAIL}"),
            sidecar: Some(name),
        });
    }
    Ok(app.sidecar_supervisor().supervisor()?.logs(&name, tail as usize)?)
}

/// `verb` `name` (a unit, or every replica of a sidecar): what each verb command does.
async fn command<R: Runtime>(app: AppHandle<R>, verb: &str, name: String) -> Result<()> {
    let verb = Verb::parse(verb).expect("the verb commands are the core's verbs (see command_list.rs)");
    Ok(app.sidecar_supervisor().supervisor()?.command(verb, &name).await?)
}

/// One command per verb of the core's list (`Verb::about` says what each does), so that an app
/// can grant each on its own.
macro_rules! verb_commands {
    (verbs: [$($v:ident),*], $($rest:tt)*) => {
        $(
            #[doc = concat!("The core's `", stringify!($v), "` verb on `name`.")]
            #[tauri::command]
            pub(crate) async fn $v<R: Runtime>(app: AppHandle<R>, name: String) -> Result<()> {
                command(app, stringify!($v), name).await
            }
        )*
    };
}

with_commands!(verb_commands);

/// Calls `method` on the JSON-RPC channel of `name` (`"stdio": "jsonrpc"`) and returns its
/// result; a timeout, a process that ended mid-call, a message over 1 MiB and the sidecar's own
/// JSON-RPC error each come back as a structured error (the last with its `code` and `data`).
#[tauri::command]
pub(crate) async fn sidecar_request<R: Runtime>(
    app: AppHandle<R>,
    name: String,
    method: String,
    params: Option<serde_json::Value>,
    timeout_ms: i64,
) -> Result<serde_json::Value> {
    // The core's own check: the control socket refuses a bad timeout with the same words.
    let timeout = sidecar_supervisor_core::request_timeout(timeout_ms)?;
    let sup = app.sidecar_supervisor().supervisor()?;
    Ok(sup.request(&name, &method, params, timeout).await?)
}

/// The newest `limit` notifications `name` sent over its JSON-RPC channel (the plugin keeps at
/// most 1000 per sidecar), oldest first.
#[tauri::command]
pub(crate) async fn sidecar_messages<R: Runtime>(
    app: AppHandle<R>,
    name: String,
    limit: i64,
) -> Result<Vec<sidecar_supervisor_core::SidecarMessage>> {
    if !(0..=10_000).contains(&limit) {
        return Err(Error::InvalidArgument {
            message: format!("limit: {limit} is outside 0..=10000"),
            sidecar: Some(name),
        });
    }
    Ok(app.sidecar_supervisor().supervisor()?.messages(&name, limit as usize)?)
}

/// What a gRPC sidecar says of itself (`sidecar.v1.Control/Info`: name, version, pid, instance
/// id), asked over the plugin's gRPC channel to it (the one app code gets from
/// `grpc_channel`), within 3 s.
#[tauri::command]
pub(crate) async fn sidecar_info<R: Runtime>(app: AppHandle<R>, name: String) -> Result<SidecarInfo> {
    let ch = app.sidecar_supervisor().grpc_channel(&name)?;
    let call = sidecar_supervisor_core::call_info(ch, "");
    match tokio::time::timeout(std::time::Duration::from_secs(3), call).await {
        Ok(Ok(i)) => Ok(SidecarInfo {
            name: i.name,
            instance_name: i.instance_name,
            version: i.version,
            pid: i.pid,
            instance_id: i.instance_id,
        }),
        Ok(Err(s)) => Err(Error::Io(format!("`{name}` gave no sidecar.v1.Control/Info: {} {}", s.code(), s.message()))),
        Err(_) => Err(Error::Io(format!(
            "`{name}` gave no sidecar.v1.Control/Info within 3 s (is it a gRPC sidecar, and up?)"
        ))),
    }
}

/// `sidecar.v1.Control/Info`'s answer, as the UI gets it.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SidecarInfo {
    pub name: String,
    pub instance_name: String,
    pub version: String,
    pub pid: u32,
    pub instance_id: String,
}

/// Writes the diagnostics bundle (a zip: status with resources and warnings, the feed, the last
/// lines of every log, the profile with secrets redacted, versions, OS, the data dir's layout
/// with sizes) to `path`, the file the user chose in the save dialog. Returns the bytes written.
#[tauri::command]
pub(crate) async fn diagnostics_bundle<R: Runtime>(app: AppHandle<R>, path: String) -> Result<u64> {
    let dest = std::path::PathBuf::from(&path);
    crate::live::check_save_path(&dest).map_err(|message| Error::InvalidArgument { message, sidecar: None })?;
    let sup = app.sidecar_supervisor().supervisor()?.clone();
    let info = sidecar_supervisor_core::BundleInfo {
        app_name: app.package_info().name.clone(),
        app_version: app.package_info().version.to_string(),
    };
    tauri::async_runtime::spawn_blocking(move || {
        sidecar_supervisor_core::write_bundle(&sup, &info, &dest)
            .map_err(|e| Error::Io(format!("cannot write the diagnostics bundle {}: {e}", dest.display())))
    })
    .await
    .map_err(|e| Error::Io(format!("the diagnostics bundle stopped: {e}")))?
}

/// Backs the database up while it runs, to `path` (the file the user chose in a save dialog),
/// or, without one, under the data dir's `backups/`. Returns what was written (path, size,
/// manifest).
#[tauri::command]
pub(crate) async fn backup<R: Runtime>(
    app: AppHandle<R>,
    path: Option<String>,
) -> Result<sidecar_supervisor_core::BackupDone> {
    let dest = path.map(std::path::PathBuf::from);
    if let Some(d) = &dest {
        crate::live::check_save_path(d).map_err(|message| Error::InvalidArgument { message, sidecar: None })?;
    }
    let sup = app.sidecar_supervisor().supervisor()?.clone();
    Ok(sup.backup(dest).await?)
}

/// Restores the backup at `path` (the file the user chose in an open dialog): checked first,
/// then what uses the database is stopped, the database restored in one transaction, and it is
/// started again. Returns what was done.
#[tauri::command]
pub(crate) async fn restore<R: Runtime>(
    app: AppHandle<R>,
    path: String,
) -> Result<sidecar_supervisor_core::RestoreDone> {
    let from = std::path::PathBuf::from(&path);
    if !from.is_absolute() || !from.is_file() {
        let message = format!("path: `{path}` is not an absolute path of an existing file");
        return Err(Error::InvalidArgument { message, sidecar: None });
    }
    let sup = app.sidecar_supervisor().supervisor()?.clone();
    Ok(sup.restore(&from).await?)
}

/// The backups in the data dir's `backups/`: where they live, each one's size and time, and
/// their total size.
#[tauri::command]
pub(crate) async fn backups<R: Runtime>(app: AppHandle<R>) -> Result<sidecar_supervisor_core::BackupsInfo> {
    let sup = app.sidecar_supervisor().supervisor()?.clone();
    tauri::async_runtime::spawn_blocking(move || Ok(sup.backups()?))
        .await
        .map_err(|e| Error::Io(format!("listing the backups stopped: {e}")))?
}

/// Most events one export takes.
pub const MAX_EXPORT: usize = 10_000;

/// Writes the feed events with these `seqs` (what the UI shows after its filters) to
/// `<data_dir>/exports/runtime-events-<unix ms>-<n>.json` (mode 0600) and returns the path. The
/// content comes from the engine's own feed (redacted there), never from the caller, and no
/// path crosses the IPC boundary.
#[tauri::command]
pub(crate) async fn export_events<R: Runtime>(app: AppHandle<R>, seqs: Vec<u64>) -> Result<String> {
    if seqs.len() > MAX_EXPORT {
        return Err(Error::InvalidArgument {
            message: format!("seqs: {} events, at most {MAX_EXPORT} per export", seqs.len()),
            sidecar: None,
        });
    }
    let sup = app.sidecar_supervisor().supervisor()?;
    let wanted: std::collections::HashSet<u64> = seqs.into_iter().collect();
    let events: Vec<RuntimeEvent> = sup.events(None).into_iter().filter(|e| wanted.contains(&e.seq)).collect();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path =
        std::path::PathBuf::from(sup.status().data_dir).join("exports").join(format!("runtime-events-{ms}-{n}.json"));
    let text = serde_json::to_vec_pretty(&events).map_err(|e| Error::Io(format!("cannot encode the events: {e}")))?;
    sidecar_supervisor_core::write_atomic(&path, &text)
        .map_err(|e| Error::Io(format!("cannot write {}: {e}", path.display())))?;
    Ok(path.display().to_string())
}
