//! Per-OS overrides of a sidecar: `"os": {"windows": {...}, "macos": {...}, "linux": {...}}`.
//!
//! One profile serves the three systems, but a few fields differ by nature: `user` exists only
//! on Unix, a graceful stop on Windows may need a `stop_command`, a program may have another
//! name. The block for the OS the runtime runs on is merged into the sidecar as a JSON Merge
//! Patch (RFC 7396, as Tauri merges its `tauri.<os>.conf.json`): a field replaces the one above,
//! `null` removes it, an object merges into the object above. The other blocks are not dropped
//! unread: [`variants`] builds the profile of every OS, so a mistake in the Windows block is
//! reported on Linux too, named with its path.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An operating system a block can name. Which one the runtime runs on is the platform
/// layer's to say (`platform::OS`); the profile is read for the OS it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Os {
    Linux,
    Macos,
    Windows,
}

impl Os {
    pub const ALL: [Os; 3] = [Os::Linux, Os::Macos, Os::Windows];

    /// The block's key: `linux`, `macos`, `windows`.
    pub fn as_str(self) -> &'static str {
        match self {
            Os::Linux => "linux",
            Os::Macos => "macos",
            Os::Windows => "windows",
        }
    }
}

/// A sidecar's per-OS fields (see [`SidecarSpec::os`](super::SidecarSpec::os)).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OsOverrides {
    /// Fields of the sidecar on Linux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux: Option<serde_json::Map<String, serde_json::Value>>,
    /// Fields of the sidecar on macOS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub macos: Option<serde_json::Map<String, serde_json::Value>>,
    /// Fields of the sidecar on Windows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A problem with an `os` block itself: its JSON path and what is wrong.
#[derive(Debug)]
pub struct BlockError {
    pub path: String,
    pub message: String,
}

/// Checks the shape of every `os` block: an object whose keys are known OS names and whose
/// values are objects (or `null`). Field contents are checked by deserializing each variant.
pub fn check_blocks(profile: &Value) -> Result<(), BlockError> {
    for (i, sidecar) in sidecars(profile).enumerate() {
        let Some(block) = sidecar.get("os") else { continue };
        let at = format!("$.sidecars[{i}].os");
        let Value::Object(block) = block else {
            return Err(BlockError { path: at, message: format!("must be an object, not {}", kind(block)) });
        };
        for (os, patch) in block {
            if !Os::ALL.iter().any(|o| o.as_str() == os) {
                return Err(BlockError {
                    path: format!("{at}.{os}"),
                    message: format!("unknown operating system `{os}`"),
                });
            }
            if !matches!(patch, Value::Object(_) | Value::Null) {
                return Err(BlockError {
                    path: format!("{at}.{os}"),
                    message: format!("must be an object of sidecar fields, not {}", kind(patch)),
                });
            }
            if let Value::Object(fields) = patch {
                for forbidden in ["name", "os"] {
                    if fields.contains_key(forbidden) {
                        return Err(BlockError {
                            path: format!("{at}.{os}.{forbidden}"),
                            message: format!("`{forbidden}` cannot differ by OS"),
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

/// The profile as it reads on `os`: each sidecar's block for `os` merged in, every `os` block
/// removed.
pub fn apply(profile: &Value, os: &str) -> Value {
    let mut out = profile.clone();
    if let Some(Value::Array(list)) = out.get_mut("sidecars") {
        for sidecar in list.iter_mut() {
            let Value::Object(fields) = sidecar else { continue };
            let block = fields.remove("os");
            if let Some(patch) = block.as_ref().and_then(|b| b.get(os)) {
                merge_patch(sidecar, patch);
            }
        }
    }
    out
}

/// RFC 7396: `patch` merged into `target`.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(fields) = target else { unreachable!("made an object above") };
    for (key, value) in patch {
        if value.is_null() {
            fields.remove(key);
        } else {
            merge_patch(fields.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// Whether any sidecar has an `os` block for `os` (an error in that OS's variant is then
/// worth naming the OS).
pub fn has_block_for(profile: &Value, os: &str) -> bool {
    sidecars(profile).any(|s| s.get("os").and_then(|b| b.get(os)).is_some())
}

fn sidecars(profile: &Value) -> impl Iterator<Item = &Value> {
    profile.get("sidecars").and_then(Value::as_array).into_iter().flatten()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merge_patch_replaces_removes_and_merges() {
        let mut t = json!({"user": "postgres", "args": ["-p", "1"], "env": {"A": "1", "B": "2"}});
        merge_patch(&mut t, &json!({"user": null, "args": ["-x"], "env": {"B": null, "C": "3"}}));
        assert_eq!(t, json!({"args": ["-x"], "env": {"A": "1", "C": "3"}}));
    }

    #[test]
    fn apply_merges_only_the_named_os_and_drops_every_block() {
        let p = json!({"sidecars": [
            {"name": "db", "command": "postgres", "user": "postgres",
             "os": {"windows": {"user": null, "command": "postgres.exe"}, "macos": {"command": "pg"}}},
            {"name": "api", "command": "api"}
        ]});
        assert_eq!(
            apply(&p, "windows")["sidecars"],
            json!([{"name": "db", "command": "postgres.exe"}, {"name": "api", "command": "api"}])
        );
        assert_eq!(apply(&p, "linux")["sidecars"][0], json!({"name": "db", "command": "postgres", "user": "postgres"}));
        assert!(has_block_for(&p, "macos") && !has_block_for(&p, "linux"));
    }

    #[test]
    fn blocks_of_the_wrong_shape_are_named() {
        let cases = [
            (json!({"os": []}), "$.sidecars[0].os", "must be an object"),
            (json!({"os": {"win32": {}}}), "$.sidecars[0].os.win32", "unknown operating system"),
            (json!({"os": {"linux": "x"}}), "$.sidecars[0].os.linux", "not a string"),
            (json!({"os": {"macos": {"name": "y"}}}), "$.sidecars[0].os.macos.name", "cannot differ by OS"),
        ];
        for (sidecar, path, msg) in cases {
            let err = check_blocks(&json!({"sidecars": [sidecar]})).unwrap_err();
            assert_eq!(err.path, path);
            assert!(err.message.contains(msg), "{}", err.message);
        }
    }
}
