//! The sidecar contract as the reference sidecars implement it (through sidecar-kit), checked
//! on the real binaries; and the default profile where PostgreSQL is missing, in remote_slim
//! mode, and with the runtime run by a normal user.
//! The stack runs on Linux here (its PostgreSQL sidecar is the system one).
#![cfg(target_os = "linux")]

mod common;
mod stack;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use common::*;
use serde_json::Value;
use sidecar_supervisor_core::testing::wait_pid_gone;
use stack::*;

const KEY: &str = "0123456789abcdef0123456789abcdef";

/// The backend started by hand with the contract's environment and no database to reach.
struct ByHand {
    child: Child,
    port: u16,
    lines: mpsc::Receiver<String>,
}

impl ByHand {
    fn start() -> ByHand {
        let mut child = Command::new(bin_dir().join("desktop-runtime-backend"))
            .env("SIDECAR_NAME", "backend")
            .env("SIDECAR_INSTANCE_NAME", "backend")
            .env("SIDECAR_INSTANCE_ID", "launch-42")
            .env("SIDECAR_API_KEY", KEY)
            .env("DATABASE_URL", "postgres://app@127.0.0.1:1/app")
            .env("CORS_ORIGINS", "tauri://localhost,http://tauri.localhost")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        let first = lines.recv_timeout(TIMEOUT).expect("the handshake line");
        let port = first.strip_prefix("SIDECAR_PORT=").unwrap_or_else(|| panic!("handshake: {first}")).parse().unwrap();
        ByHand { child, port, lines }
    }

    /// Waits for the exit; returns the code and everything printed.
    fn wait(mut self) -> (Option<i32>, Vec<String>) {
        assert!(wait_pid_gone(self.child.id(), TIMEOUT), "the backend did not exit");
        let code = self.child.wait().unwrap().code();
        (code, self.lines.iter().collect())
    }
}

impl Drop for ByHand {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_kit_sidecar_serves_health_identity_and_control_and_exits_when_the_lifeline_closes() {
    let mut b = ByHand::start();
    let api = Api::new(b.port, KEY.into());
    let c = api.client();
    assert_eq!(api.send(c.get(api.url("/health/live"))).0, 200);
    // The reason is "starting" until the first attempt to reach the database has failed.
    let deadline = std::time::Instant::now() + TIMEOUT;
    let ready = loop {
        let (code, ready) = api.send(c.get(api.url("/health/ready")));
        assert_eq!(code, 503, "no database: not ready");
        if ready["reason"] != "starting" || std::time::Instant::now() > deadline {
            break ready;
        }
        std::thread::sleep(std::time::Duration::from_millis(10)); // polling an HTTP state: no event
    };
    assert!(ready["reason"].as_str().unwrap().contains("database unreachable"), "{ready}");
    let (code, info) = api.get("/runtime/info");
    assert_eq!(code, 200);
    assert_eq!((info["instance_id"].as_str(), info["pid"].as_u64()), (Some("launch-42"), Some(b.child.id() as u64)));

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let url = api.url("");
    rt.block_on(async move {
        use sidecar_kit::health::control_v1::{control_client::ControlClient, InfoRequest};
        use tonic_health::pb::{health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest};
        let ch = tonic::transport::Endpoint::from_shared(url).unwrap().connect().await.unwrap();
        let mut health = HealthClient::new(ch.clone());
        let check = |s: &str| HealthCheckRequest { service: s.into() };
        let live = health.check(check("")).await.expect("gRPC health needs no key").into_inner();
        assert_eq!(live.status, ServingStatus::Serving as i32);
        let ready = health.check(check("ready")).await.unwrap().into_inner();
        assert_eq!(ready.status, ServingStatus::NotServing as i32);
        // Info is public like /runtime/info: with a nonce it proves the key without sending it.
        let req = InfoRequest { nonce: "n0nce".into() };
        let info = ControlClient::new(ch.clone()).info(req).await.expect("Info needs no key").into_inner();
        assert_eq!((info.name.as_str(), info.instance_id.as_str()), ("backend", "launch-42"));
        assert!(sidecar_identity::verify(KEY, "n0nce", &info.proof), "{info:?}");
        let info = ControlClient::new(ch.clone()).info(InfoRequest::default()).await.unwrap().into_inner();
        assert_eq!(info.proof, "", "no nonce, no proof");
        let e = ControlClient::new(ch.clone()).info(InfoRequest { nonce: "a b".into() }).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        use sidecar_kit::health::control_v1::ShutdownRequest;
        let e = ControlClient::new(ch).shutdown(ShutdownRequest { reason: "test".into() }).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated, "Shutdown needs the key");
    });

    drop(b.child.stdin.take()); // what the kernel does when the runtime dies
    let (code, out) = b.wait();
    assert_eq!(code, Some(0), "{out:?}");
    assert!(out.iter().any(|l| l.contains("stdin lifeline closed")), "{out:?}");
}

/// The app's web UI runs at another origin: its preflight (which carries no key) is answered
/// for the listed origins only; the request itself still needs the key.
#[test]
fn cors_lets_the_app_origin_in_and_no_other() {
    let b = ByHand::start();
    let api = Api::new(b.port, KEY.into());
    let c = api.client();
    let preflight = |origin: &str| {
        c.request(reqwest::Method::OPTIONS, api.url("/api/jobs"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,x-api-key")
            .send()
            .unwrap()
    };
    let ok = preflight("tauri://localhost");
    assert!(ok.status().is_success(), "{}", ok.status());
    assert_eq!(ok.headers()["access-control-allow-origin"], "tauri://localhost");
    let allowed = ok.headers()["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(allowed.contains("x-api-key"), "{allowed}");
    let evil = preflight("http://evil.example");
    assert!(evil.headers().get("access-control-allow-origin").is_none(), "{:?}", evil.headers());
    // With the origin allowed, the request itself still needs the key.
    let r = c.get(api.url("/api/jobs")).header("origin", "tauri://localhost").send().unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.headers()["access-control-allow-origin"], "tauri://localhost");
}

#[test]
fn control_shutdown_stops_a_kit_sidecar_gracefully() {
    let b = ByHand::start();
    let url = format!("http://127.0.0.1:{}", b.port);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        use sidecar_kit::health::control_v1::{control_client::ControlClient, ShutdownRequest};
        let mut req = tonic::Request::new(ShutdownRequest { reason: "test says so".into() });
        req.metadata_mut().insert("x-api-key", KEY.parse().unwrap());
        let ch = tonic::transport::Endpoint::from_shared(url).unwrap().connect().await.unwrap();
        ControlClient::new(ch).shutdown(req).await.unwrap();
    });
    let (code, out) = b.wait();
    assert_eq!(code, Some(0), "{out:?}");
    assert!(out.iter().any(|l| l.contains("shutdown requested over gRPC: test says so")), "{out:?}");
}

#[test]
fn a_kit_sidecar_refuses_a_non_loopback_host_naming_the_variable() {
    let out = Command::new(bin_dir().join("desktop-runtime-worker"))
        .env("SIDECAR_HOST", "0.0.0.0")
        .env("BACKEND_URL", "http://127.0.0.1:1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SIDECAR_HOST") && err.contains("loopback"), "{err}");
}

/// The default profile with `search_path` gone and `PATH` reduced to directories without
/// PostgreSQL: as on a machine where it is not installed.
#[test]
fn without_postgresql_the_database_fails_naming_what_to_install_and_the_rest_waits() {
    let dir = data_dir();
    let mut profile: Value = serde_json::from_str(&std::fs::read_to_string(PROFILE).unwrap()).unwrap();
    profile["sidecars"][0].as_object_mut().unwrap().remove("search_path");
    profile["sidecars"][0]["os"]["linux"].as_object_mut().unwrap().remove("search_path");
    let path = write_profile(dir.path(), &profile.to_string());
    let data = dir.path().join("data");
    let mut cmd = Runner::command(BIN.as_ref(), &path, &data, &bundled_dir(), &[]);
    let no_pg = std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .filter(|d| !d.join("postgres").exists())
        .collect::<Vec<_>>();
    cmd.env("PATH", std::env::join_paths(no_pg).unwrap()).env_remove("POSTGRES_BIN").env_remove("DATABASE_BIN");
    let mut r = Runner::spawn(cmd, &data);
    r.wait_started();
    let st = wait_status(&data, "database failed", |v| row(v, "database")["state"] == "failed");
    let err = row(&st, "database")["last_error"].as_str().unwrap().to_string();
    assert!(err.contains("command `postgres` of sidecar `database` not found"), "{err}");
    assert!(err.contains("PostgreSQL is not installed: run `sudo apt install postgresql`"), "{err}");
    for n in ["backend", "worker#1", "worker#2"] {
        assert_eq!(row(&st, n)["state"], "waiting_for_deps", "{n}: {st:#}");
    }
    assert_eq!(row(&st, "database")["restarts_in_window"], 0, "nothing to retry");
    r.signal(libc::SIGINT);
    r.wait_exit();
}

/// The database is reached over TCP on loopback with this launch's password, as on Windows
/// (no unix socket there): no login without it or with the last launch's, and no file of the
/// runtime (logs, feed, status) shows it.
#[test]
fn the_database_takes_only_this_launchs_password_and_no_file_shows_it() {
    let connect = |url: &str| {
        let cfg: tokio_postgres::Config = url.parse().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move { cfg.connect(tokio_postgres::NoTls).await.map(|_| ()).map_err(|e| format!("{e:?}")) })
    };
    let password_of = |url: &str| url.split_once("app:").unwrap().1.split_once('@').unwrap().0.to_string();
    let s = Stack::start(without_workers);
    let url = s.database_url();
    let password = password_of(&url);
    assert_eq!(password.len(), 48, "{password}");
    connect(&url).expect("the backend's URL logs in");
    let wrong = url.replace(&password, "not-the-password");
    let refused = connect(&wrong).unwrap_err();
    assert!(refused.contains("28P01"), "a wrong password is refused: {refused}");
    let sockets: Vec<_> = std::fs::read_dir(s.data().join("database/pg"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".s.PGSQL"))
        .collect();
    assert!(sockets.is_empty(), "no unix socket: {sockets:?}");
    let mut files = vec![s.data()];
    let mut scanned = 0;
    while let Some(p) = files.pop() {
        if p.is_dir() {
            if p != s.data().join("database/pg") {
                files.extend(std::fs::read_dir(&p).unwrap().flatten().map(|e| e.path()));
            }
        } else if let Ok(bytes) = std::fs::read(&p) {
            scanned += 1;
            assert!(!String::from_utf8_lossy(&bytes).contains(&password), "{} shows the password", p.display());
        }
    }
    assert!(scanned >= 4, "logs, feed and status were scanned: {scanned}");

    let s = Stack::start_in(s.stop(), without_workers);
    let next = s.database_url();
    assert_ne!(password_of(&next), password, "a new password each launch");
    connect(&next).expect("this launch's password logs in");
    let refused = connect(&next.replace(&password_of(&next), &password)).unwrap_err();
    assert!(refused.contains("28P01"), "the last launch's password no longer does: {refused}");
}

#[test]
fn remote_slim_runs_no_local_backend_or_database() {
    let dir = data_dir();
    let data = dir.path().join("data");
    let slim = std::path::Path::new(PROFILE).with_file_name("remote_slim.json");
    let mut r = Runner::start(&slim, &data);
    r.wait_started();
    let st = wait_status(&data, "the remote_slim status", |v| v["mode"] == "remote_slim" && !sidecars(v).is_empty());
    for n in ["database", "backend"] {
        assert_eq!(row(&st, n)["pid"], Value::Null, "{n} must not run: {st:#}");
    }
    assert_eq!(row(&st, "backend")["url"], "https://jobs.example.com", "{st:#}");
    r.stop_cleanly();
}

/// Run as root, the other tests drop only PostgreSQL to `postgres`; here the whole runtime is a
/// normal user (`nobody`), as on a desktop: PostgreSQL then runs as that user too.
#[test]
#[ignore = "needs root"]
fn the_stack_runs_when_the_runtime_is_a_normal_user() {
    assert!(
        sidecar_supervisor_core::testing::internals::platform::is_root(),
        "this test needs root (it drops the runtime to `nobody`)"
    );
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = data_dir();
    // The build's binaries may sit under a private home: give the user its own copies.
    let bins = dir.path().join("bin");
    std::fs::create_dir(&bins).unwrap();
    for b in ["desktop-runtime", "desktop-runtime-backend", "desktop-runtime-worker", "desktop-runtime-executor"] {
        std::fs::copy(bin_dir().join(b), bins.join(b)).unwrap();
    }
    let mut profile: Value = serde_json::from_str(&std::fs::read_to_string(PROFILE).unwrap()).unwrap();
    profile.as_object_mut().unwrap().remove("$schema");
    let path = write_profile(dir.path(), &profile.to_string());
    for p in [&bins, &path] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let nobody = 65534;
    std::os::unix::fs::chown(&data, Some(nobody), Some(nobody)).unwrap();
    let mut cmd = Runner::command(&bins.join("desktop-runtime"), &path, &data, &bins, &[]);
    cmd.uid(nobody).gid(nobody).env("HOME", &data);
    let mut r = Runner::spawn(cmd, &data);
    r.wait_started();
    let (st, pids) = wait_all_ready(&data);
    assert_eq!(names(&st), ALL);
    for (name, pid) in pids {
        let uid = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("Uid:").map(|u| u.split_whitespace().next().unwrap().to_string()))
            .unwrap();
        assert_eq!(uid, nobody.to_string(), "{name} runs as the runtime's user");
    }
    r.stop_cleanly();
}
