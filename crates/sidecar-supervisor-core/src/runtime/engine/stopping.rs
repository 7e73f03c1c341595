//! Carrying out a stop ([`Effect::Stop`](crate::domain::Effect::Stop)): a signal, Ctrl-Break or
//! a forced kill goes straight to the platform; the two graceful stops that are not platform
//! calls run off the loop. `Control`: `sidecar.v1.Control/Shutdown` on the sidecar's port.
//! `Command`: the profile's `stop_command`, with the sidecar's environment and templates, its
//! output in the sidecar's log. Either one that fails is reported ([`Report::StopFailed`]): what
//! follows (the plain stop) is the machine's decision, as is the forced kill after the stop
//! timeout.

use tokio::sync::mpsc::UnboundedSender;

use super::context::Context;
use super::lookup::Lookups;
use super::output;
use super::processes::Processes;
use super::Msg;
use crate::domain::{GracefulStop, Orchestrator, Report, Stop};
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
    let gen = orch.gen(unit);
    // Said in the sidecar's log (where the stop command's output is) and to the machine.
    let failed = move |tx: &UnboundedSender<Msg>, log: &crate::logs::SidecarLog, why: String| {
        tracing::warn!(pid, "{why}");
        log.push(Stream::Stderr, &format!("runtime: {why}"));
        let _ = tx.send(Msg::Report { unit, gen, report: Report::StopFailed { pid, why } });
    };
    let timeout = ctx.plan.units[unit].machine.stop.timeout;
    match how {
        Stop::Force | Stop::Graceful(GracefulStop::Signal(_) | GracefulStop::CtrlBreak) => procs.stop(pid, how),
        Stop::Graceful(GracefulStop::Control) => {
            let Some(port) = orch.port(unit) else {
                return failed(tx, &log, "sidecar.v1.Control/Shutdown: it has no port".into());
            };
            let key = ctx.gets_api_key(unit).then(|| ctx.api_key.clone());
            let tx = tx.clone();
            tokio::spawn(async move {
                if let Err(e) = crate::runtime::doors::control_client::shutdown(port, key, timeout).await {
                    failed(&tx, &log, format!("sidecar.v1.Control/Shutdown failed ({e})"));
                }
            });
        }
        Stop::Graceful(GracefulStop::Command) => {
            let Some(sc) = ctx.plan.units[unit].run.stop_command.as_ref() else {
                return failed(tx, &log, "it has no stop_command".into());
            };
            let prepared = lookups
                .helper(ctx, unit, &sc.command)
                .and_then(|program| Ok((program, ctx.render_all(orch, unit, &sc.args, "stop_command.args")?)));
            let (program, args) = match prepared {
                Ok(x) => x,
                Err(e) => return failed(tx, &log, format!("stop_command: {e}")),
            };
            let env = ctx.contract_env(orch, unit);
            let cwd = ctx.unit_dir(unit);
            let user = ctx.users[unit].clone().ok().flatten();
            let req = SpawnRequest { program: &program, args: &args, env: &env, cwd: &cwd, user };
            let mut s = match platform::spawn(&req) {
                Ok(s) => s,
                Err(e) => return failed(tx, &log, format!("cannot run the stop_command {}: {e}", program.display())),
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
                    Ok(Ok(exit)) => failed(&tx, &log, format!("the stop_command {}", exit.describe())),
                    Ok(Err(e)) => failed(&tx, &log, format!("the stop_command: {e}")),
                    // The stop timeout has passed too: the machine kills the tree now.
                    Err(_) => {
                        log.push(
                            Stream::Stderr,
                            &format!("runtime: the stop_command did not finish within {} ms", timeout.as_millis()),
                        );
                    }
                }
                let _ = tx.send(Msg::HelperEnded { pid: stopper });
            });
        }
    }
}
