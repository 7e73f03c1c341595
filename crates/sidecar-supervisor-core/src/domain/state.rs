//! A sidecar's state, and what each state means to every reader: whether it is up for its
//! dependents, whether a process may be alive, which commands fit it, how it weighs in the
//! stack's health. One owner of these rules — the engine, the status, the tray and the UI (which
//! gets them as a generated table, `STATE_FACTS`) classify alike.

use serde::{Deserialize, Serialize};

use super::command::Verb;

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
    /// Not run in this mode (`remote_slim` runs no database): nobody stopped it, and nothing
    /// waits for it.
    Skipped,
}

impl State {
    pub const ALL: [State; 11] = [
        State::Pending,
        State::WaitingForDeps,
        State::Starting,
        State::Ready,
        State::Unhealthy,
        State::Backoff,
        State::Stopping,
        State::Stopped,
        State::Failed,
        State::Paused,
        State::Skipped,
    ];

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
            State::Skipped => "skipped",
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

    /// Whether `verb` fits this state: the engine refuses a pause or a resume that does not
    /// (the others are harmless anywhere), and the dialog offers the verbs that fit. A pause
    /// also needs a process (not a launch still preparing).
    pub fn allows(self, verb: Verb) -> bool {
        match verb {
            Verb::Pause => matches!(self, State::Starting | State::Ready | State::Unhealthy),
            Verb::Resume => self == State::Paused,
            Verb::Stop => self.has_process() && self != State::Stopping,
            Verb::Start => !self.has_process() && self != State::Skipped,
            Verb::Restart => self != State::Skipped,
        }
    }
    /// How this state weighs in the stack's health ([`HealthLevel`]); `None`: it does not count
    /// (a sidecar this mode does not run).
    pub fn health(self) -> Option<HealthLevel> {
        Some(match self {
            State::Ready => HealthLevel::Ready,
            State::Pending | State::WaitingForDeps | State::Starting => HealthLevel::Starting,
            State::Unhealthy | State::Backoff | State::Stopping | State::Stopped | State::Paused => {
                HealthLevel::Degraded
            }
            State::Failed => HealthLevel::Failed,
            State::Skipped => return None,
        })
    }
    /// Every rule above, as data (the UI's generated `STATE_FACTS`).
    pub fn facts(self) -> StateFacts {
        StateFacts {
            up: self.is_up(),
            has_process: self.has_process(),
            level: self.health(),
            verbs: Verb::ALL.into_iter().filter(|v| self.allows(*v)).collect(),
        }
    }
}

/// How healthy a sidecar (or the whole stack: its worst sidecar) is, best first: the tray's
/// green (`ready`), amber (`starting`, `degraded`) and red (`failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum HealthLevel {
    /// Serving.
    Ready,
    /// On its way up (`pending`, `waiting_for_deps`, `starting`).
    Starting,
    /// Should run but does not serve, or is down on purpose: `unhealthy`, `backoff`,
    /// `stopping`, `stopped`, `paused`.
    Degraded,
    /// Down until someone restarts it: `failed`.
    Failed,
}

/// What a state means, as data: the rules of [`State`] for readers in other languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StateFacts {
    /// Up for its dependents.
    pub up: bool,
    /// A process may be alive.
    pub has_process: bool,
    /// Its weight in the stack's health; `null`: it does not count.
    pub level: Option<HealthLevel>,
    /// The commands that fit it.
    pub verbs: Vec<Verb>,
}
