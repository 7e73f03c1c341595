//! Identity tiers against real processes: a sidecar that proves the key (`proven`), one that
//! only echoes the instance id (`echoed`), one with no `/runtime/info` (`unverified`) are all
//! ready by default, over HTTP and gRPC; a profile can require `proven`; a program that took a
//! sidecar's port (`foreign`) is never taken for the sidecar, and never sees the key.
//! Unix: the squatter's sidecar is an `sh` script.
#![cfg(unix)]

mod common;

use std::sync::{Arc, Mutex};

use common::{profile, Rig};
use serde_json::json;
use sidecar_supervisor_core::EventKind;
use sidecar_supervisor_core::{Identity, State};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A plain HTTP server that answers like a sidecar of `instance_id` (which it could read from
/// anywhere) but cannot prove the key; it records every request it gets.
async fn squatter(instance_id: Arc<Mutex<String>>, seen: Arc<Mutex<Vec<String>>>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let (id, seen) = (instance_id.clone(), seen.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut n = 0;
                while !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf[n..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => n += k,
                    }
                }
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                seen.lock().unwrap().push(head.clone());
                let body = if head.starts_with("GET /runtime/info") {
                    json!({ "name": "db", "instance_id": *id.lock().unwrap(), "proof": "00".repeat(32) }).to_string()
                } else {
                    "{}".to_string()
                };
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_on_the_port_is_never_ready_and_never_sees_the_key() {
    let (id, seen) = (Arc::new(Mutex::new(String::new())), Arc::new(Mutex::new(Vec::new())));
    let port = squatter(id.clone(), seen.clone()).await;
    // The sidecar announces the port the squatter holds (as if it had lost a race for it).
    let rig = Rig::start(profile(json!([
        { "name": "db", "command": "sh", "args": ["-c", format!("echo SIDECAR_PORT={port}; exec sleep 600")],
          "port": "announce", "ready": { "http": "/health/ready" }, "startup_timeout_ms": 1500,
          "restart": { "max_restarts": 0 } },
    ])));
    *id.lock().unwrap() = rig.sup.status().instance_id;
    let failed = rig.wait_state("db", State::Failed).await;
    let err = failed.last_error.unwrap_or_default();
    assert!(err.contains("identity proof is wrong"), "{err}\n{}", rig.feed_dump());
    assert!(err.contains("another program or an older instance"), "{err}");
    assert_eq!(failed.identity, Some(Identity::Foreign));
    let seen = seen.lock().unwrap().clone();
    assert!(seen.iter().any(|r| r.starts_with("GET /runtime/info?nonce=")), "{seen:?}");
    let key = rig.sup.api_key().to_string();
    assert!(seen.iter().all(|r| !r.contains(&key) && !r.to_ascii_lowercase().contains("x-api-key")), "{seen:?}");
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tier_but_foreign_is_ready_by_default_and_shown() {
    let side = |name: &str, args: &[&str]| {
        json!({ "name": name, "command": "test-sidecar", "port": "auto", "args": args,
                "ready": if args.contains(&"grpc") { json!({ "grpc": "" }) } else { json!({ "http": "/health/ready" }) } })
    };
    let rig = Rig::start(profile(json!([
        side("proven", &[]),
        side("echoed", &["--identity", "echoed"]),
        side("unverified", &["--identity", "none"]),
        side("grpc-proven", &["--protocol", "grpc"]),
        side("grpc-echoed", &["--protocol", "grpc", "--identity", "echoed"]),
        side("grpc-unverified", &["--protocol", "grpc", "--identity", "none"]),
    ])));
    for (name, tier) in [
        ("proven", Identity::Proven),
        ("echoed", Identity::Echoed),
        ("unverified", Identity::Unverified),
        ("grpc-proven", Identity::Proven),
        ("grpc-echoed", Identity::Echoed),
        ("grpc-unverified", Identity::Unverified),
    ] {
        let row = rig.wait_state(name, State::Ready).await;
        assert_eq!(row.identity, Some(tier), "{name}: {row:?}");
        let ready = rig.wait_kind(name, EventKind::Ready, 0).await;
        assert!(ready.message.contains(&format!("identity {}", tier.as_str())), "{name}: {}", ready.message);
    }
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_that_requires_proven_refuses_an_echo_and_says_how_to_fix_it() {
    let rig = Rig::start(profile(json!([
        { "name": "api", "command": "test-sidecar", "port": "auto", "args": ["--identity", "echoed"],
          "ready": { "http": "/health/ready", "identity": "proven" }, "startup_timeout_ms": 1500,
          "restart": { "max_restarts": 0 } },
        { "name": "ok", "command": "test-sidecar", "port": "auto",
          "ready": { "http": "/health/ready", "identity": "proven" } },
    ])));
    assert_eq!(rig.wait_state("ok", State::Ready).await.identity, Some(Identity::Proven));
    let timeout = rig.wait_kind("api", EventKind::StartupTimeout, 0).await;
    let m = &timeout.message;
    assert!(m.contains("last probe") && m.contains("identity echoed") && m.contains("requires proven"), "{m}");
    assert!(m.contains("HMAC-SHA256") && m.contains("\"identity\": true"), "names the fix: {m}");
    let failed = rig.wait_state("api", State::Failed).await;
    assert_eq!(failed.identity, Some(Identity::Echoed), "{failed:?}");
    assert!(failed.last_error.unwrap_or_default().contains("requires proven"));
    rig.shutdown().await;
}
