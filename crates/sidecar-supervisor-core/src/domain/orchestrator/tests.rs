//! The rules that span sidecars, on simulated time: no processes, no sleeps. [`Sim`] stands in
//! for the effect side: it picks ports, "spawns" with made-up pids, and lets each test decide
//! when a probe passes and when a process ends.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::domain::types::{Exit, IdentityFound, ProbeKind, StepEnd, Stop};
use crate::profile::{Mode, RuntimeConfig};

const MS: fn(u64) -> Duration = Duration::from_millis;

fn config(mode: Mode, sidecars: serde_json::Value) -> RuntimeConfig {
    let text = json!({ "sidecars": sidecars }).to_string();
    let file = std::path::Path::new("test-profile.json");
    let profile =
        crate::profile::parse_profile(file, &text, Some(crate::profile::Os::Linux)).unwrap_or_else(|e| panic!("{e}"));
    RuntimeConfig {
        profile_path: file.into(),
        profile,
        mode,
        data_dir: "/nonexistent".into(),
        backend_url: (mode == Mode::RemoteSlim).then(|| "https://api.example.com".to_string()),
        auto_restart: true,
        bin_overrides: BTreeMap::new(),
        app_name: "test".into(),
        extra_ca_files: Vec::new(),
        backend_api_key: None,
    }
}

/// An HTTP-probed sidecar whose readiness each test controls.
fn probed(name: &str, deps: &[&str]) -> serde_json::Value {
    json!({ "name": name, "command": "x", "port": "auto", "depends_on": deps, "ready": { "http": "/ready" } })
}

/// The effect side, simulated.
struct Sim {
    o: Orchestrator,
    now: Duration,
    next_port: u16,
    next_pid: u32,
    /// Launches held back (a slow prepare step) instead of being prepared at once.
    hold_launches: bool,
    held: Vec<(usize, u64)>,
    /// Probes asked for and not answered yet: (unit, gen, kind, identity).
    probes: Vec<(usize, u64, ProbeKind, bool)>,
    /// Remote probes asked for and not answered yet: the units.
    remote_probes: Vec<usize>,
    stops: Vec<(usize, u32, Stop)>,
    events: Vec<NewEvent>,
    launches: Vec<(usize, PortPlan)>,
    execs: Vec<usize>,
}

impl Sim {
    fn new(mode: Mode, sidecars: serde_json::Value) -> Sim {
        let plan = Arc::new(Plan::new(&config(mode, sidecars), crate::domain::StopMechanism::Signals));
        Sim {
            o: Orchestrator::new(plan),
            now: Duration::ZERO,
            next_port: 20_000,
            next_pid: 100,
            hold_launches: false,
            held: Vec::new(),
            probes: Vec::new(),
            remote_probes: Vec::new(),
            stops: Vec::new(),
            events: Vec::new(),
            launches: Vec::new(),
            execs: Vec::new(),
        }
    }

    fn started(mode: Mode, sidecars: serde_json::Value) -> Sim {
        let mut s = Sim::new(mode, sidecars);
        s.o.start(s.now);
        s.settle();
        s
    }

    fn unit(&self, name: &str) -> usize {
        self.o.plan().units.iter().position(|u| u.name == name).unwrap_or_else(|| panic!("no unit {name}"))
    }

    fn state(&self, name: &str) -> State {
        self.o.state(self.unit(name))
    }

    fn pid(&self, name: &str) -> Option<u32> {
        self.o.machine(self.unit(name)).pid()
    }

    /// Carries out every effect, as a perfect effect side would, until none is left.
    fn settle(&mut self) {
        while let Some(e) = self.o.poll_effect() {
            match e {
                Effect::Launch { unit, gen, port, .. } => {
                    self.launches.push((unit, port));
                    if port == PortPlan::PickFree {
                        self.next_port += 1;
                        self.o.report(self.now, unit, gen, Report::PortAssigned { port: self.next_port });
                    }
                    if self.hold_launches {
                        self.held.push((unit, gen));
                    } else {
                        self.o.report(self.now, unit, gen, Report::Located);
                    }
                }
                Effect::Exec { unit, gen } => {
                    self.execs.push(unit);
                    self.next_pid += 1;
                    self.o.report(self.now, unit, gen, Report::Spawned { pid: self.next_pid });
                }
                Effect::Stop { unit, pid, how } => self.stops.push((unit, pid, how)),
                Effect::Suspend { .. } | Effect::Continue { .. } => {}
                // A PostgreSQL directory of the program's major, nothing stale.
                Effect::CheckData { unit, gen } => {
                    use crate::domain::pg_data::{DataFacts, DataVersion, PidFile};
                    let facts = DataFacts {
                        dir: "d".into(),
                        data: DataVersion::None,
                        server: Ok(17),
                        pid_file: PidFile::Absent,
                    };
                    self.o.report(self.now, unit, gen, Report::DataChecked { facts })
                }
                Effect::RemovePidFile { unit, gen } => {
                    self.o.report(self.now, unit, gen, Report::PidFileRemoved { result: Ok(()) })
                }
                Effect::Prepare { unit, gen, step } => {
                    self.o.report(self.now, unit, gen, Report::PrepareEnded { step, end: StepEnd::Done })
                }
                Effect::Probe { unit, gen, kind, identity } => self.probes.push((unit, gen, kind, identity)),
                Effect::ProbeRemote { unit } => self.remote_probes.push(unit),
                Effect::Event { event, .. } => self.events.push(event),
                Effect::Publish { .. } => {}
            }
        }
    }

    /// Lets simulated time pass up to `t`, firing every timer on the way.
    fn advance_to(&mut self, t: Duration) {
        while let Some(due) = self.o.poll_timeout().filter(|d| *d <= t) {
            self.now = self.now.max(due);
            self.o.handle_timeout(self.now);
            self.settle();
        }
        self.now = self.now.max(t);
    }

    /// Answers every pending probe of `name` (the first one due is asked for first).
    fn probe(&mut self, name: &str, kind: ProbeKind, ok: bool) {
        let unit = self.unit(name);
        let due = self.o.machine(unit).poll_timeout();
        if !self.probes.iter().any(|p| p.0 == unit && p.2 == kind) {
            if let Some(due) = due {
                self.advance_to(due);
            }
        }
        let (mine, rest): (Vec<_>, Vec<_>) = self.probes.drain(..).partition(|p| p.0 == unit && p.2 == kind);
        self.probes = rest;
        assert!(!mine.is_empty(), "no {kind:?} probe of {name} was asked for");
        for (u, gen, kind, asked) in mine {
            // An identity check finds this launch's server (echoed), or a foreign one when the
            // probe is to fail; the machine judges it.
            let report = match asked {
                true => {
                    let tier = if ok { Identity::Echoed } else { Identity::Foreign };
                    let identity = Some(IdentityFound::Tier(tier, "answer".into()));
                    Report::Probe { kind, ok: true, detail: "answer".into(), identity }
                }
                false => Report::Probe { kind, ok, detail: "answer".into(), identity: None },
            };
            self.o.report(self.now, u, gen, report);
        }
        self.settle();
    }

    /// The current process of `name` announces `port`.
    fn announce(&mut self, name: &str, port: u16) {
        let unit = self.unit(name);
        self.o.report(self.now, unit, self.o.gen(unit), Report::Announced { port });
        self.settle();
    }

    /// ... and passes its readiness probe.
    fn announce_ready(&mut self, name: &str, port: u16) {
        self.announce(name, port);
        self.make_ready(name);
    }

    fn make_ready(&mut self, name: &str) {
        self.probe(name, ProbeKind::Ready, true);
        assert_eq!(self.state(name), State::Ready);
    }

    /// The process of `name`, up for a while (a sporadic crash: restarted at once), is killed.
    fn crash(&mut self, name: &str) {
        self.advance_to(self.now + MS(5_000));
        self.probes.clear(); // steady probes asked meanwhile, of the old process
        self.exit(name, Exit::signal("SIGKILL"));
    }

    /// The process of `name` ends.
    fn exit(&mut self, name: &str, exit: Exit) {
        let unit = self.unit(name);
        let gen = self.o.gen(unit);
        self.o.report(self.now, unit, gen, Report::Exited { exit, stderr_tail: String::new() });
        self.settle();
    }

    fn command(&mut self, verb: Verb, name: &str) -> Result<(), CommandError> {
        let r = self.o.command(self.now, verb, name);
        self.settle();
        r
    }

    fn execs_of(&self, name: &str) -> usize {
        let unit = self.unit(name);
        self.execs.iter().filter(|&&u| u == unit).count()
    }

    fn events_of(&self, name: &str, kind: EventKind) -> Vec<&NewEvent> {
        self.events.iter().filter(|e| e.sidecar.as_deref() == Some(name) && e.kind == kind).collect()
    }
}

#[test]
fn a_dependent_starts_only_once_every_dependency_is_ready() {
    let mut s = Sim::started(
        Mode::LocalFullstack,
        json!([probed("db", &[]), probed("cache", &[]), probed("api", &["db", "cache"])]),
    );
    assert_eq!(s.state("api"), State::WaitingForDeps);
    assert_eq!((s.execs_of("db"), s.execs_of("cache"), s.execs_of("api")), (1, 1, 0));
    s.make_ready("db");
    assert_eq!(s.state("api"), State::WaitingForDeps, "cache is not ready yet");
    assert_eq!(s.execs_of("api"), 0);
    s.make_ready("cache");
    assert_eq!(s.state("api"), State::Starting);
    assert_eq!(s.execs_of("api"), 1);
}

#[test]
fn a_chain_starts_in_dependency_order() {
    let mut s = Sim::started(Mode::LocalFullstack, json!([probed("c", &["b"]), probed("b", &["a"]), probed("a", &[])]));
    assert_eq!((s.execs_of("a"), s.execs_of("b"), s.execs_of("c")), (1, 0, 0));
    s.make_ready("a");
    assert_eq!((s.execs_of("b"), s.execs_of("c")), (1, 0));
    s.make_ready("b");
    assert_eq!(s.execs_of("c"), 1);
}

#[test]
fn a_dependency_without_a_probe_frees_its_dependents_in_the_same_turn() {
    let s = Sim::started(
        Mode::LocalFullstack,
        json!([{ "name": "db", "command": "x" }, { "name": "api", "command": "x", "depends_on": ["db"] }]),
    );
    assert_eq!((s.state("db"), s.state("api")), (State::Ready, State::Ready));
}

#[test]
fn a_dependent_restarting_while_its_dependency_is_down_waits_for_it() {
    let mut s = Sim::started(
        Mode::LocalFullstack,
        json!([probed("api", &[]), { "name": "worker", "command": "x", "depends_on": ["api"],
                  "restart": { "min_uptime_ms": 0 } }]),
    );
    s.make_ready("api");
    assert_eq!(s.state("worker"), State::Ready);
    s.command(Verb::Stop, "api").unwrap();
    s.exit("api", Exit::code(0));
    assert_eq!(s.state("api"), State::Stopped);
    s.exit("worker", Exit::signal("SIGKILL"));
    assert_eq!(s.state("worker"), State::WaitingForDeps, "no launch with its dependency down");
    assert_eq!(s.execs_of("worker"), 1);
    s.command(Verb::Start, "api").unwrap();
    s.make_ready("api");
    assert_eq!(s.state("worker"), State::Ready);
    assert_eq!(s.execs_of("worker"), 2);
    assert!(s.events_of("worker", EventKind::Failed).is_empty());
}

#[test]
fn a_dependency_going_down_during_a_slow_prepare_step_holds_the_process_back() {
    let mut s = Sim::started(Mode::LocalFullstack, json!([probed("db", &[]), probed("api", &["db"])]));
    s.make_ready("db");
    s.hold_launches = true;
    s.command(Verb::Restart, "api").unwrap(); // stops it, then launches again
    s.exit("api", Exit::code(0));
    assert_eq!(s.held.len(), 1, "api's next launch is being prepared");
    s.command(Verb::Stop, "db").unwrap();
    s.exit("db", Exit::code(0));
    let (unit, gen) = s.held.pop().unwrap();
    s.o.report(s.now, unit, gen, Report::Located);
    s.settle();
    assert_eq!(s.state("api"), State::WaitingForDeps);
    assert_eq!(s.execs_of("api"), 1, "no process while db is down");
    s.hold_launches = false;
    s.command(Verb::Start, "db").unwrap();
    s.make_ready("db");
    assert_eq!(s.execs_of("api"), 2);
}

#[test]
fn dependents_of_a_dependency_back_on_another_port_restart_free_of_charge() {
    let mut s = Sim::started(
        Mode::LocalFullstack,
        json!([
            { "name": "api", "command": "x", "port": "announce", "ready": { "http": "/ready" } },
            { "name": "client", "command": "x", "depends_on": ["api"], "env": { "UP": "{api.url}" } },
            { "name": "bystander", "command": "x", "depends_on": ["api"] },
        ]),
    );
    s.announce_ready("api", 4000);
    let (client, bystander) = (s.pid("client").unwrap(), s.pid("bystander").unwrap());
    // Back on the same port: nothing is stale.
    s.crash("api");
    s.announce_ready("api", 4000);
    assert!(s.stops.is_empty(), "{:?}", s.stops);
    // Back on another port: the client's environment names the old one.
    s.crash("api");
    s.announce_ready("api", 4001);
    let unit = s.unit("client");
    assert_eq!(s.stops.iter().map(|x| (x.0, x.1)).collect::<Vec<_>>(), vec![(unit, client)]);
    let why = &s.events_of("client", EventKind::Stopping)[0].message;
    assert!(why.contains("`api` came back on port 4001 (was 4000); the budget is not charged"), "{why}");
    s.exit("client", Exit::code(0));
    assert_eq!(s.execs_of("client"), 2, "restarted at once");
    assert_eq!(s.o.machine(unit).restarts_in_window(s.now), 0);
    assert_eq!(s.pid("bystander"), Some(bystander), "its templates read no port");
}

#[test]
fn a_moved_replica_that_templates_do_not_read_leaves_dependents_alone() {
    let mut s = Sim::started(
        Mode::LocalFullstack,
        json!([
            { "name": "api", "command": "x", "port": "announce", "replicas": 2, "ready": { "http": "/r" } },
            { "name": "client", "command": "x", "depends_on": ["api"], "args": ["{api.port}"] },
        ]),
    );
    for (n, port) in [("api#1", 4000), ("api#2", 5000)] {
        s.announce_ready(n, port);
    }
    s.crash("api#2");
    s.announce_ready("api#2", 5001);
    assert!(s.stops.is_empty(), "templates read api#1 only: {:?}", s.stops);
}

#[test]
fn no_moved_dependency_restart_with_auto_restart_off() {
    let profile = json!([
        { "name": "api", "command": "x", "port": "announce", "ready": { "http": "/r" } },
        { "name": "client", "command": "x", "depends_on": ["api"], "args": ["{api.port}"], "auto_restart": false },
    ]);
    let mut s = Sim::started(Mode::LocalFullstack, profile);
    s.announce_ready("api", 4000);
    s.crash("api");
    s.announce_ready("api", 4001);
    assert!(s.stops.is_empty(), "auto-restart off: {:?}", s.stops);
}

#[test]
fn shutdown_stops_dependents_before_their_dependencies() {
    let mut s = Sim::started(Mode::LocalFullstack, json!([probed("db", &[]), probed("api", &["db"])]));
    s.make_ready("db");
    s.make_ready("api");
    s.o.shutdown(s.now);
    s.settle();
    let (db, api) = (s.unit("db"), s.unit("api"));
    assert_eq!(s.stops.iter().map(|x| x.0).collect::<Vec<_>>(), vec![api], "db waits for api");
    assert_eq!(s.state("db"), State::Ready);
    s.exit("api", Exit::code(0));
    assert_eq!(s.stops.iter().map(|x| x.0).collect::<Vec<_>>(), vec![api, db]);
    assert!(!s.o.finished());
    s.exit("db", Exit::code(0));
    assert!(s.o.finished());
    assert_eq!(s.command(Verb::Start, "db"), Err(CommandError::ShuttingDown));
}

#[test]
fn shutdown_frees_a_dependency_whose_dependent_waits_in_backoff_in_the_same_turn() {
    let mut s = Sim::started(
        Mode::LocalFullstack,
        json!([{ "name": "db", "command": "x" },
               { "name": "api", "command": "x", "depends_on": ["db"],
                 "restart": { "backoff_initial_ms": 5000, "backoff_max_ms": 5000 } }]),
    );
    s.exit("api", Exit::code(1)); // a quick crash: backoff
    assert_eq!(s.state("api"), State::Backoff);
    s.o.shutdown(s.now);
    s.settle();
    assert_eq!(s.state("api"), State::Stopped);
    let db = s.unit("db");
    assert_eq!(s.stops.iter().map(|x| x.0).collect::<Vec<_>>(), vec![db], "no timer would come to stop db later");
    s.exit("db", Exit::code(0));
    assert!(s.o.finished());
}

#[test]
fn no_restart_once_shutdown_began() {
    let mut s = Sim::started(Mode::LocalFullstack, json!([probed("db", &[]), probed("api", &["db"])]));
    s.make_ready("db");
    s.make_ready("api");
    s.o.shutdown(s.now);
    s.settle();
    s.exit("db", Exit::signal("SIGKILL")); // db dies on its own while api is stopping
    assert_eq!(s.state("db"), State::Failed);
    assert_eq!(s.execs_of("db"), 1);
}

#[test]
fn remote_slim_skips_backend_and_database_and_their_dependents_start() {
    let mut s = Sim::started(
        Mode::RemoteSlim,
        json!([
            { "name": "database", "role": "database", "command": "x" },
            { "name": "backend", "role": "backend", "command": "x", "depends_on": ["database"] },
            { "name": "worker", "role": "worker", "command": "x", "depends_on": ["backend"] },
        ]),
    );
    assert_eq!(s.execs_of("database") + s.execs_of("backend"), 0);
    // The database is not run in this mode; the backend is the remote one, probed.
    assert_eq!((s.state("database"), s.state("backend")), (State::Skipped, State::Starting));
    assert_eq!(s.remote_probes, [s.unit("backend")], "probed at once");
    assert_eq!(s.state("worker"), State::Ready, "a dependency not run here counts as ready");
    let backend = s.unit("backend");
    s.o.report(s.now, backend, 0, Report::RemoteProbed { ok: true, detail: "GET /health/ready answered 200".into() });
    s.settle();
    assert_eq!(s.state("backend"), State::Ready);
    let ready = s.events_of("backend", EventKind::Ready);
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0].state, Some(State::Ready), "the event says the state it led to");
    assert_eq!(s.events_of("database", EventKind::Skipped)[0].state, Some(State::Skipped));
    let e = s.command(Verb::Restart, "backend").unwrap_err();
    assert_eq!(e, CommandError::NotInThisMode { sidecar: "backend".into(), mode: "remote_slim".into() });
    s.o.shutdown(s.now);
    s.settle();
    s.exit("worker", Exit::code(0));
    assert!(s.o.finished(), "skipped units count as down");
}

#[test]
fn commands_name_units_or_every_replica_and_unknown_names_list_the_known() {
    let mut s = Sim::started(
        Mode::LocalFullstack,
        json!([{ "name": "worker", "command": "x", "replicas": 2 }, { "name": "db", "command": "x" }]),
    );
    let e = s.command(Verb::Stop, "nope").unwrap_err();
    assert_eq!(
        e,
        CommandError::UnknownSidecar {
            sidecar: "nope".into(),
            known: vec!["db".into(), "worker#1".into(), "worker#2".into()]
        }
    );
    s.command(Verb::Stop, "worker#2").unwrap();
    assert_eq!(s.stops.len(), 1);
    s.command(Verb::Stop, "worker").unwrap();
    assert_eq!(s.stops.len(), 2, "worker#1 now; worker#2 is already stopping");
    let asked = s.events_of("worker#1", EventKind::Command);
    assert_eq!(asked[0].message, "stop requested");
    assert_eq!(asked[0].pid, s.pid("worker#1"));
}

#[test]
fn an_auto_port_is_kept_across_restarts_until_a_port_race_is_lost() {
    let mut s = Sim::started(Mode::LocalFullstack, json!([probed("api", &[])]));
    let first = s.o.port(s.unit("api")).unwrap();
    s.make_ready("api");
    s.advance_to(MS(5_000));
    s.exit("api", Exit::signal("SIGKILL"));
    assert_eq!(s.launches.last().unwrap().1, PortPlan::Keep(first));
    assert_eq!(s.o.port(s.unit("api")), Some(first));
    // Lost the race for it: a new one, not charged.
    let u = s.unit("api");
    s.o.report(s.now, u, s.o.gen(u), Report::AddrInUse);
    s.exit("api", Exit::code(98));
    assert_eq!(s.launches.last().unwrap().1, PortPlan::PickFree);
    assert_ne!(s.o.port(u), Some(first));
    assert_eq!(s.o.machine(u).restarts_in_window(s.now), 1, "only the SIGKILL was charged");
}

#[test]
fn fixed_and_announced_ports() {
    let mut s = Sim::started(
        Mode::LocalFullstack,
        json!([{ "name": "fixed", "command": "x", "port": 4555 }, { "name": "ann", "command": "x", "port": "announce" }]),
    );
    assert!(s.launches.contains(&(s.unit("fixed"), PortPlan::CheckFixed(4555))));
    assert_eq!(s.o.port(s.unit("fixed")), Some(4555));
    assert_eq!(s.state("ann"), State::Starting, "not ready before its port is known");
    let u = s.unit("ann");
    s.announce("ann", 4600);
    assert_eq!((s.state("ann"), s.o.port(u)), (State::Ready, Some(4600)));
    s.advance_to(MS(5_000));
    s.exit("ann", Exit::code(1));
    assert_eq!(s.o.port(u), None, "the next process announces its own");
}

#[test]
fn the_identity_is_checked_until_a_process_passed_once() {
    let mut s = Sim::started(Mode::LocalFullstack, json!([probed("api", &[])]));
    s.probe("api", ProbeKind::Ready, false);
    s.advance_to(s.o.poll_timeout().unwrap());
    let u = s.unit("api");
    assert!(s.probes.iter().all(|p| p.3), "still unchecked: {:?}", s.probes);
    assert_eq!(s.o.identity(u), Some(Identity::Foreign));
    s.probe("api", ProbeKind::Ready, true);
    assert_eq!(s.o.identity(u), Some(Identity::Echoed), "the tier is kept for the status");
    s.advance_to(s.o.poll_timeout().unwrap());
    assert!(!s.probes.is_empty() && s.probes.iter().all(|p| !p.3), "passed: {:?}", s.probes);
    s.probe("api", ProbeKind::Ready, true);
    s.crash("api");
    assert_eq!(s.o.identity(u), None, "a new process has shown nothing yet");
    s.advance_to(s.o.poll_timeout().unwrap());
    assert!(!s.probes.is_empty() && s.probes.iter().all(|p| p.3), "a new process is checked again");
}

#[test]
fn reports_about_an_older_launch_are_ignored() {
    let mut s = Sim::started(Mode::LocalFullstack, json!([probed("api", &[])]));
    let u = s.unit("api");
    let old = s.o.gen(u);
    s.advance_to(MS(5_000));
    s.exit("api", Exit::signal("SIGKILL"));
    s.advance_to(MS(10_000));
    assert!(s.o.gen(u) > old);
    let pid = s.pid("api");
    s.o.report(s.now, u, old, Report::Exited { exit: Exit::code(1), stderr_tail: String::new() });
    s.o.report(
        s.now,
        u,
        old,
        Report::Probe { kind: ProbeKind::Ready, ok: true, detail: String::new(), identity: None },
    );
    s.settle();
    assert_eq!((s.state("api"), s.pid("api")), (State::Starting, pid));
}

#[test]
fn stop_of_a_launch_without_a_process_needs_no_exit() {
    let mut s = Sim::new(Mode::LocalFullstack, json!([probed("db", &[])]));
    s.hold_launches = true;
    s.o.start(s.now);
    s.settle();
    assert_eq!(s.state("db"), State::Starting);
    s.command(Verb::Stop, "db").unwrap();
    assert_eq!(s.state("db"), State::Stopped);
    assert!(s.stops.is_empty());
    let (unit, gen) = s.held.pop().unwrap();
    s.o.report(s.now, unit, gen, Report::Located);
    s.settle();
    assert_eq!((s.state("db"), s.execs_of("db")), (State::Stopped, 0), "the late launch result starts nothing");
}
