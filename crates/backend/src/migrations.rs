//! Schema migrations, run at startup before the backend reports ready. Each has a number and
//! runs once; all that are due run in one transaction, under an advisory lock so two backends
//! on one database never run one twice. A database migrated by a newer backend (a version this
//! one does not know) is refused, never migrated down: the backend stays not ready and says so.
//! Add new ones at the end; never edit one that shipped.

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
    let due = due(&done, MIGRATIONS)?;
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| due.contains(v)) {
        tx.batch_execute(sql).await.map_err(|e| format!("migration {version}: {e}"))?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[version])
            .await
            .map_err(|e| format!("migration {version}: {e}"))?;
        println!("applied migration {version}");
    }
    tx.commit().await.map_err(|e| format!("migrations: {e}"))
}

/// The migrations of `known` not yet `done`, or why the schema cannot be used: it holds a
/// version this backend does not know (a newer backend migrated it).
fn due(done: &[i32], known: &[(i32, &str)]) -> Result<Vec<i32>, String> {
    let newest = known.iter().map(|(v, _)| *v).max().unwrap_or(0);
    if let Some(unknown) = done.iter().copied().filter(|v| *v > newest).max() {
        return Err(format!(
            "the database schema is at version {unknown}, newer than this backend knows (up to {newest}): a newer \
             version of the app migrated it. It is not migrated down; run that version again, or restore a backup \
             made with this one"
        ));
    }
    Ok(known.iter().map(|(v, _)| *v).filter(|v| !done.contains(v)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: &[(i32, &str)] = &[(1, "a"), (2, "b")];

    #[test]
    fn due_migrations_are_those_not_done_and_a_newer_schema_is_refused() {
        assert_eq!(due(&[], KNOWN), Ok(vec![1, 2]));
        assert_eq!(due(&[1], KNOWN), Ok(vec![2]));
        assert_eq!(due(&[1, 2], KNOWN), Ok(vec![]));
        let e = due(&[1, 2, 3], KNOWN).unwrap_err();
        assert!(
            e.contains("version 3, newer than this backend knows (up to 2)") && e.contains("not migrated down"),
            "{e}"
        );
    }
}
