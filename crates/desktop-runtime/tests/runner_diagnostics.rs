//! What the runner tells a person diagnosing it: `status` samples each sidecar's CPU and memory
//! over its whole process tree (only when asked: status.json never carries a sample), shows the
//! warnings (no identity proof, a taken fixed port), and its own WARN lines reach a pipe without
//! terminal colour codes.
#![cfg(unix)]

mod common;

use common::*;
use serde_json::Value;

fn row<'a>(st: &'a Value, name: &str) -> &'a Value {
    sidecars(st).iter().find(|r| r["name"] == name).unwrap()
}

#[test]
fn status_samples_the_whole_tree_and_shows_warnings_only_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let profile = r#"{ "sidecars": [
      { "name": "api", "command": "test-sidecar", "args": ["--fork-grandchild", "--identity", "none"],
        "port": "auto", "ready": { "http": "/health/ready" } }
    ] }"#;
    let mut r = Runner::start(&write_profile(tmp.path(), profile), &data);
    r.wait_ready(&["api"]);
    wait_all_ready(&data);
    let file = read_json(&status_path(&data)).unwrap();
    assert!(row(&file, "api")["resources"].is_null(), "nobody asked: no sample in status.json: {file}");

    let st = status_cmd_json(&data);
    let res = &row(&st, "api")["resources"];
    assert!(res["rss_bytes"].as_u64().unwrap() > 0, "{res}");
    assert!(res["processes"].as_u64().unwrap() >= 2, "the grandchild counts too: {res}");
    assert!(res["cpu_percent"].as_f64().unwrap() >= 0.0, "{res}");
    let warnings = st["warnings"].as_array().unwrap();
    assert!(warnings.iter().any(|w| w["kind"] == "no_identity_proof" && w["sidecar"] == "api"), "{warnings:?}");

    let out = cli(&["status", "--data-dir", data.to_str().unwrap()]);
    let table = text(&out.stdout);
    assert!(table.contains("CPU%") && table.contains("MEMORY") && table.contains("PROCS"), "{table}");
    assert!(table.contains("BUILD"), "{table}");
    assert!(table.contains("warning: `api` is not proven"), "{table}");
    r.stop_cleanly();
}

#[test]
fn a_taken_fixed_port_is_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let profile = format!(
        r#"{{ "sidecars": [ {{ "name": "api", "command": "test-sidecar", "port": {port}, "ready": {{ "http": "/health/ready" }} }} ] }}"#
    );
    let mut r = Runner::start(&write_profile(tmp.path(), &profile), &data);
    r.wait_state("api", "failed");
    wait_status(&data, "api failed in status.json", |st| all_in_state(st, "failed"));
    let st = status_cmd_json(&data);
    let w = st["warnings"].as_array().unwrap();
    assert!(
        w.iter().any(|w| w["kind"] == "fixed_port_taken" && w["message"].as_str().unwrap().contains(&port.to_string())),
        "{w:?}"
    );
    r.stop_cleanly();
}

#[test]
fn warn_lines_reach_a_pipe_without_colour_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // The sidecar's log file cannot be opened (a directory is in the way): the runner warns.
    std::fs::create_dir_all(data.join("logs/api.log")).unwrap();
    let profile = r#"{ "sidecars": [ { "name": "api", "command": "test-sidecar" } ] }"#;
    let mut r = Runner::start(&write_profile(tmp.path(), profile), &data);
    r.wait_ready(&["api"]);
    r.stop_cleanly();
    let err = r.stderr();
    assert!(err.contains("WARN") && err.contains("sidecar log file unavailable"), "{err}");
    assert!(!err.contains('\u{1b}'), "no ANSI escape in piped output: {err:?}");
}
