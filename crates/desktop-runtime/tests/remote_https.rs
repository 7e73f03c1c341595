//! remote_slim for real: the remote backend is probed over HTTPS and shown as a row with its
//! latency and last error. The server is a real TLS server (`openssl s_server`) with a
//! certificate from a CA made here; the runtime trusts it only when the CA is handed over
//! (`RUNTIME_EXTRA_CA_FILES`, or the profile's `extra_ca_files`), and passes it on to sidecars.
#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::*;
use serde_json::Value;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl is installed");
    assert!(out.status.success(), "openssl {args:?}: {}", text(&out.stderr));
}

/// A CA (`ca.pem`) and a server certificate for localhost/127.0.0.1 it signed. The tests use the
/// address, not the name: no resolver is asked (on a machine whose resolver has no network,
/// a name lookup can stall for seconds).
fn make_ca(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=Desktop Runtime test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(
        dir,
        &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=localhost"],
    );
    std::fs::write(
        dir.join("ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "srv.pem",
            "-days",
            "2",
            "-extfile",
            "ext",
        ],
    );
}

/// `openssl s_server -www` on a free port: answers every GET with 200.
fn https_server(dir: &Path) -> (Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("openssl")
        .args(["s_server", "-accept", &port.to_string(), "-cert", "srv.pem", "-key", "srv.key", "-www", "-quiet"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "s_server never listened");
        std::thread::sleep(std::time::Duration::from_millis(20)); // a child's port: nothing to await
    }
    (child, port)
}

fn profile(dir: &Path, port: u16, extra: &str) -> std::path::PathBuf {
    write_profile(
        dir,
        &format!(
            r#"{{
      "mode": "remote_slim", "backend_url": "https://127.0.0.1:{port}"{extra},
      "sidecars": [
        {{ "name": "backend", "role": "backend", "command": "test-sidecar", "port": "auto",
           "ready": {{ "http": "/health/ready", "interval_ms": 200, "failure_threshold": 2 }} }},
        {{ "name": "client", "command": "test-sidecar", "args": ["--echo-env", "SIDECAR_EXTRA_CA_FILES"] }}
      ]
    }}"#
        ),
    )
}

fn backend(st: &Value) -> Value {
    sidecars(st).iter().find(|r| r["name"] == "backend").cloned().unwrap()
}

#[test]
fn the_remote_backend_is_a_row_probed_over_https_with_the_extra_ca() {
    let tmp = tempfile::tempdir().unwrap();
    make_ca(tmp.path());
    let (mut server, port) = https_server(tmp.path());
    let ca = tmp.path().join("ca.pem");

    // Trusted through the environment: ready, with a latency.
    let data = tmp.path().join("data");
    let mut cmd = Runner::command(BIN.as_ref(), &profile(tmp.path(), port, ""), &data, &bundled_dir(), &[]);
    cmd.env("RUNTIME_EXTRA_CA_FILES", &ca);
    let mut r = Runner::spawn(cmd, &data);
    let st = wait_status(&data, "the remote backend ready", |v| backend(v)["state"] == "ready");
    let row = backend(&st);
    assert_eq!(row["url"], format!("https://127.0.0.1:{port}"));
    assert_eq!(row["pid"], Value::Null, "nothing runs here");
    let probe = &row["last_probe"];
    assert!(probe["ok"] == true && probe["latency_ms"].as_f64().unwrap() > 0.0, "{row:#}");
    assert_eq!(probe["detail"], "GET /health/ready answered 200");
    wait_event(&data, "ready");
    let evs = events_json(&data, None);
    assert!(
        kinds(&evs, "ready").iter().any(|e| e["sidecar"] == "backend"
            && e["message"]
                .as_str()
                .unwrap()
                .contains(&format!("the remote backend https://127.0.0.1:{port} is ready"))),
        "{evs:#?}"
    );
    // Sidecars are handed the CA too.
    // The log file is written by the runtime's background writer a moment after the line: wait
    // for it there.
    let want = format!("SIDECAR_EXTRA_CA_FILES={}", ca.display());
    wait_in_dir(&data.join("logs"), "the client's CA line in its log file", || {
        std::fs::read_to_string(data.join("logs/client.log")).ok().filter(|l| l.contains(&want))
    });

    // The server goes away: unhealthy after the threshold, with the reason.
    server.kill().unwrap();
    server.wait().unwrap();
    let st = wait_status(&data, "the remote backend unhealthy", |v| backend(v)["state"] == "unhealthy");
    let err = backend(&st)["last_error"].as_str().unwrap().to_string();
    assert!(err.starts_with(&format!("the remote backend https://127.0.0.1:{port}: GET /health/ready:")), "{err}");
    r.stop_cleanly();

    // Without the CA the certificate is refused, and the row says so.
    let (mut server, port) = https_server(tmp.path());
    let data2 = tmp.path().join("data2");
    let mut r = Runner::start(&profile(tmp.path(), port, ""), &data2);
    let st = wait_status(&data2, "a refused certificate", |v| {
        backend(v)["last_error"].as_str().is_some_and(|e| e.contains("certificate"))
    });
    assert_eq!(backend(&st)["state"], "starting", "never taken as ready: {st:#}");
    r.stop_cleanly();

    // Trusted through the profile (relative to it): ready.
    let data3 = tmp.path().join("data3");
    let mut r = Runner::start(&profile(tmp.path(), port, r#", "extra_ca_files": ["ca.pem"]"#), &data3);
    wait_status(&data3, "ready with the profile's CA", |v| backend(v)["state"] == "ready");
    r.stop_cleanly();
    server.kill().unwrap();
    let _ = server.wait();

    // A CA file that is not one is refused at start, naming where.
    std::fs::write(tmp.path().join("not-a-ca.pem"), "hello").unwrap();
    let mut c = Runner::command(
        BIN.as_ref(),
        &profile(tmp.path(), port, r#", "extra_ca_files": ["not-a-ca.pem"]"#),
        &tmp.path().join("data4"),
        &bundled_dir(),
        &[],
    );
    let out = c.stdin(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("$.extra_ca_files[0]") && err.contains("holds no PEM certificate"), "{err}");
}

mod stack;

/// The server side of remote_slim on this machine: the reference stack (PostgreSQL and the
/// backend, no workers) behind a TLS terminator (`socat`, with the certificate of the CA made
/// here); a remote_slim runner's workers reach it over HTTPS with the remote backend's key and
/// the CA, and do its jobs.
#[test]
fn workers_of_a_remote_slim_runner_do_jobs_of_an_https_backend() {
    let server = stack::Stack::start(|p| {
        p["sidecars"].as_array_mut().unwrap().retain(|s| s["name"] != "worker" && s["name"] != "executor");
    });
    let dir = tempfile::tempdir().unwrap();
    make_ca(dir.path());
    let proxy_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut proxy = Command::new("socat")
        .arg(format!("OPENSSL-LISTEN:{proxy_port},bind=127.0.0.1,reuseaddr,fork,cert=srv.pem,key=srv.key,verify=0"))
        .arg(format!("TCP:127.0.0.1:{}", server.api.port))
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .spawn()
        .expect("socat is installed (.ci/run installs it)");
    let slim = write_profile(
        dir.path(),
        &format!(
            r#"{{
      "mode": "remote_slim", "backend_url": "https://127.0.0.1:{proxy_port}",
      "sidecars": [
        {{ "name": "backend", "role": "backend", "command": "desktop-runtime-backend", "port": "auto",
           "ready": {{ "http": "/health/ready", "interval_ms": 200 }} }},
        {{ "name": "worker", "role": "worker", "command": "desktop-runtime-worker", "port": "auto",
           "depends_on": ["backend"], "ready": {{ "http": "/health/ready" }} }}
      ]
    }}"#
        ),
    );
    let data = dir.path().join("slim");
    let mut cmd = Runner::command(BIN.as_ref(), &slim, &data, &bundled_dir(), &[]);
    cmd.env("RUNTIME_EXTRA_CA_FILES", dir.path().join("ca.pem")).env("BACKEND_API_KEY", &server.api.key);
    let mut r = Runner::spawn(cmd, &data);
    let st = wait_status(&data, "the https backend and the worker ready", |v| {
        sidecars(v).iter().all(|s| s["state"] == "ready")
    });
    let worker_pid = sidecars(&st).iter().find(|s| s["name"] == "worker").unwrap()["pid"].as_u64().unwrap();

    let id = server.create_job("over https from another runner", 0);
    let job = server.wait_job(id, "done by the remote_slim worker", |j| j["status"] == "done");
    let by = job["worker"].as_str().unwrap_or_default().to_string();
    assert!(by.contains(&format!("pid {worker_pid}")), "done by the slim runner's worker over TLS: {job:#}");
    // The remote backend's key is a secret of this runner: nowhere in its files.
    for f in ["runtime/status.json", "runtime/runtime-events.json", "logs/worker.log"] {
        let text = std::fs::read_to_string(data.join(f)).unwrap_or_default();
        assert!(!text.contains(&server.api.key), "{f} shows the remote backend's key");
    }
    r.stop_cleanly();
    let _ = proxy.kill();
    let _ = proxy.wait();
}

/// The backend as its container runs it (deploy/backend.Dockerfile, deploy/kubernetes): server
/// mode on 0.0.0.0, stdin not a pipe (no lifeline: it keeps running), the deployment's names
/// accepted as Host besides loopback and nothing else, the fixed key required, health public.
#[test]
fn the_backend_runs_as_a_server_the_way_its_container_does() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let bin = stack::bin_dir().join("desktop-runtime-backend");
    let mut backend = Command::new(&bin)
        .env_clear()
        .envs([
            ("SIDECAR_NAME", "backend"),
            ("SIDECAR_HOST", "0.0.0.0"),
            ("SIDECAR_PORT", &port.to_string()),
            ("SIDECAR_PUBLIC_HOSTS", "jobs.test,desktop-runtime-backend"),
            ("SIDECAR_API_KEY", "fixed-secret-key"),
            ("DATABASE_URL", "postgres://app:pw@127.0.0.1:1/app"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let c = reqwest::blocking::Client::builder().no_proxy().build().unwrap();
    let get = |path: &str, host: &str, key: Option<&str>| {
        let mut r = c.get(format!("http://127.0.0.1:{port}{path}")).header("host", host);
        if let Some(k) = key {
            r = r.header("x-api-key", k);
        }
        r.send().map(|r| r.status().as_u16())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while get("/health/live", "jobs.test", None).is_err() {
        assert!(backend.try_wait().unwrap().is_none(), "the backend exited in server mode");
        assert!(std::time::Instant::now() < deadline, "the backend never listened");
        std::thread::sleep(std::time::Duration::from_millis(20)); // a child's port: nothing to await
    }
    assert_eq!(get("/health/live", "jobs.test", None).unwrap(), 200);
    assert_eq!(get("/health/ready", "jobs.test:443", None).unwrap(), 503, "not ready without its database");
    assert_eq!(get("/api/jobs", "evil.test", Some("fixed-secret-key")).unwrap(), 403, "a foreign Host");
    assert_eq!(get("/api/jobs", "jobs.test", Some("wrong")).unwrap(), 401);
    let ok = get("/api/jobs", "desktop-runtime-backend", Some("fixed-secret-key")).unwrap();
    assert!(ok != 401 && ok != 403, "its own names with the key get through ({ok})");
    assert!(backend.try_wait().unwrap().is_none(), "no lifeline: a closed stdin does not stop it");
    let _ = backend.kill();
    let _ = backend.wait();

    // Without the deployment's names, 0.0.0.0 is refused, naming the variable.
    let out = Command::new(&bin)
        .env_clear()
        .envs([("SIDECAR_HOST", "0.0.0.0"), ("SIDECAR_API_KEY", "k"), ("DATABASE_URL", "postgres://x@127.0.0.1:1/x")])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("SIDECAR_PUBLIC_HOSTS"), "{}", text(&out.stderr));
}
