//! The reference stack end to end: real PostgreSQL, backend and two workers under the runner.
//! A job created over HTTP is processed; the data survives a restart of the whole stack; the
//! backend refuses callers without the key or with a foreign Host; bad input gets a clear 4xx.
//! The stack runs on Linux here (its PostgreSQL sidecar is the system one).
#![cfg(target_os = "linux")]

mod common;
mod stack;

use common::*;
use serde_json::Value;
use stack::*;

#[test]
fn a_job_created_over_http_is_processed_by_a_worker_and_survives_a_restart() {
    let s = Stack::start(|_| {});
    println!("start to all ready, first launch (initdb included): {} ms", s.started_in.as_millis());
    let text = "the quick brown fox jumps over the lazy dog";
    let id = s.create_job(text, 0);
    let job = s.wait_job(id, "done", |j| j["status"] == "done");
    let want = jobs_api::compute(text);
    assert_eq!(job["word_count"], want.word_count, "{job}");
    assert_eq!(job["sha256"], want.sha256.as_str(), "{job}");
    assert_eq!(job["attempts"], 1, "{job}");
    assert!(job["worker"].as_str().is_some_and(|w| w.starts_with("worker#")), "{job}");
    let (code, list) = s.api.get("/api/jobs?status=done");
    assert_eq!(code, 200);
    assert!(list["jobs"].as_array().unwrap().iter().any(|j| j["id"] == id), "{list}");

    // Stop everything, start again on the same data: no second initdb, the job is still there.
    let dir = s.stop();
    let s = Stack::start_in(dir, |_| {});
    println!("start to all ready on existing data (no initdb): {} ms", s.started_in.as_millis());
    let (code, again) = s.api.get(&format!("/api/jobs/{id}"));
    assert_eq!(code, 200, "{again}");
    assert_eq!(again["sha256"], want.sha256.as_str());
    let events = events_json(&s.data(), None);
    let prepared = kinds(&events, "prepared");
    let step = |what: &str| prepared.iter().filter(|e| e["message"].as_str().unwrap().contains(what)).count();
    assert_eq!(step("/initdb "), 1, "initdb ran once over two launches: {prepared:?}");
    assert_eq!(step("/postgres --single"), 2, "the password was set at each launch: {prepared:?}");
}

#[test]
fn requests_without_the_key_or_with_a_foreign_host_are_refused() {
    let s = Stack::start(|_| {});
    let c = s.api.client();
    let jobs = s.api.url("/api/jobs");

    let (code, body) = s.api.send(c.get(&jobs));
    assert_eq!(code, 401, "no key: {body}");
    assert!(body["error"].as_str().unwrap().contains("x-api-key"), "{body}");
    let (code, _) = s.api.send(c.get(&jobs).header("x-api-key", "not-the-key"));
    assert_eq!(code, 401, "wrong key");
    let (code, body) = s.api.send(c.get(&jobs).header("x-api-key", &s.api.key).header("host", "evil.example:80"));
    assert_eq!(code, 403, "foreign Host (DNS rebinding): {body}");
    let (code, _) = s.api.send(c.get(&jobs).header("authorization", format!("Bearer {}", s.api.key)));
    assert_eq!(code, 200, "Bearer form of the key");
    let (code, _) = s.api.send(c.get(s.api.url("/health/ready")));
    assert_eq!(code, 200, "health is open");

    // Every sidecar's own port is gated the same way; identity is open but proves the key
    // without revealing it.
    let st = s.status();
    for name in ["backend", "worker#1", "worker#2"] {
        let port = row(&st, name)["port"].as_u64().unwrap();
        let info = format!("http://127.0.0.1:{port}/runtime/info");
        let (code, me) = s.api.send(c.get(&info));
        assert_eq!(code, 200, "{name}: identity needs no key");
        assert_eq!((&me["instance_name"], &me["instance_id"]), (&Value::from(name), &st["instance_id"]));
        assert!(me.get("proof").is_none(), "no nonce, no proof: {me}");
        let (code, me) = s.api.send(c.get(format!("{info}?nonce=abc123")));
        assert_eq!(code, 200);
        let proof = me["proof"].as_str().unwrap();
        assert!(sidecar_identity::verify(&s.api.key, "abc123", proof), "{name}: {me}");
        assert!(!me.to_string().contains(&s.api.key));
        let (code, _) = s.api.send(c.get(format!("{info}?nonce=a%20b")));
        assert_eq!(code, 400, "{name}: a malformed nonce");
        let (code, _) = s.api.send(c.get(format!("http://127.0.0.1:{port}/sidecar.v1.Control/Shutdown")));
        assert_eq!(code, 401, "{name}: everything else needs the key");
    }

    // gRPC: the job API refuses a call without the key, and one whose :authority is foreign.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let url = s.api.url("");
    let key = s.api.key.clone();
    rt.block_on(async move {
        use jobs_api::v1::{jobs_client::JobsClient, LeaseRequest};
        let req = || LeaseRequest { worker: "test".into(), wait_ms: 0 };
        let ch = tonic::transport::Endpoint::from_shared(url.clone()).unwrap().connect().await.unwrap();
        let e = JobsClient::new(ch.clone()).lease(req()).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e:?}");
        let mut r = tonic::Request::new(req());
        r.metadata_mut().insert("x-api-key", key.parse().unwrap());
        JobsClient::new(ch).lease(r).await.expect("with the key the same call passes");
        let foreign = tonic::transport::Endpoint::from_shared(url)
            .unwrap()
            .origin("http://evil.example".parse().unwrap())
            .connect()
            .await
            .unwrap();
        let mut r = tonic::Request::new(req());
        r.metadata_mut().insert("x-api-key", key.parse().unwrap());
        let e = JobsClient::new(foreign).lease(r).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied, "{e:?}");
    });
}

/// The lease protocol's fencing, played by the test itself over gRPC: a worker whose lease
/// expired and was taken over can neither extend, complete nor release the job, and a job is
/// completed once.
#[test]
fn a_lost_lease_can_no_longer_touch_the_job() {
    use jobs_api::v1::{jobs_client::JobsClient, CompleteRequest, ExtendRequest, LeaseRequest, ReleaseRequest};
    let s = Stack::start(|p| {
        without_workers(p);
        p["sidecars"][1]["env"]["JOB_LEASE_MS"] = "300".into();
    });
    let id = s.create_job("fenced", 0);
    let (url, key) = (s.api.url(""), s.api.key.clone());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let ch = tonic::transport::Endpoint::from_shared(url).unwrap().connect().await.unwrap();
        let mut c = JobsClient::with_interceptor(ch, move |mut r: tonic::Request<()>| {
            r.metadata_mut().insert("x-api-key", key.parse().unwrap());
            Ok(r)
        });
        let lease = |w: &str, wait_ms| LeaseRequest { worker: w.into(), wait_ms };
        let first = c.lease(lease("old", 0)).await.unwrap().into_inner().job.expect("the job");
        assert_eq!((first.id, first.attempt), (id, 1));
        // The second worker waits for the first lease to expire, then gets the job.
        let second = c.lease(lease("new", 10_000)).await.unwrap().into_inner().job.expect("the job after expiry");
        assert_eq!((second.id, second.attempt), (id, 2));
        let o = jobs_api::compute("fenced");
        let complete = |token: &str, words| CompleteRequest {
            id,
            lease_token: token.into(),
            word_count: words,
            sha256: o.sha256.clone(),
        };
        let lost = tonic::Code::FailedPrecondition;
        assert_eq!(c.complete(complete(&first.lease_token, 999)).await.unwrap_err().code(), lost);
        assert_eq!(
            c.extend(ExtendRequest { id, lease_token: first.lease_token.clone() }).await.unwrap_err().code(),
            lost
        );
        assert_eq!(
            c.release(ReleaseRequest { id, lease_token: first.lease_token.clone() }).await.unwrap_err().code(),
            lost
        );
        c.complete(complete(&second.lease_token, o.word_count)).await.expect("the holder completes");
        assert_eq!(c.complete(complete(&second.lease_token, 999)).await.unwrap_err().code(), lost, "completed once");
        // Bad arguments are refused before they reach the database.
        let bad = c.complete(complete("not-a-token\0", 1)).await.unwrap_err();
        assert_eq!(bad.code(), tonic::Code::InvalidArgument, "{bad:?}");
        let bad = c.lease(lease("nul\0name", 0)).await.unwrap_err();
        assert_eq!(bad.code(), tonic::Code::InvalidArgument, "{bad:?}");
    });
    let job = s.wait_job(id, "done", |j| j["status"] == "done");
    assert_eq!((job["word_count"].as_u64(), job["attempts"].as_u64()), (Some(1), Some(2)), "{job}");
    assert!(job["worker"] == "new", "{job}");
}

#[test]
fn bad_input_gets_a_clear_4xx_and_never_a_500() {
    let s = Stack::start(|_| {});
    let backend_pid = s.pid("backend");
    let c = s.api.client();
    let post = |body: Vec<u8>, ctype: Option<&str>| {
        let mut r = c.post(s.api.url("/api/jobs")).header("x-api-key", &s.api.key).body(body);
        if let Some(t) = ctype {
            r = r.header("content-type", t);
        }
        s.api.send(r)
    };
    let json = |b: &str| post(b.as_bytes().to_vec(), Some("application/json"));
    let big_text = format!("{{\"text\": \"{}\"}}", "a".repeat(70 * 1024));
    let cases: Vec<(&str, (u16, Value), u16, &str)> = vec![
        ("malformed JSON", json("{\"text\":"), 400, "parse"),
        ("JSON of the wrong shape", json("[1, 2]"), 422, "expected"),
        ("text of the wrong type", json("{\"text\": 5}"), 422, "text"),
        ("unknown field", json("{\"text\": \"a\", \"bogus\": 1}"), 422, "bogus"),
        ("empty text", json("{\"text\": \"  \"}"), 400, "empty"),
        ("NUL in the text", json("{\"text\": \"a\\u0000b\"}"), 400, "NUL"),
        ("delay out of range", json("{\"text\": \"a\", \"delay_ms\": 999999}"), 400, "delay_ms"),
        ("negative delay", json("{\"text\": \"a\", \"delay_ms\": -1}"), 422, "delay_ms"),
        ("text too long", json(&big_text), 413, "text"),
        ("huge body", post(vec![b'{'; 1 << 20], Some("application/json")), 413, "larger than"),
        ("no content type", post(b"{\"text\": \"a\"}".to_vec(), None), 415, "Content-Type"),
        ("invalid UTF-8", post(b"{\"text\": \"\xff\xfe\"}".to_vec(), Some("application/json")), 400, "parse"),
        ("unknown job id", s.api.get("/api/jobs/987654321"), 404, "no job with id 987654321"),
        ("job id not a number", s.api.get("/api/jobs/abc"), 400, "abc"),
        ("negative job id", s.api.get("/api/jobs/-4"), 400, "-4"),
        ("limit out of range", s.api.get("/api/jobs?limit=0"), 400, "limit"),
        ("limit not a number", s.api.get("/api/jobs?limit=many"), 400, "limit"),
        ("unknown status filter", s.api.get("/api/jobs?status=lost"), 400, "status"),
        ("unknown endpoint", s.api.get("/api/nothing"), 404, "/api/nothing"),
        ("wrong method", s.api.send(c.delete(s.api.url("/api/jobs")).header("x-api-key", &s.api.key)), 405, ""),
    ];
    let mut wrong = Vec::new();
    for (what, (code, body), want, needle) in &cases {
        let msg = body["error"].as_str().unwrap_or("");
        let ok = code == want && (needle.is_empty() || msg.contains(needle)) && (*want == 405 || !msg.is_empty());
        if !ok {
            wrong.push(format!("{what}: got {code} {body}, want {want} with `{needle}`"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Nothing crashed or restarted, and the API still works.
    assert_eq!(s.pid("backend"), backend_pid);
    assert_eq!(row(&s.status(), "backend")["restarts_in_window"], 0);
    let id = s.create_job("still fine", 0);
    s.wait_job(id, "done", |j| j["status"] == "done");
}
