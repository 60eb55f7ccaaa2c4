//! The `check --collector URL` client: posts the request to a running
//! collector and reads its report back.

use std::time::Duration;

use super::{CheckReport, CheckRequest};

pub async fn remote(
    collector: &str,
    site: &str,
    req: &CheckRequest,
    read_token: Option<&str>,
) -> anyhow::Result<CheckReport> {
    let base = url::Url::parse(collector)
        .map_err(|e| anyhow::anyhow!("--collector {collector:?}: {e}"))?;
    if !matches!(base.scheme(), "http" | "https") {
        anyhow::bail!("--collector must be an http:// or https:// URL");
    }
    let url = base.join(&format!("/v1/sites/{site}/check"))?;
    let mut post = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?
        .post(url)
        .json(req);
    if let Some(t) = read_token.filter(|t| !t.is_empty()) {
        post = post.bearer_auth(t);
    }
    let resp = post.send().await?;
    let status = resp.status();
    let body = resp.bytes().await?;
    if !status.is_success() {
        let msg = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        anyhow::bail!("collector answered {status}: {msg}");
    }
    Ok(serde_json::from_slice(&body)?)
}
