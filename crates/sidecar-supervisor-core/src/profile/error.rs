//! Profile errors that a person can act on: each names the file, the JSON path, what was wrong
//! and how to fix it.

use std::fmt;

/// A bad runtime profile (or a bad override of one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
    /// The profile file, or the environment variable / flag that carried the bad value.
    pub source: String,
    /// JSON path such as `$.sidecars[1].depends_on[0]`, or `line 3, column 7` for syntax errors.
    pub path: String,
    /// What was wrong.
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

impl ProfileError {
    pub fn new(
        source: impl Into<String>,
        path: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        ProfileError { source: source.into(), path: path.into(), message: message.into(), fix: fix.into() }
    }

    pub fn in_file(
        file: &std::path::Path,
        path: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(file.display().to_string(), path, message, fix)
    }
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: at {}: {}", self.source, self.path, self.message)?;
        if !self.fix.is_empty() {
            write!(f, "\n  fix: {}", self.fix)?;
        }
        Ok(())
    }
}

impl std::error::Error for ProfileError {}
