//! The effect side of a PostgreSQL sidecar's data-directory check
//! ([`Effect::CheckData`](crate::domain::Effect::CheckData)): read the major the directory was
//! made by, what its `postmaster.pid` names and who holds that pid now, and ask the program
//! found which major it is (`postgres -V`, once per program file); then remove a stale
//! `postmaster.pid` when the machine says so. Nothing is decided here: the verdict is
//! `domain::pg_data`'s.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc::UnboundedSender;

use super::context::Context;
use super::lookup::Lookups;
use super::Msg;
use crate::domain::pg_data::{self, DataFacts, DataVersion, Holder, PidFile};
use crate::domain::{Cause, Orchestrator, Report};
use crate::platform::{self, Look};

/// How long `postgres -V` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads the facts of launch `gen`'s data directory off the loop; they come back as
/// `Report::DataChecked` (or the launch fails when the directory cannot even be named).
pub(super) fn check(
    ctx: &Context,
    orch: &Orchestrator,
    lookups: &Lookups,
    tx: &UnboundedSender<Msg>,
    unit: usize,
    gen: u64,
) {
    let tx = tx.clone();
    let send = move |report: Report| {
        let _ = tx.send(Msg::Report { unit, gen, report });
    };
    let dir = match data_dir(ctx, orch, unit) {
        Ok(d) => d,
        Err(error) => return send(Report::LaunchFailed { error, cause: Cause::LaunchFailed }),
    };
    let program = match lookups.current_program(ctx, unit) {
        Ok(p) => p,
        Err(error) => return send(Report::LaunchFailed { error, cause: Cause::ProgramNotFound }),
    };
    tokio::spawn(async move {
        let server = server_major(&program).await;
        let facts = tokio::task::spawn_blocking(move || read_facts(&dir, server)).await;
        match facts {
            Ok(facts) => send(Report::DataChecked { facts }),
            Err(e) => {
                send(Report::LaunchFailed { error: format!("data directory check: {e}"), cause: Cause::LaunchFailed })
            }
        }
    });
}

/// Removes the stale `postmaster.pid` the verdict named; reports at once.
pub(super) fn remove_pid_file(ctx: &Context, orch: &Orchestrator, unit: usize) -> Report {
    let result = data_dir(ctx, orch, unit).and_then(|dir| {
        let file = dir.join("postmaster.pid");
        match std::fs::remove_file(&file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("cannot remove the stale {}: {e}", file.display())),
        }
    });
    Report::PidFileRemoved { result }
}

/// The unit's data directory, rendered (relative to the profile).
pub(super) fn data_dir(ctx: &Context, orch: &Orchestrator, unit: usize) -> Result<PathBuf, String> {
    let Some(t) = ctx.plan.units[unit].run.postgres.as_ref().map(|p| &p.data_dir) else {
        return Err("no postgres.data_dir".into());
    };
    Ok(ctx.profile_dir.join(ctx.render_field(orch, unit, t, "postgres.data_dir")?))
}

/// What the directory holds, with `server`: the program's major.
fn read_facts(dir: &Path, server: Result<u32, String>) -> DataFacts {
    let data = match std::fs::read_to_string(dir.join("PG_VERSION")) {
        Ok(text) => match pg_data::parse_pg_version(&text) {
            Ok(m) => DataVersion::Major(m),
            Err(why) => DataVersion::Unreadable(why),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => DataVersion::None,
        Err(e) => DataVersion::Unreadable(e.to_string()),
    };
    let pid_file = match std::fs::read(dir.join("postmaster.pid")) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => PidFile::Absent,
        Err(e) => PidFile::Unreadable(e.to_string()),
        Ok(bytes) => match pg_data::parse_pid_file(&String::from_utf8_lossy(&bytes)) {
            Ok(pid) => PidFile::Names { pid, holder: holder(pid, dir) },
            Err(why) => PidFile::Unreadable(why),
        },
    };
    DataFacts { dir: dir.display().to_string(), data, server, pid_file }
}

/// Who holds `pid`, for a pid file in `dir`.
fn holder(pid: u32, dir: &Path) -> Holder {
    let Look::Seen { name, cwd, uid } = platform::look(pid) else {
        return Holder::Gone;
    };
    let stem = Path::new(&name).file_stem().map(|s| s.to_string_lossy().to_lowercase()).unwrap_or_default();
    if stem != "postgres" && stem != "postmaster" && !name.is_empty() {
        return Holder::Program(name);
    }
    // PostgreSQL runs only on a directory its own user owns: another user's server is not
    // this directory's.
    let owner = platform::owner_of(dir);
    if let (Some(uid), Some(owner)) = (uid, owner) {
        if uid != owner {
            return Holder::OtherDirsServer("a directory of another user".into());
        }
    }
    match cwd {
        // A postmaster works in its data directory.
        Some(cwd) if same_dir(&cwd, dir) => Holder::ThisDirsServer,
        Some(cwd) => Holder::OtherDirsServer(cwd.display().to_string()),
        None => Holder::ServerOfUnknownDir,
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The major of the `postgres` program at `program`, asked once per program file (`-V`).
async fn server_major(program: &Path) -> Result<u32, String> {
    static KNOWN: LazyLock<Mutex<HashMap<PathBuf, (SystemTime, u32)>>> = LazyLock::new(Default::default);
    let stamp = std::fs::metadata(program).and_then(|m| m.modified()).ok();
    let known =
        |k: &HashMap<PathBuf, (SystemTime, u32)>| k.get(program).filter(|(t, _)| Some(*t) == stamp).map(|(_, m)| *m);
    if let Some(major) = known(&KNOWN.lock().unwrap_or_else(|e| e.into_inner())) {
        return Ok(major);
    }
    let cwd = program.parent().unwrap_or(Path::new("."));
    let args = ["-V".to_string()];
    let text = crate::runtime::search_path::output_of(program, &args, cwd, VERSION_TIMEOUT)
        .await
        .map_err(|e| format!("`{} -V`: {e}", program.display()))?;
    let major = pg_data::parse_server_version(&text)?;
    if let Some(stamp) = stamp {
        KNOWN.lock().unwrap_or_else(|e| e.into_inner()).insert(program.to_path_buf(), (stamp, major));
    }
    Ok(major)
}
