//! Who this process says it is on `/runtime/info` and `sidecar.v1.Control/Info`, as chosen by
//! `--identity` (and `--foreign-instance-id`): the runtime's identity tiers are tested against it.

use crate::args::{Args, IdentityMode};

#[derive(Debug, Clone)]
pub struct Who {
    pub instance_id: String,
    /// The key proofs are made with (`--identity proven`, when `SIDECAR_API_KEY` is set).
    pub key: Option<String>,
    /// `--identity none`: no `/runtime/info` (404) and `Control/Info` unimplemented.
    pub serves_info: bool,
    /// The build hash its identity answer states (`TEST_SIDECAR_BUILD`; empty: none).
    pub build: String,
}

impl Who {
    pub fn from_args(a: &Args) -> Who {
        let env = |k: &str| std::env::var(k).ok();
        Who {
            instance_id: a.foreign_instance_id.clone().or_else(|| env("SIDECAR_INSTANCE_ID")).unwrap_or_default(),
            key: env("SIDECAR_API_KEY").filter(|_| a.identity == IdentityMode::Proven),
            serves_info: a.identity != IdentityMode::None,
            build: env("TEST_SIDECAR_BUILD").unwrap_or_default(),
        }
    }

    /// The proof for `nonce`, when this process gives one.
    pub fn proof(&self, nonce: &str) -> Option<String> {
        let key = self.key.as_deref()?;
        sidecar_identity::is_valid_nonce(nonce).then(|| sidecar_identity::proof(key, nonce))
    }
}
