//! macOS: process start through `std` (`posix_spawn` when nothing runs before exec) into a
//! process group of its own, the exit awaited through kqueue, process identity from libproc.
//! macOS has no parent-death signal: the guardian and the lifeline are the death watch.

mod proc;
mod spawn;
mod usage;

pub use proc::{processes_with_env, start_time};
pub use spawn::{spawn, Child, Lifeline, Spawned};
pub use usage::group_usage;
