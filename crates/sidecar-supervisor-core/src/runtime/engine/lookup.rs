//! Finding a sidecar's program and its helper commands (prepare step, exec probes).
//!
//! Lookups are plain file checks and run on the loop. A sidecar's `search_path` may run
//! commands (`pg_config --bindir`), so it is evaluated off the loop, once per sidecar (replicas
//! share it) and only when the program or a helper is not found otherwise; the result is kept,
//! so the exec probe that runs every second reuses it. A launch waits for the evaluation
//! (`Msg::Searched`) and then carries on. When something is still missing with a kept result,
//! the next launch evaluates again: the user may have installed the program since.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use super::context::Context;
use super::Msg;
use crate::runtime::program::Lookup;
use crate::runtime::search_path::{self, SearchDirs};

/// The search path of one sidecar.
enum Search {
    /// Being evaluated; these launches (unit, generation) wait for it.
    Running(Vec<(usize, u64)>),
    Done(Arc<SearchDirs>),
}

pub(super) struct Lookups {
    /// Search paths by sidecar name, evaluated when first needed.
    search: HashMap<String, Search>,
    /// Each unit's program, kept between restarts while it is still there.
    programs: Vec<Option<PathBuf>>,
}

impl Lookups {
    pub fn new(units: usize) -> Lookups {
        Lookups { search: HashMap::new(), programs: vec![None; units] }
    }

    fn lookup<'a>(&'a self, ctx: &'a Context, unit: usize) -> Lookup<'a> {
        let run = &ctx.plan.units[unit].run;
        let search = match self.search.get(&run.sidecar) {
            Some(Search::Done(d)) => Some(d.as_ref()),
            _ => None,
        };
        Lookup {
            sidecar: &run.sidecar,
            profile_dir: &ctx.profile_dir,
            bundled_dirs: &ctx.bundled_dirs,
            search_entries: &run.search_path,
            target_triple: &ctx.triple,
            search,
            install_hint: run.install_hint.as_deref(),
        }
    }

    /// The unit's program: the one found last time while it is still there, else looked up.
    pub fn program(&mut self, ctx: &Context, unit: usize) -> Result<PathBuf, String> {
        let p = self.find_program(ctx, unit)?;
        self.programs[unit] = Some(p.clone());
        Ok(p)
    }

    /// The unit's program as a launch found it (or looks it up), without keeping it.
    pub fn current_program(&self, ctx: &Context, unit: usize) -> Result<PathBuf, String> {
        self.find_program(ctx, unit)
    }

    fn find_program(&self, ctx: &Context, unit: usize) -> Result<PathBuf, String> {
        if let Some(p) = self.programs[unit].as_ref().filter(|p| p.is_file()) {
            return Ok(p.clone());
        }
        let run = &ctx.plan.units[unit].run;
        self.lookup(ctx, unit).program(&run.command, run.bin_override.as_deref())
    }

    /// A helper command: next to the sidecar's program first, then like the program.
    pub fn helper(&self, ctx: &Context, unit: usize, command: &str) -> Result<PathBuf, String> {
        let main = self.find_program(ctx, unit).ok();
        self.lookup(ctx, unit).helper(command, main.as_deref())
    }

    /// Would evaluating the search path (again) help: is the program or a helper missing that
    /// it could provide? Never true for a sidecar without one.
    pub fn search_wanted(&self, ctx: &Context, unit: usize, prepared: usize) -> bool {
        let u = &ctx.plan.units[unit];
        let run = &u.run;
        if run.search_path.is_empty() {
            return false;
        }
        if let Some(Search::Running(_)) = self.search.get(&run.sidecar) {
            return true;
        }
        let searchable = |c: &str| !crate::platform::is_path(c);
        if run.bin_override.is_none() && searchable(&run.command) && self.find_program(ctx, unit).is_err() {
            return true;
        }
        let prepare = run.prepare.iter().skip(prepared).map(|p| p.helper.command.as_str());
        let probes = [&u.ready, &u.live].into_iter().flatten().filter_map(|p| match &p.probe {
            crate::domain::plan::Probe::Exec(h) => Some(h.command.as_str()),
            _ => None,
        });
        let stop = run.stop_command.as_ref().map(|c| c.command.as_str());
        prepare.chain(stop).chain(probes).any(|c| searchable(c) && self.helper(ctx, unit, c).is_err())
    }

    /// Has launch `gen` of `unit` wait for its sidecar's search path, starting the evaluation
    /// unless one is already running; `Msg::Searched` resumes the launch.
    pub fn await_search(&mut self, ctx: &Context, tx: &UnboundedSender<Msg>, unit: usize, gen: u64) {
        let run = ctx.plan.units[unit].run.clone();
        if let Some(Search::Running(waiters)) = self.search.get_mut(&run.sidecar) {
            waiters.push((unit, gen));
            return;
        }
        self.search.insert(run.sidecar.clone(), Search::Running(vec![(unit, gen)]));
        let (tx, base) = (tx.clone(), ctx.profile_dir.clone());
        tokio::spawn(async move {
            let dirs = search_path::evaluate(&run.search_path, &base, search_path::COMMAND_TIMEOUT).await;
            let _ = tx.send(Msg::Searched { sidecar: run.sidecar.clone(), dirs });
        });
    }

    /// The search path of `sidecar` is known: keep it, and hand back the launches that waited.
    pub fn searched(&mut self, sidecar: String, dirs: SearchDirs) -> Vec<(usize, u64)> {
        tracing::debug!(sidecar, tried = ?dirs.tried, "search_path evaluated");
        match self.search.insert(sidecar, Search::Done(Arc::new(dirs))) {
            Some(Search::Running(w)) => w,
            _ => Vec::new(),
        }
    }
}
