//! Windows: every sidecar in a job object of its own with kill-on-close, assigned while the
//! process is still suspended (before its first instruction), so neither it nor anything it
//! starts can escape; the runtime holding the job handles is the death watch. Graceful stops
//! are Ctrl-Break to its process group when the runtime has a console (the engine also tries
//! `sidecar.v1.Control/Shutdown` and a profile's `stop_command`); a force kill terminates the
//! job. Windows has no users to drop to and no file modes: the profile's `user` is refused.

mod files;
mod jobs;
mod proc;
mod spawn;
mod suspend;
mod usage;
mod users;

pub use files::{
    create_dir_traversable, create_private, is_executable, open_append_private, open_lock_file, private_dir_all,
    replace_file,
};
pub use jobs::{kill_group, kill_process, stop_group, DeathWatch};
pub use proc::{processes_with_env, start_time};
pub use spawn::{spawn, Child, Lifeline, Spawned};
pub use suspend::{resume_group, suspend_group};
pub use usage::group_usage;
pub use users::{give_to, is_root, lookup_user, Reach, Target};

/// Nothing to raise: Windows has no per-process open-files limit like Unix's.
pub fn raise_fd_limit() {}
