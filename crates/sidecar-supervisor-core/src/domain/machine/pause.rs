//! Pause and resume: the user suspends a running sidecar's whole process tree and continues it
//! later. While paused nothing judges it — no probe runs (a result already under way is stale),
//! no startup deadline runs, so liveness never kills it — and it still counts as up for its
//! dependents. Resume returns it to the state it left: a sidecar that was starting gets a fresh
//! startup timeout; one that was ready is probed at once, and becomes unhealthy only if those
//! probes fail. Stop and restart of a paused sidecar continue it first (`stop_with`).

use std::time::Duration;

use super::super::event::EventKind;
use super::{Action, Machine, State};
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
        self.emit(EventKind::Resumed, format!("resumed ({})", from.as_str()), Some(pid), out);
    }
}
