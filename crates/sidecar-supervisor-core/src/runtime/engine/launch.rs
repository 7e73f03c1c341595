//! Carrying out launches ([`Effect::Launch`](crate::domain::Effect::Launch)) and starts of
//! processes (`Exec`): the port, the program, the one-time prepare step, the templated
//! arguments and environment, the checks for a sidecar that drops to its `user`, and the tasks
//! that read the child's output and await its exit. What happens is reported to the
//! orchestrator at once, or later through the engine's inbox when it takes a while.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use super::context::Context;
use super::lookup::Lookups;
use super::output;
use super::processes::Processes;
use super::Msg;
use crate::domain::{Orchestrator, PortPlan, Report};
use crate::platform::{self, Reach, SpawnRequest, Target};

/// The launch side of the engine: what it remembers between launches.
pub(super) struct Launcher {
    lookups: Lookups,
    /// How many of the unit's prepare steps ran (or were found not needed) in this run.
    prepared: Vec<usize>,
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
    fn fail(&mut self, unit: usize, gen: u64, error: String) {
        self.report(unit, gen, Report::LaunchFailed { error });
    }
}

impl Launcher {
    pub fn new(units: usize) -> Launcher {
        Launcher { lookups: Lookups::new(units), prepared: vec![0; units] }
    }

    /// The port step of a launch, then the rest ([`Launcher::resume`]).
    pub fn launch(&mut self, p: &mut Parts<'_>, unit: usize, gen: u64, port: PortPlan) {
        match port {
            PortPlan::None | PortPlan::Keep(_) => {}
            PortPlan::PickFree => match crate::runtime::ports::pick_free_port() {
                Ok(port) => p.report(unit, gen, Report::PortAssigned { port }),
                Err(e) => return p.fail(unit, gen, format!("cannot pick a free port on 127.0.0.1: {e}")),
            },
            PortPlan::CheckFixed(port) => {
                if let Err(e) = crate::runtime::ports::check_fixed_port(port) {
                    return p.fail(unit, gen, e);
                }
            }
        }
        self.resume(p, unit, gen, true);
    }

    /// After the port: finds the program (waiting for the search path first when that is what
    /// it takes and `may_search`), then runs the prepare step or reports the launch prepared. A
    /// program that is not found fails the sidecar before any prepare step runs.
    pub fn resume(&mut self, p: &mut Parts<'_>, unit: usize, gen: u64, may_search: bool) {
        if may_search && self.lookups.search_wanted(p.ctx, unit, self.prepared[unit]) {
            return self.lookups.await_search(p.ctx, p.tx, unit, gen);
        }
        if let Err(error) = self.lookups.program(p.ctx, unit) {
            return p.fail(unit, gen, error);
        }
        self.start_prepare(p, unit, gen);
    }

    pub fn lookups(&self) -> &Lookups {
        &self.lookups
    }

    /// A sidecar's search path was evaluated: the launches that waited for it.
    pub fn searched(&mut self, sidecar: String, dirs: crate::runtime::search_path::SearchDirs) -> Vec<(usize, u64)> {
        self.lookups.searched(sidecar, dirs)
    }

    /// A prepare step ended (with the launch still current or not: it ran either way). Whether
    /// steps remain.
    pub fn prepare_ended(&mut self, ctx: &Context, unit: usize, ok: bool) -> bool {
        if ok {
            self.prepared[unit] += 1;
        }
        ok && self.prepared[unit] < ctx.plan.units[unit].spec.prepare.len()
    }

    /// Runs the next prepare step that is due (skipping those whose `unless_exists` exists), or
    /// reports the launch prepared when none is left.
    pub fn start_prepare(&mut self, p: &mut Parts<'_>, unit: usize, gen: u64) {
        let (ctx, orch) = (p.ctx, &*p.orch);
        let spec = ctx.plan.units[unit].spec.clone();
        let planned = loop {
            let Some(prep) = spec.prepare.get(self.prepared[unit]) else {
                return p.report(unit, gen, Report::Prepared);
            };
            let at = if spec.prepare.len() == 1 {
                "prepare".to_string()
            } else {
                format!("prepare[{}]", self.prepared[unit])
            };
            let planned = (|| -> Result<Option<StepRun>, String> {
                if let Some(path) = &prep.unless_exists {
                    let path = ctx.render_field(orch, unit, path, &format!("{at}.unless_exists"))?;
                    if std::path::Path::new(&path).exists() {
                        return Ok(None);
                    }
                }
                let program = self.lookups.helper(ctx, unit, &prep.command)?;
                let args = ctx.render_all(orch, unit, &prep.args, &format!("{at}.args"))?;
                let stdin =
                    prep.stdin.as_ref().map(|t| ctx.render_field(orch, unit, t, &format!("{at}.stdin"))).transpose()?;
                Ok(Some((program, args, stdin)))
            })();
            match planned {
                Ok(None) => self.prepared[unit] += 1,
                Ok(Some(x)) => break (x, prep.timeout_ms),
                Err(e) => return p.fail(unit, gen, format!("prepare step: {e}")),
            }
        };
        let ((program, args, stdin), timeout_ms) = planned;
        let user = match ctx.users[unit].clone() {
            Ok(u) => u,
            Err(e) => return p.fail(unit, gen, e),
        };
        if let Err(error) = ensure_unit_dir(ctx, unit, user) {
            return p.fail(unit, gen, error);
        }
        let env = ctx.contract_env(orch, unit);
        let cwd = ctx.unit_dir(unit);
        let spawned = platform::spawn(&SpawnRequest { program: &program, args: &args, env: &env, cwd: &cwd, user });
        let mut s = match spawned {
            Ok(s) => s,
            Err(e) => return p.fail(unit, gen, format!("cannot run {}: {e}", program.display())),
        };
        let pid = s.pid;
        p.procs.watch(pid);
        let what = format!("{} {}", program.display(), args.join(" "));
        p.report(unit, gen, Report::PrepareStarted { pid, what });
        let log = ctx.logs[unit].clone();
        let tx = p.tx.clone();
        let timeout = Duration::from_millis(timeout_ms);
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
            let waited = tokio::time::timeout(timeout, async {
                let (st, _, _) = tokio::join!(s.child.wait(), pumps, fed);
                st
            })
            .await;
            drop(lifeline);
            let result = match waited {
                Ok(Ok(exit)) if exit.code == Some(0) => Ok(()),
                Ok(Ok(exit)) => Err(format!(
                    "prepare step {} failed ({}): {}",
                    program.display(),
                    exit.describe(),
                    log.last_stderr(3).join(" | ")
                )),
                Ok(Err(e)) => Err(format!("prepare step {}: {e}", program.display())),
                Err(_) => {
                    Err(format!("prepare step {} did not finish within {} ms", program.display(), timeout.as_millis()))
                }
            };
            let _ = tx.send(Msg::PrepareEnded { unit, gen, pid, result });
        });
    }

    /// Starts the process of launch `gen`.
    pub fn exec(&mut self, p: &mut Parts<'_>, unit: usize, gen: u64) {
        let (ctx, orch) = (p.ctx, &*p.orch);
        let built = (|| -> Result<_, String> {
            let program = self.lookups.program(ctx, unit)?;
            let spec = &ctx.plan.units[unit].spec;
            let args = ctx.render_all(orch, unit, &spec.args, "args")?;
            let mut env = ctx.contract_env(orch, unit);
            // Its own temp dir, emptied before every start: what a killed process left there
            // (a PyInstaller onefile program unpacks ~20 MB into it) does not pile up. The
            // profile's `env` may still point elsewhere.
            let tmp = ctx.unit_dir(unit).join("tmp");
            for var in platform::TEMP_DIR_VARS {
                env.push((var.to_string(), tmp.display().to_string()));
            }
            for (k, v) in &spec.env {
                env.push((k.clone(), ctx.render_field(orch, unit, v, &format!("env.{k}"))?));
            }
            let cwd = match &spec.cwd {
                Some(c) => ctx.profile_dir.join(ctx.render_field(orch, unit, c, "cwd")?),
                None => ctx.unit_dir(unit),
            };
            let user = ctx.users[unit].clone()?;
            ensure_unit_dir(ctx, unit, user)?;
            fresh_temp_dir(&tmp, user)?;
            if let Some((uid, gid)) = user {
                if spec.cwd.is_some() {
                    reach(ctx, unit, uid, gid).check(Target::Cwd, &cwd)?;
                }
                // Else exec fails with a bare "Permission denied" (a build under root's home).
                reach(ctx, unit, uid, gid).check(Target::Program, &program)?;
            }
            Ok((program, args, env, cwd, user))
        })();
        let (program, args, env, cwd, user) = match built {
            Ok(x) => x,
            Err(e) => return p.fail(unit, gen, e),
        };
        let req = SpawnRequest { program: &program, args: &args, env: &env, cwd: &cwd, user };
        let spawned = match platform::spawn(&req) {
            Ok(s) => s,
            Err(e) => return p.fail(unit, gen, format!("cannot start {}: {e}", program.display())),
        };
        let pid = spawned.pid;
        // A JSON-RPC sidecar's stdin is its channel, which then holds the lifeline.
        let (lifeline, peer) = if ctx.plan.units[unit].spec.stdio == Some(crate::profile::StdioMode::Jsonrpc) {
            match spawned.lifeline.into_writer() {
                Ok(w) => {
                    let peer = crate::runtime::doors::jsonrpc::Peer::start(ctx.plan.units[unit].name.clone(), w);
                    ctx.channels.open(unit, peer.clone());
                    (None, Some(peer))
                }
                Err(e) => {
                    crate::platform::kill_group(pid);
                    return p.fail(unit, gen, format!("cannot open its stdin as a JSON-RPC channel: {e}"));
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
    let spec = &ctx.plan.units[unit].spec;
    Reach { user: spec.user.as_deref().unwrap_or_default(), uid, gid, sidecar: &spec.name, app_name: &ctx.cfg.app_name }
}
