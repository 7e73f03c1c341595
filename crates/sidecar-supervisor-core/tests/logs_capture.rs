//! Sidecar log capture against a real filesystem: ring bounds, rotation, redaction, ordering.

use std::fs;
use std::path::Path;

use sidecar_supervisor_core::testing::internals::Redactor;
use sidecar_supervisor_core::{
    testing::internals::{LogConfig, SidecarLog},
    LogLine, Stream,
};

fn cfg(dir: &Path) -> LogConfig {
    LogConfig { dir: dir.to_path_buf(), max_bytes: 1024, max_files: 2, ring_lines: 10 }
}

#[test]
fn defaults() {
    let c = LogConfig::new("/x");
    assert_eq!((c.max_bytes, c.max_files, c.ring_lines), (5 * 1024 * 1024, 3, 500));
}

#[test]
fn ring_is_bounded_and_keeps_newest() {
    let tmp = tempfile::tempdir().unwrap();
    let log = SidecarLog::open(&cfg(tmp.path()), "api", Redactor::default());
    for i in 0..25 {
        log.push(Stream::Stdout, &format!("line {i}"));
    }
    let all = log.tail(100);
    assert_eq!(all.len(), 10);
    assert_eq!(all.first().unwrap().line, "line 15");
    assert_eq!(all.last().unwrap().line, "line 24");
}

#[test]
fn tail_and_last_stderr_ordering() {
    let tmp = tempfile::tempdir().unwrap();
    let log = SidecarLog::open(&cfg(tmp.path()), "api", Redactor::default());
    log.push(Stream::Stderr, "e1");
    log.push(Stream::Stdout, "o1");
    log.push(Stream::Stderr, "e2\n");
    log.push(Stream::Stdout, "o2");
    log.push(Stream::Stderr, "e3");
    let tail: Vec<(Stream, String)> = log.tail(3).into_iter().map(|l| (l.stream, l.line)).collect();
    assert_eq!(tail, vec![(Stream::Stderr, "e2".into()), (Stream::Stdout, "o2".into()), (Stream::Stderr, "e3".into())]);
    assert_eq!(log.last_stderr(2), vec!["e2", "e3"]);
    assert_eq!(log.last_stderr(10), vec!["e1", "e2", "e3"]);
    assert!(log.tail(0).is_empty());
}

#[test]
fn file_lines_have_time_stream_and_text() {
    let tmp = tempfile::tempdir().unwrap();
    let log = SidecarLog::open(&cfg(tmp.path()), "db#1", Redactor::default());
    assert_eq!(log.path(), tmp.path().join("db_1.log"));
    log.push(Stream::Stdout, "listening on 127.0.0.1:8080");
    log.push(Stream::Stderr, "warning: slow");
    log.flush();
    let text = fs::read_to_string(log.path()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    let first: Vec<&str> = lines[0].splitn(3, ' ').collect();
    assert!(first[0].ends_with('Z'), "{}", lines[0]);
    assert_eq!(&first[1..], ["stdout", "listening on 127.0.0.1:8080"]);
    assert!(lines[1].contains(" stderr warning: slow"));
    assert!(log.file_error().is_none());
}

#[test]
fn rotation_keeps_max_files_and_bounds_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let c = cfg(tmp.path());
    let log = SidecarLog::open(&c, "worker", Redactor::default());
    for i in 0..500 {
        log.push(Stream::Stdout, &format!("{i:04} {}", "x".repeat(60)));
    }
    log.flush();
    let mut names: Vec<String> =
        fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, vec!["worker.log", "worker.log.1", "worker.log.2"]);
    let mut total = 0;
    for n in &names {
        let len = fs::metadata(tmp.path().join(n)).unwrap().len();
        assert!(len <= c.max_bytes, "{n} has {len} bytes");
        total += len;
    }
    assert!(total <= c.max_bytes * (c.max_files as u64 + 1));
    // The newest line is in the current file, older ones in .1 (continuity across rotation).
    let current = fs::read_to_string(tmp.path().join("worker.log")).unwrap();
    assert!(current.trim_end().ends_with(&format!("0499 {}", "x".repeat(60))));
    let first_current: u32 = current.lines().next().unwrap().split(' ').nth(2).unwrap().parse().unwrap();
    let previous = fs::read_to_string(tmp.path().join("worker.log.1")).unwrap();
    let last_previous: u32 = previous.lines().last().unwrap().split(' ').nth(2).unwrap().parse().unwrap();
    assert_eq!(last_previous + 1, first_current);
}

#[test]
fn reopen_appends_and_removes_stale_rotations() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("api.log.3"), b"stale").unwrap();
    fs::write(tmp.path().join("api.log.4"), b"stale").unwrap();
    let log = SidecarLog::open(&cfg(tmp.path()), "api", Redactor::default());
    log.push(Stream::Stdout, "first");
    drop(log);
    let log = SidecarLog::open(&cfg(tmp.path()), "api", Redactor::default());
    log.push(Stream::Stdout, "second");
    log.flush();
    assert_eq!(fs::read_to_string(log.path()).unwrap().lines().count(), 2);
    assert!(!tmp.path().join("api.log.3").exists() && !tmp.path().join("api.log.4").exists());
}

#[test]
fn redaction_applies_to_ring_and_file() {
    let tmp = tempfile::tempdir().unwrap();
    let log = SidecarLog::open(&cfg(tmp.path()), "api", Redactor::new(["sk-abcdef".to_string()]));
    log.push(Stream::Stderr, "auth failed for key sk-abcdef");
    log.push(Stream::Stdout, "connecting to postgres://app:hunter2@db:5432/x");
    let ring: Vec<LogLine> = log.tail(10);
    assert_eq!(ring[0].line, "auth failed for key [redacted]");
    assert_eq!(ring[1].line, "connecting to postgres://app:[redacted]@db:5432/x");
    assert_eq!(log.last_stderr(1), vec!["auth failed for key [redacted]"]);
    log.flush();
    let text = fs::read_to_string(log.path()).unwrap();
    assert!(!text.contains("sk-abcdef") && !text.contains("hunter2"), "{text}");
}

#[test]
fn unopenable_file_keeps_ring_working() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("file.txt"), b"regular").unwrap();
    let c = LogConfig::new(tmp.path().join("file.txt/logs"));
    let log = SidecarLog::open(&c, "api", Redactor::default());
    let err = log.file_error().expect("file error remembered");
    assert!(err.contains("file.txt"), "{err}");
    log.push(Stream::Stderr, "still captured");
    assert_eq!(log.last_stderr(1), vec!["still captured"]);
}

#[test]
fn log_line_serializes_stream_lowercase() {
    let line = LogLine { at: "t".into(), stream: Stream::Stderr, line: "x".into() };
    let json = serde_json::to_string(&line).unwrap();
    assert_eq!(json, r#"{"at":"t","stream":"stderr","line":"x"}"#);
    assert_eq!(serde_json::from_str::<LogLine>(&json).unwrap(), line);
}

#[test]
fn lines_reach_the_file_without_a_flush_and_push_never_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let log = SidecarLog::open(&cfg(tmp.path()), "bg", Redactor::default());
    log.push(Stream::Stdout, "queued");
    // The writer thread writes it shortly, without a flush: wait for the file to change.
    let path = log.path();
    sidecar_supervisor_core::testing::wait_in_dir(
        tmp.path(),
        "the queued line",
        std::time::Duration::from_secs(20),
        || fs::read_to_string(&path).ok().filter(|t| t.contains(" stdout queued")),
    );
}

#[test]
fn a_disk_that_cannot_keep_up_drops_lines_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let log = SidecarLog::open(&cfg(tmp.path()), "flood", Redactor::default());
    let line = "y".repeat(1000);
    // A disk that does not keep up: more than the 4 MiB pending bound piles up meanwhile.
    let n = 6000;
    {
        let _paused = log.pause_writes();
        for _ in 0..n {
            log.push(Stream::Stdout, &line);
        }
    }
    log.flush();
    let mut text = String::new();
    for f in fs::read_dir(tmp.path()).unwrap() {
        text.push_str(&fs::read_to_string(f.unwrap().path()).unwrap());
    }
    let kept = text.matches(&line).count();
    assert!(kept < n, "a bound applies ({kept} of {n} kept)");
    assert!(text.contains("lines dropped: the disk could not keep up"), "the file says lines were dropped");
}
