//! A sidecar that drops to its `user` must be able to reach its data dir (and its cwd and
//! program): when a directory
//! above it does not let the user pass (temp dirs and root's home are 0700), the sidecar fails
//! before its prepare step with an error naming the directory, its mode, the user and the
//! fix. The data dir the runtime creates itself is 0711; directories it did not create are
//! never changed. These need root (CI runs as root; `cargo xtask test` includes them when run as
//! root); otherwise `user` is ignored.

#![cfg(unix)]

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use common::{profile, Rig};
use serde_json::{json, Value};
use sidecar_supervisor_core::EventKind;
use sidecar_supervisor_core::State;

fn require_root() {
    assert!(
        sidecar_supervisor_core::testing::internals::platform::is_root(),
        "this test needs root: run it as root (sudo)"
    );
}

fn tmp_with_mode(mode: u32) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode)).unwrap();
    tmp
}

/// A 0700 directory `name` in `tmp`: `nobody` cannot pass it.
fn private_dir_in(tmp: &tempfile::TempDir, name: &str) -> std::path::PathBuf {
    let dir = tmp.path().join(name);
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().mode() & 0o7777
}

/// `nobody` runs `sleep`, after a prepare step that leaves a marker.
fn low(extra: Value) -> Value {
    let mut s = json!({
        "name": "low", "command": "sleep", "args": ["600"], "user": "nobody",
        "prepare": { "command": "sh", "args": ["-c", "touch prepared"] }
    });
    s.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    profile(json!([s]))
}

async fn failed_error(rig: &Rig) -> String {
    let row = rig.wait_state("low", State::Failed).await;
    assert!(rig.events_of("low", EventKind::Prepared).is_empty(), "no prepare step ran: {}", rig.feed_dump());
    assert!(rig.events_of("low", EventKind::Spawned).is_empty(), "{}", rig.feed_dump());
    assert_eq!(row.budget.remaining, row.budget.max, "no restart charged");
    row.last_error.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn data_dir_below_a_private_dir_fails_naming_it_and_the_fix() {
    require_root();
    let tmp = tmp_with_mode(0o700);
    let private = tmp.path().to_path_buf();
    let rig = Rig::start_in(tmp, low(json!({})));
    let err = failed_error(&rig).await;
    for part in [
        "user `nobody`".to_string(),
        format!("{} has mode 0700", private.display()),
        "--data-dir /var/lib/desktop-runtime-test".to_string(),
        format!("`chmod o+x {}`", private.display()),
    ] {
        assert!(err.contains(&part), "{part:?} missing in: {err}");
    }
    assert_eq!(mode(&private), 0o700, "a directory the runtime did not create is left alone");
    assert_eq!(mode(&private.join("data")), 0o711, "the data dir the runtime created is traversable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn traversable_parent_and_a_created_data_dir_work() {
    require_root();
    let rig = Rig::start_in(tmp_with_mode(0o711), low(json!({})));
    rig.wait_state("low", State::Ready).await;
    let data = rig.tmp.path().join("data");
    assert_eq!(mode(&data), 0o711, "created by the runtime: traversable, not listable");
    assert!(data.join("low/prepared").is_file(), "the prepare step ran as `nobody` in its data dir");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn existing_private_data_dir_is_named_and_never_chmodded() {
    require_root();
    let tmp = tmp_with_mode(0o711);
    let data = private_dir_in(&tmp, "data");
    let rig = Rig::start_in(tmp, low(json!({})));
    let err = failed_error(&rig).await;
    assert!(err.contains(&format!("{} has mode 0700", data.display())), "{err}");
    assert_eq!(mode(&data), 0o700, "the runtime did not create it: unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn private_cwd_is_named() {
    require_root();
    let tmp = tmp_with_mode(0o711);
    let cwd = private_dir_in(&tmp, "private");
    let rig = Rig::start_in(tmp, low(json!({ "cwd": cwd.display().to_string() })));
    let row = rig.wait_state("low", State::Failed).await;
    let err = row.last_error.unwrap_or_default();
    assert!(err.contains("cannot reach the cwd") && err.contains(&format!("{} has mode 0700", cwd.display())), "{err}");
}

/// A program the user cannot reach (a build under root's home) fails naming the directory in
/// the way, instead of exec's bare "Permission denied".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn program_below_a_private_dir_is_named() {
    require_root();
    let tmp = tmp_with_mode(0o711);
    let private = private_dir_in(&tmp, "private");
    let program = private.join("test-sidecar");
    std::fs::copy(sidecar_supervisor_core::testing::test_sidecar_bin(), &program).unwrap();
    let rig = Rig::start_in(
        tmp,
        profile(json!([{ "name": "low", "command": program.display().to_string(), "user": "nobody" }])),
    );
    let row = rig.wait_state("low", State::Failed).await;
    let err = row.last_error.unwrap_or_default();
    for part in [
        format!("cannot reach the program {}", program.display()),
        format!("{} has mode 0700", private.display()),
        "install the program where the user can reach it".to_string(),
    ] {
        assert!(err.contains(&part), "{part:?} missing in: {err}");
    }
    assert!(rig.events_of("low", EventKind::Spawned).is_empty(), "{}", rig.feed_dump());
}

/// Status, feed, logs and each sidecar's own directory may name ports, errors and paths: only
/// the runtime's user can read them (the data dir itself only lets others pass, for `user`
/// sidecars).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let rig = common::Rig::start(common::profile(serde_json::json!([
        { "name": "svc", "command": "test-sidecar", "args": ["--stdout-lines", "2"] },
    ])));
    rig.wait_state("svc", sidecar_supervisor_core::State::Ready).await;
    let data = rig.sup.status().data_dir;
    let log = rig.sup.log_path("svc").expect("a log file"); // flushes
    rig.shutdown().await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let data = std::path::Path::new(&data);
    assert_eq!(mode(data), 0o711, "{}", data.display());
    for dir in ["runtime", "logs", "svc"] {
        assert_eq!(mode(&data.join(dir)), 0o700, "{dir}");
    }
    for file in [data.join("runtime/status.json"), data.join("runtime/runtime-events.json"), log] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}
