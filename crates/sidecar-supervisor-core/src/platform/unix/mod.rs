//! What every Unix shares: process groups and signals, private file modes, the open-files
//! limit, users and directory permissions, the guardian.

mod access;
pub(crate) mod control_socket;
mod files;
mod guardian;
mod limits;
mod pipes;
pub(crate) mod process;
mod signals;
mod users;

pub use access::{create_dir_traversable, Reach, Target};
pub use files::{
    create_private, is_executable, open_append_private, open_lock_file, owner_of, private_dir_all, replace_file,
};
pub use guardian::DeathWatch;
#[cfg(target_os = "linux")]
pub use limits::original_nofile;
pub use limits::raise_fd_limit;
pub use pipes::feed;
pub use process::Lifeline;
pub use signals::{exit_of_wait_status, kill_group, kill_process, resume_group, stop_group, suspend_group};
#[cfg(any(target_os = "linux", test, feature = "testing"))]
pub use users::is_root;
pub use users::{give_to, lookup_user};

/// How processes are asked to stop here.
pub const STOP_MECHANISM: crate::domain::StopMechanism = crate::domain::StopMechanism::Signals;
