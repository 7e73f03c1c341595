//! Reading a profile file: syntax and type errors with their JSON path, then the semantic checks
//! of [`super::validate`].

use std::path::Path;

use super::error::ProfileError;
use super::model::Profile;
use super::os::{self, Os};

/// U+FEFF, the byte order mark that Notepad and other Windows editors write at the start of a
/// UTF-8 file. It is not part of the JSON and not a character the user sees: it is dropped
/// before parsing, so line and column numbers of syntax errors are those of the text shown.
const BOM: char = '\u{FEFF}';

/// Parses and validates a profile from text (a leading byte order mark is ignored). `file` is
/// only used in error messages. The profile returned is the one of `os`, the OS the runtime
/// runs on (its sidecars' `os` blocks applied; `None`: an OS no block names); the other
/// systems' variants are checked too.
pub fn parse_profile(file: &Path, text: &str, os: Option<Os>) -> Result<Profile, ProfileError> {
    let variants = deserialize(file, text, os)?;
    variants.check(|p| super::validate::validate(file, p))?;
    Ok(variants.here)
}

/// The profile as read on this OS, and as read on the others when some sidecar has an `os`
/// block (so a mistake in the Windows block is reported on Linux too).
struct Variants {
    here: Profile,
    others: Vec<(&'static str, Profile)>,
}

impl Variants {
    /// Runs `check` on this OS's variant, then on the others; an error found only in another
    /// OS's variant names that OS.
    fn check(&self, check: impl Fn(&Profile) -> Result<(), ProfileError>) -> Result<(), ProfileError> {
        check(&self.here)?;
        for (os, p) in &self.others {
            check(p).map_err(|e| on_os(e, os))?;
        }
        Ok(())
    }
}

fn deserialize(file: &Path, text: &str, here_os: Option<Os>) -> Result<Variants, ProfileError> {
    let text = text.strip_prefix(BOM).unwrap_or(text);
    let de = &mut serde_json::Deserializer::from_str(text);
    let base: Profile = serde_path_to_error::deserialize(de).map_err(|err| describe_serde_error(file, &err))?;
    if base.sidecars.iter().all(|s| s.os.is_none()) {
        return Ok(Variants { here: base, others: Vec::new() });
    }
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ProfileError::in_file(file, "$", format!("invalid JSON: {e}"), "fix the JSON syntax"))?;
    os::check_blocks(&value).map_err(|e| ProfileError::in_file(file, e.path, e.message, OS_FIX))?;
    let mut here = None;
    let mut others = Vec::new();
    for this in Os::ALL {
        let name = this.as_str();
        // Back through the text deserializer: one instance of the profile's deserializing code
        // in the binary instead of a second one over `Value`.
        let variant = os::apply(&value, name).to_string();
        let p: Profile = serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(&variant))
            .map_err(|err| on_os(describe_serde_error(file, &err), name))?;
        if Some(this) == here_os {
            here = Some(p);
        } else if os::has_block_for(&value, name) {
            others.push((name, p));
        }
    }
    // On a system that is none of the three, no block applies.
    let here = here.unwrap_or_else(|| {
        let mut p = base;
        p.sidecars.iter_mut().for_each(|s| s.os = None);
        p
    });
    Ok(Variants { here, others })
}

const OS_FIX: &str = r#"give `os` an object per system, e.g. {"windows": {"user": null}}: its fields replace the sidecar's on that OS, null removes one"#;

/// An error of the variant of `os` (fields of a sidecar's `os` block merged in).
fn on_os(mut e: ProfileError, os: &str) -> ProfileError {
    e.message = format!("{} (on {os}, with the sidecar's `os.{os}` fields applied)", e.message);
    e
}

/// Reads, parses and validates a profile file (saved with or without a byte order mark), as
/// it reads on `os` ([`parse_profile`]).
pub fn load_profile(file: &Path, os: Option<Os>) -> Result<Profile, ProfileError> {
    parse_profile(file, &read(file)?, os)
}

/// Like [`load_profile`], but leaves the checks that settings overrides can settle (a
/// `remote_slim` profile may get its backend_url from `BACKEND_URL`) to the caller.
pub(crate) fn load_profile_overridable(file: &Path, os: Option<Os>) -> Result<Profile, ProfileError> {
    let variants = deserialize(file, &read(file)?, os)?;
    variants.check(|p| super::validate::validate_overridable(file, p))?;
    Ok(variants.here)
}

fn read(file: &Path) -> Result<String, ProfileError> {
    std::fs::read_to_string(file).map_err(|e| {
        ProfileError::in_file(
            file,
            "$",
            format!("cannot read the profile: {e}"),
            "check the path given by --runtime-profile or RUNTIME_PROFILE_PATH",
        )
    })
}

fn describe_serde_error(file: &Path, err: &serde_path_to_error::Error<serde_json::Error>) -> ProfileError {
    let inner = err.inner();
    let json_path = json_path(&err.path().to_string());
    match inner.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => ProfileError::in_file(
            file,
            format!("line {}, column {}", inner.line(), inner.column()),
            format!("invalid JSON: {}", strip_position(&inner.to_string())),
            "fix the JSON syntax (a missing comma, quote or bracket is the usual cause)",
        ),
        _ => {
            let msg = strip_position(&inner.to_string());
            let fix = fix_for(&json_path, &msg);
            ProfileError::in_file(file, json_path, msg, fix)
        }
    }
}

/// `sidecars[1].port` → `$.sidecars[1].port`; `.` → `$`.
fn json_path(p: &str) -> String {
    if p == "." || p.is_empty() {
        "$".to_string()
    } else {
        format!("$.{p}")
    }
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn fix_for(path: &str, msg: &str) -> String {
    if msg.starts_with("unknown field") {
        return "remove the field or correct its spelling; runtime-profile.schema.json lists the fields".into();
    }
    if msg.starts_with("missing field") {
        return "add the field; runtime-profile.schema.json says what it takes".into();
    }
    if path.ends_with(".port") {
        return r#"use "auto", "announce" or a port number from 1 to 65535"#.into();
    }
    if path.ends_with(".stop_signal") {
        return r#"use one of "SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP""#.into();
    }
    if path == "$.mode" {
        return r#"use "local_fullstack" or "remote_slim""#.into();
    }
    "give the value the type runtime-profile.schema.json expects here".into()
}
