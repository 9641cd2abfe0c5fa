//! Health, readiness, metrics and the served contract.

use crate::helpers::{json_with, spawn_app};

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(json_with(res, 200).await["status"], "ok");
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(json_with(res, 200).await["status"], "ready");
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_show_the_pool() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    app.get(&format!("/api/v1/users/{}", app.admin_id), &token)
        .await;
    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/api/v1/users/{id}",status="200"}"#
        ),
        "{text}"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("db_pool_connections"), "{text}");
    assert!(
        !text.contains(&format!("/api/v1/users/{}\"", app.admin_id)),
        "raw ids must not become labels"
    );
}

#[tokio::test]
async fn the_contract_is_served_as_json() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    let spec = json_with(res, 200).await;
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(spec["paths"]["/api/v1/auth/login"]["post"].is_object());
}
