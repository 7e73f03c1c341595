//! A sidecar's state, and what each state means to every reader: whether it is up for its
//! dependents, whether a process may be alive. One owner of these rules, so the engine, the
//! status, the tray and the UI classify alike.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "SidecarState"))]
#[serde(rename_all = "snake_case")]
pub enum State {
    Pending,
    WaitingForDeps,
    Starting,
    Ready,
    Unhealthy,
    Backoff,
    Stopping,
    Stopped,
    Failed,
    /// Suspended by the user (SIGSTOP to its group; Windows: its job's threads suspended):
    /// probes do not run, liveness never kills it; resume, stop and restart work.
    Paused,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::WaitingForDeps => "waiting_for_deps",
            State::Starting => "starting",
            State::Ready => "ready",
            State::Unhealthy => "unhealthy",
            State::Backoff => "backoff",
            State::Stopping => "stopping",
            State::Stopped => "stopped",
            State::Failed => "failed",
            State::Paused => "paused",
        }
    }
    /// A process may be alive in this state.
    pub fn has_process(self) -> bool {
        matches!(self, State::Starting | State::Ready | State::Unhealthy | State::Stopping | State::Paused)
    }
    /// Counts as "up" for dependents: they may start (a paused one was up and will be again:
    /// pausing it does not stop its dependents).
    pub fn is_up(self) -> bool {
        matches!(self, State::Ready | State::Unhealthy | State::Paused)
    }
}
