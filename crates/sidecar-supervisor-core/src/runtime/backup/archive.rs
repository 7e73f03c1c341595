//! A backup file: one zip holding `manifest.json` and `database.dump` (stored as it is:
//! `pg_dump`'s custom format is compressed already). Written through a temporary file renamed
//! into place, so a backup that failed half-way never looks like one; read back with the dump
//! measured (size, SHA-256) as it is taken out.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::domain::backup::Manifest;

const MANIFEST: &str = "manifest.json";
const DUMP: &str = "database.dump";

/// The size and lowercase-hex SHA-256 of a file.
pub fn measure(path: &Path) -> io::Result<(u64, String)> {
    let mut f = File::open(path)?;
    let mut hasher = Sha256::new();
    let bytes = io::copy(&mut f, &mut HashWriter(&mut hasher))?;
    Ok((bytes, hex(&hasher.finalize())))
}

/// Writes the backup at `path` (replaced atomically) from `manifest` and the dump at `dump`.
pub fn write(path: &Path, manifest: &Manifest, dump: &Path) -> io::Result<()> {
    let json = serde_json::to_vec_pretty(manifest).map_err(io::Error::other)?;
    crate::atomic_file::replace_with(path, |f| {
        let mut zip = zip::ZipWriter::new(f);
        let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file(MANIFEST, deflated).map_err(io::Error::other)?;
        zip.write_all(&json)?;
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(true);
        zip.start_file(DUMP, stored).map_err(io::Error::other)?;
        io::copy(&mut File::open(dump)?, &mut zip)?;
        zip.finish().map_err(io::Error::other)?;
        Ok(())
    })
}

/// Reads the backup at `path`: its manifest, and its dump copied to `dump_to` with the size
/// and SHA-256 measured on the way. `Err` says, for people, why it is not a backup.
pub fn read(path: &Path, dump_to: &Path) -> Result<(Manifest, u64, String), String> {
    let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let not_a_backup = |why: String| format!("{} is not a backup of this app: {why}", path.display());
    let mut zip = zip::ZipArchive::new(file).map_err(|e| not_a_backup(format!("not a zip ({e})")))?;
    let manifest: Manifest = {
        let mut entry = zip.by_name(MANIFEST).map_err(|_| not_a_backup(format!("it has no {MANIFEST}")))?;
        let mut text = Vec::new();
        entry.by_ref().take(1024 * 1024).read_to_end(&mut text).map_err(|e| not_a_backup(e.to_string()))?;
        serde_json::from_slice(&text).map_err(|e| not_a_backup(format!("its {MANIFEST} is not valid: {e}")))?
    };
    let mut entry = zip.by_name(DUMP).map_err(|_| not_a_backup(format!("it has no {DUMP}")))?;
    let mut out =
        crate::platform::create_private(dump_to).map_err(|e| format!("cannot write {}: {e}", dump_to.display()))?;
    let mut hasher = Sha256::new();
    let mut tee = Tee { out: &mut out, hasher: &mut hasher };
    let bytes = io::copy(&mut entry, &mut tee).map_err(|e| not_a_backup(format!("its {DUMP} cannot be read: {e}")))?;
    out.sync_all().map_err(|e| format!("cannot write {}: {e}", dump_to.display()))?;
    Ok((manifest, bytes, hex(&hasher.finalize())))
}

struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct Tee<'a> {
    out: &'a mut File,
    hasher: &'a mut Sha256,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(bytes: u64, sha: String) -> Manifest {
        Manifest {
            format: crate::domain::backup::FORMAT,
            app: "app".into(),
            app_version: "1.0.0".into(),
            created_at: "2026-12-08T03:15:00Z".into(),
            sidecar: "database".into(),
            database: "app".into(),
            postgres_major: 15,
            dump_bytes: bytes,
            dump_sha256: sha,
        }
    }

    #[test]
    fn a_backup_reads_back_as_written_and_other_files_are_named_as_not_backups() {
        let tmp = tempfile::tempdir().unwrap();
        let dump = tmp.path().join("d.dump");
        std::fs::write(&dump, b"PGDMP and some bytes").unwrap();
        let (bytes, sha) = measure(&dump).unwrap();
        assert_eq!(bytes, 20);
        let file = tmp.path().join("b.backup.zip");
        write(&file, &manifest(bytes, sha.clone()), &dump).unwrap();
        let (m, got_bytes, got_sha) = read(&file, &tmp.path().join("out.dump")).unwrap();
        assert_eq!((m, got_bytes, got_sha.clone()), (manifest(bytes, sha.clone()), bytes, sha));
        assert_eq!(std::fs::read(tmp.path().join("out.dump")).unwrap(), b"PGDMP and some bytes");

        std::fs::write(tmp.path().join("x.txt"), b"hello").unwrap();
        let e = read(&tmp.path().join("x.txt"), &tmp.path().join("o2")).unwrap_err();
        assert!(e.contains("is not a backup of this app: not a zip"), "{e}");
    }
}
