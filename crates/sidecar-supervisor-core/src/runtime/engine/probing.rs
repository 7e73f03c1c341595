//! Running probes off the event loop; results come back as `Msg::Probed`.
//!
//! Steady-state probing must cost next to nothing (an idle runtime with three sidecars probed
//! every second stays near 0.1 % of a core), so connections are reused: HTTP through the shared
//! keep-alive client, gRPC through one lazily connected channel per process, and the identity
//! check runs only until a process has passed it once (the machine says when).

use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::context::Context;
use super::lookup::Lookups;
use super::Msg;
use crate::domain::plan::{Helper, Probe};
use crate::domain::{Orchestrator, ProbeKind};
use crate::runtime::probes::{self, ExecRun, ProbeContext};

pub(super) struct Prober {
    http: reqwest::Client,
    /// Per unit: the gRPC channel to its process, reused by every probe (the port it was made
    /// for).
    grpc: Vec<Option<(u16, tonic::transport::Channel)>>,
}

impl Prober {
    pub fn new(units: usize) -> Prober {
        Prober { http: probes::http_client(), grpc: vec![None; units] }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn start(
        &mut self,
        ctx: &Context,
        orch: &Orchestrator,
        lookups: &Lookups,
        tx: &UnboundedSender<Msg>,
        unit: usize,
        gen: u64,
        kind: ProbeKind,
        identity: bool,
    ) {
        let Some(plan) = ctx.plan.units[unit].probe(kind) else { return };
        if !plan.probe.polled() {
            return; // pushed by the sidecar (the stdout line)
        }
        let exec = match &plan.probe {
            Probe::Exec(helper) => match exec_run(ctx, orch, lookups, unit, kind, helper) {
                Ok(e) => Some(e),
                Err(detail) => {
                    let outcome = probes::Outcome { ok: false, detail, identity: None, build: None };
                    let _ = tx.send(Msg::Probed { unit, gen, kind, outcome, latency: Duration::ZERO });
                    return;
                }
            },
            _ => None,
        };
        let port = orch.port(unit);
        let grpc = match (&plan.probe, port) {
            (Probe::Grpc { .. }, Some(port)) => match &self.grpc[unit] {
                Some((p, c)) if *p == port => Some(c.clone()),
                _ => {
                    let c = probes::grpc_channel(port).ok();
                    self.grpc[unit] = c.clone().map(|c| (port, c));
                    c
                }
            },
            _ => None,
        };
        let pctx = ProbeContext {
            port,
            identity,
            exec,
            instance_id: ctx.instance_id.clone(),
            proof_key: ctx.gets_api_key(unit).then(|| ctx.api_key.clone()),
            timeout: plan.timeout,
            grpc,
        };
        let (tx, http, probe) = (tx.clone(), self.http.clone(), plan.probe.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let outcome = probes::run(&probe, &pctx, &http).await;
            let _ = tx.send(Msg::Probed { unit, gen, kind, outcome, latency: started.elapsed() });
        });
    }

    /// A new process of `unit`: its old gRPC channel is of no use.
    pub fn forget(&mut self, unit: usize) {
        self.grpc[unit] = None;
    }
}

/// An exec probe's command, found and rendered now.
fn exec_run(
    ctx: &Context,
    orch: &Orchestrator,
    lookups: &Lookups,
    unit: usize,
    kind: ProbeKind,
    helper: &Helper,
) -> Result<ExecRun, String> {
    let field = if kind == ProbeKind::Ready { "ready.exec.args" } else { "live.exec.args" };
    Ok(ExecRun {
        program: lookups.helper(ctx, unit, &helper.command)?,
        args: ctx.render_all(orch, unit, &helper.args, field)?,
        envs: ctx.contract_env(orch, unit),
        cwd: ctx.unit_dir(unit),
        user: ctx.users[unit].clone().ok().flatten(),
    })
}
