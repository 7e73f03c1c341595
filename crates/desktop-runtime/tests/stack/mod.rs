//! The reference stack (PostgreSQL → backend → worker×2) run by the real runner from the
//! shipped `profiles/local_fullstack.json`, for the end-to-end tests of issue 3.
//!
//! Waiting is event-driven where the system gives events: runner output lines, status.json
//! and the sidecars' log files (inotify). Job progress lives only in the database, so it is
//! read from the backend's API until it holds or a deadline passes.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

pub const PROFILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../profiles/local_fullstack.json");

/// Every sidecar of the default profile, as status rows name them.
pub const ALL: [&str; 5] = ["database", "backend", "worker#1", "worker#2", "executor"];

/// A running stack in its own data dir.
pub struct Stack {
    pub runner: Runner,
    pub dir: tempfile::TempDir,
    pub api: Api,
    /// Start to all sidecars ready.
    pub started_in: Duration,
}

impl Stack {
    /// Starts the default profile, changed by `tweak`, and waits until every sidecar is ready.
    pub fn start(tweak: impl FnOnce(&mut Value)) -> Stack {
        Self::start_in(data_dir(), tweak)
    }

    /// [`Stack::start`] in `dir` (which may hold the data of an earlier run).
    pub fn start_in(dir: tempfile::TempDir, tweak: impl FnOnce(&mut Value)) -> Stack {
        let mut profile: Value = serde_json::from_str(&std::fs::read_to_string(PROFILE).unwrap()).unwrap();
        profile.as_object_mut().unwrap().remove("$schema");
        tweak(&mut profile);
        let path = write_profile(dir.path(), &serde_json::to_string_pretty(&profile).unwrap());
        let data = dir.path().join("data");
        let key_file = dir.path().join("api-key");
        let t = Instant::now();
        let mut runner = Runner::start_with(&path, &data, &["--api-key-file", key_file.to_str().unwrap()]);
        runner.wait_started();
        let (st, _) = wait_all_ready(&data);
        let started_in = t.elapsed();
        assert_eq!(names(&st), expected_names(&profile), "{st:#}");
        let key = std::fs::read_to_string(&key_file).expect("the runner wrote the API key file").trim().to_string();
        let port = row(&st, "backend")["port"].as_u64().expect("backend port") as u16;
        Stack { runner, dir, api: Api::new(port, key), started_in }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn status(&self) -> Value {
        read_json(&status_path(&self.data())).expect("status.json")
    }

    pub fn pid(&self, name: &str) -> u32 {
        row(&self.status(), name)["pid"].as_u64().unwrap_or_else(|| panic!("{name} has no pid")) as u32
    }

    /// Waits until status.json shows `name` ready with a pid other than `old_pid`; returns it.
    /// The backend's `DATABASE_URL` as it got it (with this launch's database password), read
    /// from its environment: the one way in for a test, as the password is in no log.
    pub fn database_url(&self) -> String {
        let environ =
            std::fs::read(format!("/proc/{}/environ", self.pid("backend"))).expect("the backend's environment");
        environ
            .split(|b| *b == 0)
            .find_map(|var| var.strip_prefix(b"DATABASE_URL="))
            .map(|v| String::from_utf8(v.to_vec()).unwrap())
            .expect("the backend has DATABASE_URL")
    }

    pub fn wait_respawned_ready(&self, name: &str, old_pid: u32) -> u32 {
        let st = wait_status(&self.data(), &format!("{name} ready again with a new pid"), |v| {
            sidecars(v)
                .iter()
                .any(|s| s["name"] == name && s["state"] == "ready" && s["pid"].as_u64() != Some(old_pid as u64))
        });
        row(&st, name)["pid"].as_u64().unwrap() as u32
    }

    /// Waits until every sidecar is ready again.
    pub fn wait_all_ready(&self) -> Value {
        wait_all_ready(&self.data()).0
    }

    /// How many lines of `name`'s log file contain `text` now.
    pub fn log_count(&self, name: &str, text: &str) -> usize {
        let file = self.data().join("logs").join(format!("{}.log", name.replace('#', "_")));
        std::fs::read_to_string(file).unwrap_or_default().lines().filter(|l| l.contains(text)).count()
    }

    /// Waits until `name`'s log file has `count` lines containing `text`; returns the last.
    pub fn wait_log(&self, name: &str, text: &str, count: usize) -> String {
        let logs = self.data().join("logs");
        let file = logs.join(format!("{}.log", name.replace('#', "_")));
        wait_in_dir(&logs, &format!("{count}× `{text}` in {}", file.display()), || {
            let all = std::fs::read_to_string(&file).ok()?;
            let hits: Vec<&str> = all.lines().filter(|l| l.contains(text)).collect();
            (hits.len() >= count).then(|| hits[count - 1].to_string())
        })
    }

    /// Stops the runner with SIGINT and hands back the data dir.
    pub fn stop(mut self) -> tempfile::TempDir {
        self.runner.stop_cleanly();
        self.dir
    }

    /// Creates a job and returns its id.
    pub fn create_job(&self, text: &str, delay_ms: u32) -> i64 {
        let (code, body) =
            self.api.post("/api/jobs", &serde_json::json!({ "text": text, "delay_ms": delay_ms }).to_string());
        assert_eq!(code, 201, "{body}");
        body["id"].as_i64().unwrap()
    }

    /// Reads the job until `pred` holds.
    pub fn wait_job(&self, id: i64, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        let mut last = Value::Null;
        while Instant::now() < deadline {
            let (code, job) = self.api.get(&format!("/api/jobs/{id}"));
            if code == 200 && pred(&job) {
                return job;
            }
            last = job;
            std::thread::sleep(Duration::from_millis(20)); // polling a database row: no event exists
        }
        panic!("job {id} never became {what}; last seen {last}\n{}", self.runner.seen.join("\n"))
    }
}

/// The status rows a profile gives: one per sidecar, `name#n` for replicas.
pub fn expected_names(profile: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for sc in profile["sidecars"].as_array().unwrap() {
        let name = sc["name"].as_str().unwrap();
        match sc["replicas"].as_u64().unwrap_or(1) {
            1 => out.push(name.to_string()),
            n => out.extend((1..=n).map(|i| format!("{name}#{i}"))),
        }
    }
    out
}

/// The profile without its workers: a test that plays the worker itself.
pub fn without_workers(p: &mut Value) {
    p["sidecars"].as_array_mut().unwrap().retain(|s| s["name"] != "worker");
}

/// A temp dir others can traverse: postgres runs as user `postgres` when the tests run as root.
pub fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    dir
}

pub fn names(st: &Value) -> Vec<&str> {
    sidecars(st).iter().map(|s| s["name"].as_str().unwrap()).collect()
}

pub fn row<'a>(st: &'a Value, name: &str) -> &'a Value {
    sidecars(st).iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no row {name} in {st:#}"))
}

pub fn kill9(pid: u32) {
    // SAFETY: kill(2) on a pid the runtime reported; the test owns these processes.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0, "kill -9 {pid}");
}

/// The backend's HTTP API, with this launch's key and a loopback Host unless told otherwise.
pub struct Api {
    pub port: u16,
    pub key: String,
    client: reqwest::blocking::Client,
}

impl Api {
    pub fn new(port: u16, key: String) -> Api {
        Api {
            port,
            key,
            client: reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.client.get(self.url(path)).header("x-api-key", &self.key))
    }

    pub fn post(&self, path: &str, body: &str) -> (u16, Value) {
        self.send(
            self.client
                .post(self.url(path))
                .header("x-api-key", &self.key)
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
    }

    /// Any request; the status and the body parsed as JSON (`Null` when it is not JSON).
    pub fn send(&self, req: reqwest::blocking::RequestBuilder) -> (u16, Value) {
        let resp = req.send().unwrap_or_else(|e| panic!("request failed: {e}"));
        let code = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        (code, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub fn client(&self) -> &reqwest::blocking::Client {
        &self.client
    }
}

/// Where the sidecar binaries are (the cargo target dir, which `cargo xtask test` builds).
pub fn bin_dir() -> &'static Path {
    Path::new(BIN).parent().unwrap()
}
