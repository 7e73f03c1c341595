//! Probing a remote (`remote_slim`'s backend) when its row asks
//! ([`Effect::ProbeRemote`](crate::domain::Effect::ProbeRemote)): one HTTPS `GET` of its
//! readiness path, the answer sent back as `Msg::RemoteProbed`. What an answer means — ready,
//! unhealthy, the error shown — is the remote row's (`domain/remote.rs`). The system's trust
//! store and the profile's extra CA files (`extra_ca_files`, `RUNTIME_EXTRA_CA_FILES`) decide
//! which certificates are accepted.

use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::Msg;
use crate::domain::plan::RemoteTarget;

/// The HTTPS client of the remote probes, made once (when a unit is a remote).
pub(super) struct RemoteProber {
    client: Option<Result<reqwest::Client, String>>,
}

impl RemoteProber {
    pub fn new() -> RemoteProber {
        RemoteProber { client: None }
    }

    /// Probes `target` once, off the loop.
    pub fn probe(
        &mut self,
        extra_ca: &[std::path::PathBuf],
        tx: &UnboundedSender<Msg>,
        unit: usize,
        target: &RemoteTarget,
    ) {
        let client = self.client.get_or_insert_with(|| client(extra_ca, target.timeout)).clone();
        let (url, path, tx) = (target.url(), target.path.clone(), tx.clone());
        tokio::spawn(async move {
            let t = Instant::now();
            let (ok, detail) = match client {
                Err(e) => (false, e),
                Ok(c) => match c.get(&url).send().await {
                    Ok(r) if r.status().is_success() => (true, format!("GET {path} answered {}", r.status().as_u16())),
                    Ok(r) => (false, format!("GET {path} answered {}", r.status().as_u16())),
                    Err(e) => (false, format!("GET {path}: {}", chain(&e))),
                },
            };
            let _ = tx.send(Msg::RemoteProbed { unit, ok, detail, latency: t.elapsed() });
        });
    }
}

/// The HTTPS client: the system's roots plus the extra CA files.
fn client(extra: &[std::path::PathBuf], timeout: Duration) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder().timeout(timeout).pool_max_idle_per_host(1);
    for f in extra {
        let pem = std::fs::read(f).map_err(|e| format!("cannot read the CA file {}: {e}", f.display()))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| format!("CA file {}: {e}", f.display()))? {
            b = b.add_root_certificate(cert);
        }
    }
    b.build().map_err(|e| format!("cannot make the HTTPS client: {}", chain(&e)))
}

/// An error with its causes: "error sending request: … certificate verify failed …".
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = c.source();
    }
    s
}
