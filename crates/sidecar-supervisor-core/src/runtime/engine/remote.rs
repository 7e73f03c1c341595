//! `remote_slim`: the backend runs elsewhere, and the runtime still shows it as a row — probed
//! over HTTPS at its readiness path (`ready.http` of the profile's backend, `/health/ready` by
//! default) on the probe's interval, with the latency and the last error. The system's trust
//! store and the profile's extra CA files (`extra_ca_files`, `RUNTIME_EXTRA_CA_FILES`) decide
//! which certificates are accepted. The row is `starting` until the first answer, `ready` while
//! it answers 2xx, `unhealthy` after the probe's failure threshold; the feed says when it
//! changes. Nothing is restarted: there is no process here.

use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::context::Context;
use super::Msg;
use crate::domain::State;
use crate::profile::{Mode, Role};

/// What the row shows of the remote backend.
#[derive(Debug, Clone)]
pub(super) struct RemoteRow {
    pub unit: usize,
    pub state: State,
    pub failures: u32,
    pub threshold: u32,
    /// The last failure, while not ready.
    pub error: Option<String>,
}

/// Starts probing the remote backend, if this is `remote_slim` with a backend in the profile.
pub(super) fn start(ctx: &Context, tx: &UnboundedSender<Msg>) -> Option<RemoteRow> {
    if ctx.cfg.mode != Mode::RemoteSlim {
        return None;
    }
    let base = ctx.cfg.backend_url.clone()?;
    let unit = ctx.plan.units.iter().position(|u| u.skipped && u.spec.role == Some(Role::Backend))?;
    let probe = ctx.plan.units[unit].spec.ready.clone();
    let path = probe.as_ref().and_then(|p| p.http.clone()).unwrap_or_else(|| "/health/ready".into());
    let interval = Duration::from_millis(probe.as_ref().map_or(1000, |p| p.interval_ms));
    let timeout = Duration::from_millis(probe.as_ref().map_or(1000, |p| p.timeout_ms));
    let threshold = probe.as_ref().map_or(3, |p| p.failure_threshold).max(1);
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let client = client(&ctx.cfg.extra_ca_files, timeout);
    let tx = tx.clone();
    tokio::spawn(async move {
        loop {
            let t = Instant::now();
            let (ok, detail) = match &client {
                Err(e) => (false, e.clone()),
                Ok(c) => match c.get(&url).send().await {
                    Ok(r) if r.status().is_success() => (true, format!("GET {path} answered {}", r.status().as_u16())),
                    Ok(r) => (false, format!("GET {path} answered {}", r.status().as_u16())),
                    Err(e) => (false, format!("GET {path}: {}", chain(&e))),
                },
            };
            if tx.send(Msg::RemoteProbed { unit, ok, detail, latency: t.elapsed() }).is_err() {
                return; // the engine ended
            }
            tokio::time::sleep(interval).await;
        }
    });
    Some(RemoteRow { unit, state: State::Starting, failures: 0, threshold, error: None })
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

impl RemoteRow {
    /// A probe result; returns the event to record when the state changed.
    pub fn probed(&mut self, ok: bool, detail: &str, url: &str) -> Option<(crate::domain::EventKind, String)> {
        use crate::domain::EventKind;
        if ok {
            self.failures = 0;
            self.error = None;
            let was = std::mem::replace(&mut self.state, State::Ready);
            return match was {
                State::Ready => None,
                State::Unhealthy => {
                    Some((EventKind::Recovered, format!("the remote backend {url} answers again ({detail})")))
                }
                _ => Some((EventKind::Ready, format!("the remote backend {url} is ready ({detail})"))),
            };
        }
        self.failures += 1;
        self.error = Some(format!("the remote backend {url}: {detail}"));
        if self.state == State::Ready && self.failures >= self.threshold {
            self.state = State::Unhealthy;
            let n = self.failures;
            return Some((
                EventKind::Unhealthy,
                format!("the remote backend {url} failed {n} probes in a row: {detail}"),
            ));
        }
        None
    }
}
