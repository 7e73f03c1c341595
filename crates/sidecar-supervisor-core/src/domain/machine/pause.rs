//! Pause and resume: the user suspends a running sidecar's whole process tree and continues it
//! later. While paused nothing judges it — no probe runs (a result already under way is stale),
//! no startup deadline runs, so liveness never kills it — and it still counts as up for its
//! dependents. Resume returns it to the state it left: a sidecar that was starting gets a fresh
//! startup timeout; one that was ready is probed at once, and becomes unhealthy only if those
//! probes fail. Stop and restart of a paused sidecar continue it first (`stop_with`).
//!
//! When the OS cannot do it ([`Input::SuspendFailed`](super::Input::SuspendFailed)): a pause
//! that did not take returns to the state it left (the tree is continued, in case part of it
//! was suspended); a tree that cannot be continued is killed, so that it starts afresh by the
//! usual rules rather than stay frozen.

use std::time::Duration;

use super::super::event::EventKind;
use super::{Action, KillReason, Machine, State, Stop};
use crate::domain::types::steady_next;

impl Machine {
    pub(super) fn on_pause(&mut self, out: &mut Vec<Action>) {
        let (State::Starting | State::Ready | State::Unhealthy) = self.state else { return };
        let Some(pid) = self.pid else { return };
        self.paused_from = Some(self.state);
        self.clear_probes();
        self.startup_deadline = None;
        self.set_state(State::Paused, out);
        self.emit(EventKind::Paused, "paused: its process tree is suspended".into(), Some(pid), out);
        out.push(Action::Suspend { pid });
    }

    pub(super) fn on_resume(&mut self, now: Duration, out: &mut Vec<Action>) {
        if self.state != State::Paused {
            return;
        }
        let (Some(from), Some(pid)) = (self.paused_from.take(), self.pid) else { return };
        out.push(Action::Continue { pid });
        self.back_to(now, from, out);
        self.emit(EventKind::Resumed, format!("resumed ({})", from.as_str()), Some(pid), out);
    }

    /// Judged again from `from`, the state a pause left.
    fn back_to(&mut self, now: Duration, from: State, out: &mut Vec<Action>) {
        match from {
            State::Starting => {
                self.startup_deadline = Some(now + self.cfg.startup_timeout);
                if let Some(p) = self.ready_probe.as_mut() {
                    p.start(now);
                }
                self.set_state(State::Starting, out);
            }
            _ => {
                // Back to ready on trust, checked at once: a failing readiness probe makes it
                // unhealthy by the usual threshold, a failing liveness probe restarts it.
                if let Some(p) = self.ready_probe.as_mut() {
                    p.start(now);
                }
                if let Some(p) = self.live_probe.as_mut() {
                    p.schedule(steady_next(now, p.interval()));
                }
                self.set_state(from, out);
            }
        }
    }

    pub(super) fn on_suspend_failed(
        &mut self,
        now: Duration,
        pid: u32,
        resume: bool,
        why: String,
        out: &mut Vec<Action>,
    ) {
        if self.pid != Some(pid) {
            return;
        }
        if !resume {
            let (State::Paused, Some(from)) = (self.state, self.paused_from.take()) else { return };
            out.push(Action::Continue { pid });
            self.back_to(now, from, out);
            let msg = format!("could not suspend its process tree ({why}); it keeps running");
            self.emit(EventKind::PauseFailed, msg, Some(pid), out);
            return;
        }
        if !matches!(self.state, State::Starting | State::Ready | State::Unhealthy | State::Stopping) {
            return;
        }
        if self.state != State::Stopping {
            self.kill_reason = KillReason::NotResumed;
            self.clear_probes();
            self.startup_deadline = None;
        }
        let msg = format!("could not continue its process tree ({why}); killing it, so that it starts afresh");
        self.emit(EventKind::ResumeFailed, msg, Some(pid), out);
        out.push(Action::Stop { pid, how: Stop::Force });
    }
}
