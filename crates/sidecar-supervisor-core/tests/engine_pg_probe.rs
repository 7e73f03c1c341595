//! The PostgreSQL readiness probe (`"ready": {"postgres": "<role>"}`) against the real server:
//! the database is ready by it with no `pg_isready` anywhere, a role that does not exist still
//! finds the server up (as `pg_isready` says; no password is sent either way), and a port that is closed or speaks another
//! protocol is not ready. The "starting up" refusal (SQLSTATE 57P03) is a unit test of
//! `pg_probe::classify`: the window in which a real server gives it is too short to hit on
//! purpose.

#![cfg(target_os = "linux")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::Rig;
use serde_json::json;
use sidecar_supervisor_core::testing::internals::pg_probe;
use sidecar_supervisor_core::testing::row;
use sidecar_supervisor_core::State;
use sidecar_supervisor_core::Verb;

const START: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_is_ready_by_its_own_protocol_and_other_ports_are_not() {
    let root = unsafe { libc::geteuid() } == 0;
    let tmp = tempfile::tempdir().unwrap();
    if root {
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    let database = json!({ "name": "database", "command": "postgres",
      "search_path": [ {"command": "pg_config", "args": ["--bindir"]}, "/usr/lib/postgresql/*/bin" ],
      "args": ["-D", "{sidecar_data_dir}/pg", "-p", "{port}", "-h", "127.0.0.1", "-k", ""],
      "prepare": { "command": "initdb", "args": ["-D", "{sidecar_data_dir}/pg", "-U", "app", "--auth-local=trust", "--auth-host=scram-sha-256"], "unless_exists": "{sidecar_data_dir}/pg/PG_VERSION" },
      "port": "auto", "user": if root { json!("postgres") } else { json!(null) }, "stop_signal": "SIGINT",
      "ready": { "postgres": "app", "interval_ms": 500 } });
    let web = json!({ "name": "web", "command": "test-sidecar", "port": "auto",
      "ready": { "http": "/health/ready", "identity": false } });
    let rig = Rig::start_in(tmp, json!({ "sidecars": [database, web] }));
    let st = match rig
        .sup
        .wait_for(START, |st| row(st, "database").state == State::Ready && row(st, "web").state == State::Ready)
        .await
    {
        Ok(st) => st,
        Err(st) => panic!(
            "not ready\nstatus: {:#?}\nevents: {}\nlog: {:#?}",
            st.sidecars,
            rig.feed_dump(),
            rig.log_lines("database")
        ),
    };
    let db = row(&st, "database");
    let probe = db.last_probe.as_ref().expect("a probe ran");
    assert!(probe.ok && probe.detail.contains("accepts connections"), "{probe:?}");
    let port = db.port.expect("a port");

    let (ok, detail) = pg_probe::probe(port, "nobody_here").await;
    // Password logins answer every role with the authentication request (no role enumeration).
    assert!(ok, "an unknown role still finds the server up: {detail}");

    let web_port = row(&st, "web").port.expect("a port");
    let (ok, detail) = pg_probe::probe(web_port, "app").await;
    assert!(!ok && detail.contains("does not speak PostgreSQL"), "{detail}");

    rig.command(Verb::Stop, "database").await.unwrap();
    rig.wait_state("database", State::Stopped).await;
    let (ok, detail) = pg_probe::probe(port, "app").await;
    assert!(!ok, "a stopped server is not ready: {detail}");
}
