//! A launch: the port and the program ([`Action::Launch`], answered by [`Input::Located`]),
//! then, for a PostgreSQL sidecar, the verdict on its data directory ([`Action::CheckData`]),
//! then each prepare step not yet done in this run, one at a time, each within its timeout
//! ([`Action::Prepare`]), then the process itself once every dependency is up
//! ([`Action::Exec`]). A stop while a prepare step runs stops that step; a launch that fails
//! before its process ran leaves the sidecar `failed`, with the cause.

use std::time::Duration;

use super::{Action, Cause, Exit, Machine, State, StepEnd, Stop};
use crate::domain::event::EventKind;
use crate::domain::pg_data::{self, DataFacts, Verdict};

impl Machine {
    /// Launches now, or waits for the dependencies when one is down.
    pub(super) fn launch(&mut self, new_port: bool, out: &mut Vec<Action>) {
        self.kill_reason = super::KillReason::None;
        self.pending_restart = None;
        self.identity = None;
        self.identity_ok = false;
        self.build = None;
        self.clear_probes();
        let new_port = new_port || std::mem::take(&mut self.new_port_pending);
        if !self.deps_ready {
            self.new_port_pending = new_port;
            self.set_state(State::WaitingForDeps, out);
            return;
        }
        self.set_state(State::Starting, out);
        out.push(Action::Launch { new_port, prepared: self.prepared });
    }

    /// Port and program are in hand: the data directory's check (a PostgreSQL sidecar's), then
    /// the next prepare step, or the process.
    pub(super) fn on_located(&mut self, out: &mut Vec<Action>) {
        if self.launching() && self.prepare_pid.is_none() {
            if self.cfg.checks_data {
                out.push(Action::CheckData);
            } else {
                self.next_step(out);
            }
        }
    }

    /// The data directory's facts are in: the verdict ([`pg_data::judge`]) starts the server
    /// (after removing a stale `postmaster.pid`) or refuses the directory.
    pub(super) fn on_data_checked(&mut self, facts: &DataFacts, out: &mut Vec<Action>) {
        if !self.launching() || self.prepare_pid.is_some() {
            return;
        }
        match pg_data::judge(facts) {
            Verdict::Start { remove_pid_file: None } => self.next_step(out),
            Verdict::Start { remove_pid_file: Some(why) } => {
                self.pid_file_note = why;
                out.push(Action::RemovePidFile);
            }
            Verdict::Refuse { error, cause } => self.fail(EventKind::Failed, error, cause, &Exit::default(), None, out),
        }
    }

    pub(super) fn on_pid_file_removed(&mut self, result: Result<(), String>, out: &mut Vec<Action>) {
        if !self.launching() || self.prepare_pid.is_some() {
            return;
        }
        let note = std::mem::take(&mut self.pid_file_note);
        match result {
            Ok(()) => {
                self.emit(EventKind::StalePidFileRemoved, note, None, out);
                self.next_step(out);
            }
            Err(e) => self.fail(EventKind::Failed, e, Cause::LaunchFailed, &Exit::default(), None, out),
        }
    }

    /// Runs the next prepare step due, or, with none left, starts the process when every
    /// dependency is up (else waits for them: a port it reads may be unknown by now; the next
    /// launch skips what is done).
    fn next_step(&mut self, out: &mut Vec<Action>) {
        if self.prepared < self.cfg.prepare.len() {
            out.push(Action::Prepare { step: self.prepared });
            return;
        }
        if self.deps_ready {
            out.push(Action::Exec);
        } else {
            self.set_state(State::WaitingForDeps, out);
        }
    }

    pub(super) fn on_prepare_started(
        &mut self,
        now: Duration,
        step: usize,
        pid: u32,
        what: String,
        out: &mut Vec<Action>,
    ) {
        let Some(timeout) = self.cfg.prepare.get(step).filter(|_| self.launching() && step == self.prepared) else {
            return;
        };
        self.prepare_pid = Some(pid);
        self.prepare_deadline = Some(now + *timeout);
        self.emit(EventKind::Prepared, format!("running prepare step {what}"), Some(pid), out);
        self.prepare_what = what;
    }

    pub(super) fn on_prepare_ended(&mut self, step: usize, end: StepEnd, out: &mut Vec<Action>) {
        if step != self.prepared || self.pid.is_some() {
            return;
        }
        let prepare = self.prepare_pid.take();
        self.prepare_deadline = None;
        match (self.state, end) {
            (State::Starting, StepEnd::Done | StepEnd::Skipped) => {
                self.prepared += 1;
                self.next_step(out);
            }
            (State::Starting, StepEnd::Failed(error)) => {
                self.fail(EventKind::Failed, error, Cause::PrepareFailed, &Exit::default(), prepare, out)
            }
            // Stopped while its prepare step ran: that step has now ended.
            (State::Stopping, end) => {
                // It ran either way: a step that succeeded is not run again.
                if !matches!(end, StepEnd::Failed(_)) {
                    self.prepared += 1;
                }
                self.launch_ended_while_stopping(prepare, out)
            }
            _ => {}
        }
    }

    /// A prepare step ran past its timeout: its tree is killed, and the launch fails.
    pub(super) fn prepare_timed_out(&mut self, out: &mut Vec<Action>) {
        let Some(pid) = self.prepare_pid.take() else { return };
        let ms = self.cfg.prepare.get(self.prepared).map_or(0, Duration::as_millis);
        out.push(Action::Stop { pid, how: Stop::Force });
        let error = format!("prepare step {} did not finish within {ms} ms; killed it", self.prepare_what);
        self.fail(EventKind::Failed, error, Cause::PrepareFailed, &Exit::default(), Some(pid), out);
    }

    pub(super) fn on_launch_failed(&mut self, error: String, cause: Cause, out: &mut Vec<Action>) {
        if self.pid.is_some() {
            return;
        }
        let prepare = self.prepare_pid.take();
        self.prepare_deadline = None;
        match self.state {
            State::Starting => self.fail(EventKind::Failed, error, cause, &Exit::default(), prepare, out),
            State::Stopping => self.launch_ended_while_stopping(prepare, out),
            _ => {}
        }
    }

    /// A stop came while the launch ran its prepare step; that step has ended now.
    pub(super) fn launch_ended_while_stopping(&mut self, prepare: Option<u32>, out: &mut Vec<Action>) {
        self.stop_deadline = None;
        match self.pending_restart.take() {
            Some(note) => {
                self.emit(EventKind::Restarting, format!("restarting at once{note}"), prepare, out);
                self.launch(false, out);
            }
            None => {
                self.set_state(State::Stopped, out);
                self.emit(EventKind::Stopped, "stopped (its prepare step ended)".into(), prepare, out);
            }
        }
    }

    pub(super) fn on_spawned(&mut self, now: Duration, pid: u32, out: &mut Vec<Action>) {
        if !self.launching() {
            return;
        }
        self.pid = Some(pid);
        self.prepare_pid = None;
        self.spawned_at = Some(now);
        self.ready_since = None;
        self.startup_failure = None;
        self.startup_identity = None;
        self.emit(EventKind::Spawned, format!("spawned pid {pid}"), Some(pid), out);
        match self.ready_probe.as_mut() {
            Some(p) => {
                self.startup_deadline = Some(now + self.cfg.startup_timeout);
                p.start(now);
            }
            // An announcing sidecar is not ready before its port is known (dependents need it).
            None if self.cfg.awaits_announcement => self.startup_deadline = Some(now + self.cfg.startup_timeout),
            None => self.become_ready(now, "no readiness probe: ready once spawned".into(), out),
        }
    }
}
