//! `"user"`: when the runtime runs as root (CI does), the sidecar runs as that user and owns its
//! data dir; a user that does not exist is a clear error. These need root and are ignored
//! otherwise (`cargo xtask test` includes them when run as root); that a normal user's runtime
//! ignores the field is a unit test of `platform::lookup_user`.

#![cfg(unix)]

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use common::{profile, Rig};
use serde_json::json;
use sidecar_supervisor_core::State;

fn uid_of(pid: u32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn nobody_uid() -> u32 {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let line = passwd.lines().find(|l| l.starts_with("nobody:")).expect("a `nobody` user");
    line.split(':').nth(2).unwrap().parse().unwrap()
}

/// A temp dir the dropped-privilege sidecar can traverse (tempdirs are 0700).
fn open_tmp() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    tmp
}

fn require_root() {
    assert!(
        sidecar_supervisor_core::testing::internals::platform::is_root(),
        "this test needs root: run it as root (sudo)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn sidecar_runs_as_its_user() {
    require_root();
    let rig = Rig::start_in(
        open_tmp(),
        profile(json!([{ "name": "low", "command": "sleep", "args": ["600"], "user": "nobody" }])),
    );
    let row = rig.wait_state("low", State::Ready).await;
    let uid = uid_of(row.pid.unwrap());
    let data_dir_owner = std::fs::metadata(rig.tmp.path().join("data/low")).unwrap().uid();
    assert_eq!(uid, nobody_uid(), "as root, the sidecar drops to `nobody`");
    assert_eq!(data_dir_owner, nobody_uid(), "and owns its data dir");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn unknown_user_is_a_clear_error_when_root() {
    require_root();
    let rig = Rig::start_in(
        open_tmp(),
        profile(json!([{ "name": "low", "command": "sleep", "args": ["600"], "user": "no-such-user-xyz" }])),
    );
    let row = rig.wait_state("low", State::Failed).await;
    let err = row.last_error.unwrap_or_default();
    assert!(err.contains("no-such-user-xyz") && err.contains("does not exist"), "{err}");
}

/// "Exec probes run like the sidecar": the prepare step and the probes drop to the user too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn prepare_step_and_exec_probes_run_as_the_user() {
    require_root();
    let rig = Rig::start_in(
        open_tmp(),
        profile(json!([{
            "name": "low", "command": "sleep", "args": ["600"], "user": "nobody",
            "prepare": { "command": "sh", "args": ["-c", "id -u > prepare_uid"] },
            "ready": { "exec": { "command": "sh", "args": ["-c", "id -u > {sidecar_data_dir}/probe_uid"] } },
            "live": { "exec": { "command": "sh", "args": ["-c", "id -u > {sidecar_data_dir}/live_uid"] },
                      "interval_ms": 20 }
        }])),
    );
    rig.wait_state("low", State::Ready).await;
    let data = rig.tmp.path().join("data/low");
    let uid_in = |file: &str| -> Option<u32> { std::fs::read_to_string(data.join(file)).ok()?.trim().parse().ok() };
    // The liveness probe starts once ready; its file appears at its first run.
    let live = sidecar_supervisor_core::testing::wait_in_dir(&data, "live_uid", common::T, || uid_in("live_uid"));
    let want = nobody_uid();
    assert_eq!(uid_in("prepare_uid"), Some(want), "prepare step");
    assert_eq!(uid_in("probe_uid"), Some(want), "readiness probe");
    assert_eq!(live, want, "liveness probe");
}

/// A sidecar that runs as another user gets no API key unless its profile asks for it: every
/// process of that user could read the key from its environment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn the_api_key_stays_with_the_runtimes_own_user_unless_asked_for() {
    require_root();
    // The build's test-sidecar may sit under a private home (CI's target dir is under /root):
    // `nobody` gets its own copy in the open temp dir.
    let tmp = open_tmp();
    let bin = tmp.path().join("test-sidecar");
    std::fs::copy(sidecar_supervisor_core::testing::test_sidecar_bin(), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let command = bin.to_str().unwrap().to_string();
    let echo = |name: &str, extra: serde_json::Value| {
        let mut s = json!({ "name": name, "command": command, "args": ["--echo-env", "SIDECAR_API_KEY"],
                            "ready": { "stdout": "ENV SIDECAR_API_KEY=" } });
        for (k, v) in extra.as_object().unwrap() {
            s[k] = v.clone();
        }
        s
    };
    let rig = Rig::start_in(
        tmp,
        profile(json!([
            echo("own", json!({})),
            echo("other", json!({ "user": "nobody" })),
            echo("other_opted_in", json!({ "user": "nobody", "api_key": true })),
        ])),
    );
    for n in ["own", "other", "other_opted_in"] {
        rig.wait_state(n, State::Ready).await;
    }
    let line = |n: &str| rig.log_lines(n).into_iter().find(|l| l.starts_with("ENV SIDECAR_API_KEY=")).unwrap();
    assert_eq!(line("other"), "ENV SIDECAR_API_KEY=<unset>");
    for n in ["own", "other_opted_in"] {
        let l = line(n);
        assert_ne!(l, "ENV SIDECAR_API_KEY=<unset>", "{n}");
        assert!(!l.contains(rig.sup.api_key()), "{n}: the log shows the key redacted, never itself: {l}");
    }
    rig.shutdown().await;
}
