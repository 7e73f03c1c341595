//! Running probes off the event loop; results come back as `Msg::Probe`.
//!
//! Steady-state probing must cost next to nothing (design §9: 0.1 % of a core for 3 sidecars
//! probed every second), so connections are reused: HTTP through the shared keep-alive client,
//! gRPC through one lazily connected channel per process, and the identity check runs until a
//! process has passed it once, not on every probe.

use std::time::{Duration, Instant};

use super::{Engine, Msg};
use crate::domain::ProbeKind;
use crate::runtime::probes::{self, ProbeContext, ProbeTarget};

impl Engine {
    pub(super) fn start_probe(&mut self, i: usize, kind: ProbeKind) {
        let (target, timeout) = match kind {
            ProbeKind::Ready => (self.units[i].ready.clone(), self.units[i].probe_timeout.0),
            ProbeKind::Live => (self.units[i].live.clone(), self.units[i].probe_timeout.1),
        };
        let Some(mut target) = target else { return };
        let gen = self.units[i].gen;
        match &mut target {
            ProbeTarget::Exec { program, args, envs, cwd, user } => {
                let cmd = program.display().to_string();
                let resolved = self.aux_program(i, &cmd).and_then(|p| {
                    let field = if kind == ProbeKind::Ready { "ready.exec.args" } else { "live.exec.args" };
                    let a = self.render_all(i, args, field)?;
                    Ok((p, a))
                });
                match resolved {
                    Ok((p, a)) => {
                        *program = p;
                        *args = a;
                        *envs = self.contract_env(i);
                        *cwd = self.units[i].data_dir.clone();
                        *user = self.units[i].user.clone().ok().flatten();
                    }
                    Err(e) => {
                        let msg = Msg::Probe { unit: i, gen, kind, ok: false, detail: e, latency: Duration::ZERO };
                        let _ = self.tx.send(msg);
                        return;
                    }
                }
            }
            ProbeTarget::Http { identity, .. } => *identity &= !self.units[i].identity_ok,
            ProbeTarget::Grpc { .. } | ProbeTarget::Tcp => {}
        }
        let u = &mut self.units[i];
        let grpc = match (&target, u.port) {
            (ProbeTarget::Grpc { .. }, Some(port)) => match &u.grpc_channel {
                Some((p, c)) if *p == port => Some(c.clone()),
                _ => {
                    let c = probes::grpc_channel(port).ok();
                    u.grpc_channel = c.clone().map(|c| (port, c));
                    c
                }
            },
            _ => None,
        };
        let ctx = ProbeContext {
            port: u.port,
            instance_id: self.instance_id.clone(),
            proof_key: self.units[i].gets_api_key().then(|| self.api_key.clone()),
            timeout,
            grpc,
        };
        let (tx, http) = (self.tx.clone(), self.http.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let (ok, detail) = probes::run(&target, &ctx, &http).await;
            let _ = tx.send(Msg::Probe { unit: i, gen, kind, ok, detail, latency: started.elapsed() });
        });
    }
}
