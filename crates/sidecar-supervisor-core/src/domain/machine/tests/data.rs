//! A PostgreSQL sidecar's data directory is judged before every start: a stale `postmaster.pid`
//! is removed (and said so) before its prepare steps and process, a refused directory fails the
//! launch with its typed cause, and nothing is started on it.

use super::*;
use crate::domain::pg_data::{DataFacts, DataVersion, Holder, PidFile};

fn checked() -> MachineConfig {
    MachineConfig { checks_data: true, prepare: vec![S(10)], ..cfg() }
}

fn facts(data: u32, server: u32, pid_file: PidFile) -> DataFacts {
    DataFacts { dir: "/d/pg".into(), data: DataVersion::Major(data), server: Ok(server), pid_file }
}

#[test]
fn the_directory_is_checked_before_the_prepare_steps_of_every_launch() {
    let mut m = Machine::new(checked());
    m.handle(S(0), Input::Start { manual: false });
    assert_eq!(m.handle(S(0), Input::Located), vec![Action::CheckData]);
    let a = m.handle(S(0), Input::DataChecked { facts: facts(17, 17, PidFile::Absent) });
    assert_eq!(a, vec![Action::Prepare { step: 0 }]);
    m.handle(S(0), Input::PrepareEnded { step: 0, end: StepEnd::Done });
    m.handle(S(0), Input::Spawned { pid: 41 });
    let now = answer_ready_probe(&mut m, true) + S(10);
    crash(&mut m, now);
    // A crash leaves a postmaster.pid behind: the next launch checks again.
    assert_eq!(m.handle(now, Input::Located), vec![Action::CheckData]);
}

#[test]
fn a_stale_pid_file_is_removed_and_said_so_before_the_server_starts() {
    let mut m = Machine::new(checked());
    m.handle(S(0), Input::Start { manual: false });
    m.handle(S(0), Input::Located);
    let stale = PidFile::Names { pid: 77, holder: Holder::Program("sleep".into()) };
    assert_eq!(m.handle(S(0), Input::DataChecked { facts: facts(17, 17, stale) }), vec![Action::RemovePidFile]);
    let a = m.handle(S(0), Input::PidFileRemoved { result: Ok(()) });
    assert_eq!(emitted(&a), vec![EventKind::StalePidFileRemoved]);
    assert!(a.iter().any(|x| matches!(x, Action::Emit { message, .. } if message.contains("pid 77 is now `sleep`"))));
    assert_eq!(a.last(), Some(&Action::Prepare { step: 0 }));
    assert_eq!(m.state(), State::Starting);
}

#[test]
fn a_pid_file_that_cannot_be_removed_fails_the_launch_saying_why() {
    let mut m = Machine::new(checked());
    m.handle(S(0), Input::Start { manual: false });
    m.handle(S(0), Input::Located);
    m.handle(S(0), Input::DataChecked { facts: facts(17, 17, PidFile::Names { pid: 7, holder: Holder::Gone }) });
    m.handle(
        S(0),
        Input::PidFileRemoved { result: Err("cannot remove the stale /d/pg/postmaster.pid: denied".into()) },
    );
    assert_eq!(m.state(), State::Failed);
    assert_eq!(m.last_error(), Some("cannot remove the stale /d/pg/postmaster.pid: denied"));
}

#[test]
fn a_refused_directory_fails_with_its_cause_and_nothing_runs_on_it() {
    let cases = [
        (facts(18, 17, PidFile::Absent), Cause::DataNewerThanServer),
        (facts(17, 17, PidFile::Names { pid: 9, holder: Holder::ThisDirsServer }), Cause::DataDirInUse),
    ];
    for (f, cause) in cases {
        let mut m = Machine::new(checked());
        m.handle(S(0), Input::Start { manual: false });
        m.handle(S(0), Input::Located);
        let a = m.handle(S(0), Input::DataChecked { facts: f });
        assert!(!a.iter().any(|x| matches!(x, Action::Prepare { .. } | Action::Exec | Action::Stop { .. })), "{a:?}");
        assert_eq!(m.state(), State::Failed);
        assert_eq!(m.last_cause(), Some(cause));
    }
}

#[test]
fn a_stop_while_the_directory_is_read_ignores_what_comes_back() {
    let mut m = Machine::new(checked());
    m.handle(S(0), Input::Start { manual: false });
    m.handle(S(0), Input::Located);
    m.handle(S(0), Input::StopRequested);
    assert_eq!(m.state(), State::Stopped);
    assert!(m.handle(S(1), Input::DataChecked { facts: facts(17, 17, PidFile::Absent) }).is_empty());
    assert_eq!(m.state(), State::Stopped);
}
