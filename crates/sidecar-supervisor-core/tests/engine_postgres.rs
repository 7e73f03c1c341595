//! The system PostgreSQL as a sidecar, for real, run as any program is (no `postgres` block:
//! `engine_pg_data.rs` tests what that block adds): `postgres` is found through `search_path`
//! (`pg_config --bindir`, `/usr/lib/postgresql/*/bin`), `initdb` runs as the prepare step and
//! `pg_isready` as the readiness probe, both found next to `postgres`; as root everything runs
//! as user `postgres` (which refuses to run as root); SIGINT stops it cleanly and nothing of its
//! process group is left. Without PostgreSQL it fails saying how to install it.

#![cfg(target_os = "linux")]

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use common::Rig;
use serde_json::{json, Value};
use sidecar_supervisor_core::profile::SidecarSpec;
use sidecar_supervisor_core::testing::internals::search_path;
use sidecar_supervisor_core::testing::{row, wait_pid_gone};
use sidecar_supervisor_core::EventKind;
use sidecar_supervisor_core::State;
use sidecar_supervisor_core::Verb;

/// Generous: `initdb` takes seconds on a slow CI machine.
const START: Duration = Duration::from_secs(120);

fn database() -> Value {
    json!({ "name": "database", "role": "database", "command": "postgres",
      "search_path": [ {"command": "pg_config", "args": ["--bindir"]}, "/usr/lib/postgresql/*/bin" ],
      "install_hint": "PostgreSQL is not installed: run `sudo apt install postgresql` (Debian/Ubuntu) or set POSTGRES_BIN to the postgres executable",
      "args": ["-D", "{sidecar_data_dir}/pg", "-p", "{port}", "-h", "127.0.0.1", "-k", "{sidecar_data_dir}/pg"],
      "prepare": { "command": "initdb", "args": ["-D", "{sidecar_data_dir}/pg", "-U", "app", "-A", "trust"], "unless_exists": "{sidecar_data_dir}/pg/PG_VERSION" },
      "port": "auto", "user": "postgres", "stop_signal": "SIGINT",
      "ready": { "exec": { "command": "pg_isready", "args": ["-h", "127.0.0.1", "-p", "{port}"] } } })
}

/// Where the engine finds `postgres`: on PATH or through the profile's search path.
async fn find_postgres() -> Option<std::path::PathBuf> {
    let spec: SidecarSpec = serde_json::from_value(database()).unwrap();
    let found = search_path::evaluate(&spec.search_path, Path::new("/"), search_path::COMMAND_TIMEOUT).await;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).chain(found.dirs).map(|d| d.join("postgres")).find(|p| p.is_file())
}

/// Live (non-zombie) processes whose process group is `pgid`.
fn group_members(pgid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let Some(close) = stat.rfind(')') else { continue };
        let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        // Fields from 3 on: state, ppid, pgrp.
        if f.first() != Some(&"Z") && f.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid) {
            out.push(pid);
        }
    }
    out
}

fn uid_of(user: &str) -> u32 {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let line = passwd.lines().find(|l| l.starts_with(&format!("{user}:"))).expect("the user exists");
    line.split(':').nth(2).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_postgres_runs_as_a_sidecar_and_stops_cleanly() {
    // Some machines link PostgreSQL into /usr/local/bin; hide it, so that the search path is
    // what finds it, as on Debian/Ubuntu (it lives in /usr/lib/postgresql/<major>/bin, off
    // PATH). This file holds one test: nothing else reads the environment meanwhile.
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept: Vec<_> = std::env::split_paths(&path).filter(|d| !d.join("postgres").exists()).collect();
    std::env::set_var("PATH", std::env::join_paths(kept).unwrap());
    let Some(postgres) = find_postgres().await else {
        panic!(
            "PostgreSQL is not installed (not on PATH, no pg_config, no /usr/lib/postgresql/*/bin): \
             install it with `sudo apt-get install postgresql` (`cargo xtask test` does when run as root)"
        );
    };
    eprintln!("using {}", postgres.display());
    let root = unsafe { libc::geteuid() } == 0;
    let tmp = tempfile::tempdir().unwrap();
    if root {
        // `postgres` must pass through the temp dir (0700) to reach its data dir.
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    let rig = Rig::start_in(tmp, json!({ "sidecars": [database()] }));
    let st = match rig.sup.wait_for(START, |st| row(st, "database").state == State::Ready).await {
        Ok(st) => st,
        Err(st) => panic!(
            "postgres did not become ready\nstatus: {:#?}\nevents: {}\nlog: {:#?}",
            row(&st, "database"),
            rig.feed_dump(),
            rig.log_lines("database")
        ),
    };
    let db = row(&st, "database").clone();
    let pg = rig.tmp.path().join("data/database/pg");
    assert!(pg.join("PG_VERSION").is_file(), "initdb ran");
    if root {
        let postgres_uid = uid_of("postgres");
        assert_eq!(std::fs::metadata(&pg).unwrap().uid(), postgres_uid, "initdb ran as postgres");
        assert_eq!(std::fs::metadata(pg.parent().unwrap()).unwrap().uid(), postgres_uid, "its data dir is postgres'");
    }
    let bin = postgres.parent().unwrap().display().to_string();
    let prepared = rig.events_of("database", EventKind::Prepared);
    assert!(
        prepared.iter().any(|e| e.message.contains(&format!("{bin}/initdb"))),
        "initdb beside postgres: {prepared:?}"
    );
    assert!(db.last_probe.as_ref().is_some_and(|p| p.ok && p.detail.contains("pg_isready exited 0")), "{db:?}");

    let pgid = db.pid.expect("postmaster pid");
    let members = group_members(pgid);
    assert!(members.contains(&pgid), "the postmaster leads its group");
    rig.command(Verb::Stop, "database").await.unwrap();
    let stopped = rig.wait_state("database", State::Stopped).await;
    assert_eq!(stopped.pid, None);
    assert!(
        rig.log_lines("database").iter().any(|l| l.contains("database system is shut down")),
        "SIGINT stopped it cleanly: {:#?}",
        rig.log_lines("database")
    );
    for pid in members {
        assert!(wait_pid_gone(pid, common::T), "postgres process {pid} outlived the stop");
    }
    assert_eq!(group_members(pgid), Vec::<u32>::new(), "nothing of the group is left");
}
