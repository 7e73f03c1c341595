//! The two-way stdio channel (`"stdio": "jsonrpc"`) against a real process (test-sidecar's
//! JSON-RPC server): results, the sidecar's errors, notifications pushed and kept, timeouts,
//! a call that outlives its process (exit, restart) failing at once instead of hanging, the
//! 1 MiB limit both ways, non-JSON lines still logged, and the sidecar's own requests refused.

mod common;

use std::time::{Duration, Instant};

use common::{profile, Rig};
use serde_json::json;
use sidecar_supervisor_core::testing::internals::jsonrpc::{RequestError, MAX_MESSAGE};
use sidecar_supervisor_core::State;
use sidecar_supervisor_core::Verb;
use sidecar_supervisor_core::{CommandError, Notification};

const T: Duration = Duration::from_secs(10);

fn rpc(name: &str) -> serde_json::Value {
    json!({ "name": name, "command": "test-sidecar", "stdio": "jsonrpc", "args": ["--print-ready-line", "UP"],
            "ready": { "stdout": "UP" } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_get_results_errors_and_notifications() {
    let rig = Rig::start(profile(json!([rpc("exec"), { "name": "plain", "command": "test-sidecar" }])));
    let mut sub = rig.sup.subscribe();
    rig.wait_state("exec", State::Ready).await;

    let params = json!({ "a": [1, 2, 3], "s": "ünïcode" });
    assert_eq!(rig.sup.request("exec", "echo", Some(params.clone()), T).await.unwrap(), params);
    // Round trips, for the record (printed; never asserted on time).
    let mut took: Vec<Duration> = Vec::new();
    for i in 0..200 {
        let t = Instant::now();
        rig.sup.request("exec", "echo", Some(json!(i)), T).await.unwrap();
        took.push(t.elapsed());
    }
    took.sort();
    println!("request round trip over 200 calls: p50 {:?}, p99 {:?}", took[100], took[198]);

    let e = rig.sup.request("exec", "fail", None, T).await.unwrap_err();
    let RequestError::Remote { code, message, data, .. } = &e else { panic!("{e:?}") };
    assert_eq!((*code, message.as_str(), data.clone()), (-32000, "asked to fail", Some(json!({ "why": "test" }))));
    assert_eq!(e.to_string(), "`exec` answered `fail` with error -32000: asked to fail");
    let e = rig.sup.request("exec", "nope", None, T).await.unwrap_err();
    assert!(matches!(e, RequestError::Remote { code: -32601, .. }), "{e:?}");

    assert_eq!(rig.sup.request("exec", "notify", Some(json!({ "count": 50 })), T).await.unwrap(), json!(50));
    let mut seen = Vec::new();
    while seen.len() < 50 {
        if let Notification::Message(m) = tokio::time::timeout(T, sub.recv()).await.expect("pushed").unwrap() {
            seen.push(m);
        }
    }
    assert!(seen.iter().enumerate().all(|(i, m)| m.sidecar == "exec" && m.method == "tick" && m.params["i"] == i));
    assert!(seen.windows(2).all(|w| w[1].seq == w[0].seq + 1));
    let kept = rig.sup.messages("exec", 1000).unwrap();
    assert_eq!(kept.len(), 50);
    assert_eq!(rig.sup.messages("exec", 5).unwrap()[4].params["i"], 49);

    // The sidecar asks the runtime something: it gets a JSON-RPC error, not silence.
    let answer = rig.sup.request("exec", "ask", None, T).await.unwrap();
    assert_eq!(answer["id"], "q1");
    assert_eq!(answer["error"]["code"], -32601, "{answer}");

    let e = rig.sup.request("plain", "echo", None, T).await.unwrap_err();
    assert_eq!(e.to_string(), "`plain` has no JSON-RPC channel: give it \"stdio\": \"jsonrpc\" in the profile");
    let e = rig.sup.request("nope", "echo", None, T).await.unwrap_err();
    assert!(matches!(e, RequestError::Command(CommandError::UnknownSidecar { .. })), "{e:?}");
    let e = rig.sup.request("exec", "", None, T).await.unwrap_err();
    assert!(matches!(e, RequestError::InvalidArgument { .. }), "{e:?}");
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_never_hangs_timeouts_exits_and_restarts_fail_it_cleanly() {
    let rig = Rig::start(profile(json!([rpc("exec")])));
    let pid = rig.wait_state("exec", State::Ready).await.pid;

    let e =
        rig.sup.request("exec", "sleep", Some(json!({ "ms": 3000 })), Duration::from_millis(200)).await.unwrap_err();
    assert_eq!(e.to_string(), "`exec` did not answer `sleep` within 200 ms");
    assert_eq!(rig.sup.request("exec", "echo", Some(json!(1)), T).await.unwrap(), json!(1), "still usable");

    // A restart while a call is in flight: the call fails as soon as the process is gone.
    let sup = rig.sup.clone();
    let call = tokio::spawn(async move {
        let t = Instant::now();
        (sup.request("exec", "sleep", Some(json!({ "ms": 60_000 })), Duration::from_secs(120)).await, t.elapsed())
    });
    // The sidecar says on stderr when it got the call: then it is in flight for sure.
    let deadline = Instant::now() + T;
    while !rig.log_lines("exec").iter().any(|l| l.contains("sleeping 60000 ms")) {
        assert!(Instant::now() < deadline, "the call never reached the sidecar");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    rig.sup.command(Verb::Restart, "exec").await.unwrap();
    let (r, took) = call.await.unwrap();
    let e = r.unwrap_err();
    assert!(matches!(e, RequestError::Ended { .. }), "{e:?}");
    assert!(e.to_string().starts_with("`exec`'s process ended before it answered `sleep`"), "{e}");
    assert!(took < Duration::from_secs(60), "failed when the process ended, not at the timeout: {took:?}");
    let again = rig.wait_row("exec", "ready with a new process", |r| r.state == State::Ready && r.pid != pid).await;

    // The sidecar exits mid-call by itself.
    let e = rig.sup.request("exec", "exit", Some(json!({ "code": 3 })), T).await.unwrap_err();
    assert!(matches!(&e, RequestError::Ended { why, .. } if why.contains("code 3")), "{e:?}");
    rig.wait_row("exec", "restarted after its exit", |r| r.state == State::Ready && r.pid != again.pid).await;

    rig.sup.command(Verb::Stop, "exec").await.unwrap();
    rig.wait_state("exec", State::Stopped).await;
    let e = rig.sup.request("exec", "echo", None, T).await.unwrap_err();
    assert_eq!(e.to_string(), "`exec` is stopped: there is no process to ask");
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_over_a_mebibyte_are_refused_both_ways_and_other_lines_are_logged() {
    let rig = Rig::start(profile(json!([rpc("exec")])));
    rig.wait_state("exec", State::Ready).await;

    let big = json!("z".repeat(MAX_MESSAGE));
    let e = rig.sup.request("exec", "echo", Some(big), T).await.unwrap_err();
    assert!(matches!(e, RequestError::TooLarge { .. }), "{e:?}");
    assert!(e.to_string().contains("at most 1048576 bytes (1 MiB)"), "{e}");

    let e = rig.sup.request("exec", "big", Some(json!({ "bytes": 2 << 20 })), T).await.unwrap_err();
    assert!(matches!(e, RequestError::AnswerTooLarge { .. }), "{e:?}");
    assert!(e.to_string().contains("was 2097") && e.to_string().contains("at most 1 MiB"), "{e}");

    // A plain line and a 2 MiB line without JSON: the first is logged, the second dropped and
    // noted, and the call after them is answered.
    assert_eq!(rig.sup.request("exec", "noise", None, T).await.unwrap(), json!("noisy"));
    let lines = rig.log_lines("exec");
    assert!(lines.iter().any(|l| l == "plain text, not JSON-RPC"), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("a line of 2097152 bytes was dropped")), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains("\"jsonrpc\"")), "JSON-RPC messages are not logged: {lines:?}");
    assert!(lines.iter().all(|l| l.len() < 4096));
    rig.shutdown().await;
}
