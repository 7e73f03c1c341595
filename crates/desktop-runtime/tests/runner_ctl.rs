//! `desktop-runtime ctl` against a running runner, from another process, as pm2 or
//! process-compose are driven: every verb, `request` printing the JSON-RPC result, the same
//! errors as the plugin's commands, and another user refused (root only: it runs `ctl` as
//! `nobody`).
#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::*;
use serde_json::{json, Value};

const PROFILE: &str = r#"{
  "sidecars": [
    { "name": "api", "command": "test-sidecar", "port": "auto", "ready": { "http": "/health/ready" } },
    { "name": "exec", "command": "test-sidecar", "stdio": "jsonrpc" }
  ]
}"#;

fn ctl_with(bin: &Path, data: &Path, args: &[&str]) -> Output {
    Command::new(bin).arg("ctl").arg("--data-dir").arg(data).args(args).stdin(Stdio::null()).output().unwrap()
}

fn ctl(data: &Path, args: &[&str]) -> Output {
    ctl_with(Path::new(BIN), data, args)
}

fn row(data: &Path, name: &str) -> Value {
    sidecars(&status_cmd_json(data)).iter().find(|r| r["name"] == name).cloned().unwrap()
}

#[test]
fn every_verb_and_request_work_from_another_shell_with_the_plugins_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut r = Runner::start(&write_profile(tmp.path(), PROFILE), &data);
    r.wait_ready(&["api", "exec"]);
    wait_all_ready(&data);
    let sock = data.join("runtime/control.sock");
    assert_eq!(std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777, 0o600, "only our user");

    let pid: Value = wait_all_ready(&data).1["api"].into();
    let out = ctl(&data, &["pause", "api"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    r.wait_state("api", "paused");
    assert_eq!(ctl(&data, &["resume", "api"]).status.code(), Some(0));
    r.wait_state("api", "ready");
    assert_eq!(row(&data, "api")["pid"], pid);
    assert_eq!(ctl(&data, &["restart", "api"]).status.code(), Some(0));
    wait_status(&data, "api ready with a new pid", |st| {
        sidecars(st).iter().any(|s| s["name"] == "api" && s["state"] == "ready" && s["pid"] != pid)
    });
    assert_eq!(ctl(&data, &["stop", "api"]).status.code(), Some(0));
    r.wait_state("api", "stopped");
    let out = ctl(&data, &["pause", "api"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim(),
        "desktop-runtime ctl: cannot pause `api`: it is stopped (only a running sidecar can be paused)"
    );
    assert_eq!(ctl(&data, &["start", "api"]).status.code(), Some(0));
    r.wait_state("api", "ready");

    let out = ctl(&data, &["request", "exec", "echo", r#"{"hello": ["world", 1]}"#]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, json!({ "hello": ["world", 1] }));
    let out = ctl(&data, &["request", "exec", "fail"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("`exec` answered `fail` with error -32000: asked to fail"),
        "{}",
        text(&out.stderr)
    );
    let out = ctl(&data, &["request", "exec", "sleep", r#"{"ms": 3000}"#, "--timeout-ms", "100"]);
    assert!(text(&out.stderr).contains("did not answer `sleep` within 100 ms"), "{}", text(&out.stderr));
    let out = ctl(&data, &["request", "exec", "echo", "{not json"]);
    assert_eq!(out.status.code(), Some(2), "bad usage");
    assert!(text(&out.stderr).contains("PARAMS is not JSON"));
    let out = ctl(&data, &["restart", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("unknown sidecar `nope`; known: api, exec"), "{}", text(&out.stderr));

    r.stop_cleanly();
    assert!(!sock.exists(), "the socket goes with the runner");
    let out = ctl(&data, &["restart", "api"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no runtime is running on data dir"), "{}", text(&out.stderr));
}

#[test]
#[ignore = "needs root"]
fn another_user_is_refused() {
    use std::os::unix::process::CommandExt;
    assert!(
        sidecar_supervisor_core::testing::internals::platform::is_root(),
        "this test needs root (it runs ctl as `nobody`)"
    );
    let tmp = tempfile::tempdir().unwrap();
    // `nobody` can run its own copy of the runner binary from here.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = tmp.path().join("desktop-runtime");
    std::fs::copy(BIN, &bin).unwrap();
    let data = tmp.path().join("data");
    let mut r = Runner::start(&write_profile(tmp.path(), PROFILE), &data);
    r.wait_ready(&["api", "exec"]);
    let pid = wait_all_ready(&data).1["api"].into();
    let as_nobody = |args: &[&str]| {
        Command::new(&bin)
            .arg("ctl")
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .uid(65534)
            .gid(65534)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };

    // The socket file's mode keeps it out...
    let out = as_nobody(&["restart", "api"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("refused"), "{}", text(&out.stderr));
    // ...and were the file opened up, the runtime itself checks who is calling.
    for dir in [data.clone(), data.join("runtime")] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let sock = data.join("runtime/control.sock");
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = as_nobody(&["stop", "api"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("refused: uid 65534 is not the runtime's user (uid 0)"), "{err}");
    let out = as_nobody(&["request", "exec", "echo", "1"]);
    assert!(text(&out.stderr).contains("refused"), "{}", text(&out.stderr));

    let api = row(&data, "api");
    assert_eq!((&api["state"], &api["pid"]), (&json!("ready"), &pid), "nothing was done for the other user");
    assert_eq!(ctl(&data, &["pause", "api"]).status.code(), Some(0), "while our own user still can");
    r.stop_cleanly();
}
