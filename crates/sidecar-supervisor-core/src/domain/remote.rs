//! A machine without a process: the row of a sidecar that runs elsewhere (`remote_slim`'s
//! backend, reached at `backend_url`). It is probed on its interval — never restarted, since
//! there is nothing here to restart — and it is `starting` until it first answers, `ready`
//! while it answers, `unhealthy` after its failure threshold of failed probes in a row, with
//! the last failure as its error while it is not ready.
//!
//! Like [`super::Machine`] it does no I/O and reads no clock: its owner asks it to probe when
//! [`RemoteMachine::poll_timeout`] comes due and hands back each result with `now`.

use std::time::Duration;

use super::event::EventKind;
use super::plan::RemoteTarget;
use super::state::State;
use super::types::steady_next;

#[derive(Debug, Clone)]
pub struct RemoteMachine {
    target: RemoteTarget,
    state: State,
    failures: u32,
    /// The last failure, while not ready.
    error: Option<String>,
    next_at: Option<Duration>,
    in_flight: bool,
}

/// What a remote row wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteAction {
    /// Probe the remote now; the result comes back to [`RemoteMachine::probed`].
    Probe,
    /// A feed event, with the state it led to when it changed one.
    Emit { kind: EventKind, message: String, state: Option<State> },
}

impl RemoteMachine {
    pub fn new(target: RemoteTarget) -> RemoteMachine {
        RemoteMachine { target, state: State::Pending, failures: 0, error: None, next_at: None, in_flight: false }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// The last failure, while it is not ready.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub fn target(&self) -> &RemoteTarget {
        &self.target
    }

    /// Starts probing it: the first probe at once.
    pub fn start(&mut self) -> Vec<RemoteAction> {
        self.state = State::Starting;
        self.in_flight = true;
        let message = format!("probing the remote backend {}", self.target.base_url);
        vec![
            RemoteAction::Emit { kind: EventKind::Starting, message, state: Some(State::Starting) },
            RemoteAction::Probe,
        ]
    }

    /// When the next probe is due (none while one is out).
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.in_flight {
            None
        } else {
            self.next_at
        }
    }

    pub fn handle_timeout(&mut self, now: Duration) -> Vec<RemoteAction> {
        if self.in_flight || self.next_at.is_none_or(|t| now < t) {
            return Vec::new();
        }
        self.in_flight = true;
        self.next_at = None;
        vec![RemoteAction::Probe]
    }

    /// A probe's result: `ok` (a 2xx) and what it said. The next probe is on the steady grid.
    pub fn probed(&mut self, now: Duration, ok: bool, detail: &str) -> Vec<RemoteAction> {
        if !self.in_flight {
            return Vec::new();
        }
        self.in_flight = false;
        self.next_at = Some(steady_next(now, self.target.interval));
        let url = &self.target.base_url;
        let emit = |kind, message, state| vec![RemoteAction::Emit { kind, message, state: Some(state) }];
        if ok {
            self.failures = 0;
            self.error = None;
            return match std::mem::replace(&mut self.state, State::Ready) {
                State::Ready => Vec::new(),
                State::Unhealthy => emit(
                    EventKind::Recovered,
                    format!("the remote backend {url} answers again ({detail})"),
                    State::Ready,
                ),
                _ => emit(EventKind::Ready, format!("the remote backend {url} is ready ({detail})"), State::Ready),
            };
        }
        self.failures += 1;
        self.error = Some(format!("the remote backend {url}: {detail}"));
        if self.state == State::Ready && self.failures >= self.target.failure_threshold {
            self.state = State::Unhealthy;
            let n = self.failures;
            let message = format!("the remote backend {url} failed {n} probes in a row: {detail}");
            return emit(EventKind::Unhealthy, message, State::Unhealthy);
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn remote() -> RemoteMachine {
        RemoteMachine::new(RemoteTarget {
            base_url: "https://api.example".into(),
            path: "/health/ready".into(),
            interval: MS(1000),
            timeout: MS(500),
            failure_threshold: 2,
        })
    }

    fn kinds(actions: &[RemoteAction]) -> Vec<(EventKind, Option<State>)> {
        actions
            .iter()
            .filter_map(|a| match a {
                RemoteAction::Emit { kind, state, .. } => Some((*kind, *state)),
                RemoteAction::Probe => None,
            })
            .collect()
    }

    #[test]
    fn starting_until_the_first_answer_then_ready_on_the_grid() {
        let mut r = remote();
        let a = r.start();
        assert_eq!(kinds(&a), [(EventKind::Starting, Some(State::Starting))]);
        assert_eq!(a.last(), Some(&RemoteAction::Probe), "probed at once");
        assert_eq!(r.poll_timeout(), None, "one probe out at a time");
        assert!(r.probed(MS(40), false, "connection refused").is_empty(), "still starting");
        assert_eq!(r.state(), State::Starting);
        assert_eq!(r.error(), Some("the remote backend https://api.example: connection refused"));
        assert_eq!(r.poll_timeout(), Some(MS(1000)), "the next slot of its interval");
        assert!(r.handle_timeout(MS(999)).is_empty(), "not before it is due");
        assert_eq!(r.handle_timeout(MS(1000)), [RemoteAction::Probe]);
        let a = r.probed(MS(1010), true, "GET /health/ready answered 200");
        assert_eq!(kinds(&a), [(EventKind::Ready, Some(State::Ready))]);
        assert!(
            matches!(&a[0], RemoteAction::Emit { message, .. } if message.contains("https://api.example is ready"))
        );
        assert_eq!((r.state(), r.error()), (State::Ready, None));
        assert_eq!(r.poll_timeout(), Some(MS(2000)));
    }

    #[test]
    fn unhealthy_after_the_threshold_and_ready_again_on_the_next_answer() {
        let mut r = remote();
        r.start();
        r.probed(MS(10), true, "200");
        let mut t = 1000;
        let mut fail = |r: &mut RemoteMachine| {
            r.handle_timeout(MS(t));
            let a = r.probed(MS(t + 10), false, "timed out");
            t += 1000;
            a
        };
        assert!(fail(&mut r).is_empty(), "one failure is below the threshold of 2");
        assert_eq!(r.state(), State::Ready);
        assert_eq!(kinds(&fail(&mut r)), [(EventKind::Unhealthy, Some(State::Unhealthy))]);
        assert!(fail(&mut r).is_empty(), "said once");
        r.handle_timeout(MS(t));
        assert_eq!(kinds(&r.probed(MS(t + 5), true, "200")), [(EventKind::Recovered, Some(State::Ready))]);
        r.handle_timeout(MS(t + 1000));
        assert!(r.probed(MS(t + 1005), true, "200").is_empty(), "ready stays ready without news");
    }

    #[test]
    fn a_result_nobody_asked_for_is_ignored() {
        let mut r = remote();
        assert!(r.probed(MS(5), true, "200").is_empty(), "not started");
        assert_eq!(r.state(), State::Pending);
        r.start();
        r.probed(MS(5), true, "200");
        assert!(r.probed(MS(6), true, "200").is_empty(), "answered already");
    }
}
