//! The runtime profile, the file format: its types, loading (with per-OS `os` blocks),
//! validation with errors that name the file, the JSON path and the fix, and the precedence of
//! settings (flag > environment > profile > default). Pure: the environment and the host's facts
//! are passed in.

mod error;
mod load;
mod model;
mod os;
mod postgres;
pub(crate) mod settings;
pub(crate) mod template;
mod validate;

pub use error::ProfileError;
pub use load::{load_profile, parse_profile};
pub use model::*;
pub use os::Os;
pub use settings::{
    bin_var, default_data_dir_for, resolve, Host, Overrides, RuntimeConfig, ENV_BACKEND_API_KEY, ENV_BACKEND_URL,
    ENV_DATA_DIR, ENV_EXTRA_CA_FILES, ENV_MODE, ENV_NO_AUTO_RESTART, ENV_PROFILE,
};
