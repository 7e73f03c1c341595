//! Reference backend sidecar. HTTP (`/api/jobs`) for the UI and gRPC (`jobs.v1.Jobs`) for the
//! workers, on one loopback port, behind the sidecar-kit gate (API key + loopback Host); data
//! in PostgreSQL (`DATABASE_URL`). Ready while the database answers.
//!
//! Environment beyond the sidecar contract: `DATABASE_URL` (required), `JOB_LEASE_MS`
//! (default 10000: how long a worker holds a job without extending its lease).

mod db;
mod grpc_api;
mod http_api;
mod migrations;
mod store;

use std::process::ExitCode;
use std::sync::Arc;

use sidecar_kit::{Shutdown, Sidecar};
use tokio::sync::Notify;

#[derive(Clone)]
pub struct AppState {
    db: db::Db,
    /// Woken when a job becomes leasable (created or released).
    new_job: Arc<Notify>,
    lease_ms: i64,
    shutdown: Shutdown,
}

fn main() -> ExitCode {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    sidecar_kit::exit_code("backend", rt.block_on(run()))
}

async fn run() -> Result<(), String> {
    let sidecar = Sidecar::from_env("backend", env!("CARGO_PKG_VERSION")).map_err(|e| e.to_string())?;
    let url = std::env::var("DATABASE_URL").map_err(|_| {
        "DATABASE_URL is not set: the profile must pass e.g. postgres://app@127.0.0.1:{database.port}/app".to_string()
    })?;
    let lease_ms =
        match std::env::var("JOB_LEASE_MS") {
            Err(_) => 10_000,
            Ok(v) => v.parse::<i64>().ok().filter(|v| (100..=3_600_000).contains(v)).ok_or_else(|| {
                format!("JOB_LEASE_MS: `{v}` is not a number of milliseconds between 100 and 3600000")
            })?,
        };
    let db = db::Db::new(&url, sidecar.readiness())?;
    let state = AppState { db: db.clone(), new_job: Arc::new(Notify::new()), lease_ms, shutdown: sidecar.shutdown() };
    let listener = sidecar.bind().await.map_err(|e| e.to_string())?;
    println!(
        "backend {} listening on {} (instance {})",
        env!("CARGO_PKG_VERSION"),
        listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        sidecar.contract().instance_name
    );
    tokio::spawn(db.watch(sidecar.shutdown()));
    let grpc =
        tonic::service::Routes::new(jobs_api::v1::jobs_server::JobsServer::new(grpc_api::JobsService(state.clone())));
    let reason = sidecar.serve(listener, http_api::routes(state), grpc).await.map_err(|e| e.to_string())?;
    println!("backend stopped: {reason}");
    Ok(())
}
