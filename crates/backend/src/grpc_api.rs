//! `jobs.v1.Jobs` for the workers. `Lease` long-polls: it waits for a new job (woken by the
//! HTTP create or a release) or for the next lease to expire, bounded by the caller's
//! `wait_ms`, the backend's cap, and the stop of the backend (so a graceful stop is never held
//! up by a waiting worker). An idle backend does not poll its database.

use std::time::Duration;

use jobs_api::v1::{self, jobs_server::Jobs};
use tonic::{Request, Response, Status};

use crate::db::DbError;
use crate::store::{self, LeaseError};
use crate::AppState;

/// Longest a `Lease` call waits.
const MAX_WAIT: Duration = Duration::from_secs(20);
/// A waiting `Lease` looks again this long after the next lease expiry it knows of (a lease
/// extended in the meantime just means one more look).
const EXPIRY_SLACK: Duration = Duration::from_millis(20);

pub struct JobsService(pub AppState);

fn status(e: DbError) -> Status {
    match e {
        DbError::Unavailable(_) => Status::unavailable(e.to_string()),
        DbError::Query(_) => Status::internal(e.to_string()),
    }
}

/// Lease tokens are 32 hex digits; anything else cannot name a lease (and must not reach SQL
/// as text PostgreSQL refuses, such as NUL).
fn check_token(token: &str) -> Result<(), Status> {
    if token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(Status::invalid_argument("lease_token: 32 hex digits expected"))
    }
}

fn lease_status(e: LeaseError, id: i64) -> Status {
    match e {
        LeaseError::Lost => {
            Status::failed_precondition(format!("job {id}: lease lost (expired and taken over, or released)"))
        }
        LeaseError::Db(e) => status(e),
    }
}

/// One lease attempt that survives the caller going away: a worker that stops while its
/// `Lease` call is in flight drops the call, and with it this handler. The database may still
/// commit the lease; the attempt therefore runs in its own task, which gives the job back when
/// nobody is left to receive it (instead of leaving it held until the lease expires).
async fn lease_or_release(s: &AppState, worker: &str) -> Result<Option<store::Leased>, DbError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (db, worker, lease_ms, new_job) = (s.db.clone(), worker.to_string(), s.lease_ms, s.new_job.clone());
    tokio::spawn(async move {
        let r = store::lease(&db, &worker, lease_ms).await;
        if let Err(Ok(Some(l))) = tx.send(r) {
            if store::release(&db, l.id, &l.token).await.is_ok() {
                println!("job {} given back: {worker} went away before it got it", l.id);
                new_job.notify_waiters();
            }
        }
    });
    rx.await.unwrap_or_else(|_| Err(DbError::Unavailable("lease attempt aborted".into())))
}

#[tonic::async_trait]
impl Jobs for JobsService {
    async fn lease(&self, req: Request<v1::LeaseRequest>) -> Result<Response<v1::LeaseResponse>, Status> {
        let r = req.into_inner();
        if r.worker.is_empty() || r.worker.len() > 128 || r.worker.contains('\0') {
            return Err(Status::invalid_argument("worker: a name of 1 to 128 bytes without NUL is required"));
        }
        let s = &self.0;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(r.wait_ms as u64).min(MAX_WAIT);
        loop {
            let woken = s.new_job.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if let Some(l) = lease_or_release(s, &r.worker).await.map_err(status)? {
                println!("job {} leased to {} (attempt {})", l.id, r.worker, l.attempt);
                return Ok(Response::new(v1::LeaseResponse {
                    job: Some(v1::Job {
                        id: l.id,
                        text: l.text,
                        lease_token: l.token,
                        lease_ms: s.lease_ms as u32,
                        delay_ms: l.delay_ms as u32,
                        attempt: l.attempt as u32,
                    }),
                }));
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(Response::new(v1::LeaseResponse { job: None }));
            }
            // Idle (no job held anywhere): sleep until woken or the deadline, with no polling.
            let wait = match store::next_expiry(&s.db).await.map_err(status)? {
                Some(d) => (d + EXPIRY_SLACK).min(deadline - now),
                None => deadline - now,
            };
            tokio::select! {
                _ = woken => {}
                _ = tokio::time::sleep(wait) => {}
                _ = s.shutdown.wait() => return Err(Status::unavailable("backend is stopping")),
            }
        }
    }

    async fn extend(&self, req: Request<v1::ExtendRequest>) -> Result<Response<v1::ExtendResponse>, Status> {
        let r = req.into_inner();
        check_token(&r.lease_token)?;
        store::extend(&self.0.db, r.id, &r.lease_token, self.0.lease_ms).await.map_err(|e| lease_status(e, r.id))?;
        Ok(Response::new(v1::ExtendResponse { lease_ms: self.0.lease_ms as u32 }))
    }

    async fn complete(&self, req: Request<v1::CompleteRequest>) -> Result<Response<v1::CompleteResponse>, Status> {
        let r = req.into_inner();
        check_token(&r.lease_token)?;
        if r.sha256.len() != 64 || !r.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(Status::invalid_argument("sha256: 64 lowercase hex digits expected"));
        }
        let words = i64::try_from(r.word_count).map_err(|_| Status::invalid_argument("word_count: too large"))?;
        store::complete(&self.0.db, r.id, &r.lease_token, words, &r.sha256).await.map_err(|e| lease_status(e, r.id))?;
        println!("job {} done: {} words", r.id, r.word_count);
        Ok(Response::new(v1::CompleteResponse {}))
    }

    async fn release(&self, req: Request<v1::ReleaseRequest>) -> Result<Response<v1::ReleaseResponse>, Status> {
        let r = req.into_inner();
        check_token(&r.lease_token)?;
        store::release(&self.0.db, r.id, &r.lease_token).await.map_err(|e| lease_status(e, r.id))?;
        self.0.new_job.notify_waiters();
        println!("job {} released", r.id);
        Ok(Response::new(v1::ReleaseResponse {}))
    }
}
