//! Semantic checks that the JSON Schema cannot express: unique names, known dependencies, no
//! cycles, templates that reference dependencies, probes that have a port to probe, a safe
//! remote URL, nothing that no OS can start (a NUL byte, an environment variable name with `=`,
//! an absurd replica count). Each error names the JSON path and the fix.

use std::collections::HashMap;
use std::path::Path;

use super::error::ProfileError;
use super::model::{Mode, PortSpec, ProbeSpec, Profile, SearchPathEntry, SidecarSpec};
use super::template::{self, Piece};

/// The most copies of one sidecar (`replicas`).
const MAX_REPLICAS: u32 = 1000;
/// The most units of one profile: `replicas` summed over the sidecars.
const MAX_UNITS: u64 = 10_000;

const NUL_FIX: &str = "remove it: no operating system can pass a NUL in an argument, an environment value or a path";
const ENV_NAME_FIX: &str = "rename the variable: an environment variable name cannot be empty or contain `=` \
     (the OS would read everything up to the first `=` as the name)";

pub fn validate(file: &Path, p: &Profile) -> Result<(), ProfileError> {
    let err = |path: String, msg: String, fix: &str| ProfileError::in_file(file, path, msg, fix);

    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, s) in p.sidecars.iter().enumerate() {
        let at = format!("$.sidecars[{i}].name");
        if s.name.is_empty()
            || !s.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        {
            return Err(err(
                at,
                format!("invalid sidecar name {:?}", s.name),
                "use lowercase letters, digits, `_` and `-` only",
            ));
        }
        if let Some(first) = index.insert(&s.name, i) {
            return Err(err(
                at,
                format!("duplicate sidecar name `{}` (also at $.sidecars[{first}])", s.name),
                "give every sidecar a unique name (use `replicas` for copies)",
            ));
        }
    }

    if let Some(d) = &p.data_dir {
        check_no_nul(file, "$.data_dir".into(), "", d)?;
    }
    if p.max_events == 0 {
        return Err(err("$.max_events".into(), "must be at least 1".into(), "use e.g. 1000"));
    }
    check_restart(file, "$.restart", &p.restart)?;
    if let Some(url) = &p.backend_url {
        check_backend_url(url).map_err(|m| err("$.backend_url".into(), m, BACKEND_URL_FIX))?;
    }
    for (i, s) in p.sidecars.iter().enumerate() {
        check_sidecar(file, i, s, &index)?;
    }
    let units: u64 = p.sidecars.iter().map(|s| u64::from(s.replicas)).sum();
    if units > MAX_UNITS {
        return Err(err(
            "$.sidecars".into(),
            format!("the sidecars add up to {units} units (replicas summed), more than the limit of {MAX_UNITS}"),
            &format!("lower `replicas` so that the sidecars add up to at most {MAX_UNITS} units"),
        ));
    }
    check_cycles(file, p, &index)?;
    check_remote_has_url(file, p)
}

/// Every check of [`validate`] but the one that `--runtime-mode` / `RUNTIME_MODE` and
/// `--backend-url` / `BACKEND_URL` can settle (`remote_slim` needs a backend_url): settings
/// resolution applies the overrides first, then makes that check itself.
pub(crate) fn validate_overridable(file: &Path, p: &Profile) -> Result<(), ProfileError> {
    let mut p = p.clone();
    p.mode = Mode::LocalFullstack;
    validate(file, &p)
}

fn check_remote_has_url(file: &Path, p: &Profile) -> Result<(), ProfileError> {
    if p.mode == Mode::RemoteSlim && p.backend_url.is_none() {
        return Err(ProfileError::in_file(
            file,
            "$.backend_url",
            "mode `remote_slim` needs a backend_url",
            "set backend_url to the remote backend (https://...), or BACKEND_URL, or pass --backend-url",
        ));
    }
    Ok(())
}

pub(crate) const BACKEND_URL_FIX: &str =
    "use an https:// URL (plain http is allowed only for 127.0.0.1, localhost or [::1])";

/// `Ok` when `url` is https, or http to a loopback host.
pub fn check_backend_url(url: &str) -> Result<(), String> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("`{url}` is not an absolute URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(stripped) = host_port.strip_prefix('[') {
        stripped.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    if host.is_empty() {
        return Err(format!("`{url}` has no host"));
    }
    match scheme {
        "https" => Ok(()),
        "http" if matches!(host, "127.0.0.1" | "localhost" | "::1") => Ok(()),
        "http" => Err(format!("plain http to a non-loopback host `{host}` would send the API key unencrypted")),
        other => Err(format!("unsupported scheme `{other}`")),
    }
}

fn check_restart(file: &Path, at: &str, r: &super::model::RestartPolicy) -> Result<(), ProfileError> {
    if r.max_restarts > 10_000 {
        return Err(ProfileError::in_file(
            file,
            format!("{at}.max_restarts"),
            format!("{} restarts per window is not a budget", r.max_restarts),
            "use at most 10000 (the default is 6)",
        ));
    }
    if r.window_secs == 0 {
        return Err(ProfileError::in_file(file, format!("{at}.window_secs"), "must be at least 1", "use e.g. 90"));
    }
    if r.backoff_initial_ms == 0 || r.backoff_max_ms < r.backoff_initial_ms {
        return Err(ProfileError::in_file(
            file,
            format!("{at}.backoff_max_ms"),
            "backoff_initial_ms must be at least 1 and at most backoff_max_ms",
            "use e.g. backoff_initial_ms 100 and backoff_max_ms 5000",
        ));
    }
    Ok(())
}

fn check_sidecar(file: &Path, i: usize, s: &SidecarSpec, index: &HashMap<&str, usize>) -> Result<(), ProfileError> {
    let at = |f: &str| format!("$.sidecars[{i}].{f}");
    let err = |path: String, msg: String, fix: &str| ProfileError::in_file(file, path, msg, fix);

    if s.command.trim().is_empty() {
        return Err(err(at("command"), "empty command".into(), "name the sidecar's executable"));
    }
    check_os_strings(file, i, s)?;
    for (j, entry) in s.search_path.iter().enumerate() {
        let (path, text) = match entry {
            SearchPathEntry::Dir(d) => (at(&format!("search_path[{j}]")), d),
            SearchPathEntry::Command(c) => (at(&format!("search_path[{j}].command")), &c.command),
            SearchPathEntry::Bundled(b) => {
                let path = at(&format!("search_path[{j}].bundled"));
                // Judged the same on every OS (a profile is validated for all three): no root, no
                // drive letter, no `..` between either kind of separator.
                let text = &b.bundled;
                if text.starts_with(['/', '\\']) || text.contains(':') || text.split(['/', '\\']).any(|c| c == "..") {
                    return Err(err(
                        path,
                        format!("`{}` is not a directory inside the bundle", b.bundled),
                        r#"a relative path without `..`, e.g. "postgres/bin""#,
                    ));
                }
                (path, &b.bundled)
            }
        };
        if text.trim().is_empty() {
            return Err(err(path, "empty entry".into(), "name a directory or a command, or remove the entry"));
        }
        if text.starts_with('~') {
            return Err(err(path, format!("`{text}`: `~` is not expanded"), "use an absolute path"));
        }
    }
    if s.replicas == 0 {
        return Err(err(at("replicas"), "must be at least 1".into(), "remove the field for one copy"));
    }
    if s.replicas > MAX_REPLICAS {
        return Err(err(
            at("replicas"),
            format!("{} replicas is more than the limit of {MAX_REPLICAS}", s.replicas),
            &format!("use at most {MAX_REPLICAS} replicas per sidecar"),
        ));
    }
    if s.replicas > 1 && matches!(s.port, Some(PortSpec::Fixed(_))) {
        return Err(err(
            at("port"),
            format!("{} replicas cannot share the fixed port", s.replicas),
            r#"use "auto" or "announce" for replicated sidecars"#,
        ));
    }
    if let Some(PortSpec::Fixed(0)) = s.port {
        return Err(err(
            at("port"),
            "port 0 is not a fixed port".into(),
            r#"use "announce" to let the sidecar bind port 0"#,
        ));
    }
    if let Some(r) = &s.restart {
        check_restart(file, &at("restart"), r)?;
    }
    for (j, d) in s.depends_on.iter().enumerate() {
        let path = at(&format!("depends_on[{j}]"));
        if d == &s.name {
            return Err(err(path, format!("`{}` depends on itself", s.name), "remove it from depends_on"));
        }
        if !index.contains_key(d.as_str()) {
            let known: Vec<&str> = index.keys().copied().collect();
            return Err(err(
                path,
                format!("unknown dependency `{d}`"),
                &format!("depend on one of the declared sidecars: {}", sorted(known).join(", ")),
            ));
        }
    }
    for (name, probe) in [("ready", &s.ready), ("live", &s.live)] {
        if let Some(pr) = probe {
            check_probe(file, &at(name), pr, s.port.is_some())?;
        }
    }
    if s.live.as_ref().is_some_and(|p| p.stdout.is_some()) {
        return Err(err(
            at("live.stdout"),
            "a stdout line can signal readiness once, not liveness".into(),
            "use http, grpc, tcp or exec for a liveness probe",
        ));
    }

    // Templates: syntax, and references only to dependencies (their port is known at spawn).
    let mut templates: Vec<(String, &str)> = Vec::new();
    for (j, a) in s.args.iter().enumerate() {
        templates.push((at(&format!("args[{j}]")), a));
    }
    for (k, v) in &s.env {
        templates.push((env_path(i, k), v));
    }
    if let Some(c) = &s.cwd {
        templates.push((at("cwd"), c));
    }
    if let Some(pg) = &s.postgres {
        if pg.data_dir.trim().is_empty() {
            return Err(err(
                at("postgres.data_dir"),
                "empty path".into(),
                r#"name the cluster's data directory, the one given to `postgres -D`, e.g. "{sidecar_data_dir}/pg""#,
            ));
        }
        templates.push((at("postgres.data_dir"), &pg.data_dir));
        for (field, name) in [("role", pg.role.as_str()), ("database", pg.database())] {
            if name.is_empty() || name.contains('\0') {
                return Err(err(
                    at(&format!("postgres.{field}")),
                    format!("{} is not a {field} name", json_string(name)),
                    r#"name it, e.g. "app""#,
                ));
            }
        }
    }
    for (k, pr) in s.prepare.iter().enumerate() {
        let step = prepare_path(s, k);
        for (j, a) in pr.args.iter().enumerate() {
            templates.push((at(&format!("{step}.args[{j}]")), a));
        }
        if let Some(u) = &pr.unless_exists {
            templates.push((at(&format!("{step}.unless_exists")), u));
        }
        if let Some(t) = &pr.stdin {
            templates.push((at(&format!("{step}.stdin")), t));
        }
    }
    for (name, probe) in [("ready", &s.ready), ("live", &s.live)] {
        if let Some(e) = probe.as_ref().and_then(|p| p.exec.as_ref()) {
            for (j, a) in e.args.iter().enumerate() {
                templates.push((at(&format!("{name}.exec.args[{j}]")), a));
            }
        }
    }
    if let Some(sc) = &s.stop_command {
        if sc.command.trim().is_empty() {
            return Err(err(
                at("stop_command.command"),
                "empty command".into(),
                "name the program that stops the sidecar",
            ));
        }
        for (j, a) in sc.args.iter().enumerate() {
            templates.push((at(&format!("stop_command.args[{j}]")), a));
        }
    }
    for (path, t) in templates {
        let pieces = template::parse(t).map_err(|m| err(path.clone(), m, "fix the placeholder"))?;
        // Where a secret may go: the environment (private to the process's user) and a prepare
        // step's stdin. Arguments, paths and the like are visible to every local user.
        let secret_ok = path.contains(".env.") || path.ends_with(".stdin");
        for piece in pieces {
            match piece {
                Piece::Own("password") | Piece::Other { field: "password", .. } if !secret_ok => {
                    return Err(err(
                        path,
                        "a password placeholder is only allowed in `env` and a prepare step's `stdin`".into(),
                        "pass it in an environment variable: arguments are visible to every local user (ps)",
                    ))
                }
                Piece::Own("port") if s.port.is_none() => {
                    return Err(err(
                        path,
                        "`{port}` is used but the sidecar declares no port".into(),
                        r#"add "port": "auto" (or "announce", or a number)"#,
                    ))
                }
                Piece::Other { sidecar, .. } if !s.depends_on.iter().any(|d| d == sidecar) => {
                    return Err(err(
                        path,
                        format!("`{{{sidecar}.…}}` refers to `{sidecar}`, which is not in depends_on"),
                        &format!("add \"{sidecar}\" to depends_on so its port is known when this sidecar starts"),
                    ))
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// `prepare` for a single step (as written: an object), `prepare[k]` in a list.
fn prepare_path(s: &SidecarSpec, k: usize) -> String {
    if s.prepare.len() == 1 {
        "prepare".into()
    } else {
        format!("prepare[{k}]")
    }
}

/// Everything handed to the OS as an argument, an environment variable or a path: no NUL byte
/// in any of it, and environment variable names that are not empty and have no `=`.
fn check_os_strings(file: &Path, i: usize, s: &SidecarSpec) -> Result<(), ProfileError> {
    let at = |f: &str| format!("$.sidecars[{i}].{f}");
    let mut strings: Vec<(String, &str)> = vec![(at("command"), &s.command)];
    for (j, entry) in s.search_path.iter().enumerate() {
        match entry {
            SearchPathEntry::Dir(d) => strings.push((at(&format!("search_path[{j}]")), d)),
            SearchPathEntry::Bundled(b) => strings.push((at(&format!("search_path[{j}].bundled")), &b.bundled)),
            SearchPathEntry::Command(c) => {
                strings.push((at(&format!("search_path[{j}].command")), &c.command));
                for (k, a) in c.args.iter().enumerate() {
                    strings.push((at(&format!("search_path[{j}].args[{k}]")), a));
                }
            }
        }
    }
    for (j, a) in s.args.iter().enumerate() {
        strings.push((at(&format!("args[{j}]")), a));
    }
    for (k, v) in &s.env {
        let path = env_path(i, k);
        if k.is_empty() {
            return Err(ProfileError::in_file(file, path, "empty environment variable name", ENV_NAME_FIX));
        }
        if k.contains('=') {
            return Err(ProfileError::in_file(
                file,
                path,
                format!("environment variable name {} contains `=`", json_string(k)),
                ENV_NAME_FIX,
            ));
        }
        check_no_nul(file, path.clone(), "the variable name ", k)?;
        strings.push((path, v));
    }
    if let Some(c) = &s.cwd {
        strings.push((at("cwd"), c));
    }
    if let Some(pg) = &s.postgres {
        strings.push((at("postgres.data_dir"), &pg.data_dir));
    }
    if let Some(sc) = &s.stop_command {
        strings.push((at("stop_command.command"), &sc.command));
        for (j, a) in sc.args.iter().enumerate() {
            strings.push((at(&format!("stop_command.args[{j}]")), a));
        }
    }
    for (k, pr) in s.prepare.iter().enumerate() {
        let step = prepare_path(s, k);
        strings.push((at(&format!("{step}.command")), &pr.command));
        for (j, a) in pr.args.iter().enumerate() {
            strings.push((at(&format!("{step}.args[{j}]")), a));
        }
        if let Some(u) = &pr.unless_exists {
            strings.push((at(&format!("{step}.unless_exists")), u));
        }
    }
    for (name, probe) in [("ready", &s.ready), ("live", &s.live)] {
        if let Some(e) = probe.as_ref().and_then(|p| p.exec.as_ref()) {
            strings.push((at(&format!("{name}.exec.command")), &e.command));
            for (j, a) in e.args.iter().enumerate() {
                strings.push((at(&format!("{name}.exec.args[{j}]")), a));
            }
        }
    }
    if let Some(u) = &s.user {
        strings.push((at("user"), u));
    }
    for (path, text) in strings {
        check_no_nul(file, path, "", text)?;
    }
    Ok(())
}

/// `Err` when `text` contains a NUL byte; `what` (e.g. `"the variable name "`) starts the message.
fn check_no_nul(file: &Path, path: String, what: &str, text: &str) -> Result<(), ProfileError> {
    if text.contains('\0') {
        return Err(ProfileError::in_file(
            file,
            path,
            format!("{what}{} contains a NUL byte (\\u0000)", json_string(text)),
            NUL_FIX,
        ));
    }
    Ok(())
}

/// `$.sidecars[i].env.NAME`, or `$.sidecars[i].env["NAME"]` when the name is empty or holds a
/// control character (a NUL, a newline, ...) that would not show in the dotted form.
fn env_path(i: usize, name: &str) -> String {
    if name.is_empty() || name.chars().any(char::is_control) {
        format!("$.sidecars[{i}].env[{}]", json_string(name))
    } else {
        format!("$.sidecars[{i}].env.{name}")
    }
}

/// `s` as a JSON string literal, as it is written in the profile (a NUL shows as `\u0000`).
fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

fn check_probe(file: &Path, at: &str, p: &ProbeSpec, has_port: bool) -> Result<(), ProfileError> {
    let kinds = p.kinds();
    let set: Vec<_> = kinds.iter().filter(|(_, set, _)| *set).collect();
    let err = |m: String, fix: &str| ProfileError::in_file(file, at.to_string(), m, fix);
    if set.len() != 1 {
        let names: Vec<&str> = kinds.iter().map(|(name, _, _)| *name).collect();
        return Err(err(
            format!("a probe needs exactly one of {} (found {})", names.join(", "), set.len()),
            r#"e.g. { "http": "/health/ready" }"#,
        ));
    }
    if let Some(path) = &p.http {
        if !path.starts_with('/') {
            return Err(err(format!("http probe path `{path}` must start with `/`"), r#"e.g. "/health/ready""#));
        }
    }
    if let Some(role) = &p.postgres {
        if role.is_empty() || role.contains('\0') {
            return Err(err(
                format!("postgres probe role {} is not a role name", json_string(role)),
                r#"name the role to ask as, e.g. { "postgres": "app" }"#,
            ));
        }
    }
    if set[0].2 && !has_port {
        return Err(err(
            "this probe connects to the sidecar's port, but the sidecar declares no port".into(),
            r#"add "port": "auto" or "announce" to the sidecar, or use an exec/stdout probe"#,
        ));
    }
    if p.interval_ms == 0 || p.timeout_ms == 0 || p.failure_threshold == 0 {
        return Err(err(
            "interval_ms, timeout_ms and failure_threshold must be at least 1".into(),
            "remove them to use the defaults (1000, 1000, 3)",
        ));
    }
    Ok(())
}

fn check_cycles(file: &Path, p: &Profile, index: &HashMap<&str, usize>) -> Result<(), ProfileError> {
    // Iterative DFS with colours; report the first cycle found as a readable chain.
    let n = p.sidecars.len();
    let mut colour = vec![0u8; n]; // 0 white, 1 grey, 2 black
    for root in 0..n {
        if colour[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        colour[root] = 1;
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            let deps = &p.sidecars[v].depends_on;
            if *next < deps.len() {
                let j = *next;
                *next += 1;
                let w = index[deps[j].as_str()];
                if colour[w] == 1 {
                    let pos = stack.iter().position(|(x, _)| *x == w).unwrap_or(0);
                    let mut chain: Vec<&str> = stack[pos..].iter().map(|(x, _)| p.sidecars[*x].name.as_str()).collect();
                    chain.push(&p.sidecars[w].name);
                    return Err(ProfileError::in_file(
                        file,
                        format!("$.sidecars[{v}].depends_on[{j}]"),
                        format!("dependency cycle: {}", chain.join(" → ")),
                        "remove one of these dependencies so the start order is defined",
                    ));
                }
                if colour[w] == 0 {
                    colour[w] = 1;
                    stack.push((w, 0));
                }
            } else {
                colour[v] = 2;
                stack.pop();
            }
        }
    }
    Ok(())
}

fn sorted(mut v: Vec<&str>) -> Vec<&str> {
    v.sort();
    v
}
