//! What an exit means: a stop completed, a lost port race, or a crash that the restart budget
//! and the backoff decide about.
//!
//! A sidecar that had been ready for at least `min_uptime` is restarted at once (a sporadic
//! crash costs no delay); one that dies sooner is crash-looping and waits a growing backoff.
//! Every automatic restart takes one from the sliding-window budget; when none is left the
//! sidecar is `failed` and auto-restart stays off until the user restarts or starts it.

use std::time::Duration;

use super::super::event::EventKind;
use super::{Action, Cause, Exit, KillReason, Machine, State};

impl Machine {
    pub(super) fn on_exited(
        &mut self,
        now: Duration,
        exit: Exit,
        port_in_use: bool,
        stderr_tail: String,
        out: &mut Vec<Action>,
    ) {
        if !self.state.has_process() {
            return;
        }
        let Some(pid) = self.pid.take() else { return };
        self.paused_from = None;
        let was_ready_for = self.ready_since.map(|t| now.saturating_sub(t));
        let status = exit.describe();
        self.last_exit = Some(status.clone());
        self.startup_deadline = None;
        self.stop_deadline = None;
        self.clear_probes();
        let tail = if stderr_tail.trim().is_empty() { String::new() } else { format!(": {}", stderr_tail.trim()) };

        if self.state == State::Stopping {
            if let Some(note) = self.pending_restart.take() {
                self.emit_exit(EventKind::Exited, format!("{status}{note}"), &exit, pid, out);
                self.emit(EventKind::Restarting, format!("restarting at once{note}"), Some(pid), out);
                self.launch(false, out);
            } else {
                self.set_state(State::Stopped, out);
                self.emit_exit(EventKind::Stopped, format!("stopped ({status})"), &exit, pid, out);
            }
            return;
        }

        let why = match self.kill_reason {
            KillReason::StartupTimeout => match self.startup_failure.take() {
                Some(d) => format!(" after the startup timeout (last probe: {d})"),
                None => " after the startup timeout".to_string(),
            },
            KillReason::Liveness => " after failed liveness probes".to_string(),
            KillReason::NotResumed => " after it could not be resumed".to_string(),
            KillReason::None => String::new(),
        };
        // A kill the machine decided for a probe keeps that cause; anything else ended by itself.
        let cause = match self.kill_reason {
            KillReason::StartupTimeout => self.last_cause.unwrap_or(Cause::StartupTimeout),
            KillReason::Liveness => Cause::LivenessFailed,
            KillReason::NotResumed | KillReason::None => Cause::Exited,
        };
        let message = format!("{status}{why}{tail}");
        self.emit_exit(EventKind::Exited, message.clone(), &exit, pid, out);
        self.last_error = Some(message.clone());
        self.last_cause = Some(cause);

        if port_in_use && was_ready_for.is_none() && self.port_retries < self.cfg.max_port_retries {
            self.port_retries += 1;
            self.emit(
                EventKind::PortConflict,
                format!("lost the race for its port (address in use); re-spawning on a new port (not charged to the budget, try {})", self.port_retries),
                Some(pid),
                out,
            );
            self.launch(true, out);
            return;
        }
        if !self.auto_restart {
            self.fail(EventKind::Failed, format!("{message} (auto-restart is off)"), cause, &exit, Some(pid), out);
            return;
        }
        if !self.budget.try_consume(now) {
            self.auto_restart = false;
            let msg = format!(
                "restart budget spent ({} restarts in {} s); auto-restart is off until a manual restart. Last error: {message}",
                self.budget.max(),
                self.budget.window().as_secs()
            );
            self.fail(EventKind::BudgetExhausted, msg, cause, &exit, Some(pid), out);
            return;
        }
        if was_ready_for.is_some_and(|d| d >= self.cfg.backoff_reset) {
            self.backoff.reset();
        }
        let used = self.budget.used(now);
        let max = self.budget.max();
        if was_ready_for.is_some_and(|d| d >= self.cfg.min_uptime) {
            self.emit(
                EventKind::Restarting,
                format!("restarting at once (restart {used} of {max} in the window)"),
                Some(pid),
                out,
            );
            self.launch(false, out);
        } else {
            let delay = self.backoff.next_delay();
            self.backoff_until = Some(now + delay);
            self.set_state(State::Backoff, out);
            self.emit(
                EventKind::Restarting,
                format!("crash loop: restarting in {} ms (restart {used} of {max} in the window)", delay.as_millis()),
                Some(pid),
                out,
            );
        }
    }

    /// `failed`, for `cause`: auto-restart is off until a manual restart or start.
    pub(super) fn fail(
        &mut self,
        kind: EventKind,
        message: String,
        cause: Cause,
        exit: &Exit,
        pid: Option<u32>,
        out: &mut Vec<Action>,
    ) {
        self.auto_restart = false;
        self.last_error = Some(message.clone());
        self.last_cause = Some(cause);
        self.startup_deadline = None;
        self.prepare_deadline = None;
        self.backoff_until = None;
        self.clear_probes();
        self.set_state(State::Failed, out);
        out.push(Action::Emit { kind, message, pid, code: exit.code, signal: exit.signal.clone(), state: None });
    }

    fn emit_exit(&self, kind: EventKind, message: String, exit: &Exit, pid: u32, out: &mut Vec<Action>) {
        let (code, signal) = (exit.code, exit.signal.clone());
        out.push(Action::Emit { kind, message, pid: Some(pid), code, signal, state: None });
    }
}
