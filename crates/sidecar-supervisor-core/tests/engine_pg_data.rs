//! A PostgreSQL sidecar's data directory judged before each start, against the real server:
//! a `postmaster.pid` left by a crash whose pid now belongs to another program (PostgreSQL
//! alone refuses to start on it) is removed and said so, and that program lives on; a
//! directory made by a newer major is refused and left as it was; a directory another
//! runtime's server runs on is refused, and that server is never touched.

#![cfg(target_os = "linux")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use common::Rig;
use serde_json::{json, Value};
use sidecar_supervisor_core::testing::row;
use sidecar_supervisor_core::{Cause, EventKind, RuntimeStatus, State, Verb};

/// Generous: `initdb` takes seconds on a slow CI machine.
const START: Duration = Duration::from_secs(120);

fn root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// The database sidecar on data directory `pg` (templated).
fn database(pg: &str) -> Value {
    json!({ "name": "database", "command": "postgres",
      "search_path": [ {"command": "pg_config", "args": ["--bindir"]}, "/usr/lib/postgresql/*/bin" ],
      "args": ["-D", pg, "-p", "{port}", "-h", "127.0.0.1", "-k", ""],
      "prepare": { "command": "initdb", "args": ["-D", pg, "-U", "app", "--auth-local=trust", "--auth-host=trust"],
                   "unless_exists": format!("{pg}/PG_VERSION") },
      "postgres": { "data_dir": pg },
      "port": "auto", "user": if root() { json!("postgres") } else { json!(null) }, "stop_signal": "SIGINT",
      "auto_restart": false,
      "ready": { "postgres": "app", "interval_ms": 500 } })
}

/// The uid and gid of user `postgres`.
fn postgres_ids() -> (u32, u32) {
    // SAFETY: getpwnam with a NUL-terminated name; the entry is read before any other call.
    unsafe {
        let pw = libc::getpwnam(c"postgres".as_ptr());
        assert!(!pw.is_null(), "user postgres exists");
        ((*pw).pw_uid, (*pw).pw_gid)
    }
}

fn tmp_dir() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    if root() {
        // `postgres` must pass through the temp dir (0700) to reach its data dir.
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    tmp
}

async fn ready(rig: &Rig) {
    let settled = |st: &RuntimeStatus| matches!(row(st, "database").state, State::Ready | State::Failed);
    let st = rig.sup.wait_for(START, settled).await.unwrap_or_else(|st| st);
    if row(&st, "database").state != State::Ready {
        panic!(
            "postgres did not become ready\nstatus: {:#?}\nevents: {}\nlog: {:#?}",
            row(&st, "database"),
            rig.feed_dump(),
            rig.log_lines("database")
        );
    }
}

/// Every file under `dir` with its size and modification time, to see that nothing changed.
fn snapshot(dir: &Path) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let m = e.metadata().unwrap();
        if m.is_dir() {
            out.extend(snapshot(&e.path()));
        } else {
            out.push((e.path().display().to_string(), m.len(), m.modified().unwrap()));
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_pid_file_of_a_recycled_pid_is_removed_and_a_newer_directory_is_refused() {
    let rig = Rig::start_in(tmp_dir(), json!({ "sidecars": [database("{sidecar_data_dir}/pg")] }));
    ready(&rig).await;
    let pg = rig.tmp.path().join("data/database/pg");
    let tmp = rig.into_tmp().await;

    // The server crashed long ago and its pid went to another program since, of the same user
    // (PostgreSQL takes a pid it may not signal for another user's, hence not its own).
    let mut sleep = std::process::Command::new("sleep");
    sleep.arg("600");
    if root() {
        use std::os::unix::process::CommandExt;
        let (uid, gid) = postgres_ids();
        sleep.uid(uid).gid(gid);
    }
    let mut other = sleep.spawn().unwrap();
    let pid_file = pg.join("postmaster.pid");
    std::fs::write(&pid_file, format!("{}\n{}\n1700000000\n5432\n\n127.0.0.1\n", other.id(), pg.display())).unwrap();
    let rig = Rig::start_in(tmp, json!({ "sidecars": [database("{sidecar_data_dir}/pg")] }));
    ready(&rig).await;
    let removed = rig.events_of("database", EventKind::StalePidFileRemoved);
    assert_eq!(removed.len(), 1, "said once: {}", rig.feed_dump());
    let says = format!("pid {} is now `sleep`, not a PostgreSQL server", other.id());
    assert!(removed[0].message.contains(&says), "{:?}", removed[0].message);
    assert!(other.try_wait().unwrap().is_none(), "the program holding the pid lives on");
    other.kill().unwrap();
    let _ = other.wait();

    // A directory from a newer PostgreSQL (the app was downgraded) is never opened.
    rig.command(Verb::Stop, "database").await.unwrap();
    rig.wait_state("database", State::Stopped).await;
    std::fs::write(pg.join("PG_VERSION"), "99\n").unwrap();
    let before = snapshot(&pg);
    rig.command(Verb::Start, "database").await.unwrap();
    let failed = rig.wait_state("database", State::Failed).await;
    assert_eq!(failed.cause, Some(Cause::DataNewerThanServer), "{failed:?}");
    let error = failed.last_error.unwrap_or_default();
    assert!(error.contains("made by PostgreSQL 99, newer than this app's PostgreSQL"), "{error}");
    assert_eq!(snapshot(&pg), before, "nothing in the directory changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_another_runtimes_server_runs_on_is_refused_and_that_server_lives_on() {
    let shared = tmp_dir();
    let pg = shared.path().join("pg");
    std::fs::create_dir(&pg).unwrap();
    std::fs::set_permissions(&pg, std::fs::Permissions::from_mode(0o700)).unwrap();
    if root() {
        let status = std::process::Command::new("chown").arg("postgres:").arg(&pg).status().unwrap();
        assert!(status.success(), "chown postgres");
    }
    let pg_text = pg.display().to_string();
    let first = Rig::start_in(tmp_dir(), json!({ "sidecars": [database(&pg_text)] }));
    ready(&first).await;
    let server = first.row("database").pid.expect("its postmaster");

    let second = Rig::start_in(tmp_dir(), json!({ "sidecars": [database(&pg_text)] }));
    let failed = second.wait_state("database", State::Failed).await;
    assert_eq!(failed.cause, Some(Cause::DataDirInUse), "{failed:?}\n{}", second.feed_dump());
    let error = failed.last_error.unwrap_or_default();
    assert!(error.contains(&format!("(pid {server})")) && error.contains("left running"), "{error}");
    assert_eq!(first.row("database").state, State::Ready, "the other runtime's server is untouched");
    assert_eq!(first.row("database").pid, Some(server));
    assert!(sidecar_supervisor_core::testing::internals::platform::start_time(server).is_some());
}
