//! Recovery of the reference stack from `kill -9` of each kind of sidecar, with real
//! PostgreSQL. Each test prints how long the recovery took (the issue note quotes them).
//! The stack runs on Linux here (its PostgreSQL sidecar is the system one).
#![cfg(target_os = "linux")]

mod common;
mod stack;

use std::time::Instant;

use common::*;
use stack::*;

#[test]
fn kill_9_of_postgres_backend_goes_not_ready_then_recovers_and_no_committed_job_is_lost() {
    let s = Stack::start(|_| {});
    let ids: Vec<i64> = (0..20).map(|i| s.create_job(&format!("committed before the kill {i}"), 0)).collect();
    let backend_pid = s.pid("backend");
    let db_pid = s.pid("database");

    let (downs, ups) = (s.log_count("backend", "not ready"), s.log_count("backend", "database reachable: ready"));

    let t = Instant::now();
    kill9(db_pid);
    // The backend notices at once (its watch connection closes) and says so.
    s.wait_log("backend", "not ready", downs + 1);
    let noticed = t.elapsed();
    let new_db = s.wait_respawned_ready("database", db_pid);
    let db_back = t.elapsed();
    s.wait_log("backend", "database reachable: ready", ups + 1);
    let backend_back = t.elapsed();
    let (code, ready) = s.api.send(s.api.client().get(s.api.url("/health/ready")));
    assert_eq!(code, 200, "{ready}");
    println!(
        "postgres kill -9: backend not ready after {} ms, database ready again (pid {new_db}) after {} ms, backend ready after {} ms",
        noticed.as_millis(),
        db_back.as_millis(),
        backend_back.as_millis()
    );
    assert_eq!(s.pid("backend"), backend_pid, "the backend recovered by itself, without a restart");
    let st = s.wait_all_ready();
    assert_eq!(row(&st, "database")["restarts_in_window"], 1, "{st:#}");

    for id in &ids {
        let job = s.wait_job(*id, "done", |j| j["status"] == "done");
        assert!(job["text"].as_str().unwrap().starts_with("committed before the kill"));
    }
    let after = s.create_job("after the database came back", 0);
    s.wait_job(after, "done", |j| j["status"] == "done");
    let events = events_json(&s.data(), None);
    assert!(
        kinds(&events, "exited").iter().any(|e| e["sidecar"] == "database" && e["signal"] == "SIGKILL"),
        "the feed records the kill: {events:#?}"
    );
}

#[test]
fn kill_9_of_a_worker_holding_a_lease_the_other_replica_finishes_the_job() {
    // Workers are not restarted here, so the job can only be finished by the other replica.
    let s = Stack::start(|p| {
        for sc in p["sidecars"].as_array_mut().unwrap() {
            match sc["name"].as_str().unwrap() {
                "backend" => sc["env"]["JOB_LEASE_MS"] = "1500".into(),
                "worker" => sc["auto_restart"] = false.into(),
                _ => {}
            }
        }
    });
    let id = s.create_job("a job whose first worker dies", 4000);
    let running = s.wait_job(id, "leased", |j| j["status"] == "running");
    let holder = running["worker"].as_str().unwrap().to_string();
    let name = holder.split(' ').next().unwrap().to_string();
    let pid = s.pid(&name);
    assert!(holder.contains(&format!("pid {pid}")), "{holder} is {name} pid {pid}");
    let other = if name == "worker#1" { "worker#2" } else { "worker#1" };

    let t = Instant::now();
    kill9(pid);
    let retaken = s.wait_job(id, "leased again", |j| j["attempts"] == 2);
    let taken_over = t.elapsed();
    let done = s.wait_job(id, "done", |j| j["status"] == "done");
    println!(
        "worker kill -9: job leased again by {} after {} ms (lease 1500 ms), done after {} ms (4000 ms of work)",
        retaken["worker"],
        taken_over.as_millis(),
        t.elapsed().as_millis()
    );
    assert!(done["worker"].as_str().unwrap().starts_with(other), "{done}");
    assert_eq!(done["sha256"], jobs_api::compute("a job whose first worker dies").sha256.as_str());
    let st = s.status();
    assert_ne!(row(&st, &name)["state"], "ready", "{st:#}");
}

#[test]
fn kill_9_of_the_backend_it_is_restarted_and_the_workers_reconnect() {
    let mut s = Stack::start(|_| {});
    let first = s.create_job("before the backend died", 0);
    s.wait_job(first, "done", |j| j["status"] == "done");
    let backend_pid = s.pid("backend");
    let old_port = s.api.port;

    let t = Instant::now();
    kill9(backend_pid);
    let new_pid = s.wait_respawned_ready("backend", backend_pid);
    let backend_back = t.elapsed();
    let st = s.wait_all_ready();
    let all_back = t.elapsed();
    s.api.port = row(&st, "backend")["port"].as_u64().unwrap() as u16;
    let id = s.create_job("after the backend came back", 0);
    let job = s.wait_job(id, "done", |j| j["status"] == "done");
    println!(
        "backend kill -9: backend ready again (pid {new_pid}, port {}) after {} ms, all sidecars ready after {} ms, a new job done after {} ms",
        s.api.port,
        backend_back.as_millis(),
        all_back.as_millis(),
        t.elapsed().as_millis()
    );
    assert!(job["worker"].as_str().unwrap().starts_with("worker#"));
    if s.api.port != old_port {
        // The backend announced a new port: the workers, started with the old one in
        // BACKEND_URL, were restarted with the new one.
        let events = events_json(&s.data(), None);
        for w in ["worker#1", "worker#2"] {
            assert!(
                kinds(&events, "restarting").iter().any(
                    |e| e["sidecar"] == w && e["message"].as_str().unwrap().contains("`backend` came back on port")
                ),
                "{w} was not restarted for the backend's new port: {events:#?}"
            );
        }
    }
    let (code, old) = s.api.get(&format!("/api/jobs/{first}"));
    assert_eq!((code, &old["status"]), (200, &serde_json::Value::from("done")));
}

#[test]
fn a_worker_stopped_gracefully_releases_its_job_at_once() {
    // A lease far longer than the test's patience: only a release can free the job in time.
    let s = Stack::start(|p| p["sidecars"][1]["env"]["JOB_LEASE_MS"] = "600000".into());
    let id = s.create_job("a job handed back on SIGTERM", 3000);
    let running = s.wait_job(id, "leased", |j| j["status"] == "running");
    let name = running["worker"].as_str().unwrap().split(' ').next().unwrap().to_string();
    let pid = s.pid(&name);

    let t = Instant::now();
    // SAFETY: kill(2) on the worker the runtime reported.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGTERM) }, 0);
    s.wait_log(&name, &format!("released job {id} for another worker"), 1);
    let again = s.wait_job(id, "leased again", |j| j["attempts"] == 2);
    println!(
        "worker SIGTERM: job {id} released and leased again by {} after {} ms",
        again["worker"],
        t.elapsed().as_millis()
    );
    let done = s.wait_job(id, "done", |j| j["status"] == "done");
    assert!(!done["worker"].as_str().unwrap().contains(&format!("pid {pid}")), "{done}");
}

/// An administrator drops the app's database under the running backend (its sessions are
/// terminated mid-use): it answers 503 meanwhile, never 500, then creates and migrates the
/// database again by itself and is ready.
#[test]
fn a_database_dropped_under_the_backend_is_created_again_and_nothing_answers_500() {
    let s = Stack::start(|_| {});
    let before = s.create_job("in the database that will be dropped", 0);
    s.wait_job(before, "done", |j| j["status"] == "done");
    let ups = s.log_count("backend", "database reachable: ready");
    let mut cfg: tokio_postgres::Config = s.database_url().parse().unwrap();
    cfg.dbname("postgres");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let (c, conn) = cfg
            .connect(tokio_postgres::NoTls)
            .await
            .expect("the test reaches the database with the backend's URL (this launch's password)");
        tokio::spawn(conn);
        c.simple_query("DROP DATABASE app WITH (FORCE)").await.expect("drop");
    });
    let deadline = Instant::now() + TIMEOUT;
    let mut answers = std::collections::BTreeMap::new();
    while s.log_count("backend", "database reachable: ready") <= ups {
        assert!(Instant::now() < deadline, "the backend never came back: {answers:?}");
        let (code, body) = s.api.get("/api/jobs");
        assert!(code == 200 || code == 503, "{code} {body}"); // the point of the loop: no 500
        *answers.entry(code).or_insert(0) += 1;
    }
    println!("while the database was recreated the API answered {answers:?}");
    let (code, _) = s.api.get(&format!("/api/jobs/{before}"));
    assert_eq!(code, 404, "a new, empty database");
    let after = s.create_job("in the new database", 0);
    s.wait_job(after, "done", |j| j["status"] == "done");
    assert_eq!(row(&s.status(), "backend")["restarts_in_window"], 0, "recovered without a restart");
}
