//! This launch's secrets: random, per launch, never written anywhere but to the sidecars that
//! need them (the API key, each `{password}`, the identity nonces).

use rand::RngCore;

/// `bytes` random bytes as hex (letters and digits only, so it needs no quoting in a URL, SQL
/// or a shell).
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}
