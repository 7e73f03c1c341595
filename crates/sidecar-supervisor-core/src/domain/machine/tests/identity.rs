//! The identity verdict: the effect side reports the tier a probe found, the machine judges it
//! against the profile's minimum — foreign never passes, a tier too low fails with what to
//! change, a pass is not asked again for the same process, a new process is asked again.

use super::*;

/// Readiness requires at least `min`.
fn requiring(min: Identity) -> MachineConfig {
    MachineConfig { ready_identity: Some(min), startup_timeout: S(2), ..cfg() }
}

/// Spawns and runs the first readiness probe; returns whether it asked for the identity.
fn spawn_and_probe(m: &mut Machine, found: IdentityFound) -> bool {
    m.handle(S(0), Input::Start { manual: false });
    m.handle(S(0), Input::Spawned { pid: 7 });
    answer(m, found)
}

/// The next readiness probe answers 200, and its identity check found `found`.
fn answer(m: &mut Machine, found: IdentityFound) -> bool {
    let due = m.poll_timeout().expect("a probe is due");
    let a = m.handle_timeout(due);
    let Some(Action::Probe { identity: asked, .. }) = a.first().cloned() else { panic!("no probe: {a:?}") };
    let identity = asked.then_some(found);
    m.handle(due, Input::Probe { kind: ProbeKind::Ready, ok: true, detail: "GET / answered 200".into(), identity });
    asked
}

fn tier(t: Identity, why: &str) -> IdentityFound {
    IdentityFound::Tier(t, why.into())
}

#[test]
fn a_foreign_server_never_passes_and_the_timeout_names_it() {
    let mut m = Machine::new(requiring(Identity::Unverified));
    assert!(spawn_and_probe(&mut m, tier(Identity::Foreign, "port 4000: another program answers")));
    assert_eq!((m.state(), m.identity()), (State::Starting, Some(Identity::Foreign)));
    assert_eq!(m.judged_probe(), Some((ProbeKind::Ready, false, "port 4000: another program answers")));
    assert!(answer(&mut m, tier(Identity::Foreign, "port 4000: another program answers")), "asked again");
    let a = m.handle_timeout(S(2));
    let msg = a.iter().find_map(|x| match x {
        Action::Emit { kind: EventKind::StartupTimeout, message, .. } => Some(message.clone()),
        _ => None,
    });
    assert!(msg.is_some_and(|m| m.contains("last probe: port 4000: another program answers")), "{a:?}");
    assert_eq!(m.last_cause(), Some(Cause::ForeignServer));
}

#[test]
fn a_tier_below_the_minimum_fails_with_what_to_change() {
    let mut m = Machine::new(requiring(Identity::Proven));
    spawn_and_probe(&mut m, tier(Identity::Echoed, "this launch's instance id, no proof"));
    assert_eq!(m.state(), State::Starting);
    let (_, ok, detail) = m.judged_probe().unwrap();
    assert!(!ok);
    assert!(detail.contains("identity echoed") && detail.contains("requires proven"), "{detail}");
    assert!(detail.contains("HMAC-SHA256") && detail.contains("\"identity\": true"), "names the fix: {detail}");
    m.handle_timeout(S(2));
    assert_eq!(m.last_cause(), Some(Cause::IdentityTooLow));
}

#[test]
fn a_pass_is_shown_and_not_asked_again_for_the_same_process() {
    let mut m = Machine::new(requiring(Identity::Echoed));
    assert!(spawn_and_probe(&mut m, tier(Identity::Proven, "key proof")));
    assert_eq!((m.state(), m.identity()), (State::Ready, Some(Identity::Proven)));
    assert!(m.judged_probe().unwrap().2.ends_with("; identity proven"));
    assert!(!answer(&mut m, tier(Identity::Foreign, "never asked")), "passed once: not asked again");
    assert_eq!(m.identity(), Some(Identity::Proven));
    // A new process shows nothing yet, and is asked again.
    assert!(has_spawn(&crash(&mut m, S(10))), "restarted at once");
    assert_eq!(m.identity(), None);
    m.handle(S(10), Input::Spawned { pid: 8 });
    assert!(answer(&mut m, tier(Identity::Echoed, "id")), "a new process is checked again");
}

#[test]
fn no_answer_worth_ranking_fails_the_probe_without_a_tier() {
    let mut m = Machine::new(requiring(Identity::Unverified));
    spawn_and_probe(&mut m, IdentityFound::NoAnswer("GET /runtime/info: connection refused".into()));
    assert_eq!((m.state(), m.identity()), (State::Starting, None));
    assert_eq!(m.judged_probe(), Some((ProbeKind::Ready, false, "GET /runtime/info: connection refused")));
}

#[test]
fn without_a_minimum_nothing_is_asked() {
    let mut m = Machine::new(cfg());
    assert!(!spawn_and_probe(&mut m, tier(Identity::Foreign, "x")));
    assert_eq!((m.state(), m.identity()), (State::Ready, None));
}
