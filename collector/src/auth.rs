//! Read access to stored data. With `STRRAY_READ_TOKEN` set, every endpoint
//! that shows stored data needs it: API clients send it as a bearer token,
//! people log in to the dashboard with it once and get a session cookie.
//!
//! Why a login form and a cookie rather than HTTP basic auth: browsers cache
//! basic-auth credentials for the whole session with no way to log out, show
//! a bare native prompt, and send the secret itself with every request. The
//! cookie carries a derived, expiring value instead (HttpOnly, SameSite=Strict,
//! Secure on https), so the token never sits in the browser, logout works,
//! and no other site can make the browser send it.
//!
//! The session value is `expiry.mac` with `mac = SHA-256(token, expiry)`:
//! stateless, so several collectors behind a load balancer accept each other's
//! sessions, and changing the token ends every session.

use actix_web::HttpRequest;
use actix_web::http::header;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::startup::AppState;

pub const SESSION_COOKIE: &str = "strray_session";
/// How long a dashboard login lasts.
pub const SESSION_SECS: i64 = 12 * 3600;

/// Compares a presented secret with the expected one in time independent of
/// where they differ: equal-length digests compared with `subtle`.
pub fn token_matches(given: &str, expected: &str) -> bool {
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    a.ct_eq(&b).into()
}

fn mac(token: &str, expiry: i64) -> String {
    let mut h = Sha256::new();
    h.update(b"strray-session\0");
    h.update(token.as_bytes());
    h.update(b"\0");
    h.update(expiry.to_string().as_bytes());
    h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
}

/// The cookie value for a login now.
pub fn session_value(token: &str, now: i64) -> String {
    let expiry = now + SESSION_SECS;
    format!("{expiry}.{}", mac(token, expiry))
}

/// A session cookie value is valid when unexpired and made with `token`.
pub fn session_valid(value: &str, token: &str, now: i64) -> bool {
    let Some((exp, given)) = value.split_once('.') else {
        return false;
    };
    let Ok(expiry) = exp.parse::<i64>() else {
        return false;
    };
    // Check the MAC whatever the expiry says, so timing tells nothing.
    let ok = token_matches(given, &mac(token, expiry));
    ok && expiry > now && expiry <= now + SESSION_SECS
}

/// The configured read token, if reads are protected.
pub fn read_token(state: &AppState) -> Option<&str> {
    state
        .settings
        .read_token
        .as_deref()
        .filter(|t| !t.is_empty())
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the request carries a valid dashboard session.
pub fn has_session(req: &HttpRequest, token: &str) -> bool {
    cookie(req, SESSION_COOKIE)
        .is_some_and(|v| session_valid(v, token, chrono::Utc::now().timestamp()))
}

/// Whether the request reached us over https (directly or per a proxy's
/// `Forwarded` / `X-Forwarded-Proto`): the cookie is then marked Secure.
fn is_https(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

/// `Set-Cookie` value that starts a session (`Some`) or ends it (`None`).
pub fn session_cookie(req: &HttpRequest, value: Option<&str>) -> String {
    let secure = if is_https(req) { "; Secure" } else { "" };
    match value {
        Some(v) => format!(
            "{SESSION_COOKIE}={v}; Path=/; Max-Age={SESSION_SECS}; HttpOnly; SameSite=Strict{secure}"
        ),
        None => format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{secure}"),
    }
}

/// A state-changing form post comes from our own pages: its `Origin` (or,
/// without one, `Sec-Fetch-Site`) names this host. Requests without either
/// are not from a browser, so no other site can have caused them.
pub fn same_origin(req: &HttpRequest) -> bool {
    let h = req.headers();
    if let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = req.connection_info().host().to_ascii_lowercase();
        let origin = origin.to_ascii_lowercase();
        return origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest == host);
    }
    match h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => site == "same-origin" || site == "none",
        None => true,
    }
}

/// Access to stored data over the API: open when no read token is set;
/// otherwise the bearer token, or (for `allow_session`) a dashboard session.
pub fn require_read(
    req: &HttpRequest,
    state: &AppState,
    allow_session: bool,
) -> Result<(), ApiError> {
    let Some(token) = read_token(state) else {
        return Ok(());
    };
    match bearer(req) {
        Some(g) if token_matches(g, token) => Ok(()),
        Some(_) => Err(ApiError::Unauthorized("wrong read token".into())),
        None if allow_session && has_session(req, token) => Ok(()),
        None => Err(ApiError::Unauthorized(
            "send Authorization: Bearer <STRRAY_READ_TOKEN>".into(),
        )),
    }
}

/// `/metrics` (Prometheus): open unless `STRRAY_METRICS_TOKEN` is set.
pub fn require_metrics(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let Some(token) = state
        .settings
        .metrics_token
        .as_deref()
        .filter(|t| !t.is_empty())
    else {
        return Ok(());
    };
    match bearer(req) {
        Some(g) if token_matches(g, token) => Ok(()),
        Some(_) => Err(ApiError::Unauthorized("wrong metrics token".into())),
        None => Err(ApiError::Unauthorized(
            "send Authorization: Bearer <STRRAY_METRICS_TOKEN>".into(),
        )),
    }
}

/// Whether the dashboard of `site` may be shown without a login.
pub fn is_public(state: &AppState, site: &str) -> bool {
    state
        .settings
        .public_sites
        .as_deref()
        .is_some_and(|list| list.split(',').any(|s| s.trim() == site))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_belong_to_their_token() {
        let v = session_value("secret", 1_000);
        assert!(session_valid(&v, "secret", 1_000));
        assert!(session_valid(&v, "secret", 1_000 + SESSION_SECS - 1));
        assert!(!session_valid(&v, "secret", 1_000 + SESSION_SECS));
        assert!(!session_valid(&v, "other", 1_000));
        // A forged far expiry with the old MAC fails; so does garbage.
        let (_, m) = v.split_once('.').unwrap_or_default();
        assert!(!session_valid(&format!("99999999999.{m}"), "secret", 1_000));
        assert!(!session_valid("x", "secret", 1_000));
        assert!(!session_valid("1.2.3", "secret", 1_000));
        assert!(token_matches("a", "a") && !token_matches("a", "b") && !token_matches("", "a"));
    }
}
