//! What every Unix shares: process groups and signals, private file modes, `flock`, the
//! open-files limit, users and directory permissions.

mod access;
mod files;
mod limits;
mod lock;
mod signals;
mod users;

pub use access::{can_traverse, create_dir_traversable, Reach, Target, CREATED_DIR_MODE};
pub use files::{create_private, is_executable, open_append_private, private_dir_all};
pub use limits::{original_nofile, raise_fd_limit};
pub use lock::InstanceLock;
pub use signals::{exit_of_wait_status, kill_group, kill_process, signal_name, stop_group};
pub use users::{give_to, is_root, lookup_user};
