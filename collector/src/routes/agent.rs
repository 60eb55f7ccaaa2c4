//! Serves the agent loader and its wasm module, so a site needs nothing but the
//! script tag. The wasm file name carries a content hash: cached for a year.
//! The loader's URL is stable: cached briefly so agent updates roll out.

use std::path::Path;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};

use crate::startup::AppState;

#[derive(Debug, Default)]
pub struct AgentAssets {
    pub loader: Option<Asset>,
    pub wasm: Option<(String, Asset)>,
}

#[derive(Debug)]
pub struct Asset {
    pub bytes: web::Bytes,
    pub etag: String,
}

impl Asset {
    fn new(bytes: Vec<u8>) -> Asset {
        let digest = Sha256::digest(&bytes);
        let etag = format!(
            "\"{}\"",
            digest
                .iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        Asset {
            bytes: bytes.into(),
            etag,
        }
    }
}

#[derive(serde::Deserialize)]
struct Manifest {
    loader: String,
    wasm: String,
}

impl AgentAssets {
    /// Loads `manifest.json` and the files it names. A missing build is not
    /// fatal: the collector still ingests; the agent URLs answer 404 with a hint.
    pub fn load(dir: &Path) -> AgentAssets {
        let read = || -> anyhow::Result<AgentAssets> {
            let manifest: Manifest =
                serde_json::from_slice(&std::fs::read(dir.join("manifest.json"))?)?;
            let safe = |n: &str| !n.contains('/') && !n.contains("..");
            anyhow::ensure!(
                safe(&manifest.loader) && safe(&manifest.wasm),
                "bad manifest"
            );
            Ok(AgentAssets {
                loader: Some(Asset::new(std::fs::read(dir.join(&manifest.loader))?)),
                wasm: Some((
                    manifest.wasm.clone(),
                    Asset::new(std::fs::read(dir.join(&manifest.wasm))?),
                )),
            })
        };
        match read() {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "agent build not found; run `cargo xtask build-agent`");
                AgentAssets::default()
            }
        }
    }
}

fn serve(req: &HttpRequest, asset: &Asset, content_type: &str, cache: &str) -> HttpResponse {
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == asset.etag));
    let mut resp = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::ETAG, asset.etag.clone()))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        // Pages with COEP can still load us.
        .insert_header(("Cross-Origin-Resource-Policy", "cross-origin"))
        .insert_header(("X-Content-Type-Options", "nosniff"));
    if not_modified {
        resp.finish()
    } else {
        resp.content_type(content_type).body(asset.bytes.clone())
    }
}

fn not_built() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({
        "error": "agent_not_built",
        "message": "the agent has not been built; run `cargo xtask build-agent` and restart the collector"
    }))
}

pub async fn loader(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match &state.agent.loader {
        Some(a) => serve(
            &req,
            a,
            "text/javascript; charset=utf-8",
            "public, max-age=300",
        ),
        None => not_built(),
    }
}

pub async fn wasm(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    match &state.agent.wasm {
        Some((name, a)) if *name == *path => serve(
            &req,
            a,
            "application/wasm",
            "public, max-age=31536000, immutable",
        ),
        Some(_) => HttpResponse::NotFound().json(serde_json::json!({
            "error": "not_found", "message": "no such agent build"
        })),
        None => not_built(),
    }
}
