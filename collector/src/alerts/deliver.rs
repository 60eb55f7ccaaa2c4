//! Webhook delivery: one JSON POST per receiver, each with its own timeout and
//! retries, all receivers concurrently, so a slow or failing one never holds
//! up the others.

use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinSet;

#[derive(Clone, Debug)]
pub struct WebhookConfig {
    pub urls: Vec<String>,
    /// Roots trusted besides the system's (`STRRAY_ALERT_CA_FILE`).
    pub extra_roots: Vec<reqwest::Certificate>,
    pub timeout: Duration,
    /// Extra attempts after the first.
    pub retries: u32,
    /// First retry delay; doubles each retry.
    pub backoff: Duration,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Delivery {
    pub url: String,
    pub ok: bool,
    pub attempts: u32,
    /// Last HTTP status, or the transport error.
    pub result: String,
}

/// Posts `body` to every receiver; returns one result per receiver.
pub async fn deliver(
    client: &reqwest::Client,
    cfg: &WebhookConfig,
    body: &serde_json::Value,
) -> Vec<Delivery> {
    let mut set = JoinSet::new();
    for (i, url) in cfg.urls.iter().enumerate() {
        let (client, url, body, cfg) = (client.clone(), url.clone(), body.clone(), cfg.clone());
        set.spawn(async move { (i, post_with_retries(&client, &cfg, url, &body).await) });
    }
    let mut out: Vec<(usize, Delivery)> = Vec::with_capacity(cfg.urls.len());
    while let Some(r) = set.join_next().await {
        match r {
            Ok(d) => out.push(d),
            Err(e) => tracing::error!(error = %e, "webhook task failed"),
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, d)| d).collect()
}

async fn post_with_retries(
    client: &reqwest::Client,
    cfg: &WebhookConfig,
    url: String,
    body: &serde_json::Value,
) -> Delivery {
    let mut delay = cfg.backoff;
    let mut attempts = 0;
    let mut result = String::new();
    while attempts <= cfg.retries {
        if attempts > 0 {
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
        }
        attempts += 1;
        match client
            .post(&url)
            .timeout(cfg.timeout)
            .json(body)
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => {
                return Delivery {
                    url,
                    ok: true,
                    attempts,
                    result: r.status().as_u16().to_string(),
                };
            }
            Ok(r) => result = r.status().as_u16().to_string(),
            Err(e) => result = e.to_string(),
        }
        tracing::warn!(%url, attempts, %result, "webhook delivery failed");
    }
    Delivery {
        url,
        ok: false,
        attempts,
        result,
    }
}
