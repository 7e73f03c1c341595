//! Linux: process start with the parent-death signal ([`spawn`]) and process identity from
//! `/proc`.

mod procfs;
mod spawn;
mod usage;

pub use procfs::{processes_with_env, start_time};
pub use spawn::{spawn, Child, Lifeline, Spawned};
pub use usage::group_usage;
