//! What a backup or a restore needs from the engine ([`PgAccess`]): the database sidecar of the
//! profile (the first with a `postgres` block), its state and port, its role, database and this
//! launch's password, its PostgreSQL programs (found beside its `postgres`), and the units that
//! depend on it. And the engine runs the tools' processes for them (`run_tool`): children are
//! started from the engine's thread only, where their parent-death signal belongs.

use std::path::PathBuf;

use tokio::sync::oneshot;

use super::context::Context;
use super::lookup::Lookups;
use crate::domain::{Orchestrator, State};
use crate::platform;

/// A backup's or a restore's view of the database sidecar.
#[derive(Debug, Clone)]
pub(crate) struct PgAccess {
    /// The unit's name.
    pub name: String,
    pub state: State,
    pub port: Option<u16>,
    pub role: String,
    pub database: String,
    /// This launch's `{password}` of the sidecar, when a template uses it.
    pub password: Option<String>,
    /// The major of its data directory (`PG_VERSION`): the running server's.
    pub data_major: Result<u32, String>,
    /// Its `pg_dump` and `pg_restore` (beside its `postgres`), or why each is not found.
    pub pg_dump: Result<PathBuf, String>,
    pub pg_restore: Result<PathBuf, String>,
    /// Units that depend on it, directly or not, in start order.
    pub dependents: Vec<String>,
    /// `<data_dir>/backups`.
    pub backups_dir: PathBuf,
    pub app: String,
}

pub(super) fn access(ctx: &Context, orch: &Orchestrator, lookups: &Lookups) -> Result<PgAccess, String> {
    let plan = &ctx.plan;
    let Some(unit) = (0..plan.len()).find(|&i| plan.units[i].run.postgres.is_some() && plan.units[i].runs_here())
    else {
        return Err(
            "no sidecar of this profile that runs here has a `postgres` block: there is no database to back up".into(),
        );
    };
    let u = &plan.units[unit];
    let pg = u.run.postgres.as_ref().expect("found by it");
    let tool = |name: &str| lookups.helper(ctx, unit, name);
    // Every unit that waits for it, directly or through another, listed in plan order (which
    // is start order).
    let mut deps = vec![false; plan.len()];
    let mut todo = vec![unit];
    while let Some(i) = todo.pop() {
        for j in plan.dependents(i) {
            if !std::mem::replace(&mut deps[j], true) {
                todo.push(j);
            }
        }
    }
    let data_major = super::pg_data::data_dir(ctx, orch, unit).and_then(|dir| {
        let file = dir.join("PG_VERSION");
        let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        crate::domain::pg_data::parse_pg_version(&text)
    });
    Ok(PgAccess {
        name: u.name.clone(),
        data_major,
        state: orch.state(unit),
        port: orch.port(unit),
        role: pg.role.clone(),
        database: pg.database().to_string(),
        password: ctx.passwords.get(&u.sidecar).cloned(),
        pg_dump: tool("pg_dump"),
        pg_restore: tool("pg_restore"),
        dependents: (0..plan.len()).filter(|&j| deps[j]).map(|j| plan.units[j].name.clone()).collect(),
        backups_dir: ctx.layout.backups_dir(),
        app: ctx.settings.app_name.clone(),
    })
}

/// One run of a PostgreSQL tool: program, arguments, extra environment (the password goes
/// here, never into an argument), and where to send how it ended.
pub(crate) struct ToolRun {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub reply: oneshot::Sender<Result<(), String>>,
}

/// Runs a tool in a group of its own (killed with the runtime), its stderr kept for the error.
pub(super) fn run_tool(run: ToolRun) {
    use tokio::io::AsyncReadExt;
    let ToolRun { program, args, env, cwd, reply } = run;
    let req = platform::SpawnRequest { program: &program, args: &args, env: &env, cwd: &cwd, user: None };
    let spawned = match platform::spawn(&req) {
        Ok(s) => s,
        Err(e) => {
            let _ = reply.send(Err(format!("cannot run {}: {e}", program.display())));
            return;
        }
    };
    tokio::spawn(async move {
        let platform::Spawned { mut child, pid, lifeline, stdout, stderr } = spawned;
        let (mut err, mut sink) = (Vec::new(), tokio::io::sink());
        let (mut stdout, mut stderr) = (stdout, stderr.take(256 * 1024));
        let (_, _, waited) =
            tokio::join!(tokio::io::copy(&mut stdout, &mut sink), stderr.read_to_end(&mut err), child.wait());
        drop(lifeline);
        platform::kill_group(pid);
        let name = program.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let said = String::from_utf8_lossy(&err);
        // Its `error:` lines say why; else its last lines.
        let lines: Vec<&str> = said.lines().filter(|l| !l.trim().is_empty()).collect();
        let errors: Vec<&str> = lines.iter().copied().filter(|l| l.contains("error:")).collect();
        let pick = if errors.is_empty() { &lines } else { &errors };
        let tail = pick[pick.len().saturating_sub(3)..].join(" | ");
        let result = match waited {
            Ok(exit) if exit.code == Some(0) => Ok(()),
            Ok(exit) => Err(format!("{name} failed ({}): {tail}", exit.describe())),
            Err(e) => Err(format!("{name}: {e}")),
        };
        let _ = reply.send(result);
    });
}
