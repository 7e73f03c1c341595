//! The runtime profile: types, loading, validation, templates and settings precedence.

pub mod error;
pub mod load;
pub mod model;
pub mod os;
pub mod settings;
pub mod template;
pub mod validate;

pub use error::ProfileError;
pub use load::{load_profile, parse_profile};
pub use model::*;
pub use os::Os;
pub use settings::{resolve, Host, Overrides, RuntimeConfig};
