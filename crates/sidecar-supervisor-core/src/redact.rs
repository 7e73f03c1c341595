//! Removes secrets from text before it reaches events, logs or diagnostics.
//!
//! Sidecars get an API key and connection URLs; their output, our error messages and the
//! diagnostics bundle can echo them back. Everything that is persisted or shown goes through one
//! [`Redactor`], which knows the exact secrets of this run and also recognizes common secret
//! shapes (URL passwords, token query parameters, `Bearer` tokens, `*_KEY=` assignments).
//!
//! It runs on every log line, so it is a single hand-written scan with no allocation when nothing
//! matches (the result is then `Cow::Borrowed`). Matches are collected as byte ranges over the
//! original text; overlapping ranges merge and each becomes one `[redacted]`.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Query parameter names (compared case-insensitively) whose values are secrets.
const QUERY_NAMES: &[&str] =
    &["token", "access_token", "api_key", "apikey", "key", "password", "secret", "sig", "signature"];
/// `NAME=value` assignments whose upper-cased name ends with one of these are secrets...
const ASSIGN_SUFFIXES: &[&str] = &["_KEY", "_TOKEN", "_SECRET", "_PASSWORD"];
/// ...or is exactly one of these.
const ASSIGN_NAMES: &[&str] = &["API_KEY", "PASSWORD", "TOKEN", "SECRET"];

/// Replaces secrets in text. Cheap to clone (shares its list), `Send + Sync`.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Exact secrets, longest first so a secret containing another is replaced whole.
    secrets: Arc<Vec<String>>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secrets themselves.
        f.debug_struct("Redactor").field("secrets", &self.secrets.len()).finish()
    }
}

impl Redactor {
    /// A redactor for these exact secrets. Secrets shorter than 4 characters are ignored: they
    /// would match everywhere and hide ordinary text.
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Redactor {
        let mut list: Vec<String> = secrets.into_iter().filter(|s| s.chars().count() >= 4).collect();
        list.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        list.dedup();
        Redactor { secrets: Arc::new(list) }
    }

    /// A copy that also redacts `secret`.
    pub fn with_secret(&self, secret: impl Into<String>) -> Redactor {
        let mut list = self.secrets.as_ref().clone();
        list.push(secret.into());
        Redactor::new(list)
    }

    /// `text` with every secret replaced by `[redacted]`; borrowed when nothing matched.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut ranges = Vec::new();
        for secret in self.secrets.iter() {
            ranges.extend(text.match_indices(secret.as_str()).map(|(i, s)| i..i + s.len()));
        }
        url_passwords(text, &mut ranges);
        assignments(text, &mut ranges);
        auth_headers(text, &mut ranges);
        if ranges.is_empty() {
            return Cow::Borrowed(text);
        }
        ranges.sort_by_key(|r| r.start);
        let mut out = String::with_capacity(text.len());
        let mut pos = 0;
        let mut iter = ranges.into_iter().peekable();
        while let Some(mut r) = iter.next() {
            while let Some(next) = iter.peek() {
                if next.start > r.end {
                    break;
                }
                r.end = r.end.max(next.end);
                iter.next();
            }
            let start = r.start.max(pos);
            out.push_str(&text[pos..start]);
            out.push_str(REDACTED);
            pos = r.end.max(pos);
        }
        out.push_str(&text[pos..]);
        Cow::Owned(out)
    }
}

/// Records `range` unless it is empty or already a placeholder (keeps redaction idempotent).
fn add(text: &str, range: Range<usize>, out: &mut Vec<Range<usize>>) {
    if !range.is_empty() && &text[range.clone()] != REDACTED {
        out.push(range);
    }
}

/// Bytes that end a URL authority, a value or a token.
fn is_stop(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'<' | b'>' | b'`')
}

/// End of the run starting at `from` that contains no stop byte and none of `extra`.
fn run_end(bytes: &[u8], from: usize, extra: &[u8]) -> usize {
    bytes[from..].iter().position(|&b| is_stop(b) || extra.contains(&b)).map_or(bytes.len(), |p| from + p)
}

/// The password in `scheme://user:password@host`.
fn url_passwords(text: &str, out: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices("://") {
        let start = i + 3;
        let end = run_end(bytes, start, b"/?#");
        let authority = &bytes[start..end];
        let Some(at) = authority.iter().rposition(|&b| b == b'@') else {
            continue;
        };
        if let Some(colon) = authority[..at].iter().position(|&b| b == b':') {
            add(text, start + colon + 1..start + at, out);
        }
    }
}

/// `?token=..`/`&sig=..` query parameters and `SOME_KEY=..` assignments.
fn assignments(text: &str, out: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let mut skip_to = 0;
    for (eq, _) in text.match_indices('=') {
        if eq < skip_to {
            continue; // inside a value already redacted (e.g. base64 padding)
        }
        let name_start =
            bytes[..eq].iter().rposition(|&b| !(b.is_ascii_alphanumeric() || b == b'_')).map_or(0, |p| p + 1);
        if name_start == eq {
            continue;
        }
        let name = &text[name_start..eq];
        let in_query = name_start > 0 && matches!(bytes[name_start - 1], b'?' | b'&');
        let secret = if in_query {
            QUERY_NAMES.iter().any(|n| n.eq_ignore_ascii_case(name)) || is_secret_assignment(name)
        } else {
            is_secret_assignment(name)
        };
        if !secret {
            continue;
        }
        let value = eq + 1;
        let range = match bytes.get(value) {
            Some(&q @ (b'"' | b'\'')) => {
                let end = bytes[value + 1..].iter().position(|&b| b == q).map_or(bytes.len(), |p| value + 1 + p);
                value + 1..end
            }
            _ => value..run_end(bytes, value, if in_query { b"&#" } else { b"" }),
        };
        skip_to = range.end;
        add(text, range, out);
    }
}

fn is_secret_assignment(name: &str) -> bool {
    let n = name.as_bytes();
    ASSIGN_NAMES.iter().any(|s| s.as_bytes().eq_ignore_ascii_case(n))
        || ASSIGN_SUFFIXES
            .iter()
            .any(|s| n.len() >= s.len() && n[n.len() - s.len()..].eq_ignore_ascii_case(s.as_bytes()))
}

/// Position of the next ASCII-case-insensitive `needle` at or after `from`.
fn find_ci(bytes: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if bytes.len() < needle.len() {
        return None;
    }
    (from..=bytes.len() - needle.len()).find(|&i| bytes[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

/// `Authorization: <value>` headers and `Bearer <token>`.
fn auth_headers(text: &str, out: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let word_start = |i: usize| i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
    let mut from = 0;
    while let Some(i) = find_ci(bytes, b"authorization", from) {
        from = i + 1;
        let mut j = i + "authorization".len();
        if !word_start(i) {
            continue;
        }
        if matches!(bytes.get(j), Some(b'"' | b'\'')) {
            j += 1;
        }
        if !matches!(bytes.get(j), Some(b':' | b'=')) {
            continue;
        }
        j += 1;
        while matches!(bytes.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        let end = match bytes.get(j) {
            Some(&q @ (b'"' | b'\'')) => {
                j += 1;
                bytes[j..].iter().position(|&b| b == q).map_or(bytes.len(), |p| j + p)
            }
            _ => bytes[j..].iter().position(|&b| b == b'\n' || b == b'\r').map_or(bytes.len(), |p| j + p),
        };
        // Keep the scheme (`Basic`, `Bearer`) for diagnostics; hide the credentials.
        let scheme_end = run_end(bytes, j, b"");
        if scheme_end < end && bytes[j..scheme_end].iter().all(u8::is_ascii_alphabetic) {
            j = scheme_end + 1;
        }
        add(text, j..end, out);
    }
    from = 0;
    while let Some(i) = find_ci(bytes, b"bearer", from) {
        from = i + 1;
        let mut j = i + "bearer".len();
        if !word_start(i) || !matches!(bytes.get(j), Some(b' ' | b'\t')) {
            continue;
        }
        while matches!(bytes.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        if text[j..].starts_with(REDACTED) {
            continue;
        }
        let end = run_end(bytes, j, b",;)]}");
        let token = &bytes[j..end];
        // "the bearer of bad news" is prose, not a token.
        if token.len() >= 8 || token.iter().any(|b| !b.is_ascii_alphabetic()) {
            add(text, j..end, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r() -> Redactor {
        Redactor::new(["sk-live-123456".to_string(), "abc".to_string()])
    }

    fn check(input: &str, expected: &str) {
        let red = r();
        let got = red.redact(input);
        assert_eq!(got, expected, "input: {input}");
        assert_eq!(red.redact(&got), got, "not idempotent: {input}");
    }

    #[test]
    fn exact_secrets_are_replaced_everywhere() {
        check("key sk-live-123456 and sk-live-123456!", "key [redacted] and [redacted]!");
    }

    #[test]
    fn short_secrets_are_ignored() {
        assert!(matches!(r().redact("abc abc"), Cow::Borrowed("abc abc")));
    }

    #[test]
    fn longer_secret_wins_over_contained_one() {
        let red = Redactor::new(["secret1".to_string(), "secret1-extended".to_string()]);
        assert_eq!(red.redact("x secret1-extended y"), "x [redacted] y");
    }

    #[test]
    fn with_secret_adds_without_touching_original() {
        let base = Redactor::default();
        let more = base.with_secret("hunter22");
        assert_eq!(more.redact("pw hunter22"), "pw [redacted]");
        assert_eq!(base.redact("pw hunter22"), "pw hunter22");
        assert!(!format!("{more:?}").contains("hunter22"));
    }

    #[test]
    fn url_userinfo_password() {
        check("postgres://app:hunter2@host:5432/db", "postgres://app:[redacted]@host:5432/db");
        check("url=\"redis://:pw@127.0.0.1:6379\"", "url=\"redis://:[redacted]@127.0.0.1:6379\"");
        check("http://user@host/path", "http://user@host/path");
        check("http://127.0.0.1:8080/a@b", "http://127.0.0.1:8080/a@b");
    }

    #[test]
    fn query_parameters() {
        check("GET /x?token=abc123&page=2", "GET /x?token=[redacted]&page=2");
        check("https://h/p?a=1&API_KEY=zzz#frag", "https://h/p?a=1&API_KEY=[redacted]#frag");
        check("https://h/p?sig=ab%2Bcd==&Signature=q", "https://h/p?sig=[redacted]&Signature=[redacted]");
        check("/cb?key=k1&keyboard=us&access_token=t", "/cb?key=[redacted]&keyboard=us&access_token=[redacted]");
        check("?client_token=t&x=1", "?client_token=[redacted]&x=1");
    }

    #[test]
    fn bearer_and_authorization() {
        check("Authorization: Bearer eyJhbGci.x.y", "Authorization: Bearer [redacted]");
        check("authorization: Basic dXNlcjpwYXNz", "authorization: Basic [redacted]");
        check("Authorization: s3cr3t-value", "Authorization: [redacted]");
        check("{\"authorization\": \"Basic a b\"}", "{\"authorization\": \"Basic [redacted]\"}");
        check("{\"Authorization\":\"t0k\"}", "{\"Authorization\":\"[redacted]\"}");
        check("sent bearer abc123def, ok", "sent bearer [redacted], ok");
        check("the bearer of bad news", "the bearer of bad news");
    }

    #[test]
    fn env_style_assignments() {
        check("SIDECAR_API_KEY=abcd started", "SIDECAR_API_KEY=[redacted] started");
        check(
            "env PASSWORD=p TOKEN='a b' db_password=x",
            "env PASSWORD=[redacted] TOKEN='[redacted]' db_password=[redacted]",
        );
        check("--secret=xyz --github_token=\"q\"", "--secret=[redacted] --github_token=\"[redacted]\"");
        check("MONKEY=1 KEYS=2 key=3 TOKEN=", "MONKEY=1 KEYS=2 key=3 TOKEN=");
    }

    #[test]
    fn ordinary_lines_are_borrowed() {
        for line in [
            "listening on 127.0.0.1:8080",
            "GET /health/ready 200",
            "GET /search?q=rust&page=2 200 3ms",
            "connected to http://localhost:5432/app",
            "x == y; a=b; level=info msg=\"started\" port=8080",
            "Authorization header missing",
            "héllo wörld = ünïcode",
            "",
        ] {
            assert!(matches!(r().redact(line), Cow::Borrowed(_)), "false positive: {line}");
        }
    }

    #[test]
    fn several_kinds_in_one_line() {
        check(
            "DATABASE_URL=postgres://a:pw@h/db?password=x SIDECAR_API_KEY=sk-live-123456",
            "DATABASE_URL=postgres://a:[redacted]@h/db?password=[redacted] SIDECAR_API_KEY=[redacted]",
        );
    }
}
