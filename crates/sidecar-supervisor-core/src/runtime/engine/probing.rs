//! Running probes off the event loop; results come back as `Msg::Probe`.

use std::time::{Duration, Instant};

use super::{Engine, Msg};
use crate::domain::ProbeKind;
use crate::runtime::probes::{self, ProbeContext, ProbeTarget};

impl Engine {
    pub(super) fn start_probe(&mut self, i: usize, kind: ProbeKind) {
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
}
