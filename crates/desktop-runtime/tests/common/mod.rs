//! Helpers for driving the `desktop-runtime` binary from tests (Linux: pidfd, inotify, /proc).
//!
//! Nothing here sleeps to synchronise: runner output is awaited line by line on a channel,
//! file changes with inotify, process ends with a pidfd.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use sidecar_supervisor_core::testing::internals::instance;
use sidecar_supervisor_core::testing::{test_sidecar_bin, wait_pid_gone};
use sidecar_supervisor_core::DataDirLayout;

/// Generous: CI is a loaded 2-core box. Only ever reached when something is broken.
pub const TIMEOUT: Duration = Duration::from_secs(60);

pub const BIN: &str = env!("CARGO_BIN_EXE_desktop-runtime");

/// Two test-sidecars: `database` (TCP, auto port) and `backend` (HTTP, announced port) after it.
pub const TWO_SIDECARS: &str = r#"{
  "sidecars": [
    { "name": "database", "command": "test-sidecar", "args": ["--protocol", "tcp"],
      "port": "auto", "ready": { "tcp": true }, "stop_signal": "SIGINT" },
    { "name": "backend", "command": "test-sidecar", "args": ["--port", "announce"],
      "port": "announce", "depends_on": ["database"], "ready": { "http": "/health/ready" } }
  ]
}"#;

pub fn write_profile(dir: &Path, json: &str) -> PathBuf {
    let p = dir.join("profile.json");
    std::fs::write(&p, json).unwrap();
    p
}

pub fn bundled_dir() -> PathBuf {
    test_sidecar_bin().parent().unwrap().to_path_buf()
}

/// Runs `desktop-runtime <args>` to completion.
pub fn cli(args: &[&str]) -> Output {
    Command::new(BIN).args(args).stdin(Stdio::null()).output().unwrap()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A running `desktop-runtime run`. Dropping it SIGKILLs the runner and kills whatever its
/// instance record still lists (identity-checked), so a failing test leaves nothing behind.
pub struct Runner {
    pub child: Child,
    pub data_dir: PathBuf,
    lines: Receiver<String>,
    pub seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
    exited: Option<ExitStatus>,
}

impl Runner {
    pub fn start(profile: &Path, data_dir: &Path) -> Runner {
        Self::start_with(profile, data_dir, &[])
    }

    /// [`Runner::start`] with extra arguments to `run`.
    pub fn start_with(profile: &Path, data_dir: &Path, extra: &[&str]) -> Runner {
        Self::spawn(Self::command(BIN.as_ref(), profile, data_dir, &bundled_dir(), extra), data_dir)
    }

    /// The `run` command line, for tests that change it (environment, user) before spawning.
    pub fn command(bin: &Path, profile: &Path, data_dir: &Path, bundled: &Path, extra: &[&str]) -> Command {
        let mut cmd = Command::new(bin);
        cmd.arg("run")
            .arg("--runtime-profile")
            .arg(profile)
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--bundled-dir")
            .arg(bundled)
            .args(extra);
        cmd
    }

    /// Spawns a runner from a command made by [`Runner::command`].
    pub fn spawn(mut cmd: Command, data_dir: &Path) -> Runner {
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let (sink, mut err) = (stderr.clone(), child.stderr.take().unwrap());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = err.read(&mut buf) {
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Runner { child, data_dir: data_dir.to_path_buf(), lines, seen: Vec::new(), stderr, exited: None }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn dump(&self) -> String {
        format!("stdout so far:\n{}\nstderr so far:\n{}", self.seen.join("\n"), self.stderr())
    }

    /// Waits for (and returns) the next stdout line satisfying `pred`.
    pub fn wait_line(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!("timed out waiting for {what}\n{}", self.dump()),
                Err(RecvTimeoutError::Disconnected) => panic!("runner ended before {what}\n{}", self.dump()),
            }
        }
    }

    /// Waits for the startup banner; returns the instance id.
    pub fn wait_started(&mut self) -> String {
        let line = self.wait_line("the startup line", |l| l.starts_with("desktop-runtime: instance "));
        line.split_whitespace().nth(2).unwrap().to_string()
    }

    /// Waits for the state-change line `<clock> <name> <state> ...`.
    pub fn wait_state(&mut self, name: &str, state: &str) -> String {
        self.wait_line(&format!("{name} {state}"), |l| is_state_line(l, name, state))
    }

    /// Waits until every sidecar in `names` printed `ready` (in any order).
    pub fn wait_ready(&mut self, names: &[&str]) {
        for n in names {
            if !self.seen.iter().any(|l| is_state_line(l, n, "ready")) {
                self.wait_state(n, "ready");
            }
        }
    }

    /// Takes in every line printed so far without waiting.
    pub fn drain(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: signalling our own child, which has not been reaped yet.
        assert_eq!(unsafe { libc::kill(self.pid() as i32, sig) }, 0, "kill {sig}");
    }

    /// Waits for the runner to end, reaps it, then collects the rest of its stdout.
    pub fn wait_exit(&mut self) -> ExitStatus {
        if let Some(s) = self.exited {
            return s;
        }
        assert!(wait_pid_gone(self.pid(), TIMEOUT), "runner did not exit\n{}", self.dump());
        let status = self.child.wait().unwrap();
        self.exited = Some(status);
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("runner's stdout stayed open after exit\n{}", self.dump()),
            }
        }
        status
    }

    /// SIGINT, then the exit status; asserts a clean stop.
    pub fn stop_cleanly(&mut self) {
        self.signal(libc::SIGINT);
        let st = self.wait_exit();
        assert_eq!(st.code(), Some(0), "exit status {st:?}\n{}", self.dump());
        assert!(self.seen.iter().any(|l| l.contains("stopped cleanly")), "{}", self.dump());
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(rec) = instance::read_record(&DataDirLayout::new(&self.data_dir)) {
            instance::kill_leftovers(&rec);
        }
    }
}

pub fn is_state_line(line: &str, name: &str, state: &str) -> bool {
    let f: Vec<&str> = line.split_whitespace().collect();
    f.len() >= 3 && f[1] == name && f[2] == state
}

/// Processes a test spawned itself; SIGKILLed and reaped on drop.
#[derive(Default)]
pub struct Procs(pub Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Re-runs `check` on every change in `dir` until it gives a value (inotify, no sleeping).
pub fn wait_in_dir<T>(dir: &Path, what: &str, check: impl FnMut() -> Option<T>) -> T {
    sidecar_supervisor_core::testing::wait_in_dir(dir, what, TIMEOUT, check)
}

pub fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

pub fn status_path(data_dir: &Path) -> PathBuf {
    DataDirLayout::new(data_dir).status_file()
}

/// Waits until `<data_dir>/runtime/<file>` parses and satisfies `pred`; returns it.
pub fn wait_runtime_file(data_dir: &Path, file: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let dir = DataDirLayout::new(data_dir).runtime_dir();
    let path = dir.join(file);
    wait_in_dir(&dir, what, || read_json(&path).filter(|v| pred(v)))
}

/// Waits until `status.json` satisfies `pred`; returns it.
pub fn wait_status(data_dir: &Path, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    wait_runtime_file(data_dir, "status.json", what, pred)
}

/// Waits until the persisted feed holds an event of `kind` (the feed is written off the
/// engine's thread, so it may lag the runner's output).
pub fn wait_event(data_dir: &Path, kind: &str) {
    wait_runtime_file(data_dir, "runtime-events.json", &format!("a `{kind}` event"), |v| {
        v.as_array().is_some_and(|evs| evs.iter().any(|e| e["kind"] == kind))
    });
}

pub fn sidecars(st: &Value) -> &Vec<Value> {
    st["sidecars"].as_array().expect("sidecars array")
}

pub fn all_in_state(st: &Value, state: &str) -> bool {
    !sidecars(st).is_empty() && sidecars(st).iter().all(|s| s["state"] == state)
}

/// Waits until `status.json` shows every sidecar ready with a pid; returns name → pid.
pub fn wait_all_ready(data_dir: &Path) -> (Value, BTreeMap<String, u32>) {
    let st = wait_status(data_dir, "every sidecar ready in status.json", |v| {
        all_in_state(v, "ready") && sidecars(v).iter().all(|s| s["pid"].is_u64())
    });
    let pids = pids(&st);
    (st, pids)
}

pub fn pids(st: &Value) -> BTreeMap<String, u32> {
    sidecars(st).iter().filter_map(|s| Some((s["name"].as_str()?.to_string(), s["pid"].as_u64()? as u32))).collect()
}

/// `desktop-runtime status --data-dir D --json`.
pub fn status_cmd_json(data_dir: &Path) -> Value {
    let out = cli(&["status", "--data-dir", data_dir.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0), "status --json: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("status --json: {e}: {}", text(&out.stdout)))
}

/// `desktop-runtime events --data-dir D --json [--limit N]`.
pub fn events_json(data_dir: &Path, limit: Option<usize>) -> Vec<Value> {
    let mut args = vec!["events".to_string(), "--data-dir".into(), data_dir.to_str().unwrap().into(), "--json".into()];
    if let Some(n) = limit {
        args.extend(["--limit".to_string(), n.to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = cli(&args);
    assert_eq!(out.status.code(), Some(0), "events --json: {}", text(&out.stderr));
    serde_json::from_slice::<Vec<Value>>(&out.stdout)
        .unwrap_or_else(|e| panic!("events --json: {e}: {}", text(&out.stdout)))
}

pub fn kinds<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}
