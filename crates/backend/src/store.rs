//! The job queue in PostgreSQL. A job is `queued`, then `running` under a lease (a random token
//! plus an expiry), then `done`. An expired lease makes the job leasable again, so the job of
//! a killed worker is run by another one; every write after the lease names its token, so a
//! worker that lost its lease cannot overwrite the result of the one that took over.

use serde::Serialize;
use tokio_postgres::Row;

use crate::db::{Db, DbError};

/// A job as the HTTP API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: i64,
    pub text: String,
    pub status: String,
    pub delay_ms: i32,
    pub attempts: i32,
    pub worker: Option<String>,
    pub word_count: Option<i64>,
    pub sha256: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

const COLUMNS: &str = "id, text, status, delay_ms, attempts, worker, word_count, sha256,
    to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),
    to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";

fn job(r: &Row) -> Job {
    Job {
        id: r.get(0),
        text: r.get(1),
        status: r.get(2),
        delay_ms: r.get(3),
        attempts: r.get(4),
        worker: r.get(5),
        word_count: r.get(6),
        sha256: r.get(7),
        created_at: r.get(8),
        finished_at: r.get(9),
    }
}

/// A job handed to a worker.
#[derive(Debug, Clone)]
pub struct Leased {
    pub id: i64,
    pub text: String,
    pub delay_ms: i32,
    pub attempt: i32,
    pub token: String,
}

/// The lease named a job that is no longer held with that token.
#[derive(Debug)]
pub enum LeaseError {
    Lost,
    Db(DbError),
}

impl From<DbError> for LeaseError {
    fn from(e: DbError) -> Self {
        LeaseError::Db(e)
    }
}

pub async fn create(db: &Db, text: &str, delay_ms: i32) -> Result<Job, DbError> {
    let c = db.conn().await?;
    let sql = format!("INSERT INTO jobs (text, delay_ms) VALUES ($1, $2) RETURNING {COLUMNS}");
    let row = c.query_one(&sql, &[&text, &delay_ms]).await.map_err(|e| db.error(e))?;
    Ok(job(&row))
}

pub async fn get(db: &Db, id: i64) -> Result<Option<Job>, DbError> {
    let c = db.conn().await?;
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
    Ok(c.query_opt(&sql, &[&id]).await.map_err(|e| db.error(e))?.as_ref().map(job))
}

/// Newest first; `status` filters when given.
pub async fn list(db: &Db, limit: i64, status: Option<&str>) -> Result<Vec<Job>, DbError> {
    let c = db.conn().await?;
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE ($2::text IS NULL OR status = $2) ORDER BY id DESC LIMIT $1");
    Ok(c.query(&sql, &[&limit, &status]).await.map_err(|e| db.error(e))?.iter().map(job).collect())
}

/// Leases the oldest queued job, or one whose lease expired, to `worker` for `lease_ms`.
pub async fn lease(db: &Db, worker: &str, lease_ms: i64) -> Result<Option<Leased>, DbError> {
    let c = db.conn().await?;
    let token = new_token();
    let row = c
        .query_opt(
            "UPDATE jobs SET status = 'running', worker = $1, lease_token = $2,
                 lease_until = now() + $3::bigint * interval '1 millisecond',
                 attempts = attempts + 1, updated_at = now()
             WHERE id = (
                 SELECT id FROM jobs
                 WHERE status = 'queued' OR (status = 'running' AND lease_until < now())
                 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING id, text, delay_ms, attempts",
            &[&worker, &token, &lease_ms],
        )
        .await
        .map_err(|e| db.error(e))?;
    Ok(row.map(|r| Leased { id: r.get(0), text: r.get(1), delay_ms: r.get(2), attempt: r.get(3), token }))
}

/// How long until a job may become leasable: the next lease expiry, or zero when a job still
/// looks queued (another `Lease` has it locked and not yet committed: look again shortly, or
/// this waiter would miss that lease's expiry). `None`: nothing open at all.
pub async fn next_expiry(db: &Db) -> Result<Option<std::time::Duration>, DbError> {
    let c = db.conn().await?;
    let row = c
        .query_one(
            "SELECT (extract(epoch FROM min(CASE WHEN status = 'queued' THEN now() ELSE lease_until END) - now())
                     * 1000)::bigint
             FROM jobs WHERE status <> 'done'",
            &[],
        )
        .await
        .map_err(|e| db.error(e))?;
    let ms: Option<i64> = row.get(0);
    Ok(ms.map(|ms| std::time::Duration::from_millis(ms.max(0) as u64)))
}

pub async fn extend(db: &Db, id: i64, token: &str, lease_ms: i64) -> Result<(), LeaseError> {
    under_lease(
        db,
        "UPDATE jobs SET lease_until = now() + $3::bigint * interval '1 millisecond', updated_at = now()
         WHERE id = $1 AND lease_token = $2 AND status = 'running'",
        &[&id, &token, &lease_ms],
    )
    .await
}

pub async fn complete(db: &Db, id: i64, token: &str, word_count: i64, sha256: &str) -> Result<(), LeaseError> {
    under_lease(
        db,
        "UPDATE jobs SET status = 'done', word_count = $3, sha256 = $4, finished_at = now(), updated_at = now(),
             lease_token = NULL, lease_until = NULL
         WHERE id = $1 AND lease_token = $2 AND status = 'running'",
        &[&id, &token, &word_count, &sha256],
    )
    .await
}

pub async fn release(db: &Db, id: i64, token: &str) -> Result<(), LeaseError> {
    under_lease(
        db,
        "UPDATE jobs SET status = 'queued', worker = NULL, lease_token = NULL, lease_until = NULL, updated_at = now()
         WHERE id = $1 AND lease_token = $2 AND status = 'running'",
        &[&id, &token],
    )
    .await
}

/// Runs an update guarded by `id = $1 AND lease_token = $2`: exactly one row, or the lease is lost.
async fn under_lease(
    db: &Db,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<(), LeaseError> {
    let c = db.conn().await?;
    match c.execute(sql, params).await.map_err(|e| db.error(e))? {
        1 => Ok(()),
        _ => Err(LeaseError::Lost),
    }
}

fn new_token() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
