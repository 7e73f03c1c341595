//! The gRPC server (`--protocol grpc`, tonic + tonic-health).
//!
//! Exists to give the supervisor a standard `grpc.health.v1.Health` service.
//! The overall service `""` is NOT_SERVING until ready, SERVING once ready,
//! NOT_SERVING again after `--unready-after-ms`. After `--hang-after-ms`,
//! `Check` and `Watch` calls never answer: tonic-health's own service is
//! wrapped for that, which is why this module builds the server from
//! [`HealthService::from_health_reporter`] rather than `health_reporter()`.

use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Mutex;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_health::server::{HealthReporter, HealthService, WatchStream};
use tonic_health::ServingStatus;

use sidecar_kit::health::control_v1::control_server::{Control, ControlServer};
use sidecar_kit::health::control_v1::{InfoRequest, InfoResponse, ShutdownRequest, ShutdownResponse};

use crate::out::err;
use crate::state::Shared;
use crate::who::Who;

/// `sidecar.v1.Control`, as a sidecar-kit sidecar serves it: `Shutdown` ends the process
/// (exit 0) right after answering. What the runtime uses to stop sidecars on Windows. `Info`
/// says in `version` whether the call carried the launch's key (`key-ok`), so tests of the
/// runtime's gRPC client can see the key arrive.
struct TestControl {
    who: Who,
}

#[tonic::async_trait]
impl Control for TestControl {
    async fn info(&self, req: Request<InfoRequest>) -> Result<Response<InfoResponse>, Status> {
        if !self.who.serves_info {
            return Err(Status::unimplemented("--identity none"));
        }
        let var = |k: &str| std::env::var(k).unwrap_or_default();
        let key = req.metadata().get("x-api-key").and_then(|v| v.to_str().ok()).map(str::to_string);
        let keyed = key.is_some_and(|k| !k.is_empty() && k == var("SIDECAR_API_KEY"));
        Ok(Response::new(InfoResponse {
            proof: self.who.proof(&req.into_inner().nonce).unwrap_or_default(),
            name: var("SIDECAR_NAME"),
            instance_name: var("SIDECAR_INSTANCE_NAME"),
            version: if keyed { "key-ok".into() } else { env!("CARGO_PKG_VERSION").into() },
            pid: std::process::id(),
            instance_id: self.who.instance_id.clone(),
            build: self.who.build.clone(),
        }))
    }

    async fn shutdown(&self, req: Request<ShutdownRequest>) -> Result<Response<ShutdownResponse>, Status> {
        err(&format!("test-sidecar: stopping on Control/Shutdown ({})", req.into_inner().reason));
        tokio::spawn(async {
            // Let the answer reach the caller before the process ends.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            std::process::exit(0);
        });
        Ok(Response::new(ShutdownResponse {}))
    }
}

/// tonic-health's service, made to hang once the shared status says so.
struct HangingHealth {
    inner: HealthService,
    shared: Shared,
}

#[tonic::async_trait]
impl Health for HangingHealth {
    async fn check(&self, request: Request<HealthCheckRequest>) -> Result<Response<HealthCheckResponse>, Status> {
        self.shared.hang_if_hung().await;
        self.inner.check(request).await
    }

    type WatchStream = WatchStream;

    async fn watch(&self, request: Request<HealthCheckRequest>) -> Result<Response<Self::WatchStream>, Status> {
        self.shared.hang_if_hung().await;
        self.inner.watch(request).await
    }
}

/// Drives the overall status `""` from the shared status.
pub struct GrpcHealth {
    /// Held while reading the shared status and writing the reporter, so
    /// concurrent updates (ready vs. unready timers) land in order.
    reporter: Mutex<HealthReporter>,
    shared: Shared,
}

impl GrpcHealth {
    /// Makes `""` SERVING iff the shared status is ready.
    pub async fn sync(&self) {
        let reporter = self.reporter.lock().await;
        let status = if self.shared.get().is_ready() { ServingStatus::Serving } else { ServingStatus::NotServing };
        reporter.set_service_status("", status).await;
    }
}

/// Serves gRPC health on `listener` in a background task. `""` starts
/// NOT_SERVING; call [`GrpcHealth::sync`] after each change of `shared`.
pub async fn spawn(listener: TcpListener, shared: Shared, who: Who) -> Arc<GrpcHealth> {
    let reporter = HealthReporter::new();
    let service = HealthServer::new(HangingHealth {
        inner: HealthService::from_health_reporter(reporter.clone()),
        shared: shared.clone(),
    });
    let health = Arc::new(GrpcHealth { reporter: Mutex::new(reporter), shared });
    health.sync().await;
    tokio::spawn(async move {
        let served = Server::builder()
            .add_service(service)
            .add_service(ControlServer::new(TestControl { who }))
            .serve_with_incoming(TcpIncoming::from(listener))
            .await;
        if let Err(e) = served {
            err(&format!("test-sidecar: grpc server error: {e}"));
        }
    });
    health
}
