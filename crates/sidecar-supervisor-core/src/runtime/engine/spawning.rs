//! Spawning a unit: port assignment, the one-time prepare step, program resolution, templated
//! arguments and environment, and the tasks that read the child's output and await its exit.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::oneshot;

use super::{Engine, Msg};
use crate::domain::Input;
use crate::events::{EventKind, NewEvent};
use crate::logs::Stream;
use crate::profile::template::{self, Piece};
use crate::profile::{Mode, PortKeyword, PortSpec};
use crate::runtime::access::{Reach, Target};
use crate::runtime::process::{self, SpawnRequest};

impl Engine {
    pub(super) fn spawn(&mut self, i: usize, new_port: bool) {
        if !self.deps_ready(i) {
            // A restart while a dependency is itself restarting: its port may be unknown. Wait.
            return self.input(i, Input::DepsNotReady);
        }
        self.units[i].gen += 1;
        let u = &mut self.units[i];
        match u.spec.port {
            None => u.port = None,
            Some(PortSpec::Keyword(PortKeyword::Announce)) => u.port = None,
            Some(PortSpec::Keyword(PortKeyword::Auto)) => {
                if new_port || u.port.is_none() {
                    match crate::runtime::ports::pick_free_port() {
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
                if let Err(e) = crate::runtime::ports::check_fixed_port(p) {
                    return self.input(i, Input::SpawnFailed { error: e });
                }
                u.port = Some(p);
            }
        }
        self.resume_spawn(i, true);
    }

    /// The spawn after its port: finds the program (waiting for the search path first when
    /// that is what it takes and `may_search`), then runs the prepare step or spawns. A program
    /// that is not found fails the sidecar before any prepare step runs.
    pub(super) fn resume_spawn(&mut self, i: usize, may_search: bool) {
        if may_search && self.search_wanted(i) {
            return self.await_search(i);
        }
        match self.program_for(i) {
            Ok(p) => self.units[i].program = Some(p),
            Err(error) => return self.input(i, Input::SpawnFailed { error }),
        }
        if !self.units[i].prepared && self.units[i].spec.prepare.is_some() {
            self.start_prepare(i);
        } else {
            self.spawn_now(i);
        }
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

    /// Renders one templated field; an error names the field (`env.DATABASE_URL: ...`).
    pub(super) fn render_field(&self, i: usize, t: &str, field: &str) -> Result<String, String> {
        self.render(i, t).map_err(|e| format!("{field}: {e}"))
    }

    /// Renders a templated list (`args[2]: ...` on error).
    pub(super) fn render_all(&self, i: usize, list: &[String], field: &str) -> Result<Vec<String>, String> {
        list.iter().enumerate().map(|(j, t)| self.render_field(i, t, &format!("{field}[{j}]"))).collect()
    }

    pub(super) fn start_prepare(&mut self, i: usize) {
        let spec = self.units[i].spec.clone();
        let prep = spec.prepare.as_ref().expect("prepare");
        let gen = self.units[i].gen;
        let prepared = (|| -> Result<Option<(PathBuf, Vec<String>)>, String> {
            if let Some(path) = &prep.unless_exists {
                if std::path::Path::new(&self.render_field(i, path, "prepare.unless_exists")?).exists() {
                    return Ok(None);
                }
            }
            let program = self.aux_program(i, &prep.command)?;
            let args = self.render_all(i, &prep.args, "prepare.args")?;
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
        let user = match self.units[i].user.clone() {
            Ok(u) => u,
            Err(e) => return self.input(i, Input::SpawnFailed { error: e }),
        };
        if let Err(error) = self.ensure_data_dir(i, user) {
            return self.input(i, Input::SpawnFailed { error });
        }
        let env = self.contract_env(i);
        let cwd = self.units[i].data_dir.clone();
        let log = self.units[i].log.clone();
        let tx = self.tx.clone();
        let timeout = Duration::from_millis(prep.timeout_ms);
        let spawned = process::spawn(&SpawnRequest { program: &program, args: &args, env: &env, cwd: &cwd, user });
        self.units[i].prepare_pid = spawned.as_ref().ok().map(|s| s.pid);
        if let Some(pid) = self.units[i].prepare_pid {
            self.guardian_ops.push((true, pid));
        }
        self.feed_push(
            i,
            NewEvent::new(
                EventKind::Prepared,
                format!("running prepare step {} {}", program.display(), args.join(" ")),
            ),
        );
        tokio::spawn(async move {
            let result = match spawned {
                Err(e) => Err(format!("cannot run {}: {e}", program.display())),
                Ok(mut s) => {
                    let (out_log, err_log) = (log.clone(), log.clone());
                    let pump_out = read_lines(s.stdout, move |l| out_log.push(Stream::Stdout, l));
                    let pump_err = read_lines(s.stderr, move |l| err_log.push(Stream::Stderr, l));
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

    pub(super) fn contract_env(&self, i: usize) -> Vec<(String, String)> {
        let u = &self.units[i];
        let mut env = vec![
            ("SIDECAR_NAME".to_string(), u.spec.name.clone()),
            ("SIDECAR_INSTANCE_NAME".to_string(), u.name.clone()),
            ("SIDECAR_HOST".to_string(), "127.0.0.1".to_string()),
            ("SIDECAR_INSTANCE_ID".to_string(), self.instance_id.clone()),
            ("SIDECAR_DATA_DIR".to_string(), u.data_dir.display().to_string()),
            ("SIDECAR_RUNTIME_MODE".to_string(), self.cfg.mode.as_str().to_string()),
        ];
        if let Some(p) = u.port {
            env.push(("SIDECAR_PORT".to_string(), p.to_string()));
        }
        if u.gets_api_key() {
            env.push(("SIDECAR_API_KEY".to_string(), self.api_key.clone()));
        }
        if let Some(url) = &self.cfg.backend_url {
            if self.cfg.mode == Mode::RemoteSlim {
                env.push(("BACKEND_URL".to_string(), url.clone()));
            }
        }
        env
    }

    /// The sidecar's own data dir (its default cwd), owned by its `user` when one is set; that
    /// user must be able to pass through every directory above it.
    fn ensure_data_dir(&self, i: usize, user: Option<(u32, u32)>) -> Result<(), String> {
        let dir = &self.units[i].data_dir;
        crate::atomic_file::private_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        if let Some((uid, gid)) = user {
            self.reach(i, uid, gid).check(Target::DataDir, dir)?;
            std::os::unix::fs::chown(dir, Some(uid), Some(gid))
                .map_err(|e| format!("cannot give {} to uid {uid}: {e}", dir.display()))?;
        }
        Ok(())
    }

    fn reach(&self, i: usize, uid: u32, gid: u32) -> Reach<'_> {
        let spec = &self.units[i].spec;
        Reach {
            user: spec.user.as_deref().unwrap_or_default(),
            uid,
            gid,
            sidecar: &spec.name,
            app_name: &self.cfg.app_name,
        }
    }

    /// The units whose port this unit's templates read (`{backend.port}`, `{backend.url}`): the
    /// same unit `render` picks for a replicated dependency, so that the restart of another
    /// replica leaves this one alone.
    fn port_sources(&self, i: usize) -> Vec<usize> {
        let spec = &self.units[i].spec;
        let mut texts: Vec<&str> = spec.args.iter().chain(spec.env.values()).map(String::as_str).collect();
        texts.extend(spec.cwd.as_deref());
        let mut out: Vec<usize> = Vec::new();
        for t in texts {
            for piece in template::parse(t).unwrap_or_default() {
                if let Piece::Other { sidecar, .. } = piece {
                    if let Some(d) = self.units.iter().position(|o| o.spec.name == sidecar) {
                        if !out.contains(&d) {
                            out.push(d);
                        }
                    }
                }
            }
        }
        out
    }

    pub(super) fn spawn_now(&mut self, i: usize) {
        // The prepare step or a search_path lookup may have taken a while: a dependency could
        // be restarting by now, with no port to render.
        if !self.deps_ready(i) {
            return self.input(i, Input::DepsNotReady);
        }
        let built = (|| -> Result<_, String> {
            let program = self.program_for(i)?;
            let spec = self.units[i].spec.clone();
            let args = self.render_all(i, &spec.args, "args")?;
            let mut env = self.contract_env(i);
            for (k, v) in &spec.env {
                env.push((k.clone(), self.render_field(i, v, &format!("env.{k}"))?));
            }
            let cwd = match &spec.cwd {
                Some(c) => self.profile_dir.join(self.render_field(i, c, "cwd")?),
                None => self.units[i].data_dir.clone(),
            };
            let user = self.units[i].user.clone()?;
            self.ensure_data_dir(i, user)?;
            if let Some((uid, gid)) = user {
                if spec.cwd.is_some() {
                    self.reach(i, uid, gid).check(Target::Cwd, &cwd)?;
                }
                // Else exec fails with a bare "Permission denied" (a build under root's home).
                self.reach(i, uid, gid).check(Target::Program, &program)?;
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
        self.guardian_ops.push((true, pid));
        self.units[i].dep_ports = self.port_sources(i).into_iter().map(|d| (d, self.units[d].port)).collect();
        let u = &mut self.units[i];
        u.pid = Some(pid);
        u.stdin = Some(spawned.stdin);
        u.spawned_at = Some(Instant::now());
        u.start_ticks = crate::runtime::instance::start_ticks(pid);
        u.port_in_use = false;
        u.identity_ok = false;
        u.grpc_channel = None;
        u.program = Some(program);
        let announce = u.announce();
        let stdout_match = u.stdout_match.clone();
        let log = u.log.clone();
        let tx = self.tx.clone();
        let (out_done_tx, out_done) = oneshot::channel::<()>();
        let (err_done_tx, err_done) = oneshot::channel::<()>();
        {
            let (tx, log) = (tx.clone(), log.clone());
            let (mut announced, mut matched) = (!announce, stdout_match.is_none());
            tokio::spawn(async move {
                read_lines(spawned.stdout, |line| {
                    // Logged first: whoever sees the state this line causes also finds the line.
                    log.push(Stream::Stdout, line);
                    if !announced {
                        if let Some(port) = crate::runtime::ports::parse_announcement(line) {
                            announced = true;
                            let _ = tx.send(Msg::Announced { unit: i, gen, port });
                        }
                    }
                    if !matched && stdout_match.as_deref().is_some_and(|m| line.contains(m)) {
                        matched = true;
                        let _ = tx.send(Msg::StdoutMatched { unit: i, gen });
                    }
                })
                .await;
                let _ = out_done_tx.send(());
            });
        }
        {
            let (tx, log) = (tx.clone(), log.clone());
            tokio::spawn(async move {
                read_lines(spawned.stderr, |line| {
                    if crate::runtime::ports::is_addr_in_use(line) {
                        let _ = tx.send(Msg::AddrInUse { unit: i, gen });
                    }
                    log.push(Stream::Stderr, line);
                })
                .await;
                let _ = err_done_tx.send(());
            });
        }
        let mut child = spawned.child;
        tokio::spawn(async move {
            let status = child.wait().await;
            // The leader is gone: what it left in its group goes too (this also closes pipes a
            // grandchild held, so the readers reach EOF). Then let the readers drain what the
            // child wrote before it died (its last error, an "address in use"), bounded in case
            // a descendant that left the group still holds a pipe.
            process::signal_group(pid, libc::SIGKILL);
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
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
        self.publish(i); // the pid and port are news even when the state is not
        self.record_dirty = true;
    }
}

/// Calls `on_line` for each line as it arrives (line by line, never waiting for EOF: field
/// notes trap 9), without the line ending; invalid UTF-8 is replaced, not fatal.
async fn read_lines<R: tokio::io::AsyncRead + Unpin>(r: R, mut on_line: impl FnMut(&str)) {
    let mut r = BufReader::new(r);
    let mut buf = Vec::new();
    while let Ok(n) = r.read_until(b'\n', &mut buf).await {
        if n == 0 {
            break;
        }
        on_line(String::from_utf8_lossy(&buf).trim_end_matches(['\n', '\r']));
        buf.clear();
    }
}
