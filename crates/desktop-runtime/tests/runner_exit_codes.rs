//! Exit codes of the runner (README, "Headless runner"): 0 clean stop, 1 runtime failure, 2 bad usage or bad
//! profile; and a second runner on a busy data dir is refused without disturbing the first.

#[cfg(target_os = "linux")]
mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use sidecar_supervisor_core::DataDirLayout;

const BIN: &str = env!("CARGO_BIN_EXE_desktop-runtime");

const BAD_PROFILE: &str = r#"{
  "sidecars": [
    { "name": "api", "command": "test-sidecar", "replicas": "two" }
  ]
}"#;

const GOOD_PROFILE: &str = r#"{ "sidecars": [ { "name": "api", "command": "test-sidecar" } ] }"#;

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).stdin(Stdio::null()).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write(dir: &Path, name: &str, json: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, json).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn run_with_bad_profile_exits_2_naming_file_and_path() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = write(tmp.path(), "bad.json", BAD_PROFILE);
    let data = tmp.path().join("data");
    let out = run(&["run", "--runtime-profile", &bad, "--data-dir", data.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains(&bad), "names the file: {err}");
    assert!(err.contains("$.sidecars[0].replicas"), "names the JSON path: {err}");
    assert!(err.contains("fix:"), "says how to fix it: {err}");
    assert!(!DataDirLayout::new(&data).runtime_dir().exists(), "a bad profile starts nothing");
}

#[test]
fn run_with_missing_profile_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.json");
    let out = run(&["run", "--runtime-profile", missing.to_str().unwrap(), "--data-dir", tmp.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("nope.json"), "{}", text(&out.stderr));
}

#[test]
fn run_with_bogus_mode_env_exits_2_naming_the_variable() {
    let tmp = tempfile::tempdir().unwrap();
    let good = write(tmp.path(), "good.json", GOOD_PROFILE);
    let out = Command::new(BIN)
        .args(["run", "--runtime-profile", &good, "--data-dir", tmp.path().join("data").to_str().unwrap()])
        .env("RUNTIME_MODE", "bogus")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("RUNTIME_MODE"), "{}", text(&out.stderr));
}

#[test]
fn validate_exits_2_on_bad_and_0_on_good() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = write(tmp.path(), "bad.json", BAD_PROFILE);
    let out = run(&["validate", &bad]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&bad) && err.contains("$.sidecars[0].replicas") && err.contains("fix:"), "{err}");

    let good = write(tmp.path(), "good.json", GOOD_PROFILE);
    let out = run(&["validate", &good]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("ok"), "{}", text(&out.stdout));
}

#[test]
fn unknown_flag_or_subcommand_exits_2() {
    for args in [&["run", "--no-such-flag"][..], &["status", "--frobnicate"], &["explode"], &[]] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(!out.stderr.is_empty(), "{args:?} says why");
    }
    let out = run(&["run", "--runtime-mode", "sideways"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("local_fullstack"), "{}", text(&out.stderr));
}

#[test]
fn status_of_an_unused_data_dir_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(&["status", "--data-dir", tmp.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("status.json"), "{}", text(&out.stderr));
}

#[cfg(target_os = "linux")]
#[test]
fn second_run_on_the_same_data_dir_exits_1_and_leaves_the_first_alone() {
    use common::*;
    use sidecar_supervisor_core::testing::pid_alive;

    let tmp = tempfile::tempdir().unwrap();
    let profile = write_profile(tmp.path(), TWO_SIDECARS);
    let data = tmp.path().join("data");
    let mut first = Runner::start(&profile, &data);
    let id = first.wait_started();
    first.wait_ready(&["database", "backend"]);
    let (_, before) = wait_all_ready(&data);
    let first_pid = first.pid();
    let rec_before = wait_runtime_file(&data, "instance.json", "the first runner's record", |v| {
        v["pid"] == first_pid && v["children"].as_array().is_some_and(|c| c.len() == before.len())
    });

    let bundled = bundled_dir();
    let out = cli(&[
        "run",
        "--runtime-profile",
        profile.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--bundled-dir",
        bundled.to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}\nstdout: {}", text(&out.stdout));
    assert!(err.contains("already running"), "{err}");
    assert!(err.contains(&first.pid().to_string()), "names the running instance's pid: {err}");

    // The first runner is undisturbed: same instance, same pids, all alive and ready.
    for (name, pid) in &before {
        assert!(pid_alive(*pid), "{name} pid {pid} was killed by the refused runner");
    }
    let st = read_json(&status_path(&data)).unwrap();
    assert_eq!(st["instance_id"], id.as_str(), "{st:#}");
    assert_eq!(pids(&st), before);
    assert!(all_in_state(&st, "ready"), "{st:#}");
    let rec = read_json(&DataDirLayout::new(&data).record_file()).unwrap();
    assert_eq!(rec, rec_before, "the instance record was overwritten");
    assert_eq!(status_cmd_json(&data)["running"], true);
    first.stop_cleanly();
    assert_eq!(kinds(&events_json(&data, None), "runtime_started").len(), 1);
}
