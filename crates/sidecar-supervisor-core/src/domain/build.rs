//! Which build a sidecar is ([`SidecarBuild`]: the version and build hash its identity answer
//! states) and whether it is the app's ([`matches`]). After an update, a process left running
//! from the old version, or an old binary left behind, answers with another build: the machine
//! restarts it once (a new process runs the binary installed now) and the status warns while it
//! still differs. A sidecar that states no build hash (one not built with the app: PostgreSQL, a
//! third party's server), or an app built without one (a development build), is not judged.

use serde::{Deserialize, Serialize};

/// What a sidecar's identity answer says it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SidecarBuild {
    /// Its own version (`"version"` of `/runtime/info`).
    pub version: String,
    /// The build hash it was made from (`"build"`); empty when it states none.
    pub build: String,
    /// Whether that is the app's build: `null` when either side states none.
    pub matches: Option<bool>,
}

/// Whether `found` (a sidecar's build hash) is `app`'s; `None` when either is unknown.
pub fn matches(app: Option<&str>, found: &str) -> Option<bool> {
    match (app.filter(|a| !a.is_empty()), found.trim()) {
        (Some(_), "") | (None, _) => None,
        (Some(app), found) => Some(app == found),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_are_judged_only_when_both_sides_state_one() {
        assert_eq!(matches(Some("abc123"), "abc123"), Some(true));
        assert_eq!(matches(Some("abc123"), "0ff1ce"), Some(false));
        assert_eq!(matches(Some("abc123"), ""), None, "a sidecar not built with the app");
        assert_eq!(matches(None, "abc123"), None, "a development build of the app");
        assert_eq!(matches(Some(""), "abc123"), None);
    }
}
