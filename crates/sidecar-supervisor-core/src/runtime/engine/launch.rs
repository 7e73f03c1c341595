//! Carrying out launches ([`Effect::Launch`](crate::domain::Effect::Launch): the port and the
//! program), prepare steps (`Prepare`) and starts of processes (`Exec`): the templated
//! arguments and environment, the checks for a sidecar that drops to its `user`, and the tasks
//! that read the child's output and await its exit. What happens is reported to the
//! orchestrator at once, or later through the engine's inbox when it takes a while. Nothing is
//! decided here: which step runs next, and for how long, is the machine's.

use std::path::PathBuf;

use tokio::sync::mpsc::UnboundedSender;

use super::context::Context;
use super::lookup::Lookups;
use super::output;
use super::processes::Processes;
use super::Msg;
use crate::domain::plan::PrepareStep;
use crate::domain::{Cause, Orchestrator, PortPlan, Report, StepEnd};
use crate::platform::{self, Reach, SpawnRequest, Target};

/// The launch side of the engine: what it remembers between launches.
pub(super) struct Launcher {
    lookups: Lookups,
}

/// A prepare step ready to run: its program, rendered arguments and stdin.
type StepRun = (PathBuf, Vec<String>, Option<String>);

/// Borrowed parts of the engine a launch works with.
pub(super) struct Parts<'a> {
    pub ctx: &'a Context,
    pub orch: &'a mut Orchestrator,
    pub procs: &'a mut Processes,
    pub tx: &'a UnboundedSender<Msg>,
}

impl Parts<'_> {
    fn report(&mut self, unit: usize, gen: u64, r: Report) {
        let now = self.ctx.now();
        self.orch.report(now, unit, gen, r);
    }
    fn fail(&mut self, unit: usize, gen: u64, error: String, cause: Cause) {
        self.report(unit, gen, Report::LaunchFailed { error, cause });
    }
}

impl Launcher {
    pub fn new(units: usize) -> Launcher {
        Launcher { lookups: Lookups::new(units) }
    }

    /// The port step of a launch, then the program ([`Launcher::resume`]).
    pub fn launch(&mut self, p: &mut Parts<'_>, unit: usize, gen: u64, port: PortPlan, prepared: usize) {
        match port {
            PortPlan::None | PortPlan::Keep(_) => {}
            PortPlan::PickFree => match crate::runtime::ports::pick_free_port() {
                Ok(port) => p.report(unit, gen, Report::PortAssigned { port }),
                Err(e) => {
                    let error = format!("cannot pick a free port on 127.0.0.1: {e}");
                    return p.fail(unit, gen, error, Cause::LaunchFailed);
                }
            },
            PortPlan::CheckFixed(port) => {
                if let Err((error, cause)) = crate::runtime::ports::check_fixed_port(port) {
                    return p.fail(unit, gen, error, cause);
                }
            }
        }
        if self.lookups.search_wanted(p.ctx, unit, prepared) {
            return self.lookups.await_search(p.ctx, p.tx, unit, gen);
        }
        self.resume(p, unit, gen);
    }

    /// After the port (and the search path, when it was wanted): finds the program. A program
    /// that is not found fails the sidecar before any prepare step runs.
    pub fn resume(&mut self, p: &mut Parts<'_>, unit: usize, gen: u64) {
        match self.lookups.program(p.ctx, unit) {
            Ok(_) => p.report(unit, gen, Report::Located),
            Err(error) => p.fail(unit, gen, error, Cause::ProgramNotFound),
        }
    }

    pub fn lookups(&self) -> &Lookups {
        &self.lookups
    }

    /// A sidecar's search path was evaluated: the launches that waited for it.
    pub fn searched(&mut self, sidecar: String, dirs: crate::runtime::search_path::SearchDirs) -> Vec<(usize, u64)> {
        self.lookups.searched(sidecar, dirs)
    }

    /// Runs prepare step `step` of launch `gen` (reported not needed when its `unless_exists`
    /// exists); its end comes back as `Msg::PrepareEnded`.
    pub fn prepare(&mut self, p: &mut Parts<'_>, unit: usize, gen: u64, step: usize) {
        let (ctx, orch) = (p.ctx, &*p.orch);
        let Some(prep) = ctx.plan.units[unit].run.prepare.get(step) else { return };
        let end = |p: &mut Parts<'_>, end| p.report(unit, gen, Report::PrepareEnded { step, end });
        let (program, args, stdin) = match self.step_run(ctx, orch, unit, prep) {
            Ok(Some(x)) => x,
            Ok(None) => return end(p, StepEnd::Skipped),
            Err(e) => return end(p, StepEnd::Failed(format!("prepare step: {e}"))),
        };
        let user = match ctx.users[unit].clone() {
            Ok(u) => u,
            Err(e) => return end(p, StepEnd::Failed(e)),
        };
        if let Err(error) = ensure_unit_dir(ctx, unit, user) {
            return end(p, StepEnd::Failed(error));
        }
        let env = ctx.contract_env(orch, unit);
        let cwd = ctx.unit_dir(unit);
        let spawned = platform::spawn(&SpawnRequest { program: &program, args: &args, env: &env, cwd: &cwd, user });
        let mut s = match spawned {
            Ok(s) => s,
            Err(e) => return end(p, StepEnd::Failed(format!("cannot run {}: {e}", program.display()))),
        };
        let pid = s.pid;
        p.procs.watch(pid);
        let what = format!("{} {}", program.display(), args.join(" "));
        p.report(unit, gen, Report::PrepareStarted { step, pid, what });
        let log = ctx.logs[unit].clone();
        let tx = p.tx.clone();
        tokio::spawn(async move {
            let pumps = output::pump(s.stdout, s.stderr, log.clone(), |_| false, |_| {}, |_| {});
            // Given input, the step reads it and then EOF; without, stdin stays the lifeline.
            let (lifeline, input) = match stdin {
                Some(text) => (None, Some(s.lifeline.feed(text.into_bytes()))),
                None => (Some(s.lifeline), None),
            };
            let fed = async {
                if let Some(input) = input {
                    let _ = input.await;
                }
            };
            // No timeout here: the machine's deadline stops the step's tree, which ends this.
            let (waited, _, _) = tokio::join!(s.child.wait(), pumps, fed);
            drop(lifeline);
            let end = match waited {
                Ok(exit) if exit.code == Some(0) => StepEnd::Done,
                Ok(exit) => StepEnd::Failed(format!(
                    "prepare step {} failed ({}): {}",
                    program.display(),
                    exit.describe(),
                    log.last_stderr(3).join(" | ")
                )),
                Err(e) => StepEnd::Failed(format!("prepare step {}: {e}", program.display())),
            };
            let _ = tx.send(Msg::PrepareEnded { unit, gen, step, pid, end });
        });
    }

    /// A prepare step's program, arguments and stdin; `None` when its `unless_exists` exists.
    fn step_run(
        &self,
        ctx: &Context,
        orch: &Orchestrator,
        unit: usize,
        prep: &PrepareStep,
    ) -> Result<Option<StepRun>, String> {
        let at = &prep.at;
        if let Some(path) = &prep.unless_exists {
            let path = ctx.render_field(orch, unit, path, &format!("{at}.unless_exists"))?;
            if std::path::Path::new(&path).exists() {
                return Ok(None);
            }
        }
        let program = self.lookups.helper(ctx, unit, &prep.helper.command)?;
        let args = ctx.render_all(orch, unit, &prep.helper.args, &format!("{at}.args"))?;
        let stdin = prep.stdin.as_ref().map(|t| ctx.render_field(orch, unit, t, &format!("{at}.stdin"))).transpose()?;
        Ok(Some((program, args, stdin)))
    }

    /// Starts the process of launch `gen`.
    pub fn exec(&mut self, p: &mut Parts<'_>, unit: usize, gen: u64) {
        let (ctx, orch) = (p.ctx, &*p.orch);
        let built = (|| -> Result<_, (String, Cause)> {
            let launch = |e: String| (e, Cause::LaunchFailed);
            let program = self.lookups.program(ctx, unit).map_err(|e| (e, Cause::ProgramNotFound))?;
            let run = &ctx.plan.units[unit].run;
            let args = ctx.render_all(orch, unit, &run.args, "args").map_err(launch)?;
            let mut env = ctx.contract_env(orch, unit);
            // Its own temp dir, emptied before every start: what a killed process left there
            // (a PyInstaller onefile program unpacks ~20 MB into it) does not pile up. The
            // profile's `env` may still point elsewhere.
            let tmp = ctx.unit_dir(unit).join("tmp");
            for var in platform::TEMP_DIR_VARS {
                env.push((var.to_string(), tmp.display().to_string()));
            }
            for (k, v) in &run.env {
                env.push((k.clone(), ctx.render_field(orch, unit, v, &format!("env.{k}")).map_err(launch)?));
            }
            let cwd = match &run.cwd {
                Some(c) => ctx.profile_dir.join(ctx.render_field(orch, unit, c, "cwd").map_err(launch)?),
                None => ctx.unit_dir(unit),
            };
            let user = ctx.users[unit].clone().map_err(launch)?;
            ensure_unit_dir(ctx, unit, user).map_err(launch)?;
            fresh_temp_dir(&tmp, user).map_err(launch)?;
            if let Some((uid, gid)) = user {
                if run.cwd.is_some() {
                    reach(ctx, unit, uid, gid).check(Target::Cwd, &cwd).map_err(launch)?;
                }
                // Else exec fails with a bare "Permission denied" (a build under root's home).
                reach(ctx, unit, uid, gid).check(Target::Program, &program).map_err(launch)?;
            }
            Ok((program, args, env, cwd, user))
        })();
        let (program, args, env, cwd, user) = match built {
            Ok(x) => x,
            Err((e, cause)) => return p.fail(unit, gen, e, cause),
        };
        let req = SpawnRequest { program: &program, args: &args, env: &env, cwd: &cwd, user };
        let spawned = match platform::spawn(&req) {
            Ok(s) => s,
            Err(e) => {
                return p.fail(unit, gen, format!("cannot start {}: {e}", program.display()), Cause::LaunchFailed)
            }
        };
        let pid = spawned.pid;
        // A JSON-RPC sidecar's stdin is its channel, which then holds the lifeline.
        let (lifeline, peer) = if ctx.plan.units[unit].run.jsonrpc() {
            match spawned.lifeline.into_writer() {
                Ok(w) => {
                    let peer = crate::runtime::doors::jsonrpc::Peer::start(ctx.plan.units[unit].name.clone(), w);
                    ctx.channels.open(unit, peer.clone());
                    (None, Some(peer))
                }
                Err(e) => {
                    crate::platform::kill_group(pid);
                    let error = format!("cannot open its stdin as a JSON-RPC channel: {e}");
                    return p.fail(unit, gen, error, Cause::LaunchFailed);
                }
            }
        } else {
            (Some(spawned.lifeline), None)
        };
        p.procs.started(ctx, unit, pid, lifeline);
        output::watch(ctx, p.tx, unit, gen, pid, spawned.child, spawned.stdout, spawned.stderr, peer);
        p.report(unit, gen, Report::Spawned { pid });
    }
}

/// The unit's own directory (its default cwd), owned by its `user` when one is set; that user
/// must be able to pass through every directory above it.
fn ensure_unit_dir(ctx: &Context, unit: usize, user: Option<(u32, u32)>) -> Result<(), String> {
    let dir = ctx.unit_dir(unit);
    crate::atomic_file::private_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    if let Some((uid, gid)) = user {
        reach(ctx, unit, uid, gid).check(Target::DataDir, &dir)?;
        platform::give_to(&dir, uid, gid)?;
    }
    Ok(())
}

/// Empties (or makes) a sidecar's temp dir, private to it (and its `user`).
fn fresh_temp_dir(tmp: &std::path::Path, user: Option<(u32, u32)>) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(tmp);
    crate::atomic_file::private_dir_all(tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
    if let Some((uid, gid)) = user {
        platform::give_to(tmp, uid, gid)?;
    }
    Ok(())
}

fn reach(ctx: &Context, unit: usize, uid: u32, gid: u32) -> Reach<'_> {
    let run = &ctx.plan.units[unit].run;
    Reach {
        user: run.user.as_deref().unwrap_or_default(),
        uid,
        gid,
        sidecar: &run.sidecar,
        app_name: &ctx.settings.app_name,
    }
}
