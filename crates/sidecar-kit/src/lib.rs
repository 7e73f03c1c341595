//! Helpers for Rust sidecars of the desktop runtime. A sidecar built on this kit follows the
//! whole contract (README, "Contract with sidecars") with a few lines:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let sidecar = sidecar_kit::Sidecar::from_env("backend", env!("CARGO_PKG_VERSION"))?;
//! let listener = sidecar.bind().await?; // SIDECAR_PORT, or port 0 + the announce line
//! sidecar.readiness().set(true, "").await;
//! let api = axum::Router::new(); // your routes: API key and loopback Host are enforced for you
//! sidecar.serve(listener, api, tonic::service::Routes::default()).await?;
//! # Ok(()) }
//! ```
//!
//! What it does for you: reads the environment contract ([`Contract`]); binds loopback only and
//! prints `SIDECAR_PORT=<n>` when the runtime asked for an announced port; serves health,
//! `/runtime/info`, gRPC health and `sidecar.v1.Control` on the same port as your HTTP and gRPC
//! services (HTTP/1.1 and HTTP/2); refuses requests without the API key or with a foreign
//! Host ([`guard`]); stops on SIGTERM/SIGINT, on `Control/Shutdown`, and at once when the stdin
//! lifeline closes ([`Shutdown`]). The README documents the same contract for sidecars written
//! in other languages.

pub mod contract;
pub mod guard;
pub mod health;
pub mod shutdown;

use std::sync::Arc;
use std::time::Duration;

use axum::response::IntoResponse;

pub use contract::{Contract, ContractError};
pub use health::{Readiness, READY_SERVICE};
pub use shutdown::{Shutdown, StopReason};

/// A sidecar's exit status from its `run()`: 0, or the error on one stderr line (which the
/// runtime shows next to the exit) and 2.
pub fn exit_code(name: &str, result: Result<(), String>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

/// How long in-flight requests may finish after a graceful stop begins: below the runtime's
/// default stop timeout (5 s), so the sidecar exits on its own before it would be killed.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3);

/// One running sidecar: its contract, readiness and stop handle.
pub struct Sidecar {
    contract: Arc<Contract>,
    version: &'static str,
    readiness: Readiness,
    health: tonic_health::server::HealthReporter,
    shutdown: Shutdown,
    grace: Duration,
}

impl Sidecar {
    /// Reads the contract and installs the stop triggers. Call inside a tokio runtime.
    pub fn from_env(default_name: &str, version: &'static str) -> Result<Sidecar, Box<dyn std::error::Error>> {
        let contract = Contract::from_env(default_name)?;
        Ok(Self::with_contract(contract, version, Shutdown::install()?))
    }

    /// A sidecar with an explicit contract and stop handle (for tests and embedding).
    pub fn with_contract(contract: Contract, version: &'static str, shutdown: Shutdown) -> Sidecar {
        let (health, _) = tonic_health::server::health_reporter();
        Sidecar {
            contract: Arc::new(contract),
            version,
            readiness: Readiness::new(health.clone()),
            health,
            shutdown,
            grace: DEFAULT_GRACE,
        }
    }

    /// How long in-flight requests may finish after a graceful stop began.
    pub fn with_grace(mut self, grace: Duration) -> Sidecar {
        self.grace = grace;
        self
    }

    pub fn contract(&self) -> &Contract {
        &self.contract
    }
    pub fn readiness(&self) -> Readiness {
        self.readiness.clone()
    }
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Binds `SIDECAR_HOST:SIDECAR_PORT`, or port 0 when no port was given, and then prints
    /// the handshake line `SIDECAR_PORT=<n>` on stdout (flushed at once).
    pub async fn bind(&self) -> std::io::Result<tokio::net::TcpListener> {
        let port = self.contract.port.unwrap_or(0);
        let listener = tokio::net::TcpListener::bind((self.contract.host, port))
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot bind {}:{port}: {e}", self.contract.host)))?;
        let bound = listener.local_addr()?.port();
        if self.contract.port.is_none() {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            writeln!(out, "SIDECAR_PORT={bound}")?;
            out.flush()?;
        }
        Ok(listener)
    }

    /// Serves `api` (HTTP) and `grpc` (tonic services) together with health, identity and the
    /// control API on `listener`, behind the API-key and Host gate, until a stop begins; then
    /// gives in-flight requests the grace period (none when the lifeline closed).
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        api: axum::Router,
        grpc: tonic::service::Routes,
    ) -> std::io::Result<StopReason> {
        self.health.set_service_status("", tonic_health::ServingStatus::Serving).await;
        self.readiness.publish().await;
        let control =
            health::Control { contract: self.contract.clone(), version: self.version, shutdown: self.shutdown.clone() };
        let health_server = tonic_health::pb::health_server::HealthServer::new(
            tonic_health::server::HealthService::from_health_reporter(self.health.clone()),
        );
        let key: Option<Arc<str>> = self.contract.api_key.as_deref().map(Arc::from);
        let public_hosts: Arc<[String]> = self.contract.public_hosts.clone().into();
        let app = grpc
            .add_service(health_server)
            .add_service(health::control_v1::control_server::ControlServer::new(control))
            .into_axum_router()
            .merge(health::http_routes(self.contract.clone(), self.version, self.readiness.clone()))
            .merge(api)
            .fallback(not_found)
            .layer(axum::middleware::from_fn(move |req, next| {
                guard::middleware(key.clone(), public_hosts.clone(), req, next)
            }))
            // Outside the gate: a browser's preflight carries no key.
            .layer(cors_from_env());
        let stop = self.shutdown.clone();
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            stop.wait().await;
        });
        let grace = self.grace;
        let stop = self.shutdown.clone();
        tokio::select! {
            r = server => r?,
            _ = async {
                let reason = stop.wait().await;
                if !reason.is_urgent() {
                    tokio::time::sleep(grace).await;
                }
            } => {}
        }
        Ok(self.shutdown.reason().unwrap_or(StopReason::LifelineClosed))
    }
}

/// Cross-origin access for the app's web UI (its origin is not the sidecar's): the exact origins
/// listed in `CORS_ORIGINS` (comma-separated, e.g. `tauri://localhost,http://tauri.localhost`),
/// with the methods and headers the API uses. None listed: no CORS headers, so browsers keep
/// every other page out. The key and Host checks apply to the requests themselves either way.
pub fn cors_from_env() -> tower_http::cors::CorsLayer {
    use axum::http::{header, HeaderName, HeaderValue, Method};
    let origins: Vec<HeaderValue> = std::env::var("CORS_ORIGINS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty() && *o != "*")
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    tower_http::cors::CorsLayer::new().allow_origin(origins).allow_methods([Method::GET, Method::POST]).allow_headers([
        header::CONTENT_TYPE,
        header::AUTHORIZATION,
        HeaderName::from_static("x-api-key"),
    ])
}

async fn not_found(req: axum::extract::Request) -> axum::response::Response {
    if guard::is_grpc(req.headers()) {
        return tonic::Status::unimplemented(format!("no such method: {}", req.uri().path()))
            .into_http::<axum::body::Body>()
            .into_response();
    }
    (
        axum::http::StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({ "error": format!("no such endpoint: {} {}", req.method(), req.uri().path()) })),
    )
        .into_response()
}
