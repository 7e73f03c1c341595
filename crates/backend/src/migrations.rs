//! Schema migrations, run at startup before the backend reports ready. Each has a number and
//! runs once, in its own transaction, under an advisory lock so two backends on one database
//! never run one twice. Add new ones at the end; never edit one that shipped.

const MIGRATIONS: &[(i32, &str)] = &[(
    1,
    "CREATE TABLE jobs (
        id bigserial PRIMARY KEY,
        text text NOT NULL,
        delay_ms integer NOT NULL DEFAULT 0,
        status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done')),
        attempts integer NOT NULL DEFAULT 0,
        worker text,
        lease_token text,
        lease_until timestamptz,
        word_count bigint,
        sha256 text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
    );
    CREATE INDEX jobs_open ON jobs (id) WHERE status <> 'done';",
)];

/// Arbitrary key of the advisory lock that serialises migrations.
const LOCK_KEY: i64 = 0x6a6f_6273; // "jobs"

pub async fn run(client: &mut deadpool_postgres::Object) -> Result<(), String> {
    let tx = client.transaction().await.map_err(|e| format!("migrations: {e}"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY]).await.map_err(|e| format!("migrations: {e}"))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .await
    .map_err(|e| format!("migrations: {e}"))?;
    let done: Vec<i32> = tx
        .query("SELECT version FROM schema_migrations", &[])
        .await
        .map_err(|e| format!("migrations: {e}"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for (version, sql) in MIGRATIONS {
        if done.contains(version) {
            continue;
        }
        tx.batch_execute(sql).await.map_err(|e| format!("migration {version}: {e}"))?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[version])
            .await
            .map_err(|e| format!("migration {version}: {e}"))?;
        println!("applied migration {version}");
    }
    tx.commit().await.map_err(|e| format!("migrations: {e}"))
}
