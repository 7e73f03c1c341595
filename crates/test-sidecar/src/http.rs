//! The HTTP server (`--protocol http`, axum).
//!
//! Exists to give the supervisor real HTTP health and info endpoints whose
//! answers follow the shared [`Shared`] status: `/health/live`,
//! `/health/ready` and `/runtime/info` (with the identity proof).

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::net::TcpListener;

use crate::out::err;
use crate::state::Shared;
use crate::who::Who;

#[derive(Clone)]
struct App {
    shared: Shared,
    /// The `/runtime/info` body, fixed at start.
    info: Arc<Value>,
    who: Arc<Who>,
}

/// Serves HTTP on `listener` in a background task.
pub fn spawn(listener: TcpListener, shared: Shared, who: Who) {
    let env = |k: &str| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned());
    let info = json!({
        "name": env("SIDECAR_NAME"),
        "version": env!("CARGO_PKG_VERSION"),
        "pid": std::process::id(),
        "instance_id": who.instance_id,
        "build": who.build,
    });
    let serves_info = who.serves_info;
    let app = App { shared, info: Arc::new(info), who: Arc::new(who) };
    let mut router = Router::new().route("/health/live", get(live)).route("/health/ready", get(ready));
    if serves_info {
        router = router.route("/runtime/info", get(info_handler));
    }
    let router = router.with_state(app);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            err(&format!("test-sidecar: http server error: {e}"));
        }
    });
}

async fn live(State(app): State<App>) -> Response {
    app.shared.hang_if_hung().await;
    (StatusCode::OK, Json(json!({"status": "live"}))).into_response()
}

async fn ready(State(app): State<App>) -> Response {
    app.shared.hang_if_hung().await;
    if app.shared.get().is_ready() {
        (StatusCode::OK, Json(json!({"status": "ready"}))).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "starting"}))).into_response()
    }
}

async fn info_handler(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    app.shared.hang_if_hung().await;
    let mut body = (*app.info).clone();
    // Identity proof for the runtime's nonce (see `sidecar_identity`); the key never travels.
    let nonce = query.as_deref().unwrap_or("").split('&').find_map(|kv| kv.strip_prefix("nonce="));
    if let Some(proof) = nonce.and_then(|n| app.who.proof(n)) {
        body["proof"] = json!(proof);
    }
    (StatusCode::OK, Json(body)).into_response()
}
