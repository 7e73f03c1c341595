//! Linux: process start with the parent-death signal ([`spawn`]), the guardian as death watch,
//! process identity from `/proc`.

mod guardian;
mod procfs;
mod spawn;

pub use guardian::DeathWatch;
pub use procfs::{processes_with_env, start_time};
pub use spawn::{spawn, Child, Lifeline, SpawnRequest, Spawned};
