//! Backups of the profile's database ([`Supervisor::backup`]) and restores
//! ([`Supervisor::restore`]): what `desktop-runtime ctl backup|restore` and the plugin's commands
//! do.
//!
//! A backup is a consistent snapshot taken while the database runs — `pg_dump`'s custom format,
//! one transaction's view — plus a manifest (app and version, PostgreSQL major, time, size,
//! SHA-256), in one zip written through a temporary file. A restore reads and checks the
//! manifest and the dump first (`domain::backup::check`), then stops the sidecars that depend
//! on the database, restores with `pg_restore --single-transaction --clean` (all of it or
//! nothing: a failure leaves the data as it was), starts them again and says what it did. The
//! PostgreSQL programs are those beside the sidecar's `postgres`; their processes are started by
//! the engine. One backup or restore runs at a time; another is refused while it does.

mod archive;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::oneshot;

use super::engine::pg_access::{PgAccess, ToolRun};
use super::engine::Msg;
use super::Supervisor;
use crate::domain::backup::{self, Manifest};
use crate::domain::{CommandError, ErrorKind, ErrorPayload, State, Verb};

/// How long the dependents of the database may take to stop before a restore gives up.
const STOP_WAIT: Duration = Duration::from_secs(120);

/// Why a backup or a restore was refused or failed. Nothing was changed unless it says so.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    NoDatabase(String),
    #[error("cannot {what}: the database `{sidecar}` is {} (it must be ready)", state.as_str())]
    NotReady { what: &'static str, sidecar: String, state: State },
    #[error("{0}")]
    Invalid(String),
    #[error("{message}")]
    Failed { sidecar: String, message: String },
    #[error("{0}")]
    Io(String),
    #[error("a backup or a restore is already running: try again when it has ended")]
    Busy,
    #[error(transparent)]
    Command(#[from] CommandError),
}

impl From<&BackupError> for ErrorPayload {
    fn from(e: &BackupError) -> ErrorPayload {
        let (kind, sidecar) = match e {
            BackupError::NoDatabase(_) => (ErrorKind::NoDatabase, None),
            BackupError::NotReady { sidecar, .. } => (ErrorKind::WrongState, Some(sidecar.as_str())),
            BackupError::Invalid(_) => (ErrorKind::InvalidBackup, None),
            BackupError::Failed { sidecar, .. } => (ErrorKind::BackupFailed, Some(sidecar.as_str())),
            BackupError::Io(_) => (ErrorKind::Io, None),
            BackupError::Busy => (ErrorKind::WrongState, None),
            BackupError::Command(c) => return c.into(),
        };
        ErrorPayload::new(kind, e.to_string()).about(sidecar)
    }
}

/// A backup made.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BackupDone {
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub path: PathBuf,
    /// The whole file's size.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes: u64,
    pub manifest: Manifest,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub took_ms: u64,
}

/// A restore done: from which backup, and which sidecars were stopped for it and started again.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RestoreDone {
    pub manifest: Manifest,
    pub restarted: Vec<String>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub took_ms: u64,
}

/// The backups in the data dir's `backups/` (those made without a destination): where they
/// live and how much disk they take, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BackupsInfo {
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub dir: PathBuf,
    pub files: Vec<BackupFile>,
    /// Their sizes summed.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BackupFile {
    pub name: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes: u64,
    /// When it was last written, RFC 3339 (UTC).
    pub modified: String,
}

impl Supervisor {
    /// The backups in the data dir's `backups/` (none yet: an empty list).
    pub fn backups(&self) -> Result<BackupsInfo, BackupError> {
        let dir = self.inner.backups_dir.clone();
        let mut files = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(BackupsInfo { dir, files: Vec::new(), bytes: 0 });
            }
            Err(e) => return Err(BackupError::Io(format!("cannot read {}: {e}", dir.display()))),
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            // Temporary files of a backup or restore in progress start with a dot.
            let Ok(m) = e.metadata() else { continue };
            if name.starts_with('.') || !m.is_file() {
                continue;
            }
            let modified = m.modified().map(chrono::DateTime::<chrono::Utc>::from).unwrap_or_default();
            let stamp = modified.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            files.push((modified, BackupFile { name, bytes: m.len(), modified: stamp }));
        }
        files.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
        let files: Vec<BackupFile> = files.into_iter().map(|(_, f)| f).collect();
        let bytes = files.iter().map(|f| f.bytes).sum();
        Ok(BackupsInfo { dir, files, bytes })
    }

    /// Backs the database up to `to` (an absolute file path; default
    /// `<data_dir>/backups/<sidecar>-<time>.backup.zip`) while it runs.
    pub async fn backup(&self, to: Option<PathBuf>) -> Result<BackupDone, BackupError> {
        let _one = self.inner.backup_lock.try_lock().map_err(|_| BackupError::Busy)?;
        let started = Instant::now();
        let (a, pg_dump, major) = self.begin("back it up", |a| &a.pg_dump).await?;
        let path = match to {
            Some(p) => p,
            None => backups_dir(&a)?.join(backup::file_name(&a.name, &stamp())),
        };
        let dir = path
            .parent()
            .filter(|d| d.is_dir())
            .ok_or_else(|| BackupError::Io(format!("cannot write {}: its directory does not exist", path.display())))?;
        let dump = dir.join(format!(".{}.dump-{}", a.name, std::process::id()));
        let mut args = connection(&a);
        args.extend(["--format=custom".into(), "--file".into(), dump.display().to_string()]);
        let ran = self.run_tool(&a, pg_dump, args).await;
        let mut manifest = Manifest {
            format: backup::FORMAT,
            app: a.app.clone(),
            app_version: self.inner.app_version.clone(),
            created_at: crate::wallclock::now_rfc3339(),
            sidecar: a.name.clone(),
            database: a.database.clone(),
            postgres_major: major,
            dump_bytes: 0,
            dump_sha256: String::new(),
        };
        // Hashing and zipping a dump of many megabytes: off the caller's async threads.
        let (p, d) = (path.clone(), dump.clone());
        let written = match ran {
            Err(e) => Err(e),
            Ok(()) => tokio::task::spawn_blocking(move || -> Result<Manifest, String> {
                let (bytes, sha) = archive::measure(&d).map_err(|e| format!("cannot read the dump: {e}"))?;
                (manifest.dump_bytes, manifest.dump_sha256) = (bytes, sha);
                archive::write(&p, &manifest, &d).map_err(|e| e.to_string())?;
                Ok(manifest)
            })
            .await
            .map_err(|e| BackupError::Io(e.to_string()))
            .and_then(|r| r.map_err(BackupError::Io)),
        };
        let _ = std::fs::remove_file(&dump);
        let manifest = written?;
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        Ok(BackupDone { path, bytes, manifest, took_ms: started.elapsed().as_millis() as u64 })
    }

    /// Restores the backup at `from`: checked first; then the sidecars that depend on the
    /// database are stopped, the database restored in one transaction, and they are started
    /// again (also when the restore failed: the data is then as it was).
    pub async fn restore(&self, from: &Path) -> Result<RestoreDone, BackupError> {
        let _one = self.inner.backup_lock.try_lock().map_err(|_| BackupError::Busy)?;
        let started = Instant::now();
        let (a, pg_restore, major) = self.begin("restore it", |a| &a.pg_restore).await?;
        let dump = backups_dir(&a)?.join(format!(".restore-{}-{}.dump", stamp(), std::process::id()));
        let result = self.restore_from(&a, from, &dump, pg_restore, major).await;
        let _ = std::fs::remove_file(&dump);
        let (manifest, restarted) = result?;
        Ok(RestoreDone { manifest, restarted, took_ms: started.elapsed().as_millis() as u64 })
    }

    async fn restore_from(
        &self,
        a: &PgAccess,
        from: &Path,
        dump: &Path,
        pg_restore: PathBuf,
        major: u32,
    ) -> Result<(Manifest, Vec<String>), BackupError> {
        let dump_to = dump.to_path_buf();
        let from_path = from.to_path_buf();
        let read = tokio::task::spawn_blocking(move || archive::read(&from_path, &dump_to))
            .await
            .map_err(|e| BackupError::Io(e.to_string()))?;
        let (manifest, bytes, sha) = read.map_err(BackupError::Invalid)?;
        backup::check(&manifest, bytes, &sha, major)
            .map_err(|why| BackupError::Invalid(format!("{} cannot be restored: {why}", from.display())))?;
        // Stop what uses the database, last started first; start it again afterwards, first
        // started first, whatever the restore did.
        let status = self.status();
        let up: Vec<String> = (a.dependents.iter())
            .filter(|n| status.sidecars.iter().any(|r| &r.name == *n && r.state.has_process()))
            .cloned()
            .collect();
        for name in up.iter().rev() {
            self.command(Verb::Stop, name).await?;
        }
        let stopped = self
            .wait_for(STOP_WAIT, |st| {
                st.sidecars.iter().filter(|r| up.contains(&r.name)).all(|r| !r.state.has_process())
            })
            .await;
        let restored = match stopped {
            Err(_) => Err(failed(a, format!("its dependents did not stop within {} s", STOP_WAIT.as_secs()))),
            Ok(_) => {
                let mut args = connection(a);
                args.extend(
                    ["--clean", "--if-exists", "--single-transaction", "--exit-on-error", "--no-owner"]
                        .map(String::from),
                );
                args.push(dump.display().to_string());
                self.run_tool(a, pg_restore, args).await
            }
        };
        for name in &up {
            self.command(Verb::Start, name).await?;
        }
        restored.map(|()| (manifest, up))
    }

    /// What a backup or a restore starts from: the database's facts, ready, with the tool
    /// `which` picks found, and the running server's major.
    async fn begin(
        &self,
        what: &'static str,
        which: fn(&PgAccess) -> &Result<PathBuf, String>,
    ) -> Result<(PgAccess, PathBuf, u32), BackupError> {
        let a = self.pg_access().await?;
        ready(&a, what)?;
        let program = tool(&a, which(&a))?;
        let major = a.data_major.clone().map_err(|e| failed(&a, e))?;
        Ok((a, program, major))
    }

    async fn pg_access(&self) -> Result<PgAccess, BackupError> {
        let (tx, rx) = oneshot::channel();
        self.inner.tx.send(Msg::PgAccess(tx)).map_err(|_| CommandError::EngineGone)?;
        rx.await.map_err(|_| CommandError::EngineGone)?.map_err(BackupError::NoDatabase)
    }

    async fn run_tool(&self, a: &PgAccess, program: PathBuf, args: Vec<String>) -> Result<(), BackupError> {
        let mut env = vec![("PGCONNECT_TIMEOUT".to_string(), "10".to_string())];
        if let Some(p) = &a.password {
            env.push(("PGPASSWORD".into(), p.clone()));
        }
        let cwd = a.backups_dir.parent().unwrap_or(Path::new(".")).to_path_buf();
        let (reply, rx) = oneshot::channel();
        let run = ToolRun { program, args, env, cwd, reply };
        self.inner.tx.send(Msg::RunTool(run)).map_err(|_| CommandError::EngineGone)?;
        let ran = rx.await.map_err(|_| CommandError::EngineGone)?;
        ran.map_err(|e| failed(a, self.inner.redactor.redact(&e).into_owned()))
    }
}

/// The data dir's `backups/`, made private if it is not there yet.
fn backups_dir(a: &PgAccess) -> Result<&Path, BackupError> {
    crate::atomic_file::private_dir_all(&a.backups_dir)
        .map_err(|e| BackupError::Io(format!("cannot create {}: {e}", a.backups_dir.display())))?;
    Ok(&a.backups_dir)
}

fn ready(a: &PgAccess, what: &'static str) -> Result<(), BackupError> {
    match (a.state, a.port) {
        (State::Ready, Some(_)) => Ok(()),
        (state, _) => Err(BackupError::NotReady { what, sidecar: a.name.clone(), state }),
    }
}

fn tool(a: &PgAccess, found: &Result<PathBuf, String>) -> Result<PathBuf, BackupError> {
    found.clone().map_err(|e| failed(a, format!("{e} (this PostgreSQL build ships without it)")))
}

fn failed(a: &PgAccess, message: String) -> BackupError {
    BackupError::Failed { sidecar: a.name.clone(), message }
}

/// How the tools reach the database: loopback TCP, the role, never a password prompt.
fn connection(a: &PgAccess) -> Vec<String> {
    let port = a.port.map(|p| p.to_string()).unwrap_or_default();
    ["--host", "127.0.0.1", "--port", &port, "--username", &a.role, "--dbname", &a.database, "--no-password"]
        .map(String::from)
        .to_vec()
}

/// `20261208T031500Z`, for file names.
fn stamp() -> String {
    chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string()
}
