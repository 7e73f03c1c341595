//! Per-OS fields of a sidecar (`"os": {"windows": {...}}`): the block of the running OS is
//! merged in, and every OS's variant is checked wherever the profile is loaded, so a mistake in
//! the Windows block is caught on Linux too, naming the OS.

use sidecar_supervisor_core::profile::{parse_profile, Profile, ProfileError};

fn parse(json: &str) -> Result<Profile, ProfileError> {
    parse_profile(
        std::path::Path::new("profile.json"),
        json,
        sidecar_supervisor_core::testing::internals::platform::host().os,
    )
}

const DB: &str = r#"{ "sidecars": [ { "name": "db", "command": "postgres", "user": "postgres",
    "stop_signal": "SIGINT", "env": { "A": "1", "B": "2" },
    "os": { "windows": { "user": null, "env": { "B": null },
                         "stop_command": { "command": "pg_ctl", "args": ["stop"] } },
            "macos": { "command": "postgres-mac" } } } ] }"#;

#[test]
fn the_running_os_gets_its_block_merged_and_no_other() {
    let p = parse(DB).expect("the profile loads");
    let db = &p.sidecars[0];
    assert!(db.os.is_none(), "the blocks are consumed at load");
    if cfg!(windows) {
        assert_eq!(db.user, None);
        assert_eq!(db.stop_command.as_ref().map(|c| c.command.as_str()), Some("pg_ctl"));
        assert_eq!(db.env.keys().collect::<Vec<_>>(), ["A"]);
    } else {
        assert_eq!(db.user.as_deref(), Some("postgres"));
        assert_eq!(db.stop_command, None);
        assert_eq!(db.env.len(), 2);
    }
    let command = if cfg!(target_os = "macos") { "postgres-mac" } else { "postgres" };
    assert_eq!(db.command, command);
}

#[test]
fn a_type_error_in_another_os_block_is_reported_here_naming_that_os() {
    let json = DB.replace(r#""user": null"#, r#""user": null, "replicas": "two""#);
    let e = parse(&json).unwrap_err();
    assert_eq!(e.path, "$.sidecars[0].replicas", "{e}");
    assert!(e.message.contains("on windows") && e.message.contains("os.windows"), "{e}");
}

#[test]
fn a_semantic_error_in_another_os_block_is_reported_here_naming_that_os() {
    let json = DB.replace(r#""command": "postgres-mac""#, r#""command": "postgres-mac", "depends_on": ["nope"]"#);
    let e = parse(&json).unwrap_err();
    assert!(e.path.starts_with("$.sidecars[0].depends_on"), "{e}");
    assert!(e.message.contains("on macos"), "{e}");
}

#[test]
fn unknown_systems_and_fields_that_cannot_differ_are_refused() {
    let e = parse(&DB.replace("\"macos\"", "\"darwin\"")).unwrap_err();
    assert_eq!(e.path, "$.sidecars[0].os.darwin", "{e}");
    assert!(e.message.contains("darwin"), "{e}");
    let e = parse(&DB.replace(r#""command": "postgres-mac""#, r#""name": "other""#)).unwrap_err();
    assert_eq!(e.path, "$.sidecars[0].os.macos.name", "{e}");
    assert!(e.message.contains("cannot differ by OS"), "{e}");
}
