//! A program that took a sidecar's port is never taken for the sidecar:
//! it cannot prove the launch's key, and the readiness probe never sends it the key.
//! Unix: the sidecars here are `sh` scripts.
#![cfg(unix)]

mod common;

use std::sync::{Arc, Mutex};

use common::{profile, Rig};
use serde_json::json;
use sidecar_supervisor_core::domain::State;
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
    let seen = seen.lock().unwrap().clone();
    assert!(seen.iter().any(|r| r.starts_with("GET /runtime/info?nonce=")), "{seen:?}");
    let key = rig.sup.api_key().to_string();
    assert!(seen.iter().all(|r| !r.contains(&key) && !r.to_ascii_lowercase().contains("x-api-key")), "{seen:?}");
    rig.shutdown().await;
}
