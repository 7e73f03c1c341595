//! Reading a profile file: syntax and type errors with their JSON path, then the semantic checks
//! of [`super::validate`].

use std::path::Path;

use super::error::ProfileError;
use super::model::Profile;

/// U+FEFF, the byte order mark that Notepad and other Windows editors write at the start of a
/// UTF-8 file. It is not part of the JSON and not a character the user sees: it is dropped
/// before parsing, so line and column numbers of syntax errors are those of the text shown.
const BOM: char = '\u{FEFF}';

/// Parses and validates a profile from text (a leading byte order mark is ignored). `file` is
/// only used in error messages.
pub fn parse_profile(file: &Path, text: &str) -> Result<Profile, ProfileError> {
    let profile = deserialize(file, text)?;
    super::validate::validate(file, &profile)?;
    Ok(profile)
}

fn deserialize(file: &Path, text: &str) -> Result<Profile, ProfileError> {
    let text = text.strip_prefix(BOM).unwrap_or(text);
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|err| describe_serde_error(file, &err))
}

/// Reads, parses and validates a profile file (saved with or without a byte order mark).
pub fn load_profile(file: &Path) -> Result<Profile, ProfileError> {
    parse_profile(file, &read(file)?)
}

/// Like [`load_profile`], but leaves the checks that settings overrides can settle (a
/// `remote_slim` profile may get its backend_url from `BACKEND_URL`) to the caller.
pub(crate) fn load_profile_overridable(file: &Path) -> Result<Profile, ProfileError> {
    let profile = deserialize(file, &read(file)?)?;
    super::validate::validate_overridable(file, &profile)?;
    Ok(profile)
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
