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
    // Every metric family is explained for whoever reads the dashboard.
    let families: std::collections::BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(families.len() >= 5, "{text}");
    for family in families {
        let help = format!("# HELP {family} ");
        let line = text.lines().find(|l| l.starts_with(&help));
        assert!(
            line.is_some_and(|l| l.len() > help.len() + 10),
            "no help text for {family} in {text}"
        );
    }
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

#[tokio::test]
async fn a_statement_that_waits_too_long_is_stopped_with_a_503_and_frees_its_connection() {
    use diesel::connection::SimpleConnection;
    use groundswell::db::{DbConnection, DbManager};
    use serde_json::json;

    let app = crate::helpers::spawn_app_with(|s| {
        s.statement_timeout = std::time::Duration::from_millis(300);
    })
    .await;
    let token = app.admin_token().await;
    // Another session holds the regions table (PostgreSQL) or the write lock (SQLite).
    let mut holder = DbManager::new(&app.db.url).establish().unwrap();
    match &mut holder {
        DbConnection::Postgresql(c) => c
            .batch_execute("BEGIN; LOCK TABLE regions IN ACCESS EXCLUSIVE MODE")
            .unwrap(),
        DbConnection::Sqlite(c) => c.batch_execute("BEGIN IMMEDIATE").unwrap(),
    }
    let res = app
        .post("/api/v1/regions", Some(&token), json!({ "name": "North" }))
        .await;
    let body = crate::helpers::assert_error(res, 503, "unavailable").await;
    assert!(
        body["error"]["message"].as_str().unwrap().contains("retry"),
        "{body}"
    );
    holder.batch_execute("ROLLBACK").unwrap();
    // The stopped request's connection went back to the pool in good order.
    for name in ["North", "South", "East", "West", "Centre"] {
        json_with(
            app.post("/api/v1/regions", Some(&token), json!({ "name": name }))
                .await,
            201,
        )
        .await;
    }
}

#[tokio::test]
async fn servers_starting_together_on_a_new_database_all_come_up() {
    let db = crate::helpers::TestDb::new();
    let starts = (0..3).map(|_| {
        let settings = crate::helpers::test_settings(&db);
        tokio::spawn(groundswell::startup::Application::build(settings))
    });
    for started in futures_util::future::join_all(starts).await {
        let app = started.unwrap();
        assert!(app.is_ok(), "a server failed to start: {:?}", app.err());
    }
}
