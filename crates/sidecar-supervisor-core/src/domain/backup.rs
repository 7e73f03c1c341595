//! What a backup says about itself ([`Manifest`]) and the rules a restore checks it by
//! ([`check`]), pure. A backup is one zip: `manifest.json` and `database.dump` (PostgreSQL's
//! custom format, compressed by `pg_dump`). The manifest is read and checked before anything
//! running is touched: a file that is not a backup of this kind, a dump whose size or SHA-256
//! differs from the manifest's (cut short, altered), or one made by a newer PostgreSQL major
//! than the server (whose `pg_restore` could not read it) is refused, and nothing changes.

use serde::{Deserialize, Serialize};

/// The manifest format this runtime writes and reads.
pub const FORMAT: u32 = 1;

/// `manifest.json` of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "BackupManifest"))]
pub struct Manifest {
    /// [`FORMAT`] when written.
    pub format: u32,
    /// The app (its data dir's name) and version that made it.
    pub app: String,
    pub app_version: String,
    /// When, RFC 3339 (UTC).
    pub created_at: String,
    /// The database sidecar and the database it holds.
    pub sidecar: String,
    pub database: String,
    /// The major of the server it was dumped from.
    pub postgres_major: u32,
    /// `database.dump`'s size and SHA-256 (lowercase hex).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub dump_bytes: u64,
    pub dump_sha256: String,
}

/// Whether a backup with manifest `m`, whose dump measured `bytes` with `sha256`, may be
/// restored into a server of major `server_major`: `Err` says why not, for people.
pub fn check(m: &Manifest, bytes: u64, sha256: &str, server_major: u32) -> Result<(), String> {
    if m.format != FORMAT {
        return Err(format!(
            "it is a backup of format {}, which this version (format {FORMAT}) does not read: restore it with the app version that made it ({})",
            m.format, m.app_version
        ));
    }
    if m.dump_bytes != bytes || !m.dump_sha256.eq_ignore_ascii_case(sha256) {
        return Err(format!(
            "its database dump does not match its manifest ({bytes} bytes, SHA-256 {sha256}; the manifest says {} bytes, {}): the file is damaged or was changed",
            m.dump_bytes, m.dump_sha256
        ));
    }
    if m.postgres_major > server_major {
        return Err(format!(
            "it was made from PostgreSQL {}, newer than this app's PostgreSQL {server_major}: restore it with a newer version of the app",
            m.postgres_major
        ));
    }
    Ok(())
}

/// The default file name of a backup made at `stamp` (`20261208T031500Z`) of `sidecar`.
pub fn file_name(sidecar: &str, stamp: &str) -> String {
    format!("{sidecar}-{stamp}.backup.zip")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            format: FORMAT,
            app: "app".into(),
            app_version: "1.2.0".into(),
            created_at: "2026-12-08T03:15:00Z".into(),
            sidecar: "database".into(),
            database: "app".into(),
            postgres_major: 17,
            dump_bytes: 10,
            dump_sha256: "ab".repeat(32),
        }
    }

    #[test]
    fn a_matching_dump_of_the_same_or_an_older_major_is_restored() {
        let sha = "AB".repeat(32);
        assert_eq!(check(&manifest(), 10, &sha, 17), Ok(()));
        assert_eq!(check(&manifest(), 10, &sha, 18), Ok(()), "a newer server reads an older dump");
    }

    #[test]
    fn a_damaged_dump_a_newer_major_or_an_unknown_format_is_refused_saying_why() {
        let sha = "ab".repeat(32);
        let e = check(&manifest(), 9, &sha, 17).unwrap_err();
        assert!(e.contains("does not match its manifest") && e.contains("9 bytes"), "{e}");
        let e = check(&manifest(), 10, &"cd".repeat(32), 17).unwrap_err();
        assert!(e.contains("damaged or was changed"), "{e}");
        let e = check(&manifest(), 10, &sha, 16).unwrap_err();
        assert!(e.contains("PostgreSQL 17, newer than this app's PostgreSQL 16"), "{e}");
        let e = check(&Manifest { format: 2, ..manifest() }, 10, &sha, 17).unwrap_err();
        assert!(e.contains("format 2") && e.contains("1.2.0"), "{e}");
    }
}
