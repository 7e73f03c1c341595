//! The backend's PostgreSQL: a small connection pool, the database created on first contact,
//! migrations at startup, and a watcher that keeps readiness true exactly while the database
//! answers. The backend never exits because its database is away: it reports not-ready, keeps
//! checking, and recovers by itself when the database is back (the supervisor restarts the
//! database; the backend should not need a restart too).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use sidecar_kit::{Readiness, Shutdown};
use tokio::sync::Notify;
use tokio_postgres::NoTls;

use crate::migrations;

/// How often the database is checked while it answers, and while it does not.
const CHECK_READY: Duration = Duration::from_millis(1000);
const CHECK_DOWN: Duration = Duration::from_millis(200);

#[derive(Clone)]
pub struct Db {
    pool: Pool,
    cfg: Arc<tokio_postgres::Config>,
    /// Set once migrations ran on this database.
    migrated: Arc<AtomicBool>,
    /// Woken when a query failed for connection reasons: check at once.
    suspect: Arc<Notify>,
    readiness: Readiness,
}

/// A database error as the API reports it: unreachable (503) or a query that failed (500).
#[derive(Debug)]
pub enum DbError {
    Unavailable(String),
    Query(String),
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::Unavailable(m) => write!(f, "database unreachable: {m}"),
            DbError::Query(m) => write!(f, "database query failed: {m}"),
        }
    }
}

/// An error with its causes ("error connecting to server: Connection refused (os error 111)").
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

impl Db {
    /// A pool for `url` (`postgres://user@127.0.0.1:port/db`). Connects lazily.
    pub fn new(url: &str, readiness: Readiness) -> Result<Db, String> {
        let mut cfg: tokio_postgres::Config =
            url.parse().map_err(|e| format!("DATABASE_URL is not a PostgreSQL URL: {e}"))?;
        // No request waits on a stuck database for longer than a client would.
        cfg.connect_timeout(Duration::from_secs(2)).application_name("backend").options("-c statement_timeout=5000");
        if cfg.get_dbname().is_none() {
            return Err("DATABASE_URL names no database (…/<dbname>)".into());
        }
        let mgr = Manager::from_config(cfg.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(mgr)
            .max_size(8)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(5)))
            .create_timeout(Some(Duration::from_secs(3)))
            .recycle_timeout(Some(Duration::from_secs(1)))
            .build()
            .map_err(|e| format!("database pool: {e}"))?;
        Ok(Db {
            pool,
            cfg: Arc::new(cfg),
            migrated: Arc::new(AtomicBool::new(false)),
            suspect: Arc::new(Notify::new()),
            readiness,
        })
    }

    /// A pooled connection, or `Unavailable`.
    pub async fn conn(&self) -> Result<deadpool_postgres::Object, DbError> {
        if !self.migrated.load(Ordering::Acquire) {
            return Err(DbError::Unavailable("not connected yet".into()));
        }
        self.pool.get().await.map_err(|e| {
            self.suspect.notify_one();
            DbError::Unavailable(chain(&e))
        })
    }

    /// Classifies a query error. The database going away shows as a closed connection or, for a
    /// query in flight, as a server error (terminated by the administrator or by a crash
    /// elsewhere in the server, a server starting or shutting down, too many connections): all
    /// are "unavailable" (503, retry) and make the watch look at once. A missing database or
    /// schema (the data was re-initialised) also makes the watch migrate again.
    pub fn error(&self, e: tokio_postgres::Error) -> DbError {
        use tokio_postgres::error::SqlState;
        let code = e.code().cloned();
        let gone = e.is_closed()
            || e.as_db_error().is_none()
            || code.as_ref().is_some_and(|c| {
                c.code().starts_with("08")
                    || [
                        SqlState::ADMIN_SHUTDOWN,
                        SqlState::CRASH_SHUTDOWN,
                        SqlState::CANNOT_CONNECT_NOW,
                        SqlState::TOO_MANY_CONNECTIONS,
                    ]
                    .contains(c)
            });
        let schema_lost =
            code.as_ref().is_some_and(|c| *c == SqlState::UNDEFINED_TABLE || *c == SqlState::INVALID_CATALOG_NAME);
        if schema_lost {
            self.migrated.store(false, Ordering::Release);
        }
        if gone || schema_lost {
            self.suspect.notify_one();
            DbError::Unavailable(chain(&e))
        } else {
            DbError::Query(e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string()))
        }
    }

    /// Runs until the stop. Holds one dedicated connection to the database, whose end (the
    /// server died or was restarted) is noticed the moment the socket closes, so readiness
    /// drops at once rather than at the next periodic check; the pooled connections are
    /// replaced on their next use. On first contact it creates and migrates the database.
    pub async fn watch(self, shutdown: Shutdown) {
        let mut last: Option<Result<(), String>> = None;
        loop {
            let attempt = self.connect_watch().await;
            let (client, conn) = match attempt {
                Ok(pair) => pair,
                Err(e) => {
                    self.report(&mut last, Err(e)).await;
                    tokio::select! {
                        _ = tokio::time::sleep(CHECK_DOWN) => continue,
                        _ = shutdown.wait() => return,
                    }
                }
            };
            self.report(&mut last, Ok(())).await;
            // The connection runs in its own task: it must be polled while a ping awaits.
            let mut conn = tokio::spawn(conn);
            let lost = loop {
                tokio::select! {
                    r = &mut conn => break match r {
                        Ok(Ok(())) => "the database closed the connection".to_string(),
                        Ok(Err(e)) => format!("connection to the database lost: {}", chain(&e)),
                        Err(e) => format!("connection to the database lost: {e}"),
                    },
                    _ = tokio::time::sleep(CHECK_READY) => {
                        let ping = tokio::time::timeout(Duration::from_secs(2), client.simple_query("SELECT 1")).await;
                        match ping {
                            Ok(Ok(_)) => {}
                            Ok(Err(e)) => break format!("database unreachable: {}", chain(&e)),
                            Err(_) => break "database did not answer within 2 s".to_string(),
                        }
                    }
                    _ = self.suspect.notified() => {
                        if client.is_closed() {
                            break "connection to the database lost".to_string();
                        }
                        if !self.migrated.load(Ordering::Acquire) {
                            break "the database or its tables are gone: creating and migrating again".to_string();
                        }
                    }
                    _ = shutdown.wait() => {
                        conn.abort();
                        return;
                    }
                }
            };
            conn.abort();
            self.report(&mut last, Err(lost)).await;
        }
    }

    /// Prints and publishes readiness changes only.
    async fn report(&self, last: &mut Option<Result<(), String>>, now: Result<(), String>) {
        if last.as_ref() == Some(&now) {
            return;
        }
        // Readiness first: whoever reads the line finds the state it announces.
        self.readiness.set(now.is_ok(), now.clone().err().unwrap_or_default()).await;
        match &now {
            Ok(()) => println!("database reachable: ready"),
            Err(e) => println!("not ready: {e}"),
        }
        *last = Some(now);
    }

    /// The watcher's own connection; creates and migrates the database first when needed.
    async fn connect_watch(
        &self,
    ) -> Result<
        (tokio_postgres::Client, tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>),
        String,
    > {
        if !self.migrated.load(Ordering::Acquire) {
            self.prepare().await?;
            self.migrated.store(true, Ordering::Release);
        }
        self.cfg.connect(NoTls).await.map_err(|e| {
            if e.code() == Some(&tokio_postgres::error::SqlState::INVALID_CATALOG_NAME) {
                self.migrated.store(false, Ordering::Release); // re-initialised: create it again
            }
            format!("database unreachable: {}", chain(&e))
        })
    }

    /// Creates the database if missing, then runs the migrations.
    async fn prepare(&self) -> Result<(), String> {
        let mut client = match self.pool.get().await {
            Ok(c) => c,
            Err(deadpool_postgres::PoolError::Backend(e))
                if e.code() == Some(&tokio_postgres::error::SqlState::INVALID_CATALOG_NAME) =>
            {
                self.create_database().await?;
                self.pool.get().await.map_err(|e| format!("database unreachable: {}", chain(&e)))?
            }
            Err(e) => return Err(format!("database unreachable: {}", chain(&e))),
        };
        migrations::run(&mut client).await
    }

    async fn create_database(&self) -> Result<(), String> {
        let name = self.cfg.get_dbname().unwrap_or("app").to_string();
        let mut admin = (*self.cfg).clone();
        admin.dbname("postgres");
        let (client, conn) = admin.connect(NoTls).await.map_err(|e| format!("database unreachable: {}", chain(&e)))?;
        let task = tokio::spawn(conn);
        let sql = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
        let made = client.simple_query(&sql).await;
        drop(client);
        let _ = task.await;
        match made {
            Ok(_) => {
                println!("created database {name}");
                Ok(())
            }
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) => Ok(()),
            Err(e) => Err(format!("cannot create database {name}: {e}")),
        }
    }
}
