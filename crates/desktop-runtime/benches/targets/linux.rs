//! The benchmarks (see `benches/targets.rs`), on Linux: they read `/proc` and time with
//! `CLOCK_MONOTONIC`.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use sidecar_supervisor_core::profile::{self, Overrides};
use sidecar_supervisor_core::DataDirLayout;
use sidecar_supervisor_core::Notification;
use sidecar_supervisor_core::State;
use sidecar_supervisor_core::Verb;
use sidecar_supervisor_core::{Supervisor, SupervisorOptions};

fn mono_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Where the runner and test-sidecar are: `BENCH_BIN_DIR` (an older build, for before/after
/// figures), else the build this bench belongs to.
fn bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("BENCH_BIN_DIR") {
        return PathBuf::from(d);
    }
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

fn env_num(k: &str, d: u64) -> u64 {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d)
}

struct Reports {
    sock: UnixDatagram,
    path: PathBuf,
}

impl Reports {
    fn new(dir: &Path) -> Reports {
        let path = dir.join("report.sock");
        let sock = UnixDatagram::bind(&path).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        Reports { sock, path }
    }
    /// Next report of `kind`: (pid, ns).
    fn next(&self, kind: &str) -> (u32, u64) {
        let mut buf = [0u8; 128];
        loop {
            let n = self.sock.recv(&mut buf).expect("sidecar report (timed out?)");
            let s = String::from_utf8_lossy(&buf[..n]).to_string();
            let mut it = s.split_whitespace();
            if it.next() == Some(kind) {
                let pid = it.next().unwrap().parse().unwrap();
                let ns = it.next().unwrap().parse().unwrap();
                return (pid, ns);
            }
        }
    }
}

fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let med = v[v.len() / 2];
    let p90 = v[(v.len() * 9 / 10).min(v.len() - 1)];
    (med, p90, v[v.len() - 1])
}

/// Kill -9 the child `pid` reporting to `r`, `trials` times; latency from the kill to the new
/// child's start, into `out`. Returns the child running at the end.
fn respawn_latencies(r: &Reports, mut pid: u32, trials: u64, out: &mut Vec<f64>) -> u32 {
    for _ in 0..trials {
        std::thread::sleep(Duration::from_millis(30)); // pacing, not synchronisation
        let t0 = mono_ns();
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        let (new_pid, ns) = r.next("start");
        assert_ne!(new_pid, pid);
        out.push((ns.saturating_sub(t0)) as f64 / 1e6);
        pid = new_pid;
    }
    pid
}

fn config(dir: &Path, json: &str) -> profile::RuntimeConfig {
    let p = dir.join("profile.json");
    std::fs::write(&p, json).unwrap();
    let cli = Overrides { profile_path: Some(p), data_dir: Some(dir.join("data")), ..Default::default() };
    profile::resolve(&cli, &|_| None, profile::Host::default(), None, "desktop-runtime-bench").unwrap()
}

/// Crash → new process with `test-sidecar` as the child (it reports its own start), ours against
/// a bash loop, in interleaved rounds (`trials` in all per side).
fn bench_respawn(trials: u64) -> (f64, f64) {
    let sidecar = bin_dir().join("test-sidecar");
    // Baseline: a bare shell loop.
    let base_dir = tempfile::tempdir().unwrap();
    let r_base = Reports::new(base_dir.path());
    let script = format!(
        "while true; do '{}' --report-socket '{}' --ignore-stdin-eof; done",
        sidecar.display(),
        r_base.path.display()
    );
    let mut loop_proc = {
        use std::os::unix::process::CommandExt;
        Command::new("bash")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap()
    };
    // Ours.
    let dir = tempfile::tempdir().unwrap();
    let r = Reports::new(dir.path());
    let json = format!(
        r#"{{"restart": {{"max_restarts": 10000, "window_secs": 1, "min_uptime_ms": 0}},
            "sidecars": [{{"name": "crashy", "command": "test-sidecar", "args": ["--report-socket", "{}"]}}]}}"#,
        r.path.display()
    );
    let sup = Supervisor::start(SupervisorOptions {
        config: config(dir.path(), &json),
        bundled_dirs: vec![bin_dir()],
        write_status_file: false,
        app_version: String::new(),
        app_build: String::new(),
    })
    .unwrap();
    let (mut base_pid, mut our_pid) = (r_base.next("start").0, r.next("start").0);
    let (mut base, mut ours) = (Vec::new(), Vec::new());
    let rounds = 4u64.min(trials.max(1));
    for k in 0..rounds {
        let n = trials / rounds + u64::from(k < trials % rounds);
        base_pid = respawn_latencies(&r_base, base_pid, n, &mut base);
        our_pid = respawn_latencies(&r, our_pid, n, &mut ours);
    }
    sup.shutdown_blocking();
    unsafe { libc::kill(-(loop_proc.id() as i32), libc::SIGKILL) };
    let _ = loop_proc.wait();

    let (bm, bp, bx) = stats(base);
    let (om, op, ox) = stats(ours);
    println!("crash → new process, test-sidecar ({trials} trials in {rounds} interleaved rounds, ms)");
    println!("                                          median    p90    max");
    println!("  bash `while true` loop (baseline)       {bm:7.2} {bp:6.2} {bx:6.2}");
    println!("  sidecar-supervisor                      {om:7.2} {op:6.2} {ox:6.2}");
    println!("  ratio ours/baseline (median): {:.2}×   target ≤ 1.30×", om / bm);
    (om, bm)
}

/// The `children` file of the thread of `sup` that has a child named `name` (the thread that
/// starts the processes), once one exists.
fn children_file_of(sup: u32, name: &str) -> std::fs::File {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        for t in std::fs::read_dir(format!("/proc/{sup}/task")).unwrap().flatten() {
            let path = t.path().join("children");
            let kids = std::fs::read_to_string(&path).unwrap_or_default();
            if kids.split_whitespace().filter_map(|p| p.parse::<u32>().ok()).any(|c| comm(c) == name) {
                return std::fs::File::open(path).unwrap();
            }
        }
        assert!(std::time::Instant::now() < deadline, "no `{name}` under pid {sup}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A process's command name (`/proc/<pid>/comm`).
fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).map(|s| s.trim().to_string()).unwrap_or_default()
}

/// The children listed in an open `children` file (one `pread`).
fn read_children(f: &std::fs::File, buf: &mut [u8]) -> Vec<u32> {
    use std::os::unix::fs::FileExt;
    let n = f.read_at(buf, 0).unwrap_or(0);
    std::str::from_utf8(&buf[..n]).unwrap_or("").split_whitespace().filter_map(|p| p.parse().ok()).collect()
}

/// Waits for a child named `name` other than `not` in `f`, polling every 50 µs with one `pread`
/// (the same for every supervisor measured, so the polling cost and resolution cancel out in
/// the ratio); returns it and when it was seen.
fn wait_child(f: &std::fs::File, name: &str, not: Option<u32>) -> (u32, u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 4096];
    loop {
        for c in read_children(f, &mut buf) {
            if Some(c) != not && comm(c) == name {
                return (c, mono_ns());
            }
        }
        assert!(std::time::Instant::now() < deadline, "no new `{name}`");
        std::thread::sleep(Duration::from_micros(50));
    }
}

/// `kills` times: kill -9 the `sleep` child of `sup`, time until its replacement exists.
fn respawn_round(sup: u32, kills: usize, out: &mut Vec<f64>) {
    let f = children_file_of(sup, "sleep");
    let (mut cur, _) = wait_child(&f, "sleep", None);
    for _ in 0..kills {
        std::thread::sleep(Duration::from_millis(30)); // pacing, not synchronisation
        let t0 = mono_ns();
        unsafe { libc::kill(cur as i32, libc::SIGKILL) };
        let (new, t) = wait_child(&f, "sleep", Some(cur));
        out.push(t.saturating_sub(t0) as f64 / 1e6);
        cur = new;
    }
}

/// Crash → new process for a trivial child (`/bin/sleep 600`), measured from outside: the
/// headless runner against a bash `while true` loop, in interleaved rounds.
fn bench_respawn_trivial(rounds: usize, kills: usize) -> (f64, f64) {
    use std::os::unix::process::CommandExt;
    let sleep = ["/bin/sleep", "/usr/bin/sleep"].into_iter().find(|p| Path::new(p).exists()).expect("sleep");
    let mut bash = Command::new("bash")
        .args(["-c", &format!("while true; do {sleep} 600; done")])
        .stdin(Stdio::null())
        .stderr(Stdio::null()) // its "Killed" notes
        .process_group(0)
        .spawn()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let json = format!(
        r#"{{"restart": {{"max_restarts": 10000, "window_secs": 1, "min_uptime_ms": 0}},
            "sidecars": [{{"name": "sleep", "command": "{sleep}", "args": ["600"]}}]}}"#
    );
    let mut runner = start_runner(dir.path(), &json);
    let (mut base, mut ours) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        respawn_round(bash.id(), kills, &mut base);
        respawn_round(runner.id(), kills, &mut ours);
    }
    unsafe {
        libc::kill(-(bash.id() as i32), libc::SIGKILL);
        libc::kill(runner.id() as i32, libc::SIGTERM);
    }
    let _ = bash.wait();
    let _ = runner.wait();
    let (bm, bp, bx) = stats(base);
    let (om, op, ox) = stats(ours);
    println!("\ncrash → new process, trivial child /bin/sleep, seen from outside ({rounds} interleaved rounds of {kills}, ms)");
    println!("                                          median    p90    max");
    println!("  bash `while true` loop (baseline)       {bm:7.2} {bp:6.2} {bx:6.2}");
    println!("  desktop-runtime run                     {om:7.2} {op:6.2} {ox:6.2}");
    println!("  ratio ours/baseline: median {:.2}× (target ≤ 1.20×), p90 {:.2}× (target ≤ 1.50×)", om / bm, op / bp);
    (om / bm, op / bp)
}

fn bench_readiness(trials: u64) {
    let dir = tempfile::tempdir().unwrap();
    let r = Reports::new(dir.path());
    let json = format!(
        r#"{{"sidecars": [{{"name": "api", "command": "test-sidecar", "port": "auto",
             "args": ["--ready-after-ms", "150", "--report-socket", "{}"],
             "ready": {{"http": "/health/ready"}}}}]}}"#,
        r.path.display()
    );
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let sup = Supervisor::start(SupervisorOptions {
        config: config(dir.path(), &json),
        bundled_dirs: vec![bin_dir()],
        write_status_file: false,
        app_version: String::new(),
        app_build: String::new(),
    })
    .unwrap();
    let mut lat = Vec::new();
    rt.block_on(async {
        for i in 0..trials {
            let mut rx = sup.subscribe();
            if i > 0 {
                sup.command(Verb::Restart, "api").await.unwrap();
            }
            let noticed = loop {
                match rx.recv().await {
                    Ok(Notification::Sidecar(s)) if s.state == State::Ready => break mono_ns(),
                    Ok(_) => {}
                    Err(e) => panic!("{e}"),
                }
            };
            let (_, ready_ns) = r.next("ready");
            lat.push(noticed.saturating_sub(ready_ns) as f64 / 1e6);
        }
    });
    sup.shutdown_blocking();
    let (m, p, x) = stats(lat);
    println!("\nreadiness noticed after the sidecar answers ready ({trials} trials, ms)");
    println!("  median {m:.2}  p90 {p:.2}  max {x:.2}   target ≤ 10 ms (ratio median/target {:.2})", m / 10.0);
}

/// CPU time of every thread of `pid` in nanoseconds (`schedstat`: exact, unlike clock ticks).
fn proc_cpu_ns(pid: u32) -> u64 {
    let mut total = 0;
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap().flatten() {
        if let Ok(s) = std::fs::read_to_string(t.path().join("schedstat")) {
            total += s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    total
}

fn proc_rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)).unwrap().parse().unwrap()
}

/// `desktop-runtime run` with `profile` (written to `dir`), data in `dir/data`, finding
/// `test-sidecar` as a bundled sidecar.
fn start_runner(dir: &Path, profile: &str) -> std::process::Child {
    std::fs::write(dir.join("profile.json"), profile).unwrap();
    Command::new(bin_dir().join("desktop-runtime"))
        .arg("run")
        .arg("--runtime-profile")
        .arg(dir.join("profile.json"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--bundled-dir")
        .arg(bin_dir())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

fn bench_idle(secs: u64) {
    let dir = tempfile::tempdir().unwrap();
    let json = r#"{"sidecars": [
        {"name": "a", "command": "test-sidecar", "port": "auto", "ready": {"http": "/health/ready"}, "live": {"http": "/health/live"}},
        {"name": "b", "command": "test-sidecar", "port": "auto", "args": ["--protocol", "grpc"], "ready": {"grpc": ""}},
        {"name": "c", "command": "test-sidecar", "port": "auto", "args": ["--protocol", "tcp"], "ready": {"tcp": true}}
    ]}"#;
    let mut runner = start_runner(dir.path(), json);
    let pid = runner.id();
    let status = DataDirLayout::new(dir.path().join("data")).status_file();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let ready =
            std::fs::read_to_string(&status).map(|s| s.matches("\"state\": \"ready\"").count() == 3).unwrap_or(false);
        if ready {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "runner not ready");
        std::thread::sleep(Duration::from_millis(50)); // bench pacing
    }
    std::thread::sleep(Duration::from_secs(1)); // let start-up work settle
    let c0 = proc_cpu_ns(pid);
    std::thread::sleep(Duration::from_secs(secs));
    let c1 = proc_cpu_ns(pid);
    let cpu_pct = (c1 - c0) as f64 / 1e9 / secs as f64 * 100.0;
    let rss = proc_rss_kib(pid) as f64 / 1024.0;
    // Watched: resources sampled once a second, the lease renewed every 2 s as the open dialog
    // does (a runner without `ctl watch` — an older build — skips this part).
    let watch = || {
        Command::new(bin_dir().join("desktop-runtime"))
            .args(["ctl", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(["watch", "--lease-ms", "5000"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let watched = watch().then(|| {
        let w0 = proc_cpu_ns(pid);
        let t0 = std::time::Instant::now();
        while t0.elapsed() < Duration::from_secs(secs) {
            std::thread::sleep(Duration::from_secs(2)); // the dialog's renewal pace
            watch();
        }
        let w1 = proc_cpu_ns(pid);
        ((w1 - w0) as f64 / 1e9 / t0.elapsed().as_secs_f64() * 100.0, proc_rss_kib(pid) as f64 / 1024.0)
    });
    // Baseline: an idle sidecar process (a small tokio program) on the same machine.
    let baseline_rss = {
        let st = std::fs::read_to_string(&status).unwrap();
        let v: serde_json::Value = serde_json::from_str(&st).unwrap();
        let child = v["sidecars"][2]["pid"].as_u64().unwrap() as u32;
        proc_rss_kib(child) as f64 / 1024.0
    };
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let _ = runner.wait();
    println!("\nidle headless runner, 3 sidecars probed every second, over {secs} s");
    println!(
        "  CPU {cpu_pct:.4} % of one core ({:.0} µs per second)   target ≤ 0.1 % (ratio {:.2})",
        cpu_pct * 1e4,
        cpu_pct / 0.1
    );
    println!(
        "  RSS {rss:.1} MiB   target ≤ 10 MiB (ratio {:.2}); baseline: an idle tcp test-sidecar {baseline_rss:.1} MiB",
        rss / 10.0
    );
    match watched {
        Some((w_pct, w_rss)) => println!(
            "  watched (resources sampled 1/s, lease renewed every 2 s): CPU {w_pct:.4} % ({:.0} µs per second), RSS {w_rss:.1} MiB; sampling costs {:.0} µs per second (ratio watched/idle {:.2})",
            w_pct * 1e4,
            (w_pct - cpu_pct).max(0.0) * 1e4,
            w_pct / cpu_pct.max(1e-9)
        ),
        None => println!("  watched: skipped (this runner has no `ctl watch`)"),
    }
}

/// Design §9: 200 trivial sidecars all ready ≤ 2 s; `status` p99 ≤ 1 ms at 200 sidecars.
/// Baseline: spawning the same 200 processes straight from std and reaping them.
fn bench_scale(n: usize) {
    let sidecar = bin_dir().join("test-sidecar");
    let t = std::time::Instant::now();
    let mut kids: Vec<_> = (0..n)
        .map(|_| {
            Command::new(&sidecar).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
        })
        .collect();
    let baseline = t.elapsed();
    for k in &mut kids {
        drop(k.stdin.take()); // lifeline closes: they exit
        let _ = k.wait();
    }

    let dir = tempfile::tempdir().unwrap();
    let sidecars: Vec<String> = (0..n).map(|i| format!(r#"{{"name": "s{i}", "command": "test-sidecar"}}"#)).collect();
    let json = format!(r#"{{"sidecars": [{}]}}"#, sidecars.join(","));
    let cfg = config(dir.path(), &json);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let t = std::time::Instant::now();
    let sup = Supervisor::start(SupervisorOptions {
        config: cfg,
        bundled_dirs: vec![bin_dir()],
        write_status_file: true,
        app_version: String::new(),
        app_build: String::new(),
    })
    .unwrap();
    let all_ready =
        rt.block_on(sup.wait_for(Duration::from_secs(60), |st| st.sidecars.iter().all(|s| s.state == State::Ready)));
    let took = t.elapsed();
    assert!(all_ready.is_ok(), "not all {n} sidecars became ready");
    let mut lat: Vec<f64> = (0..5000)
        .map(|_| {
            let t = std::time::Instant::now();
            std::hint::black_box(sup.status());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    sup.shutdown_blocking();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p99 = lat[lat.len() * 99 / 100];
    println!("\n{n} trivial sidecars");
    println!(
        "  all ready after {:.0} ms (baseline: spawning them from std {:.0} ms, ratio {:.2})   target ≤ 2000 ms (ratio {:.2})",
        took.as_secs_f64() * 1e3,
        baseline.as_secs_f64() * 1e3,
        took.as_secs_f64() / baseline.as_secs_f64(),
        took.as_secs_f64() / 2.0
    );
    println!(
        "  status() p50 {:.3} ms, p99 {p99:.3} ms   target p99 ≤ 1 ms (ratio {:.2})",
        lat[lat.len() / 2],
        p99 / 1.0
    );
}

pub fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("targets: bench");
        return;
    }
    let trials = env_num("BENCH_TRIALS", 20);
    let idle = env_num("BENCH_IDLE_SECS", 10);
    assert!(
        bin_dir().join("test-sidecar").is_file(),
        "build first: cargo build --release -p test-sidecar -p desktop-runtime (cargo xtask bench does)"
    );
    // `cargo xtask bench [respawn] [readiness] [idle] [scale]`: only those (default: all).
    let parts = ["respawn", "readiness", "idle", "scale"];
    let chosen: Vec<String> = std::env::args().filter(|a| parts.contains(&a.as_str())).collect();
    let run = |part: &str| chosen.is_empty() || chosen.iter().any(|c| c == part);
    if run("respawn") {
        bench_respawn(trials);
        bench_respawn_trivial(env_num("BENCH_ROUNDS", 6) as usize, env_num("BENCH_KILLS", 15) as usize);
    }
    if run("readiness") {
        bench_readiness(trials);
    }
    if run("idle") {
        bench_idle(idle);
    }
    if run("scale") {
        bench_scale(env_num("BENCH_SIDECARS", 200) as usize);
    }
}
