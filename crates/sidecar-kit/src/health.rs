//! What every sidecar serves besides its own API: `GET /health/live`, `GET /health/ready`,
//! `GET /runtime/info`, the standard `grpc.health.v1.Health` and our
//! `sidecar.v1.Control` (proto/sidecar/v1/control.proto).
//!
//! gRPC health names two services: `""` is liveness (serving while the process answers) and
//! `"ready"` mirrors `/health/ready`. A profile probes them as `{"grpc": ""}` and
//! `{"grpc": "ready"}`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;

use crate::shutdown::{Shutdown, StopReason};
use crate::Contract;

/// gRPC health service name that mirrors readiness.
pub const READY_SERVICE: &str = "ready";

pub mod control_v1 {
    tonic::include_proto!("sidecar.v1");
}

/// Whether the sidecar can do its job now (e.g. its database answers). Cloneable; flip it
/// from anywhere and both `/health/ready` and gRPC health follow. Changes are applied under one
/// lock, gRPC status included, so the two never disagree and concurrent changes never land
/// out of order.
#[derive(Clone)]
pub struct Readiness {
    state: Arc<tokio::sync::Mutex<(bool, String)>>,
    /// Mirror of `state.0` for synchronous reads.
    flag: Arc<AtomicBool>,
    reporter: HealthReporter,
}

impl Readiness {
    pub(crate) fn new(reporter: HealthReporter) -> Readiness {
        Readiness {
            state: Arc::new(tokio::sync::Mutex::new((false, "starting".into()))),
            flag: Arc::new(AtomicBool::new(false)),
            reporter,
        }
    }

    /// Sets readiness; `reason` says why not (shown by `/health/ready` and in the runtime's
    /// probe error). Only changes are forwarded to gRPC health watchers.
    pub async fn set(&self, ready: bool, reason: impl Into<String>) {
        let mut g = self.state.lock().await;
        let changed = g.0 != ready;
        *g = (ready, if ready { String::new() } else { reason.into() });
        self.flag.store(ready, Ordering::Release);
        if changed {
            self.reporter.set_service_status(READY_SERVICE, serving(ready)).await;
        }
    }

    /// Publishes the current value to gRPC health (when the server starts).
    pub(crate) async fn publish(&self) {
        let g = self.state.lock().await;
        self.reporter.set_service_status(READY_SERVICE, serving(g.0)).await;
    }

    pub fn is_ready(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    async fn snapshot(&self) -> (bool, String) {
        self.state.lock().await.clone()
    }
}

fn serving(ready: bool) -> ServingStatus {
    if ready {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    }
}

#[derive(Clone)]
struct Ctx {
    contract: Arc<Contract>,
    version: &'static str,
    readiness: Readiness,
}

/// The HTTP part: health and identity.
pub(crate) fn http_routes(contract: Arc<Contract>, version: &'static str, readiness: Readiness) -> Router {
    Router::new()
        .route("/health/live", get(|| async { Json(serde_json::json!({ "live": true })) }))
        .route("/health/ready", get(ready))
        .route("/runtime/info", get(info))
        .with_state(Ctx { contract, version, readiness })
}

async fn ready(State(c): State<Ctx>) -> impl IntoResponse {
    match c.readiness.snapshot().await {
        (true, _) => (StatusCode::OK, Json(serde_json::json!({ "ready": true }))),
        (false, reason) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "ready": false, "reason": reason })))
        }
    }
}

/// The build hash this sidecar was made from: `DESKTOP_RUNTIME_BUILD` when it was compiled
/// (the app's installer build sets it for the app and every sidecar; empty in a development
/// build). The runtime restarts once, and warns about, a sidecar whose build is not the app's.
pub const BUILD: &str = match option_env!("DESKTOP_RUNTIME_BUILD") {
    Some(b) => b,
    None => "",
};

/// Public: who answers on this port. With `?nonce=`, also `proof`: the HMAC of the nonce under
/// the launch's key (`sidecar_identity`), which only this launch's sidecars can give.
async fn info(State(c): State<Ctx>, axum::extract::RawQuery(q): axum::extract::RawQuery) -> impl IntoResponse {
    let mut body = serde_json::json!({
        "name": c.contract.name,
        "instance_name": c.contract.instance_name,
        "version": c.version,
        "pid": std::process::id(),
        "instance_id": c.contract.instance_id,
        "build": BUILD,
    });
    let nonce = q.as_deref().unwrap_or("").split('&').find_map(|kv| kv.strip_prefix("nonce=")).map(str::to_string);
    match (nonce, &c.contract.api_key) {
        (Some(n), Some(key)) if sidecar_identity::is_valid_nonce(&n) => {
            body["proof"] = sidecar_identity::proof(key, &n).into();
        }
        (Some(_), Some(_)) => {
            let msg = format!("nonce: 1 to {} letters or digits expected", sidecar_identity::MAX_NONCE);
            return (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "error": msg })));
        }
        _ => {}
    }
    (StatusCode::OK, Json(body))
}

/// `sidecar.v1.Control`.
pub(crate) struct Control {
    pub contract: Arc<Contract>,
    pub version: &'static str,
    pub shutdown: Shutdown,
}

#[tonic::async_trait]
impl control_v1::control_server::Control for Control {
    /// Public, like `/runtime/info`: with a nonce, `proof` shows this process holds the key.
    async fn info(
        &self,
        req: tonic::Request<control_v1::InfoRequest>,
    ) -> Result<tonic::Response<control_v1::InfoResponse>, tonic::Status> {
        let nonce = req.into_inner().nonce;
        let proof = match (&self.contract.api_key, nonce.is_empty()) {
            (_, true) | (None, _) => String::new(),
            (Some(_), false) if !sidecar_identity::is_valid_nonce(&nonce) => {
                let msg = format!("nonce: 1 to {} letters or digits expected", sidecar_identity::MAX_NONCE);
                return Err(tonic::Status::invalid_argument(msg));
            }
            (Some(key), false) => sidecar_identity::proof(key, &nonce),
        };
        Ok(tonic::Response::new(control_v1::InfoResponse {
            proof,
            name: self.contract.name.clone(),
            instance_name: self.contract.instance_name.clone(),
            version: self.version.to_string(),
            pid: std::process::id(),
            instance_id: self.contract.instance_id.clone(),
            build: BUILD.to_string(),
        }))
    }

    async fn shutdown(
        &self,
        req: tonic::Request<control_v1::ShutdownRequest>,
    ) -> Result<tonic::Response<control_v1::ShutdownResponse>, tonic::Status> {
        self.shutdown.trigger(StopReason::Requested(req.into_inner().reason));
        Ok(tonic::Response::new(control_v1::ShutdownResponse {}))
    }
}
