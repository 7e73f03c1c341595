//! What every sidecar serves besides its own API: `GET /health/live`, `GET /health/ready`,
//! `GET /runtime/info` (design §4), the standard `grpc.health.v1.Health` and our
//! `sidecar.v1.Control` (proto/sidecar/v1/control.proto).
//!
//! gRPC health names two services: `""` is liveness (serving while the process answers) and
//! `"ready"` mirrors `/health/ready`. A profile probes them as `{"grpc": ""}` and
//! `{"grpc": "ready"}`.

use std::sync::{Arc, Mutex};

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
/// from anywhere and both `/health/ready` and gRPC health follow.
#[derive(Clone)]
pub struct Readiness {
    inner: Arc<Mutex<(bool, String)>>,
    reporter: HealthReporter,
}

impl Readiness {
    pub(crate) fn new(reporter: HealthReporter) -> Readiness {
        Readiness { inner: Arc::new(Mutex::new((false, "starting".into()))), reporter }
    }

    /// Sets readiness; `reason` says why not (shown by `/health/ready` and in the runtime's
    /// probe error). Only changes are forwarded to gRPC health watchers.
    pub async fn set(&self, ready: bool, reason: impl Into<String>) {
        let changed = {
            let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            let changed = g.0 != ready;
            *g = (ready, if ready { String::new() } else { reason.into() });
            changed
        };
        if changed {
            let status = if ready { ServingStatus::Serving } else { ServingStatus::NotServing };
            self.reporter.set_service_status(READY_SERVICE, status).await;
        }
    }

    pub fn is_ready(&self) -> bool {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).0
    }

    fn snapshot(&self) -> (bool, String) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone()
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
    match c.readiness.snapshot() {
        (true, _) => (StatusCode::OK, Json(serde_json::json!({ "ready": true }))),
        (false, reason) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "ready": false, "reason": reason })))
        }
    }
}

async fn info(State(c): State<Ctx>) -> impl IntoResponse {
    Json(serde_json::json!({
        "name": c.contract.name,
        "instance_name": c.contract.instance_name,
        "version": c.version,
        "pid": std::process::id(),
        "instance_id": c.contract.instance_id,
    }))
}

/// `sidecar.v1.Control`.
pub(crate) struct Control {
    pub contract: Arc<Contract>,
    pub version: &'static str,
    pub shutdown: Shutdown,
}

#[tonic::async_trait]
impl control_v1::control_server::Control for Control {
    async fn info(
        &self,
        _: tonic::Request<control_v1::InfoRequest>,
    ) -> Result<tonic::Response<control_v1::InfoResponse>, tonic::Status> {
        Ok(tonic::Response::new(control_v1::InfoResponse {
            name: self.contract.name.clone(),
            instance_name: self.contract.instance_name.clone(),
            version: self.version.to_string(),
            pid: std::process::id(),
            instance_id: self.contract.instance_id.clone(),
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
