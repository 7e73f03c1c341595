//! Running probes off the event loop; results come back as `Msg::Probed`.
//!
//! Steady-state probing must cost next to nothing (an idle runtime with three sidecars probed
//! every second stays near 0.1 % of a core), so connections are reused: HTTP through the shared
//! keep-alive client, gRPC through one lazily connected channel per process, and the identity
//! check runs only until a process has passed it once (the orchestrator says when).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::context::Context;
use super::lookup::Lookups;
use super::Msg;
use crate::domain::{Identity, Orchestrator, ProbeKind};
use crate::profile::ProbeSpec;
use crate::runtime::probes::{self, ProbeContext, ProbeTarget};

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
        identity: Option<Identity>,
    ) {
        let spec = &ctx.plan.units[unit].spec;
        let Some(probe) = (match kind {
            ProbeKind::Ready => spec.ready.as_ref(),
            ProbeKind::Live => spec.live.as_ref(),
        }) else {
            return;
        };
        let timeout = Duration::from_millis(probe.timeout_ms);
        let target = match target(ctx, orch, lookups, unit, kind, probe, identity) {
            Ok(Some(t)) => t,
            Ok(None) => return, // pushed, not polled (the stdout line)
            Err(detail) => {
                let outcome = probes::Outcome { ok: false, detail, identity: None };
                let _ = tx.send(Msg::Probed { unit, gen, kind, outcome, latency: Duration::ZERO });
                return;
            }
        };
        let port = orch.port(unit);
        let grpc = match (&target, port) {
            (ProbeTarget::Grpc { .. }, Some(port)) => match &self.grpc[unit] {
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
            instance_id: ctx.instance_id.clone(),
            proof_key: ctx.gets_api_key(unit).then(|| ctx.api_key.clone()),
            timeout,
            grpc,
        };
        let (tx, http) = (tx.clone(), self.http.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let outcome = probes::run(&target, &pctx, &http).await;
            let _ = tx.send(Msg::Probed { unit, gen, kind, outcome, latency: started.elapsed() });
        });
    }

    /// A new process of `unit`: its old gRPC channel is of no use.
    pub fn forget(&mut self, unit: usize) {
        self.grpc[unit] = None;
    }
}

/// What to probe: an exec probe's command is found and its arguments rendered now.
fn target(
    ctx: &Context,
    orch: &Orchestrator,
    lookups: &Lookups,
    unit: usize,
    kind: ProbeKind,
    p: &ProbeSpec,
    identity: Option<Identity>,
) -> Result<Option<ProbeTarget>, String> {
    if let Some(path) = &p.http {
        return Ok(Some(ProbeTarget::Http { path: path.clone(), identity }));
    }
    if let Some(s) = &p.grpc {
        return Ok(Some(ProbeTarget::Grpc { service: s.clone(), identity }));
    }
    if p.tcp == Some(true) {
        return Ok(Some(ProbeTarget::Tcp));
    }
    if let Some(user) = &p.postgres {
        return Ok(Some(ProbeTarget::Postgres { user: user.clone() }));
    }
    let Some(e) = &p.exec else { return Ok(None) };
    let field = if kind == ProbeKind::Ready { "ready.exec.args" } else { "live.exec.args" };
    let program: PathBuf = lookups.helper(ctx, unit, &e.command)?;
    let args = ctx.render_all(orch, unit, &e.args, field)?;
    Ok(Some(ProbeTarget::Exec {
        program,
        args,
        envs: ctx.contract_env(orch, unit),
        cwd: ctx.unit_dir(unit),
        user: ctx.users[unit].clone().ok().flatten(),
    }))
}
