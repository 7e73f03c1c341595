//! A gRPC client for app code: a tonic channel to a sidecar that carries the launch's API key
//! (`x-api-key` metadata) and a loopback authority (`127.0.0.1:<port>`, which the sidecar
//! contract's Host check accepts), and that follows the sidecar to its new port when it comes
//! back from a restart (an `announce` sidecar gets a new one each time).
//!
//! Under the hood it is tonic's balancing channel with one endpoint at a time: the endpoint is
//! swapped as the sidecar's status changes. While the sidecar is not up there is no endpoint,
//! so a call waits for it to come back (give calls a deadline: `Request::set_timeout` or a
//! `tokio::time::timeout`) instead of failing on a half-restarted process.

use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::channel::Change;
use tonic::transport::{Channel, Endpoint};

use crate::domain::CommandError;
use crate::runtime::status::{Notification, SidecarStatus};
use crate::runtime::Supervisor;

/// A channel to one sidecar, keyed and following it across restarts.
pub type SidecarChannel = InterceptedService<Channel, ApiKey>;

/// Adds `x-api-key: <launch key>` to every call.
#[derive(Clone)]
pub struct ApiKey(MetadataValue<Ascii>);

impl tonic::service::Interceptor for ApiKey {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("x-api-key", self.0.clone());
        Ok(req)
    }
}

/// The port calls should go to now: the sidecar's, while it is up.
fn target(row: &SidecarStatus) -> Option<u16> {
    row.state.is_up().then_some(row.port).flatten()
}

fn endpoint(port: u16) -> Endpoint {
    Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("a loopback URI is valid")
        .connect_timeout(Duration::from_secs(2))
}

impl Supervisor {
    /// A gRPC channel to sidecar `name` (an instance name: `worker#2` for replicas), with the
    /// API key and a loopback authority, that follows it to a new port after a restart. Call
    /// inside a tokio runtime (the channel's worker and its watcher run on it); they end when the
    /// channel and its clones are dropped, or when the runtime stops.
    pub fn grpc_channel(&self, name: &str) -> Result<SidecarChannel, CommandError> {
        let unit = self.unit(name)?;
        let key = self.api_key().parse().map_err(|_| CommandError::EngineGone)?;
        let (channel, changes) = Channel::balance_channel::<u16>(16);
        // Subscribed before the first read of the status: no change can fall between them.
        let mut rx = self.subscribe();
        let mut current = self.status().sidecars.get(unit).and_then(target);
        if let Some(p) = current {
            let _ = changes.try_send(Change::Insert(p, endpoint(p)));
        }
        let (sup, name) = (self.clone(), name.to_string());
        tokio::spawn(async move {
            loop {
                let want = tokio::select! {
                    _ = changes.closed() => return, // every clone of the channel is gone
                    n = rx.recv() => match n {
                        Ok(Notification::Sidecar(row)) if row.name == name => target(&row),
                        Ok(Notification::Stopped) | Err(RecvError::Closed) => return,
                        Ok(_) => continue,
                        Err(RecvError::Lagged(_)) => sup.status().sidecars.get(unit).and_then(target),
                    },
                };
                if want == current {
                    continue;
                }
                if let Some(old) = current.take() {
                    let _ = changes.send(Change::Remove(old)).await;
                }
                if let Some(p) = want {
                    let _ = changes.send(Change::Insert(p, endpoint(p))).await;
                }
                current = want;
            }
        });
        Ok(InterceptedService::new(channel, ApiKey(key)))
    }
}
