//! Backups and restores against the real server: a backup of 100,000 rows taken while the
//! database runs, the data changed, the backup restored — the row count and a checksum of every
//! row equal to what was backed up, the sidecar that uses the database stopped for it and
//! started again; a damaged backup and one from a newer PostgreSQL are refused before anything
//! is touched. Prints the figures (size, time) for the docs.

#![cfg(target_os = "linux")]

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::Rig;
use serde_json::json;
use sidecar_supervisor_core::testing::row;
use sidecar_supervisor_core::{BackupError, ErrorKind, ErrorPayload, EventKind, State};

const START: Duration = Duration::from_secs(120);
const ROWS: u32 = 100_000;

fn root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// The PostgreSQL programs' directory, as the sidecar finds them.
fn bindir() -> PathBuf {
    let out = std::process::Command::new("pg_config").arg("--bindir").output().expect("pg_config");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Runs `sql` with `psql` as role `app` on `db`; returns its unaligned output.
fn psql(port: u16, db: &str, sql: &str) -> String {
    let out = std::process::Command::new(bindir().join("psql"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "app",
            "-d",
            db,
            "-AtX",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .output()
        .expect("psql runs");
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The row count and an MD5 over every row, in order.
fn fingerprint(port: u16) -> String {
    psql(port, "app", "SELECT count(*) || ' ' || md5(string_agg(id || ':' || body, ',' ORDER BY id)) FROM jobs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_to_the_same_rows_and_bad_backups_are_refused_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    if root() {
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    let database = json!({ "name": "database", "command": "postgres",
      "search_path": [ {"command": "pg_config", "args": ["--bindir"]}, "/usr/lib/postgresql/*/bin" ],
      "args": ["-D", "{sidecar_data_dir}/pg", "-p", "{port}", "-h", "127.0.0.1", "-k", ""],
      "prepare": { "command": "initdb", "args": ["-D", "{sidecar_data_dir}/pg", "-U", "app", "--auth-local=trust", "--auth-host=trust"],
                   "unless_exists": "{sidecar_data_dir}/pg/PG_VERSION" },
      "postgres": { "data_dir": "{sidecar_data_dir}/pg", "role": "app", "database": "app" },
      "port": "auto", "user": if root() { json!("postgres") } else { json!(null) }, "stop_signal": "SIGINT",
      "ready": { "postgres": "app", "interval_ms": 500 } });
    let api = json!({ "name": "api", "command": "test-sidecar", "port": "auto", "depends_on": ["database"],
      "ready": { "http": "/health/ready", "identity": false } });
    let rig = Rig::start_in(tmp, json!({ "sidecars": [database, api] }));
    let both = |st: &sidecar_supervisor_core::RuntimeStatus| {
        row(st, "database").state == State::Ready && row(st, "api").state == State::Ready
    };
    if let Err(st) = rig.sup.wait_for(START, both).await {
        panic!("not ready: {:#?}\n{}", st.sidecars, rig.feed_dump());
    }
    let port = rig.row("database").port.unwrap();
    psql(port, "postgres", "CREATE DATABASE app");
    psql(
        port,
        "app",
        &format!(
            "CREATE TABLE jobs (id int PRIMARY KEY, body text NOT NULL); \
             INSERT INTO jobs SELECT i, md5(i::text) || ' job' FROM generate_series(1, {ROWS}) i"
        ),
    );
    let before = fingerprint(port);
    assert!(before.starts_with(&format!("{ROWS} ")), "{before}");

    let none = rig.sup.backups().unwrap();
    assert_eq!((none.files.len(), none.bytes), (0, 0), "{none:?}");
    let made = rig.sup.backup(None).await.unwrap_or_else(|e| panic!("backup: {e}"));
    let backups = rig.tmp.path().join("data/backups");
    let listed = rig.sup.backups().unwrap();
    assert_eq!(listed.dir, backups);
    assert_eq!(listed.files.len(), 1, "{listed:?}");
    assert_eq!(Some(listed.files[0].name.as_str()), made.path.file_name().and_then(|n| n.to_str()));
    assert_eq!((listed.files[0].bytes, listed.bytes), (made.bytes, made.bytes));
    assert_eq!(made.path.parent(), Some(backups.as_path()), "{:?}", made.path);
    assert!(made.path.file_name().unwrap().to_string_lossy().ends_with(".backup.zip"));
    assert_eq!(made.manifest.database, "app");
    assert_eq!(made.manifest.app_version, "0.0.0-test");
    let major: u32 =
        std::fs::read_to_string(rig.tmp.path().join("data/database/pg/PG_VERSION")).unwrap().trim().parse().unwrap();
    assert_eq!(made.manifest.postgres_major, major);
    assert!(made.manifest.dump_bytes > 0 && made.bytes > made.manifest.dump_bytes);
    eprintln!(
        "backup of {ROWS} rows: {} bytes (dump {} bytes) in {} ms",
        made.bytes, made.manifest.dump_bytes, made.took_ms
    );

    // The data changes after the backup.
    psql(port, "app", "DELETE FROM jobs WHERE id % 2 = 0; INSERT INTO jobs VALUES (200001, 'after the backup')");
    assert_ne!(fingerprint(port), before);

    // A damaged backup and one from a newer PostgreSQL are refused; nothing is stopped.
    let seq = rig.last_seq();
    let damaged = rig.tmp.path().join("damaged.backup.zip");
    rewrite(&made.path, &damaged, |m, dump| {
        let mid = dump.len() / 2;
        dump[mid] ^= 0xff;
        m
    });
    let e = rig.sup.restore(&damaged).await.expect_err("a damaged backup is refused");
    assert_eq!(ErrorPayload::from(&e).kind, ErrorKind::InvalidBackup, "{e}");
    assert!(e.to_string().contains("does not match its manifest"), "{e}");
    let newer = rig.tmp.path().join("newer.backup.zip");
    rewrite(&made.path, &newer, |mut m, _| {
        m["postgres_major"] = json!(99);
        m
    });
    let e = rig.sup.restore(&newer).await.expect_err("a newer major is refused");
    assert!(e.to_string().contains("PostgreSQL 99, newer than this app's"), "{e}");
    let e = rig.sup.restore(&rig.tmp.path().join("profile.json")).await.expect_err("not a backup");
    assert!(matches!(e, BackupError::Invalid(_)) && e.to_string().contains("not a zip"), "{e}");
    assert!(
        rig.sup.events(None).iter().all(|ev| ev.seq <= seq || ev.kind != EventKind::Stopping),
        "nothing was stopped for a refused restore: {}",
        rig.feed_dump()
    );

    // One at a time: a backup asked while the restore runs is refused.
    let (restored, second) = tokio::join!(rig.sup.restore(&made.path), rig.sup.backup(None));
    assert!(matches!(second, Err(BackupError::Busy)), "{second:?}");
    let restored = restored.unwrap_or_else(|e| panic!("restore: {e}\n{}", rig.feed_dump()));
    eprintln!("restore of {ROWS} rows: {} ms", restored.took_ms);
    assert_eq!(restored.restarted, vec!["api".to_string()], "the sidecar using the database was stopped and started");
    assert_eq!(fingerprint(port), before, "every row as it was backed up");
    let api = rig.wait_state("api", State::Ready).await;
    assert!(api.pid.is_some());
    let stopped = rig.sup.events(None).into_iter().filter(|e| e.seq > seq && e.kind == EventKind::Stopped).count();
    assert_eq!(stopped, 1, "api was stopped once for the restore: {}", rig.feed_dump());
    assert_eq!(rig.row("database").state, State::Ready, "the database itself kept running");
}

/// Copies the backup at `from` to `to`, its manifest (as JSON) and dump changed by `change`.
fn rewrite(from: &Path, to: &Path, change: impl FnOnce(serde_json::Value, &mut Vec<u8>) -> serde_json::Value) {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::fs::File::open(from).unwrap()).unwrap();
    let mut manifest = String::new();
    zip.by_name("manifest.json").unwrap().read_to_string(&mut manifest).unwrap();
    let mut dump = Vec::new();
    zip.by_name("database.dump").unwrap().read_to_end(&mut dump).unwrap();
    let manifest = change(serde_json::from_str(&manifest).unwrap(), &mut dump);
    let mut out = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    out.start_file("manifest.json", opts).unwrap();
    out.write_all(manifest.to_string().as_bytes()).unwrap();
    out.start_file("database.dump", opts).unwrap();
    out.write_all(&dump).unwrap();
    out.finish().unwrap();
}
