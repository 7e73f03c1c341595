//! Finding a sidecar's program and its helper commands (prepare step, exec probes).
//!
//! Lookups are plain file checks and run on the loop. A sidecar's `search_path` may run
//! commands (`pg_config --bindir`), so it is evaluated off the loop, once per sidecar (replicas
//! share it) and only when the program or a helper is not found otherwise; the result is kept,
//! so the exec probe that runs every second reuses it. A spawn waits for the evaluation
//! (`Msg::Searched`) and then carries on. When something is still missing with a kept result,
//! the next spawn evaluates again: the user may have installed the program since.

use std::path::PathBuf;
use std::sync::Arc;

use super::{Engine, Msg};
use crate::runtime::process::Lookup;
use crate::runtime::search_path::{self, SearchDirs};

/// The search path of one sidecar.
pub(crate) enum Search {
    /// Being evaluated; these units (at this spawn generation) wait for it.
    Running(Vec<(usize, u64)>),
    Done(Arc<SearchDirs>),
}

impl Engine {
    fn lookup(&self, i: usize) -> Lookup<'_> {
        let spec = &self.units[i].spec;
        let search = match self.search.get(&spec.name) {
            Some(Search::Done(d)) => Some(d.as_ref()),
            _ => None,
        };
        Lookup {
            sidecar: &spec.name,
            profile_dir: &self.profile_dir,
            bundled_dirs: &self.bundled_dirs,
            target_triple: &self.triple,
            search,
            install_hint: spec.install_hint.as_deref(),
        }
    }

    /// The sidecar's program: cached from the last lookup while it is still there.
    pub(super) fn program_for(&self, i: usize) -> Result<PathBuf, String> {
        let u = &self.units[i];
        if let Some(p) = u.program.as_ref().filter(|p| p.is_file()) {
            return Ok(p.clone());
        }
        self.lookup(i).program(&u.spec.command, self.cfg.bin_overrides.get(&u.spec.name).map(|p| p.as_path()))
    }

    /// A helper command: next to the sidecar's program first, then like the program.
    pub(super) fn aux_program(&self, i: usize, command: &str) -> Result<PathBuf, String> {
        let main = self.program_for(i).ok();
        self.lookup(i).helper(command, main.as_deref())
    }

    /// Would evaluating the search path (again) help: is the program or a helper missing that
    /// it could provide? Never true for a sidecar without one.
    pub(super) fn search_wanted(&self, i: usize) -> bool {
        let u = &self.units[i];
        let spec = &u.spec;
        if spec.search_path.is_empty() {
            return false;
        }
        if let Some(Search::Running(_)) = self.search.get(&spec.name) {
            return true;
        }
        let searchable = |c: &str| !c.contains('/');
        let overridden = self.cfg.bin_overrides.contains_key(&spec.name);
        if !overridden && searchable(&spec.command) && self.program_for(i).is_err() {
            return true;
        }
        let prepare = spec.prepare.as_ref().filter(|_| !u.prepared).map(|p| p.command.as_str());
        let probes = [&spec.ready, &spec.live].into_iter().flatten().filter_map(|p| p.exec.as_ref());
        prepare
            .into_iter()
            .chain(probes.map(|e| e.command.as_str()))
            .any(|c| searchable(c) && self.aux_program(i, c).is_err())
    }

    /// Has unit `i` wait for its sidecar's search path, starting the evaluation unless one is
    /// already running; `Msg::Searched` resumes the spawn.
    pub(super) fn await_search(&mut self, i: usize) {
        let spec = self.units[i].spec.clone();
        let waiter = (i, self.units[i].gen);
        if let Some(Search::Running(waiters)) = self.search.get_mut(&spec.name) {
            waiters.push(waiter);
            return;
        }
        self.search.insert(spec.name.clone(), Search::Running(vec![waiter]));
        let (tx, base) = (self.tx.clone(), self.profile_dir.clone());
        tokio::spawn(async move {
            let dirs = search_path::evaluate(&spec.search_path, &base, search_path::COMMAND_TIMEOUT).await;
            let _ = tx.send(Msg::Searched { sidecar: spec.name.clone(), dirs });
        });
    }

    /// The search path of `sidecar` is known: keep it, and resume the spawns that waited.
    pub(super) fn on_searched(&mut self, sidecar: String, dirs: SearchDirs) {
        tracing::debug!(sidecar, tried = ?dirs.tried, "search_path evaluated");
        let waiters = match self.search.insert(sidecar, Search::Done(Arc::new(dirs))) {
            Some(Search::Running(w)) => w,
            _ => Vec::new(),
        };
        for (i, gen) in waiters {
            // A stop while waiting found no process and stopped the unit at once.
            if self.units[i].gen == gen && self.units[i].machine.state() == crate::domain::State::Starting {
                self.resume_spawn(i, false);
            }
        }
    }
}
