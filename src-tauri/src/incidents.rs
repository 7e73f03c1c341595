//! When a failure is worth a native notification: once per incident, never per restart.
//!
//! An incident of a sidecar opens the first time it is seen in trouble that needs a person: its
//! status row in `failed`, or a `budget_exhausted` / `failed` feed event about it (the engine
//! sends both, the event first; whichever arrives first opens it). It is over once the
//! sidecar has been `ready` again for [`SETTLE`] without leaving that state: a sidecar without a
//! readiness probe is `ready` the moment it is spawned, so "ready again" alone would make each
//! manual restart of a sidecar that crashes at once a new incident. Everything in between — the
//! other half of the pair, more exits, a manual restart that fails again, a stop — is the same
//! incident and alerts nobody; a failure after a recovery is a new one. A crash that the engine
//! restarts within its budget is no incident at all: the sidecar never reaches `failed` (the
//! tray shows it as degraded meanwhile). The engine itself stopping with an error is one
//! incident of its own.
//!
//! Pure, sans-IO: rows and events in, each with the time it was seen (`now`, any monotonic
//! origin), an [`Alert`] out when one is due. `monitor.rs` feeds it from the supervisor's
//! notifications and `notify.rs` shows the alerts.

use std::collections::BTreeMap;
use std::time::Duration;

use sidecar_supervisor_core::SidecarStatus;
use sidecar_supervisor_core::State;
use sidecar_supervisor_core::{EventKind, RuntimeEvent};

/// How long a sidecar stays `ready` after an incident for the incident to be over.
pub const SETTLE: Duration = Duration::from_secs(10);

/// What one notification says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The incidents of this launch counted from 1 (the notification's id).
    pub id: i32,
    /// The row the dialog opens on when the notification is clicked; `None` for the engine.
    pub sidecar: Option<String>,
    pub title: String,
    pub body: String,
}

/// Longest body, in characters (notification servers cut or hide longer ones anyway).
const MAX_BODY: usize = 240;

/// The incidents of this launch that are not over.
#[derive(Debug, Default)]
pub struct Incidents {
    /// By sidecar: since when it has been `ready` without a break, if it is.
    open: BTreeMap<String, Option<Duration>>,
    engine_alerted: bool,
    count: i32,
}

impl Incidents {
    /// A sidecar's status row changed (or is seen again after a resync), at `now`.
    pub fn on_row(&mut self, row: &SidecarStatus, now: Duration) -> Option<Alert> {
        match row.state {
            State::Failed => {
                let why = row.last_error.as_deref().or(row.last_exit.as_deref());
                let why = why.unwrap_or("It stopped and is not restarted automatically.");
                self.trouble(&row.name, now, format!("{} failed", row.name), why)
            }
            State::Ready => {
                self.ready(&row.name, now);
                None
            }
            _ => {
                if let Some(since) = self.open.get_mut(&row.name) {
                    *since = None;
                }
                None
            }
        }
    }

    /// A new feed event, at `now`.
    pub fn on_event(&mut self, event: &RuntimeEvent, now: Duration) -> Option<Alert> {
        let name = event.sidecar.as_deref()?;
        match event.kind {
            EventKind::BudgetExhausted => {
                self.trouble(name, now, format!("{name} spent its restart budget"), &event.message)
            }
            EventKind::Failed => self.trouble(name, now, format!("{name} failed"), &event.message),
            EventKind::Ready => {
                self.ready(name, now);
                None
            }
            _ => None,
        }
    }

    /// The engine stopped with an error (every sidecar went down with it): alerts once.
    pub fn on_engine_error(&mut self, error: &str) -> Option<Alert> {
        if std::mem::replace(&mut self.engine_alerted, true) {
            return None;
        }
        Some(self.alert(None, "The runtime stopped".into(), error))
    }

    /// Whether `name` has an incident that is not over at `now`.
    pub fn is_open(&self, name: &str, now: Duration) -> bool {
        self.open.get(name).is_some_and(|since| !settled(*since, now))
    }

    fn trouble(&mut self, name: &str, now: Duration, title: String, why: &str) -> Option<Alert> {
        let known = self.is_open(name, now);
        self.open.insert(name.to_string(), None);
        if known {
            return None;
        }
        Some(self.alert(Some(name.to_string()), title, why))
    }

    fn ready(&mut self, name: &str, now: Duration) {
        let Some(since) = self.open.get_mut(name) else { return };
        let since = *since.get_or_insert(now);
        if settled(Some(since), now) {
            self.open.remove(name);
        }
    }

    fn alert(&mut self, sidecar: Option<String>, title: String, why: &str) -> Alert {
        self.count += 1;
        Alert { id: self.count, sidecar, title, body: shorten(why) }
    }
}

fn settled(ready_since: Option<Duration>, now: Duration) -> bool {
    ready_since.is_some_and(|t| now.saturating_sub(t) >= SETTLE)
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_BODY {
        return text.to_string();
    }
    let cut: String = text.chars().take(MAX_BODY - 1).collect();
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    use sidecar_supervisor_core::testing::status_row as row;

    fn failed(name: &str, why: &str) -> SidecarStatus {
        SidecarStatus { last_error: Some(why.into()), ..row(name, State::Failed) }
    }

    fn event(name: &str, kind: EventKind, message: &str) -> RuntimeEvent {
        RuntimeEvent {
            seq: 1,
            at: "2026-01-01T00:00:00.000Z".into(),
            sidecar: Some(name.into()),
            kind,
            message: message.into(),
            pid: None,
            port: None,
            code: None,
            signal: None,
            state: None,
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    const WHY: &str = "restart budget spent (6 restarts in 90 s); auto-restart is off until a manual restart";

    /// A crash loop that spends its budget, in the engine's order, from `t` on (100 ms a step).
    /// Without a readiness probe a sidecar is `ready` as soon as it is spawned, so it is here.
    fn crash_loop(inc: &mut Incidents, name: &str, t: Duration) -> Vec<Alert> {
        let mut alerts = Vec::new();
        let mut now = t;
        let mut step = || {
            now += Duration::from_millis(100);
            now
        };
        for _ in 0..3 {
            alerts.extend(inc.on_row(&row(name, State::Starting), step()));
            alerts.extend(inc.on_row(&row(name, State::Ready), step()));
            alerts.extend(inc.on_event(&event(name, EventKind::Exited, "exited with code 1"), step()));
            alerts.extend(inc.on_row(&row(name, State::Backoff), step()));
            alerts.extend(inc.on_event(&event(name, EventKind::Restarting, "crash loop"), step()));
        }
        alerts.extend(inc.on_event(&event(name, EventKind::BudgetExhausted, WHY), step()));
        alerts.extend(inc.on_row(&failed(name, WHY), step()));
        alerts
    }

    #[test]
    fn a_crash_loop_that_spends_its_budget_alerts_once() {
        let mut inc = Incidents::default();
        let alerts = crash_loop(&mut inc, "worker#1", secs(0));
        assert_eq!(
            alerts,
            [Alert {
                id: 1,
                sidecar: Some("worker#1".into()),
                title: "worker#1 spent its restart budget".into(),
                body: WHY.into(),
            }]
        );
        assert!(inc.is_open("worker#1", secs(2)));
    }

    #[test]
    fn restarts_within_the_budget_are_no_incident() {
        let mut inc = Incidents::default();
        let states = [State::Starting, State::Ready, State::Unhealthy, State::Backoff, State::Starting, State::Ready];
        for (i, state) in states.into_iter().enumerate() {
            assert_eq!(inc.on_row(&row("backend", state), secs(i as u64)), None, "{state:?}");
        }
        for kind in [EventKind::Exited, EventKind::Restarting, EventKind::LivenessFailed, EventKind::StartupTimeout] {
            assert_eq!(inc.on_event(&event("backend", kind, "x"), secs(9)), None, "{kind:?}");
        }
        assert!(!inc.is_open("backend", secs(9)));
    }

    #[test]
    fn the_row_may_come_first_and_then_says_failed() {
        let mut inc = Incidents::default();
        let a = inc.on_row(&failed("db", "restart budget spent"), secs(0)).unwrap();
        assert_eq!((a.title.as_str(), a.body.as_str()), ("db failed", "restart budget spent"));
        assert_eq!(inc.on_event(&event("db", EventKind::BudgetExhausted, "x"), secs(0)), None, "the same incident");
        let mut inc = Incidents::default();
        let a = inc.on_event(&event("db", EventKind::Failed, "cannot find `postgres`"), secs(0)).unwrap();
        assert_eq!(a.title, "db failed");
        assert_eq!(a.sidecar.as_deref(), Some("db"));
    }

    #[test]
    fn a_manual_restart_that_fails_again_is_the_same_incident() {
        let mut inc = Incidents::default();
        assert_eq!(crash_loop(&mut inc, "worker#1", secs(0)).len(), 1);
        // The user restarts it from the tray or the dialog: `ready` for a moment each time
        // (no probe), never for long.
        assert!(crash_loop(&mut inc, "worker#1", secs(5)).is_empty());
        assert_eq!(inc.on_row(&row("worker#1", State::Stopped), secs(20)), None);
        assert_eq!(inc.on_row(&failed("worker#1", "again"), secs(40)), None);
        // Ready for a while, but with a break: not settled yet.
        assert_eq!(inc.on_row(&row("worker#1", State::Ready), secs(50)), None);
        assert_eq!(inc.on_row(&row("worker#1", State::Unhealthy), secs(55)), None);
        assert_eq!(inc.on_row(&row("worker#1", State::Ready), secs(56)), None);
        assert_eq!(inc.on_row(&failed("worker#1", "again"), secs(62)), None);
    }

    #[test]
    fn a_failure_after_a_recovery_is_a_new_incident() {
        let mut inc = Incidents::default();
        assert_eq!(crash_loop(&mut inc, "backend", secs(0))[0].id, 1);
        assert_eq!(inc.on_row(&row("backend", State::Ready), secs(10)), None);
        assert!(inc.is_open("backend", secs(19)));
        // A probe's update later: settled, the incident is over.
        assert_eq!(inc.on_row(&row("backend", State::Ready), secs(20)), None);
        assert!(!inc.is_open("backend", secs(20)));
        let second = crash_loop(&mut inc, "backend", secs(30));
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].id, 2);
        // Settled without a row in between: ready since 40, failed at 50.
        assert_eq!(inc.on_event(&event("backend", EventKind::Ready, "ready"), secs(40)), None);
        assert_eq!(inc.on_event(&event("backend", EventKind::Failed, "x"), secs(50)).map(|a| a.id), Some(3));
    }

    #[test]
    fn each_sidecar_has_its_own_incident() {
        let mut inc = Incidents::default();
        let a = inc.on_row(&failed("worker#1", "x"), secs(0)).unwrap();
        let b = inc.on_row(&failed("worker#2", "y"), secs(0)).unwrap();
        assert_eq!((a.id, b.id), (1, 2));
        assert_eq!(b.sidecar.as_deref(), Some("worker#2"));
        inc.on_row(&row("worker#1", State::Ready), secs(1));
        inc.on_row(&row("worker#1", State::Ready), secs(11));
        assert!(inc.is_open("worker#2", secs(11)) && !inc.is_open("worker#1", secs(11)));
    }

    #[test]
    fn seeing_the_same_rows_again_after_a_resync_alerts_nobody() {
        let mut inc = Incidents::default();
        let rows = [row("db", State::Ready), failed("backend", "x")];
        let first: Vec<_> = rows.iter().filter_map(|r| inc.on_row(r, secs(0))).collect();
        assert_eq!(first.len(), 1);
        let again: Vec<_> = rows.iter().filter_map(|r| inc.on_row(r, secs(30))).collect();
        assert!(again.is_empty());
    }

    #[test]
    fn a_failed_row_without_a_reason_still_says_something() {
        let mut inc = Incidents::default();
        let a = inc.on_row(&row("db", State::Failed), secs(0)).unwrap();
        assert_eq!(a.body, "It stopped and is not restarted automatically.");
        let mut inc = Incidents::default();
        let r = SidecarStatus { last_exit: Some("exited with code 3".into()), ..row("db", State::Failed) };
        assert_eq!(inc.on_row(&r, secs(0)).unwrap().body, "exited with code 3");
    }

    #[test]
    fn events_without_a_sidecar_or_of_other_kinds_are_ignored() {
        let mut inc = Incidents::default();
        let mut ev = event("x", EventKind::Failed, "m");
        ev.sidecar = None;
        assert_eq!(inc.on_event(&ev, secs(0)), None);
        for kind in [EventKind::Stopped, EventKind::KillEscalated, EventKind::Command, EventKind::Paused] {
            assert_eq!(inc.on_event(&event("db", kind, "m"), secs(0)), None);
        }
    }

    #[test]
    fn the_engine_stopping_with_an_error_alerts_once() {
        let mut inc = Incidents::default();
        let a = inc.on_engine_error("the engine crashed (boom); every sidecar was killed with it").unwrap();
        assert_eq!((a.sidecar, a.title.as_str()), (None, "The runtime stopped"));
        assert_eq!(inc.on_engine_error("again"), None);
    }

    #[test]
    fn long_reasons_are_shortened_on_a_character_boundary() {
        let mut inc = Incidents::default();
        let long = "é".repeat(500);
        let a = inc.on_row(&failed("db", &long), secs(0)).unwrap();
        assert_eq!(a.body.chars().count(), MAX_BODY);
        assert!(a.body.ends_with('…'));
        assert_eq!(shorten("short"), "short");
    }
}
