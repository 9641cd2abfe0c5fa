//! Every error is JSON of one shape with the right status, and limits are enforced.

use serde_json::json;

use crate::helpers::{assert_error, spawn_app, spawn_app_with};

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_json() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_error(res, 404, "route_not_found").await;
    let res = app.client.put(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(res.headers()["allow"], "GET");
    assert_error(res, 405, "method_not_allowed").await;
    let res = app
        .client
        .put(app.url("/api/v1/users/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["allow"], "GET, PATCH, DELETE");
}

#[tokio::test]
async fn concurrent_writes_queue_instead_of_failing() {
    // SQLite allows one writer; a transaction that read first used to fail at once with
    // "database is locked" (a 500) when another writer got in between.
    let app = spawn_app_with(|s| s.workers = Some(4)).await;
    let token = app.admin_token().await;
    let requests = (0..40).map(|i| {
        app.post(
            "/api/v1/users",
            Some(&token),
            json!({ "email": format!("race-{i}@test.org"), "name": "Race", "role": "volunteer" }),
        )
    });
    let statuses: Vec<u16> = futures_util::future::join_all(requests)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
}

#[tokio::test]
async fn a_patch_may_leave_fields_out_but_not_send_null() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let path = format!("/api/v1/users/{}", app.admin_id);
    for field in ["name", "role", "active"] {
        let body = assert_error(
            app.patch(&path, &token, json!({ field: null })).await,
            422,
            "validation_failed",
        )
        .await;
        assert!(
            body["error"]["message"].as_str().unwrap().contains(field),
            "{body}"
        );
    }
    assert_error(
        app.get("/api/v1/users?region_id=0", &token).await,
        422,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn malformed_bodies_are_400_and_wrong_shapes_422_naming_the_field() {
    let app = spawn_app().await;
    let login = app.url("/api/v1/auth/login");
    let raw = |body: &'static str| {
        app.client
            .post(&login)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_error(raw("{\"email\": ").await.unwrap(), 400, "invalid_json").await;
    let missing = assert_error(
        raw(r#"{"email": "a@b.org"}"#).await.unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(missing["error"]["details"]["field"], "password");
    let wrong_type = assert_error(
        raw(r#"{"email": 7, "password": "x"}"#).await.unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(wrong_type["error"]["details"]["field"], "email");
    let unknown = assert_error(
        raw(r#"{"email": "a@b.org", "password": "x", "admin": true}"#)
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert!(
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .contains("admin")
    );
    let bad_email = assert_error(
        app.login("not-an-email", "x").await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(bad_email["error"]["details"]["field"], "email");

    let res = app
        .client
        .post(&login)
        .body(r#"{"email":"a@b.org","password":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_error(res, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_with_the_limit_named() {
    let app = spawn_app_with(|s| s.max_body_bytes = 2048).await;
    let big = json!({ "email": "a@b.org", "password": "x".repeat(4096) });
    let res = app.post("/api/v1/auth/login", None, big).await;
    let body = assert_error(res, 413, "payload_too_large").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("2048"));
    // Without a Content-Length (chunked), the limit holds while reading.
    let chunks: Vec<Result<String, std::io::Error>> =
        (0..64).map(|_| Ok("x".repeat(100))).collect();
    let stream = futures_util::stream::iter(chunks);
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_error(res, 413, "payload_too_large").await;
}

#[tokio::test]
async fn bad_path_parameters_are_400() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    assert_error(
        app.get("/api/v1/users/abc", &token).await,
        400,
        "bad_request",
    )
    .await;
    assert_error(
        app.get("/api/v1/regions/99999999999999999999", &token)
            .await,
        400,
        "bad_request",
    )
    .await;
    assert_error(
        app.get("/api/v1/users/424242", &token).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn nested_objects_written_as_arrays_are_refused() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    // serde would read a struct from an array of its fields; the contract says object.
    for (path, body) in [
        (
            "/api/v1/experiments",
            json!({ "name": "x", "arms": [{ "script_id": 1, "weight": 1 }, { "script_id": 2, "weight": 1 }], "scope": [null, null] }),
        ),
        (
            "/api/v1/walk-lists",
            json!({ "turf_id": 1, "universe": { "support": [40, 70] } }),
        ),
    ] {
        let err = assert_error(
            app.post(path, Some(&token), body).await,
            422,
            "validation_failed",
        )
        .await;
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .contains("a JSON object"),
            "{path}: {err}"
        );
    }
}
