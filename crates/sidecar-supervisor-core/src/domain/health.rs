//! The stack's overall health in one level and one line: what the tray's icon, tooltip and
//! menu, the window's header and the dialog all show. One rule for all of them: each sidecar
//! weighs in by its state ([`State::health`]; a sidecar this mode does not run does not count),
//! and the worst level wins:
//! - **failed**: a sidecar is `failed` (its restart budget is spent, or it could not start, or
//!   it exited with auto-restart off): it stays down until someone restarts it. Also when the
//!   runtime itself did not start or its engine stopped with an error.
//! - **degraded**: nothing failed, but something that should run does not serve: `unhealthy`,
//!   `backoff` (a crash loop waiting for its next try), `stopped`, `stopping`, `paused`.
//! - **starting**: only sidecars on their way up (`pending`, `waiting_for_deps`, `starting`)
//!   besides ready ones.
//! - **ready**: every sidecar that runs is `ready`.

use serde::{Deserialize, Serialize};

use super::state::{HealthLevel, State};

/// The stack's health: its level, one line for people, and the sidecars that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StackHealth {
    pub level: HealthLevel,
    /// One line, e.g. `all 5 sidecars ready`, `degraded: backend unhealthy`, `failed: worker#1`.
    pub summary: String,
    /// The sidecars in `failed`, in status order (each gets a "Restart `name`" tray item).
    /// Empty when the engine is not running (nothing could restart them).
    pub failed: Vec<String>,
}

/// Names past this many are summed up as "and N more" (a Windows tray tooltip holds 127
/// characters).
const MAX_NAMED: usize = 3;

impl StackHealth {
    /// From each sidecar's name and state, in status order.
    pub fn of<'a>(rows: impl IntoIterator<Item = (&'a str, State)>) -> StackHealth {
        let rows: Vec<(&str, State)> = rows.into_iter().filter(|(_, s)| s.health().is_some()).collect();
        let failed: Vec<String> =
            rows.iter().filter(|(_, s)| *s == State::Failed).map(|(n, _)| n.to_string()).collect();
        if !failed.is_empty() {
            return StackHealth { level: HealthLevel::Failed, summary: format!("failed: {}", names(&failed)), failed };
        }
        let degraded: Vec<String> = (rows.iter())
            .filter(|(_, s)| s.health() == Some(HealthLevel::Degraded))
            .map(|(n, s)| format!("{n} {}", word(*s)))
            .collect();
        if !degraded.is_empty() {
            let summary = format!("degraded: {}", names(&degraded));
            return StackHealth { level: HealthLevel::Degraded, summary, failed };
        }
        let ready = rows.iter().filter(|(_, s)| *s == State::Ready).count();
        if ready < rows.len() {
            let summary = format!("starting: {ready} of {} ready", rows.len());
            return StackHealth { level: HealthLevel::Starting, summary, failed };
        }
        let summary = match rows.len() {
            0 => "no sidecars to run".to_string(),
            1 => "1 sidecar ready".to_string(),
            n => format!("all {n} sidecars ready"),
        };
        StackHealth { level: HealthLevel::Ready, summary, failed }
    }

    /// Before anything is known (an old status file without a health).
    pub fn unknown() -> StackHealth {
        StackHealth { level: HealthLevel::Starting, summary: "starting".into(), failed: Vec::new() }
    }

    /// The runtime is not running (it did not start, or its engine stopped): `why` in a few words.
    pub fn not_running(why: &str) -> StackHealth {
        StackHealth { level: HealthLevel::Failed, summary: format!("failed: {why}"), failed: Vec::new() }
    }
}

/// How a state reads in the summary: its name, but a backoff is "restarting".
fn word(state: State) -> &'static str {
    match state {
        State::Backoff => "restarting",
        s => s.as_str(),
    }
}

/// `a, b, c` or `a, b, c and 2 more`.
fn names(items: &[String]) -> String {
    let shown = items[..items.len().min(MAX_NAMED)].join(", ");
    match items.len().saturating_sub(MAX_NAMED) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(rows: &[(&str, State)]) -> StackHealth {
        StackHealth::of(rows.iter().copied())
    }

    #[test]
    fn every_ready_is_ready_with_the_count() {
        let names = ["db", "backend", "worker#1", "worker#2", "executor"];
        let all: Vec<_> = names.iter().map(|n| (*n, State::Ready)).collect();
        let h = of(&all);
        assert_eq!(
            h,
            StackHealth { level: HealthLevel::Ready, summary: "all 5 sidecars ready".into(), failed: vec![] }
        );
        assert_eq!(of(&all[..1]).summary, "1 sidecar ready");
        assert_eq!(of(&[]).level, HealthLevel::Ready);
        assert_eq!(of(&[]).summary, "no sidecars to run");
    }

    /// One sidecar in each state among ready ones: the level that state alone gives.
    #[test]
    fn each_state_alone_gives_its_level_and_words() {
        for state in State::ALL {
            let h = of(&[("db", State::Ready), ("backend", state), ("worker", State::Ready)]);
            let (level, summary) = match state {
                State::Ready => (HealthLevel::Ready, "all 3 sidecars ready".to_string()),
                State::Skipped => (HealthLevel::Ready, "all 2 sidecars ready".to_string()),
                State::Pending | State::WaitingForDeps | State::Starting => {
                    (HealthLevel::Starting, "starting: 2 of 3 ready".to_string())
                }
                State::Failed => (HealthLevel::Failed, "failed: backend".to_string()),
                State::Unhealthy => (HealthLevel::Degraded, "degraded: backend unhealthy".to_string()),
                State::Backoff => (HealthLevel::Degraded, "degraded: backend restarting".to_string()),
                State::Stopping => (HealthLevel::Degraded, "degraded: backend stopping".to_string()),
                State::Stopped => (HealthLevel::Degraded, "degraded: backend stopped".to_string()),
                State::Paused => (HealthLevel::Degraded, "degraded: backend paused".to_string()),
            };
            assert_eq!((h.level, h.summary.as_str()), (level, summary.as_str()), "{state:?}");
            assert_eq!(h.failed.is_empty(), state != State::Failed, "{state:?}");
            assert!(state.health().is_none_or(|l| l == level), "{state:?}: the state's own level");
        }
    }

    /// With two sidecars in any two states, the worse level wins.
    #[test]
    fn the_worst_level_wins_for_every_pair_of_states() {
        let alone = |s: State| of(&[("a", s)]).level;
        for a in State::ALL {
            for b in State::ALL {
                assert_eq!(of(&[("a", a), ("b", b)]).level, alone(a).max(alone(b)), "{a:?} + {b:?}");
            }
        }
    }

    #[test]
    fn failed_names_every_failed_sidecar_in_order_and_not_the_degraded_ones() {
        let h = of(&[
            ("db", State::Ready),
            ("backend", State::Unhealthy),
            ("worker#1", State::Failed),
            ("worker#2", State::Failed),
        ]);
        assert_eq!(h.level, HealthLevel::Failed);
        assert_eq!(h.summary, "failed: worker#1, worker#2");
        assert_eq!(h.failed, ["worker#1", "worker#2"]);
    }

    #[test]
    fn degraded_lists_each_with_its_state() {
        let h = of(&[("db", State::Paused), ("backend", State::Unhealthy), ("worker", State::Starting)]);
        assert_eq!(h.summary, "degraded: db paused, backend unhealthy");
        assert!(h.failed.is_empty());
    }

    #[test]
    fn long_lists_are_cut_after_three_names() {
        let names: Vec<String> = (1..=6).map(|i| format!("worker#{i}")).collect();
        let many: Vec<(&str, State)> = names.iter().map(|n| (n.as_str(), State::Failed)).collect();
        let h = of(&many);
        assert_eq!(h.summary, "failed: worker#1, worker#2, worker#3 and 3 more");
        assert_eq!(h.failed.len(), 6, "every one still gets its restart item");
        assert_eq!(of(&many[..3]).summary, "failed: worker#1, worker#2, worker#3");
    }

    /// remote_slim: the database is not run here and the backend is the remote one; a stack
    /// whose running parts are ready is ready.
    #[test]
    fn a_sidecar_this_mode_does_not_run_does_not_count() {
        let h = of(&[("database", State::Skipped), ("backend", State::Ready), ("worker", State::Ready)]);
        assert_eq!((h.level, h.summary.as_str()), (HealthLevel::Ready, "all 2 sidecars ready"));
    }

    #[test]
    fn a_runtime_that_is_not_running_is_failed_without_restart_items() {
        let h = StackHealth::not_running("the runtime did not start");
        assert_eq!(h.level, HealthLevel::Failed);
        assert_eq!(h.summary, "failed: the runtime did not start");
        assert!(h.failed.is_empty());
    }
}
