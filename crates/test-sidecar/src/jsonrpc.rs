//! `SIDECAR_STDIO=jsonrpc`: stdin/stdout as a JSON-RPC 2.0 server, one message per line, for
//! the runtime's channel tests. stdin's EOF still ends the process (it is the lifeline).
//!
//! Methods: `echo` (the params back), `sleep {ms}` (answers after ms, without blocking other
//! calls), `notify {count}` (sends `tick {i}` notifications, then answers the count), `fail`
//! (error -32000 with data), `exit {code}` (exits without answering), `big {bytes}` (a result of
//! that many bytes), `noise` (prints a non-JSON line and a 2 MiB line, then answers), `ask`
//! (asks the runtime a method and answers with the runtime's reply); anything else -32601.

use std::io::{BufRead, Write};
use std::sync::mpsc;

use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::out::err;

fn send(msg: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{msg}");
    let _ = out.flush();
}

fn reply(id: &Value, result: Value) {
    send(&json!({ "jsonrpc": "2.0", "id": id, "result": result }));
}

/// Serves stdin until EOF; then completes the returned receiver (the lifeline's end).
pub fn serve() -> oneshot::Receiver<()> {
    let (done, rx) = oneshot::channel();
    // Replies to our own `ask` requests, by id.
    let (answers_tx, answers) = mpsc::channel::<Value>();
    let answers = std::sync::Arc::new(std::sync::Mutex::new(answers));
    std::thread::spawn(move || {
        let stdin = std::io::stdin().lock();
        for line in stdin.lines() {
            let Ok(line) = line else { break };
            let Ok(msg) = serde_json::from_str::<Value>(&line) else {
                err(&format!("test-sidecar: not JSON on stdin: {line}"));
                continue;
            };
            if msg.get("method").is_none() {
                let _ = answers_tx.send(msg); // a reply to our `ask`
                continue;
            }
            let id = msg["id"].clone();
            let method = msg["method"].as_str().unwrap_or_default().to_string();
            let params = msg.get("params").cloned().unwrap_or(Value::Null);
            let answers = answers.clone();
            // Each call on its own thread, so a slow one does not hold the others back.
            std::thread::spawn(move || handle(&id, &method, params, &answers));
        }
        let _ = done.send(());
    });
    rx
}

fn handle(id: &Value, method: &str, params: Value, answers: &std::sync::Mutex<mpsc::Receiver<Value>>) {
    let n = |k: &str| params.get(k).and_then(Value::as_u64).unwrap_or(0);
    match method {
        "echo" => reply(id, params),
        "sleep" => {
            err(&format!("test-sidecar: sleeping {} ms", n("ms")));
            std::thread::sleep(std::time::Duration::from_millis(n("ms")));
            reply(id, json!("slept"));
        }
        "notify" => {
            for i in 0..n("count") {
                send(&json!({ "jsonrpc": "2.0", "method": "tick", "params": { "i": i } }));
            }
            reply(id, json!(n("count")));
        }
        "fail" => send(&json!({ "jsonrpc": "2.0", "id": id,
            "error": { "code": -32000, "message": "asked to fail", "data": { "why": "test" } } })),
        "exit" => std::process::exit(n("code") as i32),
        "big" => reply(id, json!("x".repeat(n("bytes") as usize))),
        "noise" => {
            {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "plain text, not JSON-RPC");
                let _ = out.write_all(&vec![b'y'; 2 << 20]);
                let _ = writeln!(out);
                let _ = out.flush();
            }
            reply(id, json!("noisy"));
        }
        "ask" => {
            send(&json!({ "jsonrpc": "2.0", "id": "q1", "method": "whoami" }));
            let got = answers.lock().unwrap().recv_timeout(std::time::Duration::from_secs(10));
            reply(id, got.unwrap_or(Value::Null));
        }
        _ => send(&json!({ "jsonrpc": "2.0", "id": id,
            "error": { "code": -32601, "message": format!("no method {method}") } })),
    }
}
