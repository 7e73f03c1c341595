//! The effect side: one event loop that owns every unit, runs the state machines' actions
//! (spawn, signal, probe, emit) and feeds results back in. It runs on its own thread with a
//! single-threaded tokio runtime: children get `PR_SET_PDEATHSIG` tied to a thread that lives
//! exactly as long as the engine, and a decision never waits on a lock.
//!
//! Exits are observed by awaiting each child (SIGCHLD-driven), never by polling; timers are the
//! machines' own deadlines (`poll_timeout`).

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::guardian::Guardian;
use super::instance::{self, ChildRecord, InstanceRecord};
use super::latest_writer::LatestWriter;
use super::probes::{self, ProbeContext, ProbeTarget};
use super::process::{self, SpawnRequest};
use super::status::{Budget, LastProbe, Notification, SidecarStatus};
use super::unit::Unit;
use super::{CommandError, SharedStatus};
use crate::domain::{Action, Input, ProbeKind, State};
use crate::events::{EventKind, NewEvent};
use crate::feed::Feed;
use crate::logs::Stream;
use crate::profile::template::{self, Piece};
use crate::profile::{Mode, PortKeyword, PortSpec, RuntimeConfig};

pub(crate) enum Msg {
    Command(Command, oneshot::Sender<Result<(), CommandError>>),
    Shutdown(oneshot::Sender<()>),
    Exited { unit: usize, gen: u64, code: Option<i32>, signal: Option<i32> },
    Probe { unit: usize, gen: u64, kind: ProbeKind, ok: bool, detail: String, latency: Duration },
    Announced { unit: usize, gen: u64, port: u16 },
    StdoutMatched { unit: usize, gen: u64 },
    AddrInUse { unit: usize, gen: u64 },
    Prepared { unit: usize, gen: u64, result: Result<(), String> },
}

#[derive(Debug, Clone)]
pub enum Command {
    Restart(String),
    Stop(String),
    Start(String),
}

pub(crate) struct Engine {
    pub cfg: RuntimeConfig,
    pub units: Vec<Unit>,
    pub instance_id: String,
    pub api_key: String,
    pub feed: Feed,
    pub notify: broadcast::Sender<Notification>,
    pub shared: Arc<RwLock<SharedStatus>>,
    pub tx: mpsc::UnboundedSender<Msg>,
    pub rx: mpsc::UnboundedReceiver<Msg>,
    pub writer: LatestWriter,
    pub runtime_dir: PathBuf,
    pub status_file: Option<PathBuf>,
    pub bundled_dirs: Vec<PathBuf>,
    pub triple: String,
    pub epoch: Instant,
    pub guardian: Option<Guardian>,
    pub shutting_down: bool,
    pub shutdown_reply: Vec<oneshot::Sender<()>>,
    pub http: reqwest::Client,
    pub record_base: InstanceRecord,
    /// Pid of the process whose exit is being handled, so the events it causes (exited,
    /// restarting, budget_exhausted) name it although the unit no longer has a process.
    pub exited_pid: Option<u32>,
}

impl Engine {
    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    pub async fn run(mut self) {
        for i in 0..self.units.len() {
            if self.units[i].skipped {
                continue;
            }
            let deps_ready = self.deps_ready(i);
            self.input(i, Input::Start { deps_ready, manual: false });
        }
        self.publish_all();
        loop {
            let deadline = self.units.iter().filter_map(|u| u.machine.poll_timeout()).min();
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until((self.epoch + d).into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                msg = self.rx.recv() => match msg {
                    Some(m) => self.on_msg(m),
                    None => break,
                },
                _ = sleep => {
                    let now = self.now();
                    for i in 0..self.units.len() {
                        if self.units[i].machine.poll_timeout().is_some_and(|t| t <= now) {
                            let actions = self.units[i].machine.handle_timeout(now);
                            self.apply(i, actions);
                        }
                    }
                }
            }
            if self.shutting_down {
                self.advance_shutdown();
                if self.all_down() {
                    break;
                }
            }
        }
        self.finish();
    }

    fn finish(&mut self) {
        self.feed.push(NewEvent::new(EventKind::RuntimeStopped, "every sidecar stopped; runtime ended"));
        self.feed.flush();
        if let Ok(mut s) = self.shared.write() {
            s.status.stopped = true;
        }
        self.write_status();
        self.write_record();
        self.writer.flush();
        self.guardian = None; // EOF to the guardian: it exits (nothing is left to kill)
        let _ = self.notify.send(Notification::Stopped);
        for r in self.shutdown_reply.drain(..) {
            let _ = r.send(());
        }
    }

    fn all_down(&self) -> bool {
        self.units
            .iter()
            .all(|u| u.skipped || matches!(u.machine.state(), State::Stopped | State::Failed | State::Pending))
    }

    fn on_msg(&mut self, msg: Msg) {
        match msg {
            Msg::Command(cmd, reply) => {
                let r = self.command(cmd);
                let _ = reply.send(r);
            }
            Msg::Shutdown(reply) => {
                self.shutdown_reply.push(reply);
                if !self.shutting_down {
                    self.shutting_down = true;
                    for u in &mut self.units {
                        u.machine.disable_auto_restart();
                    }
                }
            }
            Msg::Exited { unit, gen, code, signal } => {
                if self.units[unit].gen != gen {
                    return;
                }
                let u = &mut self.units[unit];
                let pgid = u.pid.take();
                u.stdin = None;
                u.spawned_at = None;
                if let Some(pgid) = pgid {
                    // The leader is gone: whatever it left in its group goes too.
                    process::signal_group(pgid, libc::SIGKILL);
                    if let Some(g) = self.guardian.as_mut() {
                        g.forget(pgid);
                    }
                }
                let u = &mut self.units[unit];
                let stderr_tail = u.log.last_stderr(5).join(" | ");
                let port_in_use = std::mem::take(&mut u.port_in_use);
                if u.announce() {
                    u.port = None;
                }
                self.exited_pid = pgid;
                self.input(unit, Input::Exited { code, signal, port_in_use, stderr_tail });
                self.exited_pid = None;
                self.write_record();
            }
            Msg::Probe { unit, gen, kind, ok, detail, latency } => {
                if self.units[unit].gen != gen {
                    return;
                }
                if kind == ProbeKind::Ready || !ok {
                    self.units[unit].last_probe = Some(LastProbe {
                        ok,
                        latency_ms: (latency.as_secs_f64() * 1e6).round() / 1e3,
                        at: crate::events::now_rfc3339(),
                        detail: detail.clone(),
                    });
                }
                self.input(unit, Input::Probe { kind, ok, detail });
                self.publish(unit);
            }
            Msg::Announced { unit, gen, port } => {
                if self.units[unit].gen != gen {
                    return;
                }
                self.units[unit].port = Some(port);
                self.input(unit, Input::PortAnnounced);
                self.publish(unit);
            }
            Msg::StdoutMatched { unit, gen } => {
                if self.units[unit].gen == gen {
                    let line = self.units[unit].stdout_match.clone().unwrap_or_default();
                    self.input(
                        unit,
                        Input::Probe { kind: ProbeKind::Ready, ok: true, detail: format!("stdout said {line:?}") },
                    );
                }
            }
            Msg::AddrInUse { unit, gen } => {
                if self.units[unit].gen == gen {
                    self.units[unit].port_in_use = true;
                }
            }
            Msg::Prepared { unit, gen, result } => {
                if self.units[unit].gen != gen || self.units[unit].machine.state() != State::Starting {
                    return;
                }
                match result {
                    Ok(()) => {
                        self.units[unit].prepared = true;
                        self.spawn_now(unit);
                    }
                    Err(e) => self.input(unit, Input::SpawnFailed { error: e }),
                }
            }
        }
    }

    fn command(&mut self, cmd: Command) -> Result<(), CommandError> {
        let (name, input_kind) = match &cmd {
            Command::Restart(n) => (n, 0),
            Command::Stop(n) => (n, 1),
            Command::Start(n) => (n, 2),
        };
        let targets: Vec<usize> = (0..self.units.len())
            .filter(|&i| self.units[i].name == *name || self.units[i].spec.name == *name)
            .collect();
        if targets.is_empty() {
            return Err(CommandError::UnknownSidecar { sidecar: name.clone(), known: self.names() });
        }
        if targets.iter().all(|&i| self.units[i].skipped) {
            return Err(CommandError::NotInThisMode { sidecar: name.clone(), mode: self.cfg.mode.as_str().into() });
        }
        if self.shutting_down {
            return Err(CommandError::ShuttingDown);
        }
        let verb = ["restart", "stop", "start"][input_kind];
        for i in targets {
            self.feed_push(i, NewEvent::new(EventKind::Command, format!("{verb} requested")));
            let deps_ready = self.deps_ready(i);
            let input = match input_kind {
                0 => Input::RestartRequested { deps_ready },
                1 => Input::StopRequested,
                _ => Input::Start { deps_ready, manual: true },
            };
            self.input(i, input);
        }
        Ok(())
    }

    fn names(&self) -> Vec<String> {
        self.units.iter().filter(|u| !u.skipped).map(|u| u.name.clone()).collect()
    }

    fn deps_ready(&self, i: usize) -> bool {
        self.units[i]
            .deps
            .iter()
            .all(|&d| matches!(self.units[d].machine.state(), State::Ready | State::Unhealthy) || self.units[d].skipped)
    }

    pub(crate) fn input(&mut self, i: usize, input: Input) {
        let now = self.now();
        let actions = self.units[i].machine.handle(now, input);
        self.apply(i, actions);
    }

    fn apply(&mut self, i: usize, actions: Vec<Action>) {
        let mut changed = false;
        let mut became_ready = false;
        for a in actions {
            match a {
                Action::Spawn { new_port } => self.spawn(i, new_port),
                Action::Signal { signal } => {
                    if let Some(pid) = self.units[i].pid {
                        process::signal_group(pid, signal);
                    }
                }
                Action::Probe(kind) => self.start_probe(i, kind),
                Action::Emit { kind, message, code, signal } => {
                    let ev =
                        NewEvent::new(kind, message).code(code).signal(signal.map(crate::domain::machine::signal_name));
                    self.feed_push(i, ev);
                }
                Action::StateChanged(s) => {
                    changed = true;
                    became_ready |= s == State::Ready;
                }
            }
        }
        if changed {
            self.publish(i);
        }
        if became_ready {
            self.wake_dependents(i);
        }
    }

    fn wake_dependents(&mut self, i: usize) {
        for j in 0..self.units.len() {
            if self.units[j].deps.contains(&i)
                && self.units[j].machine.state() == State::WaitingForDeps
                && self.deps_ready(j)
            {
                self.input(j, Input::DepsReady);
            }
        }
    }

    fn advance_shutdown(&mut self) {
        let terminal =
            |u: &Unit| u.skipped || matches!(u.machine.state(), State::Stopped | State::Failed | State::Pending);
        for i in 0..self.units.len() {
            let u = &self.units[i];
            if terminal(u) || u.machine.state() == State::Stopping {
                continue;
            }
            // Reverse dependency order: stop only once everything depending on it is down.
            let dependents_down = self.units.iter().all(|d| !d.deps.contains(&i) || terminal(d));
            if dependents_down {
                self.input(i, Input::StopRequested);
            }
        }
    }

    fn feed_push(&mut self, i: usize, ev: NewEvent) {
        let u = &self.units[i];
        let ev = ev.sidecar(u.name.clone()).pid(u.pid.or(u.machine.pid()).or(self.exited_pid)).port(u.port);
        let stamped = self.feed.push(ev);
        let _ = self.notify.send(Notification::Event(stamped));
    }

    // ---- spawning ----

    fn spawn(&mut self, i: usize, new_port: bool) {
        self.units[i].gen += 1;
        let u = &mut self.units[i];
        match u.spec.port {
            None => u.port = None,
            Some(PortSpec::Keyword(PortKeyword::Announce)) => u.port = None,
            Some(PortSpec::Keyword(PortKeyword::Auto)) => {
                if new_port || u.port.is_none() {
                    match super::ports::pick_free_port() {
                        Ok(p) => u.port = Some(p),
                        Err(e) => {
                            return self.input(
                                i,
                                Input::SpawnFailed { error: format!("cannot pick a free port on 127.0.0.1: {e}") },
                            )
                        }
                    }
                }
            }
            Some(PortSpec::Fixed(p)) => {
                if let Err(e) = super::ports::check_fixed_port(p) {
                    return self.input(i, Input::SpawnFailed { error: e });
                }
                u.port = Some(p);
            }
        }
        if !self.units[i].prepared && self.units[i].spec.prepare.is_some() {
            self.start_prepare(i);
        } else {
            self.spawn_now(i);
        }
    }

    fn profile_dir(&self) -> PathBuf {
        self.cfg.profile_path.parent().map(|p| p.to_path_buf()).unwrap_or_default()
    }

    fn program_for(&self, i: usize) -> Result<PathBuf, String> {
        let u = &self.units[i];
        process::resolve_program(
            &u.spec.name,
            &u.spec.command,
            self.cfg.bin_overrides.get(&u.spec.name).map(|p| p.as_path()),
            &self.profile_dir(),
            &self.bundled_dirs,
            &self.triple,
        )
    }

    /// Finds a helper command (prepare step, exec probe): next to the sidecar's own program
    /// first (`pg_isready` beside `postgres`), then bundled dirs and `PATH`.
    fn aux_program(&self, i: usize, command: &str) -> Result<PathBuf, String> {
        let mut dirs = Vec::new();
        if let Ok(main) = self.program_for(i) {
            if let Some(d) = main.parent() {
                dirs.push(d.to_path_buf());
            }
        }
        dirs.extend(self.bundled_dirs.iter().cloned());
        process::resolve_program(&self.units[i].spec.name, command, None, &self.profile_dir(), &dirs, &self.triple)
    }

    pub(crate) fn render(&self, i: usize, t: &str) -> Result<String, String> {
        let u = &self.units[i];
        template::render(t, &|p| match p {
            Piece::Own("port") => u.port.map(|p| p.to_string()),
            Piece::Own("host") => Some("127.0.0.1".into()),
            Piece::Own("name") => Some(u.spec.name.clone()),
            Piece::Own("data_dir") => Some(self.cfg.data_dir.display().to_string()),
            Piece::Own("sidecar_data_dir") => Some(u.data_dir.display().to_string()),
            Piece::Own("instance_id") => Some(self.instance_id.clone()),
            Piece::Other { sidecar, field } => {
                let other = self.units.iter().find(|o| o.spec.name == *sidecar)?;
                if other.skipped {
                    return (*field == "url").then(|| self.cfg.backend_url.clone()).flatten();
                }
                let port = other.port?;
                Some(match *field {
                    "port" => port.to_string(),
                    "host" => "127.0.0.1".into(),
                    _ => format!("http://127.0.0.1:{port}"),
                })
            }
            _ => None,
        })
    }

    fn start_prepare(&mut self, i: usize) {
        let spec = self.units[i].spec.clone();
        let prep = spec.prepare.as_ref().expect("prepare");
        let gen = self.units[i].gen;
        let prepared = (|| -> Result<Option<(PathBuf, Vec<String>)>, String> {
            if let Some(path) = &prep.unless_exists {
                if std::path::Path::new(&self.render(i, path)?).exists() {
                    return Ok(None);
                }
            }
            let program = self.aux_program(i, &prep.command)?;
            let args = prep.args.iter().map(|a| self.render(i, a)).collect::<Result<Vec<_>, _>>()?;
            Ok(Some((program, args)))
        })();
        let (program, args) = match prepared {
            Ok(None) => {
                self.units[i].prepared = true;
                return self.spawn_now(i);
            }
            Ok(Some(x)) => x,
            Err(e) => return self.input(i, Input::SpawnFailed { error: format!("prepare step: {e}") }),
        };
        let user = match spec.user.as_deref().map(process::lookup_user).transpose() {
            Ok(u) => u.flatten(),
            Err(e) => return self.input(i, Input::SpawnFailed { error: e }),
        };
        let env = self.contract_env(i);
        let cwd = self.units[i].data_dir.clone();
        let log = self.units[i].log.clone();
        let tx = self.tx.clone();
        let timeout = Duration::from_millis(prep.timeout_ms);
        self.feed_push(
            i,
            NewEvent::new(
                EventKind::Prepared,
                format!("running prepare step {} {}", program.display(), args.join(" ")),
            ),
        );
        let spawned = process::spawn(&SpawnRequest { program: &program, args: &args, env: &env, cwd: &cwd, user });
        tokio::spawn(async move {
            let result = match spawned {
                Err(e) => Err(format!("cannot run {}: {e}", program.display())),
                Ok(mut s) => {
                    let pump_out = pump_plain(s.stdout, log.clone(), Stream::Stdout);
                    let pump_err = pump_plain(s.stderr, log.clone(), Stream::Stderr);
                    let waited = tokio::time::timeout(timeout, async {
                        let (st, _, _) = tokio::join!(s.child.wait(), pump_out, pump_err);
                        st
                    })
                    .await;
                    drop(s.stdin);
                    match waited {
                        Ok(Ok(st)) if st.success() => Ok(()),
                        Ok(Ok(st)) => Err(format!(
                            "prepare step {} failed ({st}): {}",
                            program.display(),
                            log.last_stderr(3).join(" | ")
                        )),
                        Ok(Err(e)) => Err(format!("prepare step {}: {e}", program.display())),
                        Err(_) => {
                            process::signal_group(s.pid, libc::SIGKILL);
                            Err(format!(
                                "prepare step {} did not finish within {} ms",
                                program.display(),
                                timeout.as_millis()
                            ))
                        }
                    }
                }
            };
            let _ = tx.send(Msg::Prepared { unit: i, gen, result });
        });
    }

    fn contract_env(&self, i: usize) -> Vec<(String, String)> {
        let u = &self.units[i];
        let mut env = vec![
            ("SIDECAR_NAME".to_string(), u.spec.name.clone()),
            ("SIDECAR_INSTANCE_NAME".to_string(), u.name.clone()),
            ("SIDECAR_HOST".to_string(), "127.0.0.1".to_string()),
            ("SIDECAR_INSTANCE_ID".to_string(), self.instance_id.clone()),
            ("SIDECAR_API_KEY".to_string(), self.api_key.clone()),
            ("SIDECAR_DATA_DIR".to_string(), u.data_dir.display().to_string()),
            ("SIDECAR_RUNTIME_MODE".to_string(), self.cfg.mode.as_str().to_string()),
        ];
        if let Some(p) = u.port {
            env.push(("SIDECAR_PORT".to_string(), p.to_string()));
        }
        if let Some(url) = &self.cfg.backend_url {
            if self.cfg.mode == Mode::RemoteSlim {
                env.push(("BACKEND_URL".to_string(), url.clone()));
            }
        }
        env
    }

    fn spawn_now(&mut self, i: usize) {
        let built = (|| -> Result<_, String> {
            let program = self.program_for(i)?;
            let spec = self.units[i].spec.clone();
            let args = spec.args.iter().map(|a| self.render(i, a)).collect::<Result<Vec<_>, _>>()?;
            let mut env = self.contract_env(i);
            for (k, v) in &spec.env {
                env.push((k.clone(), self.render(i, v)?));
            }
            let cwd = match &spec.cwd {
                Some(c) => self.profile_dir().join(self.render(i, c)?),
                None => self.units[i].data_dir.clone(),
            };
            let user = spec.user.as_deref().map(process::lookup_user).transpose()?.flatten();
            std::fs::create_dir_all(&self.units[i].data_dir)
                .map_err(|e| format!("cannot create {}: {e}", self.units[i].data_dir.display()))?;
            if let Some((uid, gid)) = user {
                let _ = std::os::unix::fs::chown(&self.units[i].data_dir, Some(uid), Some(gid));
            }
            Ok((program, args, env, cwd, user))
        })();
        let (program, args, env, cwd, user) = match built {
            Ok(x) => x,
            Err(e) => return self.input(i, Input::SpawnFailed { error: e }),
        };
        let spawned = match process::spawn(&SpawnRequest { program: &program, args: &args, env: &env, cwd: &cwd, user })
        {
            Ok(s) => s,
            Err(e) => {
                return self.input(i, Input::SpawnFailed { error: format!("cannot start {}: {e}", program.display()) })
            }
        };
        let gen = self.units[i].gen;
        let pid = spawned.pid;
        if let Some(g) = self.guardian.as_mut() {
            g.watch(pid);
        }
        let u = &mut self.units[i];
        u.pid = Some(pid);
        u.stdin = Some(spawned.stdin);
        u.spawned_at = Some(Instant::now());
        u.port_in_use = false;
        let announce = u.announce();
        let stdout_match = u.stdout_match.clone();
        let log = u.log.clone();
        let tx = self.tx.clone();
        let (out_done_tx, out_done) = oneshot::channel::<()>();
        let (err_done_tx, err_done) = oneshot::channel::<()>();
        {
            let (tx, log) = (tx.clone(), log.clone());
            let mut stdout = BufReader::new(spawned.stdout);
            tokio::spawn(async move {
                let mut announced = !announce;
                let mut matched = stdout_match.is_none();
                let mut buf = Vec::new();
                while let Ok(n) = stdout.read_until(b'\n', &mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let line = String::from_utf8_lossy(&buf);
                    let line = line.trim_end_matches(['\n', '\r']);
                    if !announced {
                        if let Some(port) = super::ports::parse_announcement(line) {
                            announced = true;
                            let _ = tx.send(Msg::Announced { unit: i, gen, port });
                        }
                    }
                    if !matched && stdout_match.as_deref().is_some_and(|m| line.contains(m)) {
                        matched = true;
                        let _ = tx.send(Msg::StdoutMatched { unit: i, gen });
                    }
                    log.push(Stream::Stdout, line);
                    buf.clear();
                }
                let _ = out_done_tx.send(());
            });
        }
        {
            let (tx, log) = (tx.clone(), log.clone());
            let mut stderr = BufReader::new(spawned.stderr);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                while let Ok(n) = stderr.read_until(b'\n', &mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let line = String::from_utf8_lossy(&buf);
                    let line = line.trim_end_matches(['\n', '\r']);
                    if super::ports::is_addr_in_use(line) {
                        let _ = tx.send(Msg::AddrInUse { unit: i, gen });
                    }
                    log.push(Stream::Stderr, line);
                    buf.clear();
                }
                let _ = err_done_tx.send(());
            });
        }
        let mut child = spawned.child;
        tokio::spawn(async move {
            let status = child.wait().await;
            // Let the readers drain what the child wrote before it died (its last error), but
            // don't wait on pipes a grandchild may hold open.
            let _ = tokio::time::timeout(Duration::from_millis(50), async {
                let _ = out_done.await;
                let _ = err_done.await;
            })
            .await;
            use std::os::unix::process::ExitStatusExt;
            let (code, signal) = match status {
                Ok(s) => (s.code(), s.signal()),
                Err(_) => (None, None),
            };
            let _ = tx.send(Msg::Exited { unit: i, gen, code, signal });
        });
        self.input(i, Input::Spawned { pid });
        self.write_record();
    }

    // ---- probes ----

    fn start_probe(&mut self, i: usize, kind: ProbeKind) {
        let u = &self.units[i];
        let (target, timeout) = match kind {
            ProbeKind::Ready => (u.ready.clone(), u.probe_timeout.0),
            ProbeKind::Live => (u.live.clone(), u.probe_timeout.1),
        };
        let Some(mut target) = target else { return };
        if let ProbeTarget::Exec { program, args, envs } = &mut target {
            let cmd = program.display().to_string();
            let resolved = self.aux_program(i, &cmd).and_then(|p| {
                let a = args.iter().map(|a| self.render(i, a)).collect::<Result<Vec<_>, _>>()?;
                Ok((p, a))
            });
            match resolved {
                Ok((p, a)) => {
                    *program = p;
                    *args = a;
                    *envs = self.contract_env(i);
                }
                Err(e) => {
                    let gen = u.gen;
                    let _ =
                        self.tx.send(Msg::Probe { unit: i, gen, kind, ok: false, detail: e, latency: Duration::ZERO });
                    return;
                }
            }
        }
        let ctx = ProbeContext {
            port: u.port,
            instance_id: self.instance_id.clone(),
            api_key: self.api_key.clone(),
            timeout,
        };
        let (tx, gen, http) = (self.tx.clone(), u.gen, self.http.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let (ok, detail) = probes::run(&target, &ctx, &http).await;
            let _ = tx.send(Msg::Probe { unit: i, gen, kind, ok, detail, latency: started.elapsed() });
        });
    }

    // ---- status and records ----

    pub(crate) fn sidecar_status(&self, i: usize) -> SidecarStatus {
        let u = &self.units[i];
        let now = self.now();
        let m = &u.machine;
        SidecarStatus {
            name: u.name.clone(),
            role: u.spec.role.clone(),
            state: if u.skipped { State::Stopped } else { m.state() },
            pid: u.pid,
            port: u.port,
            url: u.port.map(|p| format!("http://127.0.0.1:{p}")),
            restarts_in_window: m.restarts_in_window(now),
            budget: Budget {
                max: m.budget_max(),
                window_secs: m.window().as_secs(),
                remaining: m.budget_remaining(now),
            },
            auto_restart: m.auto_restart(),
            last_exit: m.last_exit().map(str::to_string),
            last_error: if u.skipped {
                Some(format!("not run in {} mode", self.cfg.mode.as_str()))
            } else {
                m.last_error().map(str::to_string)
            },
            uptime_ms: u.spawned_at.map(|t| t.elapsed().as_millis() as u64),
            last_probe: u.last_probe.clone(),
            depends_on: u.depends_on.clone(),
        }
    }

    fn publish(&mut self, i: usize) {
        let st = self.sidecar_status(i);
        if let Ok(mut s) = self.shared.write() {
            s.status.sidecars[i] = st.clone();
            s.spawned_at[i] = self.units[i].spawned_at;
        }
        let _ = self.notify.send(Notification::Sidecar(st));
        self.write_status();
    }

    pub(crate) fn publish_all(&mut self) {
        for i in 0..self.units.len() {
            self.publish(i);
        }
    }

    fn write_status(&self) {
        if let Some(path) = &self.status_file {
            let snapshot = super::snapshot(&self.shared);
            if let Ok(bytes) = serde_json::to_vec_pretty(&snapshot) {
                self.writer.write(path.clone(), bytes);
            }
        }
    }

    fn write_record(&self) {
        let mut rec = self.record_base.clone();
        rec.children = self
            .units
            .iter()
            .filter_map(|u| {
                u.pid.map(|pid| ChildRecord {
                    name: u.name.clone(),
                    pid,
                    pgid: pid,
                    start_ticks: instance::start_ticks(pid),
                })
            })
            .collect();
        if let Ok(bytes) = serde_json::to_vec_pretty(&rec) {
            self.writer.write(instance::record_path(&self.runtime_dir), bytes);
        }
    }
}

/// Copies a prepare step's output into the sidecar's log.
async fn pump_plain<R: tokio::io::AsyncRead + Unpin>(r: R, log: crate::logs::SidecarLog, stream: Stream) {
    let mut r = BufReader::new(r);
    let mut buf = Vec::new();
    while let Ok(n) = r.read_until(b'\n', &mut buf).await {
        if n == 0 {
            break;
        }
        log.push(stream, String::from_utf8_lossy(&buf).trim_end_matches(['\n', '\r']));
        buf.clear();
    }
}
