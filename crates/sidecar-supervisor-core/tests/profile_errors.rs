//! Bad profiles give errors a person can act on (file, JSON path, fix), and the checked-in
//! schema and example (settings precedence: `profile_settings.rs`).

mod profile_helpers;

use profile_helpers::{profile, write, APP, ONE};

use std::path::{Path, PathBuf};

use sidecar_supervisor_core::load_profile;
use sidecar_supervisor_core::profile::{parse_profile, resolve, Host, Overrides, ProfileError};

/// Writes `json` to a fresh `profile.json` and loads it; the load must fail.
fn load_err(json: &str) -> (tempfile::TempDir, PathBuf, ProfileError) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("profile.json");
    std::fs::write(&file, json).unwrap();
    let err = match load_profile(&file) {
        Ok(p) => panic!("profile should be rejected, loaded {p:?}"),
        Err(e) => e,
    };
    (dir, file, err)
}

/// The error names the file and `path`, its message contains every one of `msg`, its fix
/// contains `fix`, and Display shows all of it.
fn check(file: &Path, e: &ProfileError, path: &str, msg: &[&str], fix: &str) {
    assert_eq!(e.source, file.display().to_string(), "{e}");
    assert_eq!(e.path, path, "{e}");
    for m in msg {
        assert!(e.message.contains(m), "message should contain {m:?}: {e}");
    }
    assert!(e.fix.contains(fix), "fix should contain {fix:?}: {e}");
    let shown = e.to_string();
    for part in [file.display().to_string(), path.to_string(), e.message.clone(), format!("fix: {}", e.fix)] {
        assert!(shown.contains(&part), "Display should contain {part:?}: {shown}");
    }
}

#[test]
fn syntax_error_names_line_and_column() {
    let (_d, file, e) = load_err("{\n  \"sidecars\": [\n    { \"name\": \"a\" \"command\": \"x\" }\n  ]\n}\n");
    check(&file, &e, "line 3, column 19", &["invalid JSON"], "JSON syntax");
    let (_d, file, e) = load_err("{ \"sidecars\": ["); // truncated
    check(&file, &e, "line 1, column 15", &["invalid JSON"], "JSON syntax");
}

#[test]
fn unknown_field_is_named_with_its_path_at_any_level() {
    let (_d, file, e) = load_err(&profile("", r#"{ "name": "a", "command": "x", "prot": "auto" }"#));
    check(&file, &e, "$.sidecars[0].prot", &["unknown field `prot`", "expected one of", "`port`"], "spelling");
    let (_d, file, e) = load_err(&profile(r#""moed": "remote_slim","#, r#"{ "name": "a", "command": "x" }"#));
    check(&file, &e, "$.moed", &["unknown field `moed`", "`mode`"], "spelling");
}

#[test]
fn wrong_type_names_the_field() {
    let (_d, file, e) = load_err(&profile("", r#"{ "name": "a", "command": "x", "replicas": "two" }"#));
    check(&file, &e, "$.sidecars[0].replicas", &["invalid type", "two"], "type");
}

#[test]
fn missing_command_is_named() {
    let (_d, file, e) = load_err(&profile("", r#"{ "name": "a" }"#));
    check(&file, &e, "$.sidecars[0]", &["missing field", "command"], "add the field");
}

#[test]
fn bad_port_value_or_out_of_range_port_says_what_is_allowed() {
    let (_d, file, e) = load_err(&profile("", r#"{ "name": "a", "command": "x", "port": "whatever" }"#));
    check(&file, &e, "$.sidecars[0].port", &[], r#""auto", "announce" or a port number"#);
    let (_d, file, e) = load_err(&profile("", r#"{ "name": "a", "command": "x", "port": 70000 }"#));
    check(&file, &e, "$.sidecars[0].port", &[], "1 to 65535");
}

#[test]
fn bad_mode_says_what_is_allowed() {
    let (_d, file, e) = load_err(&profile(r#""mode": "fullstack","#, r#"{ "name": "a", "command": "x" }"#));
    check(&file, &e, "$.mode", &["fullstack"], "local_fullstack");
}

#[test]
fn dependency_cycle_shows_the_chain() {
    let (_d, file, e) = load_err(&profile(
        "",
        r#"{ "name": "a", "command": "x", "depends_on": ["b"] },
           { "name": "b", "command": "x", "depends_on": ["a"] }"#,
    ));
    check(&file, &e, "$.sidecars[1].depends_on[0]", &["dependency cycle: a → b → a"], "remove one");
}

#[test]
fn longer_cycle_shows_every_link() {
    let (_d, file, e) = load_err(&profile(
        "",
        r#"{ "name": "root", "command": "x", "depends_on": ["a"] },
           { "name": "a", "command": "x", "depends_on": ["b"] },
           { "name": "b", "command": "x", "depends_on": ["c"] },
           { "name": "c", "command": "x", "depends_on": ["a"] }"#,
    ));
    check(&file, &e, "$.sidecars[3].depends_on[0]", &["dependency cycle: a → b → c → a"], "remove one");
    assert!(!e.message.contains("root"), "root is not part of the cycle: {e}");
}

#[test]
fn self_dependency_is_rejected() {
    let (_d, file, e) = load_err(&profile("", r#"{ "name": "a", "command": "x", "depends_on": ["a"] }"#));
    check(&file, &e, "$.sidecars[0].depends_on[0]", &["depends on itself"], "remove it");
}

#[test]
fn unknown_dependency_lists_the_known_names() {
    let (_d, file, e) = load_err(&profile(
        "",
        r#"{ "name": "db", "command": "x" },
           { "name": "api", "command": "x", "depends_on": ["db", "databse"] }"#,
    ));
    check(&file, &e, "$.sidecars[1].depends_on[1]", &["unknown dependency `databse`"], "api, db");
}

#[test]
fn duplicate_name_points_at_both() {
    let (_d, file, e) = load_err(&profile(
        "",
        r#"{ "name": "api", "command": "x" }, { "name": "db", "command": "x" }, { "name": "api", "command": "y" }"#,
    ));
    check(&file, &e, "$.sidecars[2].name", &["duplicate sidecar name `api`", "$.sidecars[0]"], "replicas");
}

#[test]
fn invalid_name_is_rejected() {
    let (_d, file, e) = load_err(&profile("", r#"{ "name": "My API", "command": "x" }"#));
    check(&file, &e, "$.sidecars[0].name", &["invalid sidecar name"], "lowercase");
}

#[test]
fn search_path_entries_are_checked() {
    let (_d, file, e) =
        load_err(&profile("", r#"{ "name": "a", "command": "x", "search_path": ["/opt/x/bin", "~/bin"] }"#));
    check(&file, &e, "$.sidecars[0].search_path[1]", &["~/bin", "not expanded"], "absolute path");
    let (_d, file, e) =
        load_err(&profile("", r#"{ "name": "a", "command": "x", "search_path": [{ "command": " ", "args": [] }] }"#));
    check(&file, &e, "$.sidecars[0].search_path[0].command", &["empty"], "remove the entry");
    let (_d, file, e) = load_err(&profile("", r#"{ "name": "a", "command": "x", "search_path": [{ "cmd": "y" }] }"#));
    assert!(e.path.starts_with("$.sidecars[0].search_path"), "{e}");
    assert_eq!(e.source, file.display().to_string());
}

#[test]
fn the_postgres_profile_of_the_docs_loads() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "profile.json", &profile("", POSTGRES));
    let p = load_profile(&file).unwrap_or_else(|e| panic!("{e}"));
    let s = &p.sidecars[0];
    use sidecar_supervisor_core::profile::{SearchPathCommand, SearchPathEntry};
    assert_eq!(
        s.search_path,
        [
            SearchPathEntry::Command(SearchPathCommand { command: "pg_config".into(), args: vec!["--bindir".into()] }),
            SearchPathEntry::Dir("/usr/lib/postgresql/*/bin".into()),
        ]
    );
    assert!(s.install_hint.as_deref().is_some_and(|h| h.starts_with("PostgreSQL is not installed")));
}

const POSTGRES: &str = r#"{ "name": "database", "role": "database", "command": "postgres",
  "search_path": [ {"command": "pg_config", "args": ["--bindir"]}, "/usr/lib/postgresql/*/bin" ],
  "install_hint": "PostgreSQL is not installed: run `sudo apt install postgresql` (Debian/Ubuntu) or set POSTGRES_BIN to the postgres executable",
  "args": ["-D", "{sidecar_data_dir}/pg", "-p", "{port}", "-h", "127.0.0.1", "-k", "{sidecar_data_dir}/pg"],
  "prepare": { "command": "initdb", "args": ["-D", "{sidecar_data_dir}/pg", "-U", "app", "-A", "trust"], "unless_exists": "{sidecar_data_dir}/pg/PG_VERSION" },
  "port": "auto", "user": "postgres", "stop_signal": "SIGINT",
  "ready": { "exec": { "command": "pg_isready", "args": ["-h", "127.0.0.1", "-p", "{port}"] } } }"#;

#[test]
fn plain_http_remote_url_is_rejected() {
    let (_d, file, e) = load_err(&profile(
        r#""mode": "remote_slim", "backend_url": "http://example.com","#,
        r#"{ "name": "ui", "command": "x" }"#,
    ));
    check(&file, &e, "$.backend_url", &["example.com"], "https://");
}

#[test]
fn loopback_http_remote_url_is_accepted() {
    for url in ["http://127.0.0.1:8080", "http://localhost/api", "http://[::1]:9000", "https://example.com"] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("profile.json");
        let json =
            profile(&format!(r#""mode": "remote_slim", "backend_url": "{url}","#), r#"{"name":"a","command":"x"}"#);
        std::fs::write(&file, json).unwrap();
        load_profile(&file).unwrap_or_else(|e| panic!("{url} should be accepted: {e}"));
    }
}

#[test]
fn remote_slim_without_backend_url() {
    let (_d, file, e) = load_err(&profile(r#""mode": "remote_slim","#, r#"{ "name": "ui", "command": "x" }"#));
    check(&file, &e, "$.backend_url", &["remote_slim", "backend_url"], "BACKEND_URL");
}

#[test]
fn template_referencing_a_non_dependency() {
    let (_d, file, e) = load_err(&profile(
        "",
        r#"{ "name": "database", "command": "x", "port": "auto" },
           { "name": "api", "command": "x", "env": { "DATABASE_URL": "pg://127.0.0.1:{database.port}/app" } }"#,
    ));
    check(&file, &e, "$.sidecars[1].env.DATABASE_URL", &["database", "not in depends_on"], "depends_on");
}

#[test]
fn own_port_placeholder_without_a_port() {
    let (_d, file, e) = load_err(&profile("", r#"{ "name": "a", "command": "x", "args": ["-p", "{port}"] }"#));
    check(&file, &e, "$.sidecars[0].args[1]", &["{port}", "no port"], r#""port": "auto""#);
}

#[test]
fn unknown_placeholder_is_rejected() {
    let (_d, file, e) = load_err(&profile("", r#"{ "name": "a", "command": "x", "args": ["{prot}"] }"#));
    check(&file, &e, "$.sidecars[0].args[0]", &["{prot}", "not a known placeholder"], "placeholder");
}

#[test]
fn postgres_probe_needs_a_role_and_a_port() {
    let (_d, file, e) =
        load_err(&profile("", r#"{ "name": "a", "command": "x", "port": "auto", "ready": { "postgres": "" } }"#));
    check(&file, &e, "$.sidecars[0].ready", &["postgres probe role", "not a role name"], "\"postgres\": \"app\"");
    let (_d, file, e) = load_err(&profile("", r#"{ "name": "a", "command": "x", "ready": { "postgres": "app" } }"#));
    check(&file, &e, "$.sidecars[0].ready", &["declares no port"], "port");
}

#[test]
fn a_bundled_search_path_entry_stays_inside_the_bundle() {
    let (_d, file, e) = load_err(&profile(
        "",
        r#"{ "name": "a", "command": "x", "search_path": [ { "bundled": "../elsewhere/bin" } ] }"#,
    ));
    check(
        &file,
        &e,
        "$.sidecars[0].search_path[0].bundled",
        &["../elsewhere/bin", "not a directory inside the bundle"],
        "relative",
    );
    // The same verdict whatever OS reads the profile: roots, drive letters, `..` between
    // either separator.
    for outside in ["/opt/pg/bin", "C:/pg/bin", "pg\\..\\..\\bin", "\\\\server\\pg"] {
        let entry = serde_json::json!({ "name": "a", "command": "x", "search_path": [ { "bundled": outside } ] });
        let (_d, _file, e) = load_err(&profile("", &entry.to_string()));
        assert!(e.message.contains("not a directory inside the bundle"), "{outside}: {e}");
    }
    let inside = r#"{ "name": "a", "command": "x", "search_path": [ { "bundled": "postgres/bin" } ] }"#;
    let d = tempfile::tempdir().unwrap();
    load_profile(&write(d.path(), "p.json", &profile("", inside))).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn probe_with_two_kinds() {
    let (_d, file, e) = load_err(&profile(
        "",
        r#"{ "name": "a", "command": "x", "port": "auto", "ready": { "http": "/health/ready", "tcp": true } }"#,
    ));
    check(&file, &e, "$.sidecars[0].ready", &["exactly one of", "found 2"], "http");
}

#[test]
fn port_probe_without_a_port() {
    let (_d, file, e) = load_err(&profile("", r#"{ "name": "a", "command": "x", "live": { "tcp": true } }"#));
    check(&file, &e, "$.sidecars[0].live", &["declares no port"], "port");
}

#[test]
fn stdout_line_cannot_be_a_liveness_probe() {
    let (_d, file, e) = load_err(&profile("", r#"{ "name": "a", "command": "x", "live": { "stdout": "UP" } }"#));
    check(&file, &e, "$.sidecars[0].live.stdout", &["readiness once"], "liveness");
}

#[test]
fn absurd_restart_budget_is_rejected_not_a_crash() {
    // 4294967295 once overflowed the backoff clamp and panicked at start.
    let (_d, file, e) =
        load_err(&profile(r#""restart": { "max_restarts": 4294967295 },"#, r#"{ "name": "a", "command": "x" }"#));
    check(&file, &e, "$.restart.max_restarts", &["4294967295"], "at most 10000");
    let (_d, file, e) =
        load_err(&profile("", r#"{ "name": "a", "command": "x", "restart": { "max_restarts": 20000 } }"#));
    check(&file, &e, "$.sidecars[0].restart.max_restarts", &["20000"], "at most 10000");
}

// ---- what no OS can start ----

// A NUL byte fails only at spawn otherwise ("nul byte found in provided data"). In the JSON
// below, `\u0000` (raw strings) is how a profile spells it.

const NO_NUL: &str = "no operating system can pass a NUL";

#[test]
fn nul_byte_in_an_argument_is_rejected() {
    let (_d, file, e) =
        load_err(&profile("", r#"{ "name": "a", "command": "x", "args": ["-D", "/data", "a\u0000b"] }"#));
    check(&file, &e, "$.sidecars[0].args[2]", &[r#""a\u0000b""#, r"contains a NUL byte (\u0000)"], NO_NUL);
}

#[test]
fn nul_byte_in_an_env_value_is_rejected() {
    let (_d, file, e) =
        load_err(&profile("", r#"{ "name": "a", "command": "x", "env": { "OK": "1", "BAD": "x\u0000" } }"#));
    check(&file, &e, "$.sidecars[0].env.BAD", &[r#""x\u0000""#, "NUL byte"], NO_NUL);
}

#[test]
fn nul_byte_in_cwd_is_rejected() {
    let (_d, file, e) = load_err(&profile("", r#"{ "name": "a", "command": "x", "cwd": "/srv/\u0000app" }"#));
    check(&file, &e, "$.sidecars[0].cwd", &[r#""/srv/\u0000app""#, "NUL byte"], NO_NUL);
}

#[test]
fn nul_byte_is_rejected_in_every_command_argument_env_and_path_field() {
    let nul = r"\u0000";
    let cases = [
        (format!(r#""command": "x{nul}""#), "command"),
        (format!(r#""command": "x", "search_path": ["/opt/{nul}"]"#), "search_path[0]"),
        (format!(r#""command": "x", "search_path": [{{ "command": "c{nul}" }}]"#), "search_path[0].command"),
        (
            format!(r#""command": "x", "search_path": ["/a", {{ "command": "c", "args": ["-", "{nul}"] }}]"#),
            "search_path[1].args[1]",
        ),
        (format!(r#""command": "x", "env": {{ "A{nul}B": "1" }}"#), r#"env["A\u0000B"]"#),
        (format!(r#""command": "x", "prepare": {{ "command": "init{nul}" }}"#), "prepare.command"),
        (format!(r#""command": "x", "prepare": {{ "command": "i", "args": ["{nul}"] }}"#), "prepare.args[0]"),
        (
            format!(r#""command": "x", "prepare": {{ "command": "i", "unless_exists": "/{nul}" }}"#),
            "prepare.unless_exists",
        ),
        (format!(r#""command": "x", "ready": {{ "exec": {{ "command": "p{nul}" }} }}"#), "ready.exec.command"),
        (
            format!(r#""command": "x", "live": {{ "exec": {{ "command": "p", "args": ["{nul}"] }} }}"#),
            "live.exec.args[0]",
        ),
        (format!(r#""command": "x", "user": "postgres{nul}""#), "user"),
    ];
    for (fields, path) in cases {
        let (_d, file, e) = load_err(&profile("", &format!(r#"{{ "name": "a", {fields} }}"#)));
        check(&file, &e, &format!("$.sidecars[0].{path}"), &["NUL byte"], NO_NUL);
    }
    let (_d, file, e) = load_err(&profile(r#""data_dir": "state\u0000","#, ONE));
    check(&file, &e, "$.data_dir", &["NUL byte"], NO_NUL);
}

#[test]
fn env_name_with_equals_sign_is_rejected() {
    // Accepted before, and the child saw `X` set to `Y=1`.
    let (_d, file, e) = load_err(&profile("", r#"{ "name": "a", "command": "x", "env": { "X=Y": "1" } }"#));
    check(&file, &e, "$.sidecars[0].env.X=Y", &[r#""X=Y""#, "contains `=`"], "cannot be empty or contain `=`");
}

#[test]
fn empty_env_name_is_rejected() {
    let (_d, file, e) = load_err(&profile("", r#"{ "name": "a", "command": "x", "env": { "": "1" } }"#));
    check(&file, &e, r#"$.sidecars[0].env[""]"#, &["empty environment variable name"], "cannot be empty");
}

#[test]
fn absurd_replica_count_is_rejected() {
    let (_d, file, e) = load_err(&profile("", r#"{ "name": "a", "command": "x", "replicas": 100000 }"#));
    check(&file, &e, "$.sidecars[0].replicas", &["100000", "limit of 1000"], "at most 1000");
    let dir = tempfile::tempdir().unwrap();
    let at_limit = write(dir.path(), "p.json", &profile("", r#"{ "name": "a", "command": "x", "replicas": 1000 }"#));
    load_profile(&at_limit).unwrap_or_else(|e| panic!("1000 replicas are allowed: {e}"));
}

#[test]
fn total_unit_count_is_limited() {
    let sidecars = |n: usize| {
        let v: Vec<String> =
            (0..n).map(|i| format!(r#"{{ "name": "s{i}", "command": "x", "replicas": 1000 }}"#)).collect();
        profile("", &v.join(", "))
    };
    let (_d, file, e) = load_err(&sidecars(11));
    check(&file, &e, "$.sidecars", &["11000 units", "limit of 10000"], "at most 10000 units");
    let dir = tempfile::tempdir().unwrap();
    let at_limit = write(dir.path(), "p.json", &sidecars(10));
    load_profile(&at_limit).unwrap_or_else(|e| panic!("10000 units are allowed: {e}"));
}

// ---- a UTF-8 byte order mark (Notepad writes one) ----

const BOM: &str = "\u{FEFF}";

#[test]
fn profile_saved_with_a_byte_order_mark_loads() {
    let d = tempfile::tempdir().unwrap();
    let text = format!("{BOM}{}", profile("", ONE));
    let file = write(d.path(), "profile.json", &text);
    assert!(std::fs::read(&file).unwrap().starts_with(&[0xEF, 0xBB, 0xBF]));
    let p = load_profile(&file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.sidecars[0].name, "a");
    assert_eq!(
        parse_profile(&file, &text, sidecar_supervisor_core::testing::internals::platform::host().os)
            .unwrap_or_else(|e| panic!("{e}")),
        p
    );
    let cli = Overrides { profile_path: Some(file.clone()), ..Default::default() };
    let c = resolve(&cli, &|_| None, Host::default(), None, APP).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.profile, p);
}

#[test]
fn syntax_error_after_a_byte_order_mark_names_the_line_and_column_the_user_sees() {
    // The same positions as in `syntax_error_names_line_and_column`: the mark is not counted.
    let (_d, file, e) = load_err(&format!("{BOM}{{ \"sidecars\": ["));
    check(&file, &e, "line 1, column 15", &["invalid JSON"], "JSON syntax");
    let (_d, file, e) =
        load_err(&format!("{BOM}{{\n  \"sidecars\": [\n    {{ \"name\": \"a\" \"command\": \"x\" }}\n  ]\n}}\n"));
    check(&file, &e, "line 3, column 19", &["invalid JSON"], "JSON syntax");
    let (_d, file, e) = load_err(&format!("{BOM}{{ \"sidecars\": [] \"mode\": 1 }}"));
    check(&file, &e, "line 1, column 18", &["invalid JSON", "expected `,` or `}`"], "JSON syntax");
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

#[test]
fn checked_in_schema_is_current() {
    let path = repo_root().join("runtime-profile.schema.json");
    let want = sidecar_supervisor_core::profile::schema_json();
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have == want {
        return;
    }
    if std::env::var("UPDATE_SCHEMA").is_ok_and(|v| v == "1") {
        std::fs::write(&path, want).unwrap();
        return;
    }
    panic!(
        "runtime-profile.schema.json is stale: run \
         `UPDATE_SCHEMA=1 cargo test -p sidecar-supervisor-core --test profile_errors`"
    );
}

#[test]
fn example_profile_loads_and_is_the_default_stack() {
    let path = repo_root().join("runtime-profile.example.json");
    let mut p = load_profile(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(!p.sidecars.is_empty());
    assert_eq!(p.schema.as_deref(), Some("./runtime-profile.schema.json"));
    // The example next to the schema is the default profile the app runs, not a second copy
    // left to drift.
    let mut default =
        load_profile(&repo_root().join("profiles/local_fullstack.json")).unwrap_or_else(|e| panic!("{e}"));
    (p.schema, default.schema) = (None, None);
    assert_eq!(p, default, "runtime-profile.example.json differs from profiles/local_fullstack.json");
}

#[test]
fn shipped_profiles_load() {
    for name in ["local_fullstack", "remote_slim", "demo"] {
        let path = repo_root().join(format!("profiles/{name}.json"));
        load_profile(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
