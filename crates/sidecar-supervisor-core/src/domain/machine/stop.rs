//! Stopping: the graceful stop the plan chose (a signal, Ctrl-Break, the control call, the stop
//! command) to the sidecar's tree — a prepare step gets the OS's plain stop —, the plain stop
//! when that way failed ([`Input::StopFailed`]), and a forced kill of the whole tree when it
//! did not end within its stop timeout, the same on every OS.

use std::time::Duration;

use super::{Action, Machine, State, Stop};
use crate::domain::event::EventKind;

impl Machine {
    pub(super) fn on_stop(&mut self, now: Duration, then_restart: bool, out: &mut Vec<Action>) {
        self.stop_with(now, then_restart, if then_restart { " (manual restart; budget reset)" } else { "" }, out)
    }

    /// A stop; `why` is appended to the stopping event.
    pub(super) fn stop_with(&mut self, now: Duration, then_restart: bool, why: &str, out: &mut Vec<Action>) {
        match self.state {
            State::Starting | State::Ready | State::Unhealthy | State::Paused => {
                self.clear_probes();
                self.startup_deadline = None;
                self.prepare_deadline = None;
                // A suspended tree cannot act on a stop: it is continued first (the stop
                // signal, a control call or the stop command then reach a running process).
                if let (Some(_), Some(pid)) = (self.paused_from.take(), self.pid) {
                    out.push(Action::Continue { pid });
                }
                let Some(pid) = self.event_pid() else {
                    // A launch that has no process yet (its program is being looked for): there
                    // is nothing to wait for.
                    if then_restart {
                        self.emit(EventKind::Restarting, format!("restarting at once{why}"), None, out);
                        self.launch(false, out);
                    } else {
                        self.set_state(State::Stopped, out);
                        self.emit(EventKind::Stopped, "stopped (before its process started)".into(), None, out);
                    }
                    return;
                };
                self.pending_restart = then_restart.then(|| why.to_string());
                self.stop_deadline = Some(now + self.cfg.stop.timeout);
                self.set_state(State::Stopping, out);
                // A prepare step gets the OS's plain stop: the stop command and the control
                // call are for the sidecar itself.
                let (target, how) = match self.pid {
                    Some(_) => ("its process group", self.cfg.stop.how),
                    None => ("its prepare step", self.cfg.stop.fallback),
                };
                let msg = format!("{}{why}", how.phrase(target));
                self.emit(EventKind::Stopping, msg, Some(pid), out);
                out.push(Action::Stop { pid, how: Stop::Graceful(how) });
            }
            // The latest wish wins: a stop cancels a pending restart, a restart re-arms it.
            State::Stopping => {
                self.pending_restart = then_restart.then(|| why.to_string());
            }
            State::Pending | State::WaitingForDeps | State::Backoff => {
                self.backoff_until = None;
                self.set_state(State::Stopped, out);
                self.emit(EventKind::Stopped, "stopped (was not running)".into(), None, out);
            }
            State::Stopped | State::Failed | State::Skipped => {}
        }
    }

    /// The graceful stop could not be made: the plain stop instead. The stop timeout still
    /// counts from the first ask.
    pub(super) fn on_stop_failed(&mut self, pid: u32, why: String, out: &mut Vec<Action>) {
        if self.state != State::Stopping || self.pid != Some(pid) {
            return;
        }
        let fallback = self.cfg.stop.fallback;
        let msg = format!("{why}; {} instead", fallback.phrase("its process group"));
        self.emit(EventKind::Stopping, msg, Some(pid), out);
        out.push(Action::Stop { pid, how: Stop::Graceful(fallback) });
    }

    /// The stop timeout passed: the whole tree is killed.
    pub(super) fn escalate(&mut self, out: &mut Vec<Action>) {
        if let Some(pid) = self.event_pid() {
            out.push(Action::Stop { pid, how: Stop::Force });
        }
        self.emit(
            EventKind::KillEscalated,
            format!(
                "did not stop within {} ms of {}; killed its whole process group",
                self.cfg.stop.timeout.as_millis(),
                self.cfg.stop.how.describe()
            ),
            self.event_pid(),
            out,
        );
    }
}
