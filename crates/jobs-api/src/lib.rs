//! The backend ↔ worker job API of the reference stack, and the computation both sides agree on.
//!
//! The gRPC types are generated at build time from `proto/jobs/v1/jobs.proto`. [`compute`] lives
//! here rather than in the worker so the backend's tests can check a worker's result against
//! the same definition.

pub mod v1 {
    tonic::include_proto!("jobs.v1");
}

use sha2::{Digest, Sha256};

/// What a worker computes for a job text: its word count (Unicode whitespace separated) and
/// the SHA-256 of its UTF-8 bytes, as lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub word_count: u64,
    pub sha256: String,
}

pub fn compute(text: &str) -> Outcome {
    let digest = Sha256::digest(text.as_bytes());
    let sha256 = digest.iter().map(|b| format!("{b:02x}")).collect();
    Outcome { word_count: text.split_whitespace().count() as u64, sha256 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_words_and_hashes() {
        let o = compute("  hello   wide\tworld\n");
        assert_eq!(o.word_count, 3);
        assert_eq!(compute("").word_count, 0);
        // sha256("abc"), FIPS 180-2 test vector.
        assert_eq!(compute("abc").sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
