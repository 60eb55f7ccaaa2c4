//! Read access: with `STRRAY_READ_TOKEN` set, every endpoint showing stored
//! data needs it (bearer for the API, a login session for the dashboard);
//! public dashboards are a per-site opt-in; `/metrics` has its own token.
//! Access does not depend on the backend, so one (SQLite) is enough here.

use chrono::Utc;
use integration_tests::{Backend, TestApp, metric_row, spawn_app_with};
use reqwest::redirect::Policy;

const TOKEN: &str = "s3cret-read-token";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

async fn app_with_data(public: Option<&str>) -> TestApp {
    let public = public.map(str::to_string);
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.read_token = Some(TOKEN.into());
        s.public_sites = public;
        s.metrics_token = Some("prom-token".into());
    })
    .await;
    let rows: Vec<_> = ["shop", "pub"]
        .iter()
        .flat_map(|site| {
            (0..3).map(move |i| collector::storage::MetricRow {
                site: (*site).into(),
                ..metric_row(&format!("pv{i}"), "LCP", 1000.0, Utc::now())
            })
        })
        .collect();
    app.store.insert_metrics(&rows).await.unwrap();
    app
}

/// (method, path) of every endpoint that shows stored data.
const DATA_API: [(&str, &str); 4] = [
    ("GET", "/v1/sites/shop/metrics"),
    ("GET", "/v1/sites/shop/verdict"),
    ("GET", "/v1/sites/shop/alerts"),
    ("POST", "/v1/sites/shop/check"),
];

async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    auth: Option<&str>,
    cookie: Option<&str>,
) -> reqwest::Response {
    let url = format!("{}{path}", app.address);
    let mut r = match method {
        "POST" => client().post(url).body(""),
        _ => client().get(url),
    };
    if let Some(a) = auth {
        r = r.bearer_auth(a);
    }
    if let Some(c) = cookie {
        r = r.header("Cookie", c);
    }
    r.send().await.unwrap()
}

/// Logs in through the form; returns the `Set-Cookie` header.
async fn login(app: &TestApp, token: &str, proto: Option<&str>) -> reqwest::Response {
    let mut r = client()
        .post(format!("{}/login", app.address))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(&[("token", token), ("next", "/sites/shop?days=7")]));
    if let Some(p) = proto {
        r = r.header("X-Forwarded-Proto", p);
    }
    r.send().await.unwrap()
}

/// An `application/x-www-form-urlencoded` body.
fn form(fields: &[(&str, &str)]) -> String {
    let enc = |v: &str| {
        v.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn set_cookie(r: &reqwest::Response) -> String {
    r.headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn stored_data_needs_the_read_token_everywhere() {
    let app = app_with_data(None).await;
    for (m, p) in DATA_API {
        let r = call(&app, m, p, None, None).await;
        assert_eq!(r.status(), 401, "{m} {p} without credential");
        let r = call(&app, m, p, Some("wrong"), None).await;
        assert_eq!(r.status(), 401, "{m} {p} with a wrong token");
        let r = call(&app, m, p, Some(TOKEN), None).await;
        assert_eq!(r.status(), 200, "{m} {p} with the token");
    }
    // The dashboard: no session → the login form, keeping the page asked for.
    for p in ["/", "/sites/shop?days=7"] {
        let r = call(&app, "GET", p, None, None).await;
        assert_eq!(r.status(), 303, "{p}");
        let to = r.headers()["location"].to_str().unwrap();
        assert!(to.starts_with("/login?next="), "{to}");
        // A bearer token is for the API; the dashboard wants a login.
        let r = call(&app, "GET", p, Some(TOKEN), None).await;
        assert_eq!(r.status(), 303, "{p}");
        // A forged or stale cookie is no session.
        let r = call(&app, "GET", p, None, Some("strray_session=4102444800.00ff")).await;
        assert_eq!(r.status(), 303, "{p}");
    }
    // Prometheus has its own token.
    assert_eq!(
        call(&app, "GET", "/metrics", None, None).await.status(),
        401
    );
    assert_eq!(
        call(&app, "GET", "/metrics", Some(TOKEN), None)
            .await
            .status(),
        401
    );
    assert_eq!(
        call(&app, "GET", "/metrics", Some("prom-token"), None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn login_sets_a_strict_httponly_cookie_and_logout_is_csrf_safe() {
    let app = app_with_data(None).await;
    let r = call(&app, "GET", "/login", None, None).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(
        page.contains(r#"method="post""#) && page.contains(r#"type="password""#),
        "{page}"
    );

    let r = login(&app, "wrong", None).await;
    assert_eq!(r.status(), 401, "a wrong token is refused");
    assert!(set_cookie(&r).is_empty(), "and gets no cookie");

    let r = login(&app, TOKEN, None).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/sites/shop?days=7");
    let c = set_cookie(&r);
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(c.contains(flag), "{flag} missing: {c}");
    }
    assert!(!c.contains("Secure"), "plain http: no Secure flag: {c}");
    assert!(!c.contains(TOKEN), "the cookie is not the token: {c}");
    let cookie = c.split(';').next().unwrap().to_string();

    // Behind an https proxy the cookie is Secure.
    let https = set_cookie(&login(&app, TOKEN, Some("https")).await);
    assert!(https.contains("; Secure"), "{https}");

    // The session opens the dashboard and the GET API.
    for p in ["/", "/sites/shop", "/v1/sites/shop/metrics"] {
        let r = call(&app, "GET", p, None, Some(&cookie)).await;
        assert_eq!(r.status(), 200, "{p} with the session");
    }
    // …but not the POST API (a cookie must not authorise a cross-site POST).
    let r = call(&app, "POST", "/v1/sites/shop/check", None, Some(&cookie)).await;
    assert_eq!(r.status(), 401);

    // Logout: GET does nothing (an <img> cannot log anyone out); a POST
    // from another origin is refused; our own form's POST clears the cookie.
    let r = call(&app, "GET", "/logout", None, Some(&cookie)).await;
    assert!(r.status() == 404 || r.status() == 405, "{}", r.status());
    let r = client()
        .post(format!("{}/logout", app.address))
        .header("Cookie", &cookie)
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(set_cookie(&r).is_empty());
    let own = app.address.clone();
    let r = client()
        .post(format!("{}/logout", app.address))
        .header("Cookie", &cookie)
        .header("Origin", own)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cleared = set_cookie(&r);
    assert!(
        cleared.starts_with("strray_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );

    // The login never sends anyone off-site.
    let r = client()
        .post(format!("{}/login", app.address))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(&[("token", TOKEN), ("next", "//evil.example/")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/");
}

#[tokio::test]
async fn public_dashboards_are_an_explicit_per_site_opt_in() {
    let app = app_with_data(Some("pub")).await;
    let r = call(&app, "GET", "/sites/pub", None, None).await;
    assert_eq!(r.status(), 200, "opted in");
    let r = call(&app, "GET", "/sites/shop", None, None).await;
    assert_eq!(r.status(), 303, "not opted in");
    // The root page lists only the public sites to visitors.
    let r = call(&app, "GET", "/", None, None).await;
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("/sites/pub"), "{body}");
    assert!(!body.contains("/sites/shop"), "{body}");
    // The site's API stays private.
    let r = call(&app, "GET", "/v1/sites/pub/metrics", None, None).await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn without_a_read_token_reads_stay_open() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    app.store
        .insert_metrics(&[metric_row("pv1", "LCP", 1000.0, Utc::now())])
        .await
        .unwrap();
    for p in ["/", "/sites/shop", "/v1/sites/shop/metrics", "/metrics"] {
        assert_eq!(call(&app, "GET", p, None, None).await.status(), 200, "{p}");
    }
}
