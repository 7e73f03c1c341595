//! The engine's hold on the processes it started: each unit's lifeline (its stdin, closed
//! only when the runtime goes), the record of live children for the next launch's leftover
//! cleanup, and the death watch that kills every process group if the runtime dies.

use super::context::Context;
use crate::domain::Stop;
use crate::platform::{DeathWatch, Lifeline};
use crate::runtime::instance::{ChildRecord, InstanceRecord};

pub(super) struct Processes {
    lifelines: Vec<Option<Lifeline>>,
    /// What runs now, per unit, as the instance record lists it.
    children: Vec<Option<ChildRecord>>,
    death_watch: Option<DeathWatch>,
    /// (watch?, pgid) changes for the death watch, sent at the end of the turn: the fork of a
    /// restart is not kept waiting for them.
    watch_ops: Vec<(bool, u32)>,
    /// The instance record is behind (a child started or ended).
    record_dirty: bool,
}

impl Processes {
    pub fn new(units: usize) -> Processes {
        Processes {
            lifelines: (0..units).map(|_| None).collect(),
            children: vec![None; units],
            death_watch: None,
            watch_ops: Vec::new(),
            record_dirty: false,
        }
    }

    pub fn set_death_watch(&mut self, w: Option<DeathWatch>) {
        self.death_watch = w;
    }

    /// A process group the death watch must kill if the runtime dies (a prepare step).
    pub fn watch(&mut self, pgid: u32) {
        self.watch_ops.push((true, pgid));
    }

    /// The group led by `pgid` ended: kill what its leader left behind, stop watching it.
    pub fn ended(&mut self, pgid: u32) {
        crate::platform::kill_group(pgid);
        self.watch_ops.push((false, pgid));
    }

    /// Unit `unit`'s process `pid` started, with `stdin` as its lifeline.
    pub fn started(&mut self, ctx: &Context, unit: usize, pid: u32, lifeline: Option<Lifeline>) {
        self.watch(pid);
        self.lifelines[unit] = lifeline;
        let start_ticks = crate::platform::start_time(pid);
        let name = ctx.plan.units[unit].name.clone();
        self.children[unit] = Some(ChildRecord { name, pid, pgid: pid, start_ticks });
        self.record_dirty = true;
    }

    /// Unit `unit`'s process `pid` ended (the waiter already killed its group).
    pub fn exited(&mut self, unit: usize, pid: u32) {
        self.lifelines[unit] = None;
        self.watch_ops.push((false, pid));
        if self.children[unit].as_ref().is_some_and(|c| c.pid == pid) {
            self.children[unit] = None;
        }
        self.record_dirty = true;
    }

    pub fn stop(&self, pid: u32, how: Stop) {
        crate::platform::stop_group(pid, how);
    }

    /// Sends the death watch its changes (end of a turn).
    pub fn flush_watch(&mut self) {
        let ops = std::mem::take(&mut self.watch_ops);
        if let Some(g) = self.death_watch.as_mut() {
            for (watch, pgid) in ops {
                if watch {
                    g.watch(pgid);
                } else {
                    g.forget(pgid);
                }
            }
        }
    }

    /// The instance record with the children running now, if it changed since the last call.
    pub fn take_record(&mut self, base: &InstanceRecord) -> Option<InstanceRecord> {
        if !std::mem::take(&mut self.record_dirty) {
            return None;
        }
        Some(self.record(base))
    }

    pub fn record(&self, base: &InstanceRecord) -> InstanceRecord {
        let mut rec = base.clone();
        rec.children = self.children.iter().flatten().cloned().collect();
        rec
    }
}
