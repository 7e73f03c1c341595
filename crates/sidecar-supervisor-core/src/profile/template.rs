//! `{placeholder}` templates in args, env, cwd, probes and prepare steps.
//!
//! Own values: `{port}`, `{host}`, `{name}`, `{data_dir}`, `{sidecar_data_dir}`,
//! `{instance_id}`, `{password}`. Another sidecar's: `{database.port}`, `{database.host}`,
//! `{database.url}`, `{database.password}`. `{{` and `}}` are literal braces.
//!
//! `{password}` is a secret the runtime generates for the sidecar at every launch of the
//! runtime (the same for its replicas and restarts, a new one next run), e.g. a database's
//! password that the database's prepare step sets and its clients get in their environment. It
//! is known to the redactor, so it never reaches a log, the feed or diagnostics, and validation
//! allows it only in `env` and a prepare step's `stdin`. The API key is deliberately not a
//! placeholder at all: arguments are visible to every local user in `ps`, so the key travels
//! only in the environment.

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Own(&'a str),
    Other { sidecar: &'a str, field: &'a str },
}

pub const OWN_FIELDS: &[&str] = &["port", "host", "name", "data_dir", "sidecar_data_dir", "instance_id", "password"];
pub const OTHER_FIELDS: &[&str] = &["port", "host", "url", "password"];

/// Whether any template of `spec` uses `sidecar`'s password (`{password}` in its own, or
/// `{sidecar.password}`). Only such sidecars get one: every secret costs the redactor a scan of
/// each log line.
pub fn uses_password_of(spec: &super::model::SidecarSpec, sidecar: &str) -> bool {
    let env = spec.env.values();
    let stdin = spec.prepare.iter().filter_map(|p| p.stdin.as_ref());
    env.chain(stdin).any(|t| {
        parse(t).is_ok_and(|pieces| {
            pieces.iter().any(|p| match p {
                Piece::Own("password") => spec.name == sidecar,
                Piece::Other { sidecar: s, field: "password" } => *s == sidecar,
                _ => false,
            })
        })
    })
}

/// Splits a template into pieces, or says what is wrong with it.
pub fn parse(t: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let bytes = t.as_bytes();
    let mut i = 0;
    let mut start = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                if start < i {
                    out.push(Piece::Text(&t[start..i]));
                }
                out.push(Piece::Text("{"));
                i += 2;
                start = i;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                if start < i {
                    out.push(Piece::Text(&t[start..i]));
                }
                out.push(Piece::Text("}"));
                i += 2;
                start = i;
            }
            b'{' => {
                let end = t[i..]
                    .find('}')
                    .map(|e| i + e)
                    .ok_or_else(|| format!("unclosed `{{` at byte {i} (write `{{{{` for a literal brace)"))?;
                if start < i {
                    out.push(Piece::Text(&t[start..i]));
                }
                let inner = &t[i + 1..end];
                match inner.split_once('.') {
                    Some((s, f)) => {
                        if !OTHER_FIELDS.contains(&f) {
                            return Err(format!(
                                "`{{{inner}}}`: unknown field `{f}` (use {})",
                                OTHER_FIELDS.join(", ")
                            ));
                        }
                        out.push(Piece::Other { sidecar: s, field: f })
                    }
                    None => {
                        if !OWN_FIELDS.contains(&inner) {
                            return Err(format!(
                                "`{{{inner}}}` is not a known placeholder (use {}, or `{{other.port}}`)",
                                OWN_FIELDS.join(", ")
                            ));
                        }
                        out.push(Piece::Own(inner))
                    }
                }
                i = end + 1;
                start = i;
            }
            b'}' => return Err(format!("stray `}}` at byte {i} (write `}}}}` for a literal brace)")),
            _ => i += 1,
        }
    }
    if start < bytes.len() {
        out.push(Piece::Text(&t[start..]));
    }
    Ok(out)
}

/// Renders a template; `lookup` answers placeholders (`None` → error naming it).
pub fn render(t: &str, lookup: &dyn Fn(&Piece<'_>) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(t.len());
    for p in parse(t)? {
        match p {
            Piece::Text(s) => out.push_str(s),
            other => match lookup(&other) {
                Some(v) => out.push_str(&v),
                None => {
                    return Err(match other {
                        Piece::Own(f) => {
                            format!("`{{{f}}}` has no value for this sidecar (no port declared?)")
                        }
                        Piece::Other { sidecar, field } => {
                            format!("`{{{sidecar}.{field}}}` has no value yet (is `{sidecar}` running with a port?)")
                        }
                        Piece::Text(_) => unreachable!(),
                    })
                }
            },
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_own_other_and_escapes() {
        let p = parse("a{port}b{db.port}{{x}}").unwrap();
        assert_eq!(
            p,
            vec![
                Piece::Text("a"),
                Piece::Own("port"),
                Piece::Text("b"),
                Piece::Other { sidecar: "db", field: "port" },
                Piece::Text("{"),
                Piece::Text("x"),
                Piece::Text("}"),
            ]
        );
    }

    #[test]
    fn rejects_unknown_and_unclosed() {
        assert!(parse("{nope}").unwrap_err().contains("not a known placeholder"));
        assert!(parse("{db.pid}").unwrap_err().contains("unknown field"));
        assert!(parse("x{port").unwrap_err().contains("unclosed"));
        assert!(parse("x}").unwrap_err().contains("stray"));
    }

    #[test]
    fn renders_with_lookup() {
        let s = render("postgres://app@127.0.0.1:{database.port}/app", &|p| match p {
            Piece::Other { sidecar: "database", field: "port" } => Some("5433".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s, "postgres://app@127.0.0.1:5433/app");
        assert!(render("{port}", &|_| None).is_err());
    }
}
