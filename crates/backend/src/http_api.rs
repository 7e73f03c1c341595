//! The HTTP API the UI uses: create, list and get jobs. Every bad input gets a 4xx with a JSON
//! body `{"error": "..."}` that says what was wrong; a database that is away gets 503, so the
//! UI can tell "try again" from "fix your request". Nothing a client sends produces a 500.
//! (PostgreSQL text cannot hold NUL: such input is refused here rather than failing there.)

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::db::DbError;
use crate::store;
use crate::AppState;

/// Longest job text, in bytes.
pub const MAX_TEXT: usize = 64 * 1024;
/// Largest request body; beyond it the request is refused with 413 before it is read whole.
pub const MAX_BODY: usize = 256 * 1024;
/// Most simulated work a job may ask for.
pub const MAX_DELAY_MS: u32 = 60_000;
/// A body declared larger than [`MAX_BODY`] but at most this is read and dropped before the 413
/// goes out: a client still sending it would otherwise find the connection reset (the server
/// closing with unread data) and never see the answer. Larger ones are refused at once.
const MAX_DRAIN: usize = 4 * 1024 * 1024;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/api/jobs", get(list).post(create))
        .route("/api/jobs/{id}", get(one))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(refuse_oversized))
        .with_state(state)
}

/// 413 for a body whose `Content-Length` is over [`MAX_BODY`], after draining it (see
/// [`MAX_DRAIN`]).
async fn refuse_oversized(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > MAX_BODY as u64 => {
            if n <= MAX_DRAIN as u64 {
                let _ = axum::body::to_bytes(req.into_body(), MAX_DRAIN).await;
            }
            ApiError(StatusCode::PAYLOAD_TOO_LARGE, format!("request body larger than {MAX_BODY} bytes"))
                .into_response()
        }
        _ => next.run(req).await,
    }
}

/// An API error: status plus a sentence.
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(_) => ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
            DbError::Query(_) => ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    }
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg.into())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewJob {
    text: String,
    #[serde(default)]
    delay_ms: u32,
}

async fn create(State(s): State<AppState>, body: Result<Json<NewJob>, JsonRejection>) -> Result<Response, ApiError> {
    let Json(new) = body.map_err(|r| match r {
        JsonRejection::BytesRejection(_) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError(StatusCode::PAYLOAD_TOO_LARGE, format!("request body larger than {MAX_BODY} bytes"))
        }
        other => ApiError(
            other.status(),
            format!("{}; expected {{\"text\": string, \"delay_ms\"?: number}}", other.body_text()),
        ),
    })?;
    if new.text.trim().is_empty() {
        return Err(bad("text: must not be empty"));
    }
    if new.text.contains('\0') {
        return Err(bad("text: must not contain NUL characters (\\u0000)"));
    }
    if new.text.len() > MAX_TEXT {
        return Err(ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("text: {} bytes, at most {MAX_TEXT} allowed", new.text.len()),
        ));
    }
    if new.delay_ms > MAX_DELAY_MS {
        return Err(bad(format!("delay_ms: {} is more than the allowed {MAX_DELAY_MS}", new.delay_ms)));
    }
    let job = store::create(&s.db, &new.text, new.delay_ms as i32).await?;
    s.new_job.notify_waiters();
    Ok((StatusCode::CREATED, Json(job)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<i64>,
    status: Option<String>,
}

async fn list(State(s): State<AppState>, q: Result<Query<ListQuery>, QueryRejection>) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|r| bad(r.body_text()))?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(bad(format!("limit: {limit} is outside 1..=500")));
    }
    if let Some(st) = q.status.as_deref() {
        if !matches!(st, "queued" | "running" | "done") {
            return Err(bad(format!("status: `{st}` is not one of queued, running, done")));
        }
    }
    let jobs = store::list(&s.db, limit, q.status.as_deref()).await?;
    Ok(Json(serde_json::json!({ "jobs": jobs })).into_response())
}

async fn one(State(s): State<AppState>, id: Result<Path<String>, PathRejection>) -> Result<Response, ApiError> {
    let Path(raw) = id.map_err(|r| bad(r.body_text()))?;
    let id: i64 =
        raw.parse().ok().filter(|i| *i > 0).ok_or_else(|| bad(format!("job id `{raw}` is not a positive integer")))?;
    match store::get(&s.db, id).await? {
        Some(job) => Ok(Json(job).into_response()),
        None => Err(ApiError(StatusCode::NOT_FOUND, format!("no job with id {id}"))),
    }
}
