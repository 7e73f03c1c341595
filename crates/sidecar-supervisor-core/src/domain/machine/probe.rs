//! The machine's probes: when each one is due, and what a result means.
//!
//! While starting, the readiness probe runs fast (2 ms doubling to the probe's `fast_cap`), so
//! readiness is noticed within milliseconds; once ready, both probes run on the steady grid
//! ([`steady_next`]). A polled probe's result counts only if it was asked for: one that arrives
//! after a kill or restart cleared the schedule is stale.
//!
//! Identity: a probe of a kind that can tell whose server answers asks, until the current
//! process has passed once. The effect side ranks the answer ([`IdentityFound`]); the verdict is
//! here ([`verdict`]): `foreign` never passes, a tier below the profile's minimum fails with what
//! to change, anything else passes and is shown.

use std::time::Duration;

use super::super::event::EventKind;
use super::{Action, Cause, Identity, IdentityFound, KillReason, Machine, ProbeKind, ProbeTiming, State, Stop};
use crate::domain::build::SidecarBuild;
use crate::domain::types::steady_next;

#[derive(Debug, Clone)]
pub(super) struct ProbeTrack {
    timing: ProbeTiming,
    next_at: Option<Duration>,
    in_flight: bool,
    failures: u32,
    fast_attempt: u32,
}

impl ProbeTrack {
    pub(super) fn new(timing: ProbeTiming) -> Self {
        ProbeTrack { timing, next_at: None, in_flight: false, failures: 0, fast_attempt: 0 }
    }
    fn reset(&mut self) {
        self.next_at = None;
        self.in_flight = false;
        self.failures = 0;
        self.fast_attempt = 0;
    }
    fn fast_delay(&mut self) -> Duration {
        let d = Duration::from_millis(2u64 << self.fast_attempt.min(20)).min(self.timing.fast_cap);
        self.fast_attempt += 1;
        d
    }
    /// When this probe wants to run next (none while one is out).
    pub(super) fn due(&self) -> Option<Duration> {
        if self.in_flight {
            None
        } else {
            self.next_at
        }
    }
    /// Run next at `at` (polled probes only).
    pub(super) fn schedule(&mut self, at: Duration) {
        if self.timing.polled {
            self.next_at = Some(at);
        }
    }
    pub(super) fn interval(&self) -> Duration {
        self.timing.interval
    }
    /// A process was spawned: probe fast from now on (polled probes only).
    pub(super) fn start(&mut self, now: Duration) {
        if self.timing.polled {
            self.next_at = Some(now + self.fast_delay());
        }
    }
}

impl Machine {
    pub(super) fn on_port_announced(&mut self, now: Duration, out: &mut Vec<Action>) {
        if self.state != State::Starting || self.pid.is_none() {
            return;
        }
        match self.ready_probe.as_mut() {
            None => self.become_ready(now, "no readiness probe: ready once its port was announced".into(), out),
            Some(p) => {
                if p.timing.polled && !p.in_flight {
                    p.next_at = Some(now);
                    self.run_due_probes(now, out);
                }
            }
        }
    }

    pub(super) fn become_ready(&mut self, now: Duration, detail: String, out: &mut Vec<Action>) {
        self.startup_deadline = None;
        self.ready_since = Some(now);
        self.port_retries = 0;
        let took = self.spawned_at.map(|t| now.saturating_sub(t)).unwrap_or_default();
        self.set_state(State::Ready, out);
        self.emit(EventKind::Ready, format!("ready after {} ms ({detail})", took.as_millis()), self.pid, out);
        if let Some(p) = self.ready_probe.as_mut() {
            p.failures = 0;
            p.next_at = p.timing.polled.then(|| steady_next(now, p.timing.interval));
        }
        if let Some(p) = self.live_probe.as_mut() {
            p.reset();
            p.next_at = Some(steady_next(now, p.timing.interval));
        }
    }

    pub(super) fn on_probe(
        &mut self,
        now: Duration,
        kind: ProbeKind,
        ok: bool,
        detail: String,
        identity: Option<IdentityFound>,
        out: &mut Vec<Action>,
    ) {
        let stale = match kind {
            ProbeKind::Ready => self.ready_probe.as_ref(),
            ProbeKind::Live => self.live_probe.as_ref(),
        }
        .is_none_or(|t| t.timing.polled && !t.in_flight);
        let (ok, detail) = match (ok, identity, identity_min(&self.cfg, kind)) {
            (true, Some(found), Some(min)) => {
                let (ok, detail, tier) = verdict(min, detail, found);
                if tier.is_some() && !stale {
                    self.identity = tier;
                    self.identity_ok |= ok;
                }
                (ok, detail)
            }
            (ok, _, _) => (ok, detail),
        };
        self.judged = Some((kind, ok, detail.clone()));
        let state = self.state;
        let track = match kind {
            ProbeKind::Ready => self.ready_probe.as_mut(),
            ProbeKind::Live => self.live_probe.as_mut(),
        };
        let Some(track) = track else { return };
        if track.timing.polled && !track.in_flight {
            return; // stale: not asked for (see the module doc)
        }
        track.in_flight = false;
        if !matches!(state, State::Starting | State::Ready | State::Unhealthy) || self.pid.is_none() {
            return;
        }
        match (kind, state, ok) {
            (ProbeKind::Ready, State::Starting, true) => self.become_ready(now, detail, out),
            (ProbeKind::Ready, State::Starting, false) => {
                if track.timing.polled {
                    track.next_at = Some(now + track.fast_delay());
                }
                self.startup_failure = Some(detail);
                self.startup_identity = self.identity;
            }
            (ProbeKind::Ready, _, true) => {
                track.failures = 0;
                track.next_at = track.timing.polled.then(|| steady_next(now, track.timing.interval));
                if state == State::Unhealthy {
                    self.set_state(State::Ready, out);
                    self.emit(EventKind::Recovered, format!("ready again ({detail})"), self.pid, out);
                }
            }
            (ProbeKind::Ready, _, false) => {
                track.failures += 1;
                let threshold = track.timing.failure_threshold;
                let failures = track.failures;
                // While unhealthy, probe fast so recovery is noticed quickly.
                track.next_at = Some(if failures >= threshold {
                    now + track.timing.fast_cap.max(Duration::from_millis(50)).min(track.timing.interval)
                } else {
                    steady_next(now, track.timing.interval)
                });
                if state == State::Ready && failures >= threshold {
                    self.set_state(State::Unhealthy, out);
                    self.emit(
                        EventKind::Unhealthy,
                        format!("readiness failed {failures} times in a row: {detail}"),
                        self.pid,
                        out,
                    );
                }
            }
            (ProbeKind::Live, State::Starting, _) => {}
            (ProbeKind::Live, _, true) => {
                track.failures = 0;
                track.next_at = Some(steady_next(now, track.timing.interval));
            }
            (ProbeKind::Live, _, false) => {
                track.failures += 1;
                track.next_at = Some(steady_next(now, track.timing.interval));
                if track.failures >= track.timing.failure_threshold {
                    let n = track.failures;
                    self.kill_reason = KillReason::Liveness;
                    self.last_cause = Some(Cause::LivenessFailed);
                    self.clear_probes();
                    self.emit(
                        EventKind::LivenessFailed,
                        format!("liveness failed {n} times in a row ({detail}); killing it"),
                        self.pid,
                        out,
                    );
                    if let Some(pid) = self.pid {
                        out.push(Action::Stop { pid, how: Stop::Force });
                    }
                }
            }
        }
    }

    pub(super) fn run_due_probes(&mut self, now: Duration, out: &mut Vec<Action>) {
        if !matches!(self.state, State::Starting | State::Ready | State::Unhealthy) {
            return;
        }
        for (kind, track) in [(ProbeKind::Ready, &mut self.ready_probe), (ProbeKind::Live, &mut self.live_probe)] {
            if let Some(t) = track.as_mut() {
                if !t.in_flight && t.next_at.is_some_and(|at| now >= at) {
                    t.in_flight = true;
                    t.next_at = None;
                    let asks = identity_min(&self.cfg, kind).is_some() && !self.identity_ok;
                    out.push(Action::Probe { kind, identity: asks });
                }
            }
        }
    }

    /// The startup timeout passed: the last failed readiness probe says why, and what to change
    /// if the sidecar is only slow; the process is killed.
    pub(super) fn startup_timed_out(&mut self, out: &mut Vec<Action>) {
        self.kill_reason = KillReason::StartupTimeout;
        self.last_cause = Some(match self.startup_identity {
            Some(Identity::Foreign) => Cause::ForeignServer,
            Some(tier) if self.cfg.ready_identity.is_some_and(|min| tier < min) => Cause::IdentityTooLow,
            _ => Cause::StartupTimeout,
        });
        self.clear_probes();
        let why = match &self.startup_failure {
            Some(d) => format!(" (last probe: {d})"),
            None if self.cfg.awaits_announcement => " (no port announced, or no probe answered)".into(),
            None => String::new(),
        };
        let ms = self.cfg.startup_timeout.as_millis();
        self.emit(
            EventKind::StartupTimeout,
            format!("not ready within {ms} ms of spawn{why}; killing it. If it is only slow, raise `startup_timeout_ms`; its log says more"),
            self.pid,
            out,
        );
        if let Some(pid) = self.pid {
            out.push(Action::Stop { pid, how: Stop::Force });
        }
    }

    pub(super) fn clear_probes(&mut self) {
        for t in [&mut self.ready_probe, &mut self.live_probe].into_iter().flatten() {
            t.reset();
        }
    }
}

/// A passing health answer weighed with the identity the server showed against the lowest tier
/// accepted: whether the probe passes, what it says, and the tier to show (pure).
pub(crate) fn verdict(min: Identity, passed: String, found: IdentityFound) -> (bool, String, Option<Identity>) {
    let (tier, why) = match found {
        IdentityFound::Tier(t, why) => (t, why),
        IdentityFound::NoAnswer(e) => return (false, e, None),
    };
    if tier == Identity::Foreign {
        return (false, why, Some(tier));
    }
    if tier < min {
        let fix = match min {
            Identity::Proven => {
                "answer `proof` = hex(HMAC-SHA256(key = SIDECAR_API_KEY, \"sidecar-identity:\" + nonce)) in \
                 /runtime/info (the sidecar contract), or accept less with `\"identity\": true`"
            }
            _ => "serve GET /runtime/info with {\"instance_id\": SIDECAR_INSTANCE_ID}, or set `\"identity\": true`",
        };
        let detail = format!("identity {} ({why}) but the profile requires {}: {fix}", tier.as_str(), min.as_str());
        return (false, detail, Some(tier));
    }
    (true, format!("{passed}; identity {}", tier.as_str()), Some(tier))
}

/// The lowest identity tier a passing probe of `kind` must show.
fn identity_min(cfg: &super::MachineConfig, kind: ProbeKind) -> Option<Identity> {
    match kind {
        ProbeKind::Ready => cfg.ready_identity,
        ProbeKind::Live => cfg.live_identity,
    }
}

impl Machine {
    /// The current process states its build: kept for the status, judged against the app's. One
    /// that is not the app's (an old process, an old binary left behind) is restarted once in
    /// this run, free of charge, so that a new process runs what is installed now; if the new
    /// one differs too, it is left running and the status warns.
    pub(super) fn on_build_found(&mut self, now: Duration, mut build: SidecarBuild, out: &mut Vec<Action>) {
        if self.pid.is_none() || !matches!(self.state, State::Starting | State::Ready | State::Unhealthy) {
            return;
        }
        build.matches = crate::domain::build::matches(self.cfg.app_build.as_deref(), &build.build);
        let differs = build.matches == Some(false);
        let app = self.cfg.app_build.clone().unwrap_or_default();
        let what = format!("it is build {} (version {}), not the app's build {app}", build.build, build.version);
        let first = self.build.is_none();
        self.build = Some(build);
        if !differs || !first {
            return;
        }
        if !self.build_restarted && self.auto_restart {
            self.build_restarted = true;
            self.emit(
                EventKind::BuildMismatch,
                format!("{what}: an old process or binary; restarting it once"),
                self.pid,
                out,
            );
            self.stop_with(now, true, " (another build than the app's; the budget is not charged)", out);
        } else {
            self.emit(
                EventKind::BuildMismatch,
                format!("{what}: left running (restarted once already)"),
                self.pid,
                out,
            );
        }
    }
}
