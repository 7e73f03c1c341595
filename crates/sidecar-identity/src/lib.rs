//! Identity proof for `GET /runtime/info?nonce=<n>`: how the runtime tells its own sidecar from
//! another program that took the port.
//!
//! The runtime must know that the server answering on a sidecar's port is the process it
//! started for this launch, not a stale one or another program that took the port. Echoing the
//! instance id is not enough once anyone can read it, and sending the API key to ask would hand
//! the key to whoever holds the port. So the runtime sends a fresh random nonce and the sidecar
//! answers `proof = hex(HMAC-SHA256(key = SIDECAR_API_KEY, message = "sidecar-identity:" + nonce))`.
//! Only a holder of the key can answer; the key never leaves either process.

use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Query parameter that carries the nonce.
pub const NONCE_PARAM: &str = "nonce";

/// Longest nonce a sidecar should accept (the runtime sends 32 hex digits).
pub const MAX_NONCE: usize = 128;

fn mac(key: &str, nonce: &str) -> HmacSha256 {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    m.update(b"sidecar-identity:");
    m.update(nonce.as_bytes());
    m
}

/// The proof a sidecar returns for `nonce` (lowercase hex).
pub fn proof(key: &str, nonce: &str) -> String {
    mac(key, nonce).finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `proof` answers `nonce` under `key` (constant time).
pub fn verify(key: &str, nonce: &str, proof: &str) -> bool {
    let Some(bytes) = unhex(proof) else { return false };
    mac(key, nonce).verify_slice(&bytes).is_ok()
}

/// A nonce as a sidecar should accept it: 1 to [`MAX_NONCE`] ASCII letters or digits.
pub fn is_valid_nonce(nonce: &str) -> bool {
    !nonce.is_empty() && nonce.len() <= MAX_NONCE && nonce.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_verifies_only_with_the_same_key_and_nonce() {
        let p = proof("key-1", "abc");
        assert_eq!(p.len(), 64);
        assert!(verify("key-1", "abc", &p));
        assert!(!verify("key-2", "abc", &p));
        assert!(!verify("key-1", "abd", &p));
        assert!(!verify("key-1", "abc", &p[..62]));
        assert!(!verify("key-1", "abc", "zz"));
        assert!(!p.contains("key-1"));
    }

    #[test]
    fn matches_the_hmac_test_vector() {
        // RFC 4231 test case 2 ("Jefe"), with our prefix folded into the message.
        let m = "what do ya want for nothing?";
        let want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        let mut h = <HmacSha256 as KeyInit>::new_from_slice(b"Jefe").unwrap();
        h.update(m.as_bytes());
        let got: String = h.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn nonces_are_short_and_plain() {
        assert!(is_valid_nonce("0123abcdef"));
        assert!(!is_valid_nonce(""));
        assert!(!is_valid_nonce("a b"));
        assert!(!is_valid_nonce(&"a".repeat(MAX_NONCE + 1)));
    }
}
