//! `prepare` as one step or a list, and where a `{password}` may appear: only in `env` and a
//! prepare step's `stdin` (arguments and paths are visible to every local user).

use sidecar_supervisor_core::profile::{parse_profile, Profile, ProfileError};

fn parse(sidecars: &str) -> Result<Profile, ProfileError> {
    let text = format!(r#"{{ "sidecars": {sidecars} }}"#);
    parse_profile(
        std::path::Path::new("profile.json"),
        &text,
        sidecar_supervisor_core::testing::internals::platform::host().os,
    )
}

#[test]
fn prepare_is_one_step_a_list_or_null() {
    let one = parse(r#"[{ "name": "db", "command": "x", "prepare": { "command": "init" } }]"#).unwrap();
    assert_eq!(one.sidecars[0].prepare.len(), 1);
    let two = parse(
        r#"[{ "name": "db", "command": "x", "prepare": [{ "command": "init" }, { "command": "set", "stdin": "{password}" }] }]"#,
    )
    .unwrap();
    assert_eq!(two.sidecars[0].prepare.iter().map(|p| p.command.as_str()).collect::<Vec<_>>(), ["init", "set"]);
    assert_eq!(two.sidecars[0].prepare[1].stdin.as_deref(), Some("{password}"));
    let none = parse(r#"[{ "name": "db", "command": "x", "prepare": null }]"#).unwrap();
    assert!(none.sidecars[0].prepare.is_empty());
}

#[test]
fn a_bad_step_is_named_with_its_path() {
    let e = parse(r#"[{ "name": "db", "command": "x", "prepare": [{ "command": "init" }, { "comand": "y" }] }]"#)
        .unwrap_err();
    assert_eq!(e.path, "$.sidecars[0].prepare[1].comand", "{e}");
    assert!(e.message.contains("comand"), "{e}");
    let e = parse(r#"[{ "name": "db", "command": "x", "prepare": "initdb" }]"#).unwrap_err();
    assert_eq!(e.path, "$.sidecars[0].prepare", "{e}");
    assert!(e.message.contains("a prepare step"), "{e}");
    let e = parse(
        r#"[{ "name": "db", "command": "x", "prepare": [{ "command": "a" }, { "command": "b", "stdin": "{nope}" }] }]"#,
    )
    .unwrap_err();
    assert_eq!(e.path, "$.sidecars[0].prepare[1].stdin", "{e}");
}

#[test]
fn a_password_goes_only_into_env_and_stdin() {
    let ok = r#"[{ "name": "db", "command": "x", "prepare": { "command": "set", "stdin": "{password}" } },
                 { "name": "api", "command": "y", "depends_on": ["db"], "env": { "URL": "postgres://app:{db.password}@h" } }]"#;
    parse(ok).expect("env and stdin take a password");
    for (sidecars, path) in [
        (r#"[{ "name": "db", "command": "x", "args": ["--password={password}"] }]"#, "$.sidecars[0].args[0]"),
        (
            r#"[{ "name": "db", "command": "x" }, { "name": "api", "command": "y", "depends_on": ["db"],
                 "ready": { "exec": { "command": "check", "args": ["{db.password}"] } } }]"#,
            "$.sidecars[1].ready.exec.args[0]",
        ),
        (
            r#"[{ "name": "db", "command": "x", "prepare": { "command": "i", "args": ["{password}"] } }]"#,
            "$.sidecars[0].prepare.args[0]",
        ),
    ] {
        let e = parse(sidecars).unwrap_err();
        assert_eq!(e.path, path, "{e}");
        assert!(e.message.contains("only allowed in `env`"), "{e}");
        assert!(e.fix.contains("environment variable"), "{e}");
    }
}
