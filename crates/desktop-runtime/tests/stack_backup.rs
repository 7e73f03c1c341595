//! `desktop-runtime ctl backup` and `ctl restore` on the reference stack, for real: the
//! default profile's PostgreSQL (password logins), its backend and workers. Jobs made before
//! the backup are there after the restore, jobs made after it are gone, the backend and the
//! workers were stopped for it and are ready again, and the password never shows. A schema
//! migrated by a newer backend is refused by this one (not ready, saying why, never migrated
//! down), and restoring the backup mends it.
#![cfg(target_os = "linux")]

mod common;
mod stack;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::*;
use serde_json::Value;
use stack::*;

fn ctl(data: &Path, args: &[&str]) -> Output {
    let out =
        Command::new(BIN).arg("ctl").arg("--data-dir").arg(data).args(args).stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "ctl {args:?}: {}", text(&out.stderr));
    out
}

/// The ids of every job, asked of the backend where it listens now (a restart moves it).
fn job_ids(s: &Stack) -> Vec<i64> {
    let port = row(&s.status(), "backend")["port"].as_u64().expect("backend port") as u16;
    let (code, list) = Api::new(port, s.api.key.clone()).get("/api/jobs?limit=100");
    assert_eq!(code, 200, "{list}");
    let mut ids: Vec<i64> = list["jobs"].as_array().unwrap().iter().map(|j| j["id"].as_i64().unwrap()).collect();
    ids.sort();
    ids
}

#[test]
fn a_backup_of_the_stack_restores_its_jobs_and_the_stack_comes_back() {
    let s = Stack::start(|_| {});
    let before: Vec<i64> = (0..3).map(|i| s.create_job(&format!("job {i} before the backup"), 0)).collect();
    for id in &before {
        s.wait_job(*id, "done", |j| j["status"] == "done");
    }
    let out = ctl(&s.data(), &["backup"]);
    let made: Value = serde_json::from_slice(&out.stdout).expect("the backup is described as JSON");
    let path = PathBuf::from(made["path"].as_str().unwrap());
    assert!(path.starts_with(s.data().join("backups")) && path.is_file(), "{made}");
    assert_eq!(made["manifest"]["database"], "app", "{made}");
    let after = s.create_job("made after the backup", 0);
    assert_eq!(job_ids(&s), [before.clone(), vec![after]].concat());

    let out = ctl(&s.data(), &["restore", path.to_str().unwrap()]);
    let done: Value = serde_json::from_slice(&out.stdout).expect("the restore is described as JSON");
    let restarted: Vec<&str> = done["restarted"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(restarted, ["backend", "worker#1", "worker#2"], "{done}");
    let st = s.wait_all_ready();
    assert_eq!(job_ids(&s), before, "the jobs of the backup, and only those");
    let pid = row(&st, "database")["pid"].clone();
    assert!(pid.is_u64(), "the database kept running: {st:#}");

    // The launch's database password is in no output, file or event.
    let url = s.database_url();
    let password = url.split(':').nth(2).and_then(|p| p.split('@').next()).unwrap().to_string();
    assert!(password.len() >= 16, "{url}");
    let events = std::fs::read_to_string(s.data().join("runtime/runtime-events.json")).unwrap();
    assert!(
        !events.contains(&password) && !made.to_string().contains(&password) && !done.to_string().contains(&password)
    );

    // A newer backend migrated the schema further: this one refuses it, saying why.
    let psql =
        Command::new("psql").arg(&url).args(["-AtX", "-c", "INSERT INTO schema_migrations VALUES (999)"]).output();
    assert!(psql.as_ref().is_ok_and(|o| o.status.success()), "{psql:?}");
    ctl(&s.data(), &["restart", "backend"]);
    let st = wait_status(&s.data(), "the backend refusing the newer schema", |st| {
        row(st, "backend")["last_probe"]["detail"].as_str().is_some_and(|d| d.contains("newer than this backend knows"))
    });
    let detail = row(&st, "backend")["last_probe"]["detail"].as_str().unwrap().to_string();
    assert!(detail.contains("version 999") && detail.contains("not migrated down"), "{detail}");
    assert_ne!(row(&st, "backend")["state"], "ready");
    ctl(&s.data(), &["restore", path.to_str().unwrap()]);
    s.wait_all_ready();
    assert_eq!(job_ids(&s), before, "the backup mends it");
}
