//! Watching costs nothing until someone watches: a log's lines are sent live only during a
//! watch lease, resources are sampled (once a second, pushed) only while a lease runs, and the
//! sampler ends by itself when nobody renews it. The whole rotated log reads back in order.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use sidecar_supervisor_core::Notification;
use sidecar_supervisor_core::State;
use sidecar_supervisor_core::Verb;

#[tokio::test(flavor = "multi_thread")]
async fn lines_go_live_only_while_watched_and_samples_only_while_leased() {
    let rig = Rig::start(profile(json!([{
        "name": "api", "command": "test-sidecar", "port": "auto", "ready": { "http": "/health/ready" },
        "args": ["--stdout-lines", "2"]
    }])));
    rig.wait_state("api", State::Ready).await;
    let mut live = rig.subscribe_live_lines();
    // Each launch prints "line 1", "line 2": wait until the ring holds `n` launches' output.
    let printed = |n: usize| {
        let rig = &rig;
        async move {
            let deadline = std::time::Instant::now() + T;
            while rig.logs("api", 100).unwrap().iter().filter(|l| l.line == "line 2").count() < n {
                assert!(std::time::Instant::now() < deadline, "launch {n}'s output never reached the log");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    printed(1).await;
    // Unwatched: the restart's output reaches the ring and the file, not the live channel.
    let first = rig.row("api").pid;
    rig.command(Verb::Restart, "api").await.unwrap();
    rig.wait_row("api", "ready with a new pid", |r| r.state == State::Ready && r.pid != first).await;
    printed(2).await;
    assert!(live.try_recv().is_err(), "nothing is sent live while nobody watches");

    rig.watch_log("api", Duration::from_secs(30)).unwrap();
    let second = rig.row("api").pid;
    rig.command(Verb::Restart, "api").await.unwrap();
    let got = tokio::time::timeout(T, async {
        loop {
            let l = live.recv().await.unwrap();
            if l.line == "line 2" {
                return l;
            }
        }
    })
    .await
    .expect("the watched sidecar's line arrives live");
    assert_eq!(got.sidecar, "api");
    assert!(
        matches!(rig.watch_log("nope", Duration::from_secs(1)), Err(e) if e.to_string().contains("unknown sidecar"))
    );

    // The whole log: the three launches' lines, oldest first.
    rig.wait_row("api", "ready with a third pid", |r| r.state == State::Ready && r.pid != second).await;
    printed(3).await;
    let mut snap = rig.log_snapshot("api").unwrap();
    let text = String::from_utf8(snap.read_all().unwrap()).unwrap();
    let firsts: Vec<usize> = text.match_indices("stdout line 1").map(|(i, _)| i).collect();
    assert_eq!(firsts.len(), 3, "three launches' output: {text}");
    assert!(firsts.windows(2).all(|w| w[0] < w[1]));

    // Resources: none sampled until watched; pushed once a second while leased; then it stops.
    assert!(!rig.is_sampling_resources());
    assert!(rig.status().sidecars[0].resources.is_none());
    let mut rx = rig.subscribe();
    rig.watch_resources(Duration::from_millis(1500));
    let sample = tokio::time::timeout(T, async {
        loop {
            if let Ok(Notification::Resources(s)) = rx.recv().await {
                return s;
            }
        }
    })
    .await
    .expect("a sample is pushed");
    assert_eq!(sample[0].name, "api");
    assert!(sample[0].resources.rss_bytes > 0 && sample[0].resources.processes >= 1, "{sample:?}");
    assert_eq!(rig.status().sidecars[0].resources, Some(sample[0].resources), "the status shows it");
    let deadline = std::time::Instant::now() + T;
    while rig.is_sampling_resources() {
        assert!(std::time::Instant::now() < deadline, "the sampler ends when its lease does");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
