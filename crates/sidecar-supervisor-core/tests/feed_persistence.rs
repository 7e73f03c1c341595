//! Feed behaviour against a real filesystem: persistence, bounds, recovery, fallback, redaction,
//! and readers racing the writer.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sidecar_supervisor_core::testing::internals::NewEvent;
use sidecar_supervisor_core::testing::internals::Redactor;
use sidecar_supervisor_core::EventKind;
use sidecar_supervisor_core::{
    read_feed_file,
    testing::internals::{Feed, FeedConfig, FeedError},
};

fn cfg(dir: &Path, max: usize) -> FeedConfig {
    FeedConfig { path: dir.join("runtime").join("runtime-events.json"), fallback_path: None, max_events: max }
}

fn ev(msg: &str) -> NewEvent {
    NewEvent::new(EventKind::Spawned, msg).sidecar("api").pid(Some(42))
}

fn assert_contiguous(events: &[sidecar_supervisor_core::RuntimeEvent]) {
    for pair in events.windows(2) {
        assert_eq!(pair[1].seq, pair[0].seq + 1);
    }
}

#[test]
fn push_stamps_and_flush_persists() {
    let tmp = tempfile::tempdir().unwrap();
    let feed = Feed::open(cfg(tmp.path(), 1000), Redactor::default()).unwrap();
    let first = feed.push(ev("one"));
    let second = feed.push(ev("two"));
    assert_eq!((first.seq, second.seq), (1, 2));
    assert!(first.at.ends_with('Z'), "{}", first.at);
    feed.flush();
    let on_disk = read_feed_file(&feed.path()).unwrap();
    assert_eq!(on_disk, vec![first, second]);
    let text = fs::read_to_string(feed.path()).unwrap();
    assert!(text.starts_with("[\n{") && text.ends_with("}\n]\n"), "{text}");
    assert_eq!(text.lines().count(), 4);
}

#[test]
fn reopen_continues_seq_and_keeps_old_events() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let feed = Feed::open(cfg(tmp.path(), 1000), Redactor::default()).unwrap();
        for i in 0..5 {
            feed.push(ev(&format!("first run {i}")));
        }
        // No flush: dropping the last handle must write pending events.
    }
    let feed = Feed::open(cfg(tmp.path(), 1000), Redactor::default()).unwrap();
    assert_eq!(feed.snapshot(None).len(), 5);
    assert_eq!(feed.push(ev("second run")).seq, 6);
    let last_two = feed.snapshot(Some(2));
    assert_eq!(last_two.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![5, 6]);
    assert_eq!(last_two[0].message, "first run 4");
}

#[test]
fn burst_of_10k_keeps_newest_1000_contiguous() {
    let tmp = tempfile::tempdir().unwrap();
    let feed = Feed::open(cfg(tmp.path(), 1000), Redactor::default()).unwrap();
    for i in 0..10_000 {
        feed.push(ev(&format!("event {i}")));
    }
    assert_eq!(feed.snapshot(None).len(), 1000);
    feed.flush();
    let on_disk = read_feed_file(&feed.path()).unwrap();
    assert_eq!(on_disk.len(), 1000);
    assert_eq!(on_disk.first().unwrap().seq, 9001);
    assert_eq!(on_disk.last().unwrap().seq, 10_000);
    assert_contiguous(&on_disk);
}

#[test]
fn bound_applies_to_loaded_events_too() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let feed = Feed::open(cfg(tmp.path(), 50), Redactor::default()).unwrap();
        for i in 0..50 {
            feed.push(ev(&i.to_string()));
        }
    }
    let feed = Feed::open(cfg(tmp.path(), 10), Redactor::default()).unwrap();
    let kept = feed.snapshot(None);
    assert_eq!(kept.iter().map(|e| e.seq).collect::<Vec<_>>(), (41..=50).collect::<Vec<_>>());
    assert_eq!(feed.push(ev("next")).seq, 51);
}

fn corrupt_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(".corrupt-"))
        .collect();
    v.sort();
    v
}

#[test]
fn corrupt_file_is_set_aside_and_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let c = cfg(tmp.path(), 1000);
    fs::create_dir_all(c.path.parent().unwrap()).unwrap();
    let garbage = b"[{\"seq\": 1, \"at\": \"x\", \"kind\": \"spaw".to_vec();
    fs::write(&c.path, &garbage).unwrap();

    let err = read_feed_file(&c.path).unwrap_err();
    assert!(matches!(err, FeedError::Corrupt { .. }));
    let msg = err.to_string();
    assert!(msg.contains("runtime-events.json") && msg.contains("line 1"), "{msg}");

    let feed = Feed::open(c.clone(), Redactor::default()).unwrap();
    let aside = corrupt_files(c.path.parent().unwrap());
    assert_eq!(aside.len(), 1);
    let name = aside[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("runtime-events.corrupt-") && name.ends_with("Z.json"), "{name}");
    assert_eq!(fs::read(&aside[0]).unwrap(), garbage);

    let events = feed.snapshot(None);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, EventKind::FeedRecovered);
    assert!(events[0].message.contains(&name), "{}", events[0].message);
    feed.push(ev("fresh"));
    feed.flush();
    assert_eq!(read_feed_file(&c.path).unwrap().len(), 2);

    // A second corruption in the same second gets a distinct name.
    drop(feed);
    fs::write(&c.path, b"{not an array}").unwrap();
    let _feed = Feed::open(c.clone(), Redactor::default()).unwrap();
    let aside = corrupt_files(c.path.parent().unwrap());
    assert_eq!(aside.len(), 2);
    assert!(aside.iter().any(|p| fs::read(p).unwrap() == b"{not an array}"));
}

#[test]
fn unwritable_primary_falls_back() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("file.txt"), b"regular file").unwrap();
    let fallback = tmp.path().join("home/.app/runtime/runtime-events.json");
    let c = FeedConfig {
        path: tmp.path().join("file.txt/runtime/runtime-events.json"),
        fallback_path: Some(fallback.clone()),
        max_events: 1000,
    };
    let feed = Feed::open(c.clone(), Redactor::default()).unwrap();
    assert_eq!(feed.path(), fallback);
    assert!(feed.snapshot(None).is_empty(), "fallback is silent");
    feed.push(ev("x"));
    feed.flush();
    assert_eq!(read_feed_file(&fallback).unwrap().len(), 1);

    let no_fallback = FeedConfig { fallback_path: None, ..c.clone() };
    let msg = Feed::open(no_fallback, Redactor::default()).err().unwrap().to_string();
    assert!(msg.contains("file.txt/runtime/runtime-events.json"), "{msg}");

    let both_bad = FeedConfig { fallback_path: Some(tmp.path().join("file.txt/fb.json")), ..c };
    let err = Feed::open(both_bad, Redactor::default()).err().unwrap();
    assert!(matches!(err, FeedError::NotWritable { .. }));
    assert!(err.to_string().contains("fb.json"), "{err}");
}

#[test]
fn secrets_are_redacted_in_memory_and_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let redactor = Redactor::new(["sk-very-secret".to_string()]);
    let feed = Feed::open(cfg(tmp.path(), 1000), redactor).unwrap();
    let pushed = feed.push(ev("spawned with SIDECAR_API_KEY=sk-very-secret url postgres://u:hunter2@db"));
    assert!(!pushed.message.contains("sk-very-secret") && !pushed.message.contains("hunter2"));
    feed.flush();
    let text = fs::read_to_string(feed.path()).unwrap();
    assert!(!text.contains("sk-very-secret") && !text.contains("hunter2"), "{text}");
    assert!(text.contains("[redacted]"));
}

#[test]
fn missing_file_reads_as_empty() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(read_feed_file(&tmp.path().join("nope.json")).unwrap().is_empty());
}

#[test]
fn concurrent_reader_never_sees_a_torn_file() {
    let tmp = tempfile::tempdir().unwrap();
    let feed = Feed::open(cfg(tmp.path(), 200), Redactor::default()).unwrap();
    feed.push(ev("start"));
    feed.flush();
    let path = feed.path();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut reads = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let events = read_feed_file(&path).expect("reader saw an unparsable feed");
                assert!(!events.is_empty());
                reads += 1;
            }
            reads
        })
    };
    for i in 0..3000 {
        feed.push(ev(&format!("busy {i} {}", "x".repeat(i % 200))));
        if i % 500 == 0 {
            feed.flush();
        }
    }
    feed.flush();
    stop.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    let leftovers: Vec<_> = fs::read_dir(path_dir(&feed.path()))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn path_dir(p: &Path) -> PathBuf {
    p.parent().unwrap().to_path_buf()
}

/// Without a flush, the background writer gets every event to disk, also one pushed while it
/// was writing an earlier one (such an event must mark the feed again, or it waits for the next
/// push that may never come).
#[test]
fn events_pushed_during_a_write_reach_the_file_without_a_flush() {
    use sidecar_supervisor_core::testing::wait_in_dir;
    let tmp = tempfile::tempdir().unwrap();
    let feed = Feed::open(cfg(tmp.path(), 100_000), Redactor::default()).unwrap();
    let path = feed.path();
    for round in 0..10 {
        // A trickle of events paced across several writes (each rewrites a growing file), so
        // that pushes land while a write is under way; then nothing more.
        let mut last = 0;
        for i in 0..60 {
            last = feed.push(ev(&format!("round {round} event {i} {}", "x".repeat(2000)))).seq;
            std::thread::sleep(std::time::Duration::from_micros(500)); // pacing the producer
        }
        wait_in_dir(&path_dir(&path), "the last event on disk", std::time::Duration::from_secs(10), || {
            read_feed_file(&path).ok().filter(|e| e.last().is_some_and(|e| e.seq == last))
        });
    }
}
