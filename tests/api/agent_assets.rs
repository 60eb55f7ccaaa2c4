//! The collector serves the agent loader and wasm with the right types,
//! caching and CORS headers, from the directory `cargo xtask build-agent` writes.

use integration_tests::{Backend, spawn_app_with};

#[tokio::test]
async fn agent_files_are_served_with_types_caching_and_cors() {
    let dir = std::env::temp_dir().join(format!("strray-agent-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("agent.js"), "/* loader */").unwrap();
    std::fs::write(dir.join("agent-0123abcd.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(
        dir.join("manifest.json"),
        r#"{"loader":"agent.js","wasm":"agent-0123abcd.wasm"}"#,
    )
    .unwrap();
    let d = dir.clone();
    let app = spawn_app_with(Backend::Sqlite, move |s| s.agent_dir = d).await;

    let js = app
        .client
        .get(format!("{}/v1/agent.js", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status().as_u16(), 200);
    let h = js.headers().clone();
    assert_eq!(h["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h["cache-control"].to_str().unwrap().contains("max-age=300"));
    let etag = h["etag"].to_str().unwrap().to_string();
    assert_eq!(js.text().await.unwrap(), "/* loader */");

    let again = app
        .client
        .get(format!("{}/v1/agent.js", app.address))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 304);

    let wasm = app
        .client
        .get(format!("{}/v1/agent-0123abcd.wasm", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(wasm.status().as_u16(), 200);
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    assert!(
        wasm.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(wasm.bytes().await.unwrap().as_ref(), b"\0asm\x01\0\0\0");

    let other = app
        .client
        .get(format!("{}/v1/agent-ffff.wasm", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 404);
}

#[tokio::test]
async fn a_missing_agent_build_is_a_clear_404() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.agent_dir = "/nonexistent".into()).await;
    let resp = app
        .client
        .get(format!("{}/v1/agent.js", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "agent_not_built");
}
