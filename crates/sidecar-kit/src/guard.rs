//! The gate in front of every request but health (README, "Contract with sidecars"): any local
//! process or web page can reach a loopback port, so each request must carry the per-launch API
//! key (`x-api-key`, or `Authorization: Bearer <key>`), and its Host (or HTTP/2 `:authority`)
//! must be a loopback name, which defeats DNS rebinding.
//!
//! A foreign Host is refused with 403 before the key is looked at; a missing or wrong key gets
//! 401. gRPC requests get the same answer as a gRPC status (`PERMISSION_DENIED`,
//! `UNAUTHENTICATED`) so clients see a clear error rather than a transport failure.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Paths anyone on loopback may call: liveness, readiness, and identity (which proves the key
/// without revealing it, so the runtime need not send the key to whoever holds the port).
pub fn is_public(path: &str) -> bool {
    matches!(path, "/health/live" | "/health/ready" | "/runtime/info" | "/sidecar.v1.Control/Info")
        || path.starts_with("/grpc.health.v1.Health/")
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 403: the Host is not a loopback name.
    ForeignHost(String),
    /// 401: no key, or not this launch's key.
    BadKey(&'static str),
}

impl Refusal {
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::ForeignHost(_) => StatusCode::FORBIDDEN,
            Refusal::BadKey(_) => StatusCode::UNAUTHORIZED,
        }
    }
    pub fn message(&self) -> String {
        match self {
            Refusal::ForeignHost(h) => {
                format!("host `{h}` is not a loopback name; this server answers only 127.0.0.1, localhost and [::1]")
            }
            Refusal::BadKey(why) => format!("{why}: send the launch's API key in the x-api-key header"),
        }
    }
}

/// Checks one request's Host and key against `expected_key` (`None`: every key is refused).
pub fn check(uri: &Uri, headers: &HeaderMap, expected_key: Option<&str>) -> Result<(), Refusal> {
    check_with(uri, headers, expected_key, &[])
}

/// [`check`], accepting the Host names of `public_hosts` too (server mode).
pub fn check_with(
    uri: &Uri,
    headers: &HeaderMap,
    expected_key: Option<&str>,
    public_hosts: &[String],
) -> Result<(), Refusal> {
    let host = uri
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string))
        .ok_or_else(|| Refusal::ForeignHost(String::new()))?;
    if !is_loopback_host(&host) && !is_public_host(&host, public_hosts) {
        return Err(Refusal::ForeignHost(host));
    }
    let given = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
        })
        .ok_or(Refusal::BadKey("no API key"))?;
    match expected_key {
        Some(k) if constant_time_eq(k.as_bytes(), given.as_bytes()) => Ok(()),
        Some(_) => Err(Refusal::BadKey("wrong API key")),
        None => Err(Refusal::BadKey("this sidecar has no API key (SIDECAR_API_KEY unset), so nothing is allowed")),
    }
}

/// `127.0.0.1`, `localhost` or `[::1]`, with or without a port.
pub fn is_loopback_host(authority: &str) -> bool {
    let host = if let Some(rest) = authority.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, after)) if after.is_empty() || after.starts_with(':') => h,
            _ => return false,
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            Some(_) => return false,
            None => authority,
        }
    };
    host.eq_ignore_ascii_case("localhost") || host == "127.0.0.1" || host == "::1"
}

/// `authority` (with or without a port) names one of `public_hosts`.
fn is_public_host(authority: &str, public_hosts: &[String]) -> bool {
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    };
    public_hosts.iter().any(|p| p.eq_ignore_ascii_case(host))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// axum middleware: lets public paths through, checks everything else.
pub async fn middleware(
    key: Option<std::sync::Arc<str>>,
    public_hosts: std::sync::Arc<[String]>,
    req: Request,
    next: Next,
) -> Response {
    if is_public(req.uri().path()) {
        return next.run(req).await;
    }
    match check_with(req.uri(), req.headers(), key.as_deref(), &public_hosts) {
        Ok(()) => next.run(req).await,
        Err(refusal) => refuse(&req, refusal),
    }
}

/// A gRPC call (answered with a gRPC status rather than an HTTP error body).
pub fn is_grpc(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/grpc"))
}

fn refuse(req: &Request, refusal: Refusal) -> Response {
    if is_grpc(req.headers()) {
        let status = match refusal {
            Refusal::ForeignHost(_) => tonic::Status::permission_denied(refusal.message()),
            Refusal::BadKey(_) => tonic::Status::unauthenticated(refusal.message()),
        };
        return status.into_http::<Body>().into_response();
    }
    (refusal.status(), axum::Json(serde_json::json!({ "error": refusal.message() }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn loopback_names_only() {
        for ok in ["127.0.0.1", "127.0.0.1:8080", "localhost", "LOCALHOST:1", "[::1]", "[::1]:9"] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in ["evil.com", "evil.com:80", "127.0.0.1.evil.com", "localhost.evil", "[::1]x", "10.0.0.1", "", "a:b"]
        {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn key_and_host_rules() {
        let uri: Uri = "/api/jobs".parse().unwrap();
        let k = Some("secret");
        assert_eq!(check(&uri, &headers(&[("host", "localhost:1"), ("x-api-key", "secret")]), k), Ok(()));
        assert_eq!(check(&uri, &headers(&[("host", "localhost"), ("authorization", "Bearer secret")]), k), Ok(()));
        let r = check(&uri, &headers(&[("host", "evil.com"), ("x-api-key", "secret")]), k).unwrap_err();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = check(&uri, &headers(&[("host", "127.0.0.1")]), k).unwrap_err();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = check(&uri, &headers(&[("host", "127.0.0.1"), ("x-api-key", "secreT")]), k).unwrap_err();
        assert_eq!(r, Refusal::BadKey("wrong API key"));
        assert!(check(&uri, &headers(&[("host", "127.0.0.1"), ("x-api-key", "")]), None).is_err());
        // Server mode: the deployment's own names too, any port; nothing else.
        let public = ["jobs.example.com".to_string()];
        let h = headers(&[("host", "jobs.example.com:443"), ("x-api-key", "secret")]);
        assert_eq!(check_with(&uri, &h, k, &public), Ok(()));
        assert!(check(&uri, &h, k).is_err(), "not without server mode");
        let h = headers(&[("host", "evil.jobs.example.com"), ("x-api-key", "secret")]);
        assert!(check_with(&uri, &h, k, &public).is_err());
        // HTTP/2: the authority is in the URI.
        let h2: Uri = "http://evil.com/jobs.v1.Jobs/Lease".parse().unwrap();
        assert!(matches!(check(&h2, &headers(&[("x-api-key", "secret")]), k), Err(Refusal::ForeignHost(_))));
        assert!(!r.message().contains("secret"));
    }

    #[test]
    fn health_and_identity_are_public_and_nothing_else() {
        assert!(is_public("/health/live") && is_public("/health/ready"));
        assert!(is_public("/grpc.health.v1.Health/Check") && is_public("/runtime/info"));
        assert!(is_public("/sidecar.v1.Control/Info"));
        assert!(!is_public("/health/ready/x") && !is_public("/sidecar.v1.Control/Shutdown") && !is_public("/api/jobs"));
    }
}
