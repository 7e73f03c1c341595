//! The stack's overall health in one word and one line, for the tray: its icon colour, its
//! tooltip and the status line and "Restart …" items of its menu. Pure (status rows in, a
//! [`Health`] out, no Tauri, no I/O) so that every rule is unit-tested below; `tray.rs` draws
//! it and `monitor.rs` recomputes it on each status change.
//!
//! The rules, worst first:
//! - **failed**: a sidecar is `failed` (its restart budget is spent, or it could not start, or
//!   it exited with auto-restart off): it stays down until someone restarts it. Also when the
//!   runtime itself did not start or its engine stopped with an error.
//! - **degraded**: nothing failed, but something that should run does not serve: `unhealthy`,
//!   `backoff` (a crash loop waiting for its next try), `stopped`, `stopping`, `paused`.
//! - **starting**: only sidecars on their way up (`pending`, `waiting_for_deps`, `starting`)
//!   besides ready ones.
//! - **ready**: every sidecar is `ready`.

use sidecar_supervisor_core::domain::State;
use sidecar_supervisor_core::runtime::{RuntimeStatus, SidecarStatus};

/// The tray's three colours: `Ready` green, `Starting` and `Degraded` amber, `Failed` red.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Ready,
    Starting,
    Degraded,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub level: Level,
    /// One line, e.g. `all 5 sidecars ready`, `degraded: backend unhealthy`, `failed: worker#1`.
    pub summary: String,
    /// The sidecars in `failed`, in status order: each gets a "Restart <name>" tray item. Empty
    /// when the engine is not running (nothing could restart them).
    pub failed: Vec<String>,
}

/// Names past this many are summed up as "and N more" (a Windows tray tooltip holds 127
/// characters).
const MAX_NAMED: usize = 3;

impl Health {
    /// From the whole status: an engine that stopped with an error is a failure of everything.
    pub fn of(status: &RuntimeStatus) -> Health {
        if status.error.is_some() {
            return Health::not_running("the runtime's engine stopped");
        }
        Health::from_rows(&status.sidecars)
    }

    /// The runtime is not running (it did not start, or its engine stopped): `why` in a few words.
    pub fn not_running(why: &str) -> Health {
        Health { level: Level::Failed, summary: format!("failed: {why}"), failed: Vec::new() }
    }

    /// From the sidecars' status rows (see the module doc for the rules).
    pub fn from_rows(rows: &[SidecarStatus]) -> Health {
        let failed: Vec<String> = rows.iter().filter(|r| r.state == State::Failed).map(|r| r.name.clone()).collect();
        if !failed.is_empty() {
            return Health { level: Level::Failed, summary: format!("failed: {}", names(&failed)), failed };
        }
        let degraded: Vec<String> =
            rows.iter().filter_map(|r| degraded_word(r.state).map(|w| format!("{} {w}", r.name))).collect();
        if !degraded.is_empty() {
            return Health { level: Level::Degraded, summary: format!("degraded: {}", names(&degraded)), failed };
        }
        let ready = rows.iter().filter(|r| r.state == State::Ready).count();
        if ready < rows.len() {
            return Health {
                level: Level::Starting,
                summary: format!("starting: {ready} of {} ready", rows.len()),
                failed,
            };
        }
        let summary = match rows.len() {
            0 => "no sidecars to run".to_string(),
            1 => "1 sidecar ready".to_string(),
            n => format!("all {n} sidecars ready"),
        };
        Health { level: Level::Ready, summary, failed }
    }

    /// The tray icon's tooltip.
    pub fn tooltip(&self) -> String {
        format!("Desktop Runtime — {}", self.summary)
    }
}

/// How a row that is up but not serving (or down on purpose) reads in the summary; `None` for
/// the states of another level.
fn degraded_word(state: State) -> Option<&'static str> {
    match state {
        State::Unhealthy => Some("unhealthy"),
        State::Backoff => Some("restarting"),
        State::Stopped => Some("stopped"),
        State::Stopping => Some("stopping"),
        State::Paused => Some("paused"),
        State::Pending | State::WaitingForDeps | State::Starting | State::Ready | State::Failed => None,
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

    use sidecar_supervisor_core::testing::status_row as row;

    fn rows(states: &[(&str, State)]) -> Vec<SidecarStatus> {
        states.iter().map(|(n, s)| row(n, *s)).collect()
    }

    const ALL: [State; 10] = [
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
    ];

    #[test]
    fn every_ready_is_ready_with_the_count() {
        let names = ["db", "backend", "worker#1", "worker#2", "executor"];
        let all: Vec<_> = names.iter().map(|n| row(n, State::Ready)).collect();
        let h = Health::from_rows(&all);
        assert_eq!(h, Health { level: Level::Ready, summary: "all 5 sidecars ready".into(), failed: vec![] });
        assert_eq!(h.tooltip(), "Desktop Runtime — all 5 sidecars ready");
        assert_eq!(Health::from_rows(&all[..1]).summary, "1 sidecar ready");
        assert_eq!(Health::from_rows(&[]).level, Level::Ready);
        assert_eq!(Health::from_rows(&[]).summary, "no sidecars to run");
    }

    /// One sidecar in each state among ready ones: the level that state alone gives.
    #[test]
    fn each_state_alone_gives_its_level_and_words() {
        for state in ALL {
            let h = Health::from_rows(&rows(&[("db", State::Ready), ("backend", state), ("worker", State::Ready)]));
            let (level, summary) = match state {
                State::Ready => (Level::Ready, "all 3 sidecars ready".to_string()),
                State::Pending | State::WaitingForDeps | State::Starting => {
                    (Level::Starting, "starting: 2 of 3 ready".to_string())
                }
                State::Failed => (Level::Failed, "failed: backend".to_string()),
                State::Unhealthy => (Level::Degraded, "degraded: backend unhealthy".to_string()),
                State::Backoff => (Level::Degraded, "degraded: backend restarting".to_string()),
                State::Stopping => (Level::Degraded, "degraded: backend stopping".to_string()),
                State::Stopped => (Level::Degraded, "degraded: backend stopped".to_string()),
                State::Paused => (Level::Degraded, "degraded: backend paused".to_string()),
            };
            assert_eq!((h.level, h.summary.as_str()), (level, summary.as_str()), "{state:?}");
            assert_eq!(h.failed.is_empty(), state != State::Failed, "{state:?}");
        }
    }

    /// With two sidecars in any two states, the worse level wins.
    #[test]
    fn the_worst_level_wins_for_every_pair_of_states() {
        let alone = |s: State| Health::from_rows(&[row("a", s)]).level;
        for a in ALL {
            for b in ALL {
                let h = Health::from_rows(&[row("a", a), row("b", b)]);
                assert_eq!(h.level, alone(a).max(alone(b)), "{a:?} + {b:?}");
            }
        }
    }

    #[test]
    fn failed_names_every_failed_sidecar_in_order_and_not_the_degraded_ones() {
        let h = Health::from_rows(&rows(&[
            ("db", State::Ready),
            ("backend", State::Unhealthy),
            ("worker#1", State::Failed),
            ("worker#2", State::Failed),
        ]));
        assert_eq!(h.level, Level::Failed);
        assert_eq!(h.summary, "failed: worker#1, worker#2");
        assert_eq!(h.failed, ["worker#1", "worker#2"]);
        assert_eq!(h.tooltip(), "Desktop Runtime — failed: worker#1, worker#2");
    }

    #[test]
    fn degraded_lists_each_with_its_state() {
        let h = Health::from_rows(&rows(&[
            ("db", State::Paused),
            ("backend", State::Unhealthy),
            ("worker", State::Starting),
        ]));
        assert_eq!(h.summary, "degraded: db paused, backend unhealthy");
        assert!(h.failed.is_empty());
    }

    #[test]
    fn long_lists_are_cut_after_three_names() {
        let many: Vec<_> = (1..=6).map(|i| row(&format!("worker#{i}"), State::Failed)).collect();
        let h = Health::from_rows(&many);
        assert_eq!(h.summary, "failed: worker#1, worker#2, worker#3 and 3 more");
        assert_eq!(h.failed.len(), 6, "every one still gets its restart item");
        assert!(h.tooltip().chars().count() < 128, "fits a Windows tooltip");
        let h = Health::from_rows(&many[..3]);
        assert_eq!(h.summary, "failed: worker#1, worker#2, worker#3");
    }

    #[test]
    fn a_runtime_that_is_not_running_is_failed_without_restart_items() {
        let h = Health::not_running("the runtime did not start");
        assert_eq!(h.level, Level::Failed);
        assert_eq!(h.summary, "failed: the runtime did not start");
        assert!(h.failed.is_empty());
    }

    #[test]
    fn an_engine_that_stopped_with_an_error_fails_everything() {
        let mut status = RuntimeStatus {
            mode: Default::default(),
            instance_id: "i".into(),
            profile_path: "p".into(),
            data_dir: "d".into(),
            feed_path: "f".into(),
            backend_url: None,
            auto_restart: true,
            pid: 1,
            started_at: "t".into(),
            stopped: false,
            error: None,
            warnings: Vec::new(),
            sidecars: rows(&[("db", State::Ready), ("backend", State::Ready)]),
        };
        assert_eq!(Health::of(&status).summary, "all 2 sidecars ready");
        status.error = Some("the engine crashed (boom); every sidecar was killed with it".into());
        status.sidecars[0].state = State::Failed;
        let h = Health::of(&status);
        assert_eq!(h.level, Level::Failed);
        assert_eq!(h.summary, "failed: the runtime's engine stopped");
        assert!(h.failed.is_empty(), "no restart item: nothing is left to restart them");
    }
}
