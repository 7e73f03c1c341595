//! Carrying out a stop ([`Effect::Stop`](crate::domain::Effect::Stop)): a signal or a forced
//! kill goes straight to the platform; the two graceful stops that are not signals run off the
//! loop. `Control`: `sidecar.v1.Control/Shutdown` on the sidecar's port. `Command`: the profile's
//! `stop_command`, with the sidecar's environment and templates, its output in the sidecar's
//! log. Either one that fails falls back to the stop signal (Ctrl-Break on Windows); the machine
//! forces the kill after `stop_timeout_ms` whatever happens.

use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use super::context::Context;
use super::lookup::Lookups;
use super::output;
use super::processes::Processes;
use super::Msg;
use crate::domain::{GracefulStop, Orchestrator, Stop};
use crate::logs::Stream;
use crate::platform::{self, SpawnRequest};

#[allow(clippy::too_many_arguments)]
pub(super) fn stop(
    ctx: &Context,
    orch: &Orchestrator,
    lookups: &Lookups,
    procs: &mut Processes,
    tx: &UnboundedSender<Msg>,
    unit: usize,
    pid: u32,
    how: Stop,
) {
    let log = ctx.logs[unit].clone();
    let note = move |log: &crate::logs::SidecarLog, text: String| {
        tracing::warn!("{text}");
        log.push(Stream::Stderr, &format!("runtime: {text}"));
    };
    let timeout = Duration::from_millis(ctx.plan.units[unit].spec.stop_timeout_ms);
    // The stop after a failed graceful one: the OS's plain stop (SIGTERM, or Ctrl-Break).
    #[allow(non_snake_case)]
    let FALLBACK = Stop::Graceful(ctx.plan.units[unit].machine.helper_stop);
    match how {
        Stop::Force | Stop::Graceful(GracefulStop::Signal(_) | GracefulStop::CtrlBreak) => procs.stop(pid, how),
        Stop::Graceful(GracefulStop::Control) => {
            let Some(port) = orch.port(unit) else {
                return procs.stop(pid, FALLBACK);
            };
            let key = ctx.gets_api_key(unit).then(|| ctx.api_key.clone());
            tokio::spawn(async move {
                if let Err(e) = crate::runtime::doors::control_client::shutdown(port, key, timeout).await {
                    note(&log, format!("sidecar.v1.Control/Shutdown failed ({e}); sending the stop signal instead"));
                    platform::stop_group(pid, FALLBACK);
                }
            });
        }
        Stop::Graceful(GracefulStop::Command) => {
            let spec = &ctx.plan.units[unit].spec;
            let Some(sc) = spec.stop_command.as_ref() else {
                return procs.stop(pid, FALLBACK);
            };
            let prepared = lookups
                .helper(ctx, unit, &sc.command)
                .and_then(|program| Ok((program, ctx.render_all(orch, unit, &sc.args, "stop_command.args")?)));
            let (program, args) = match prepared {
                Ok(x) => x,
                Err(e) => {
                    note(&log, format!("stop_command: {e}; sending the stop signal instead"));
                    return procs.stop(pid, FALLBACK);
                }
            };
            let env = ctx.contract_env(orch, unit);
            let cwd = ctx.unit_dir(unit);
            let user = ctx.users[unit].clone().ok().flatten();
            let req = SpawnRequest { program: &program, args: &args, env: &env, cwd: &cwd, user };
            let mut s = match platform::spawn(&req) {
                Ok(s) => s,
                Err(e) => {
                    note(
                        &log,
                        format!(
                            "cannot run the stop_command {}: {e}; sending the stop signal instead",
                            program.display()
                        ),
                    );
                    return procs.stop(pid, FALLBACK);
                }
            };
            let stopper = s.pid;
            procs.watch(stopper);
            let tx = tx.clone();
            tokio::spawn(async move {
                let pumps = output::pump(s.stdout, s.stderr, log.clone(), |_| false, |_| {}, |_| {});
                let ended = tokio::time::timeout(timeout, async { tokio::join!(s.child.wait(), pumps).0 }).await;
                drop(s.lifeline);
                match ended {
                    Ok(Ok(exit)) if exit.code == Some(0) => {}
                    Ok(Ok(exit)) => {
                        note(&log, format!("the stop_command {}; sending the stop signal", exit.describe()));
                        platform::stop_group(pid, FALLBACK);
                    }
                    Ok(Err(e)) => note(&log, format!("the stop_command: {e}")),
                    Err(_) => note(&log, format!("the stop_command did not finish within {} ms", timeout.as_millis())),
                }
                let _ = tx.send(Msg::HelperEnded { pid: stopper });
            });
        }
    }
}
