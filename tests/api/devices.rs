//! Registering phones for push.

use groundswell::domain::Role;
use serde_json::json;

use crate::helpers::{assert_error, json_with, spawn_app};

#[tokio::test]
async fn registering_the_same_token_again_is_idempotent_and_refreshes_it() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_role(Role::Volunteer).await;
    let device = json!({ "token": "fcm-token-1", "platform": "android" });
    let first = json_with(
        app.post("/api/v1/me/devices", Some(&token), device.clone())
            .await,
        201,
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let second = json_with(
        app.post("/api/v1/me/devices", Some(&token), device).await,
        200,
    )
    .await;
    assert_eq!(first["created_at"], second["created_at"]);
    assert!(second["last_seen_at"].as_str() > first["last_seen_at"].as_str());
    let list = json_with(app.get("/api/v1/me/devices", &token).await, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_token_moves_to_the_latest_user_who_registers_it() {
    let app = spawn_app().await;
    let (_, alice) = app.user_with_role(Role::Volunteer).await;
    let (_, bob) = app.user_with_role(Role::Volunteer).await;
    let device = json!({ "token": "shared-phone", "platform": "ios" });
    assert_eq!(
        app.post("/api/v1/me/devices", Some(&alice), device.clone())
            .await
            .status(),
        201
    );
    assert_eq!(
        app.post("/api/v1/me/devices", Some(&bob), device)
            .await
            .status(),
        201
    );
    let alices = json_with(app.get("/api/v1/me/devices", &alice).await, 200).await;
    assert!(alices["items"].as_array().unwrap().is_empty());
    let bobs = json_with(app.get("/api/v1/me/devices", &bob).await, 200).await;
    assert_eq!(bobs["items"][0]["token"], "shared-phone");

    // Alice cannot remove Bob's device; Bob can, once.
    assert_error(
        app.delete("/api/v1/me/devices/shared-phone", &alice).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        app.delete("/api/v1/me/devices/shared-phone", &bob)
            .await
            .status(),
        204
    );
    assert_error(
        app.delete("/api/v1/me/devices/shared-phone", &bob).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_token_registered_in_another_campaign_leaves_this_one_alone() {
    let app = spawn_app().await;
    let (_, here) = app.user_with_role(Role::Volunteer).await;
    let other = app.create_campaign("Elsewhere");
    app.create_user(other, "there@test.org", Role::Volunteer);
    let there = app.token("there@test.org").await;
    let device = json!({ "token": "phone-9", "platform": "web" });
    assert_eq!(
        app.post("/api/v1/me/devices", Some(&here), device.clone())
            .await
            .status(),
        201
    );
    assert_eq!(
        app.post("/api/v1/me/devices", Some(&there), device)
            .await
            .status(),
        201
    );
    // Each campaign keeps its own row: registering in one writes nothing in the other.
    let mine = json_with(app.get("/api/v1/me/devices", &here).await, 200).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine["items"][0]["token"], "phone-9");
    let theirs = json_with(app.get("/api/v1/me/devices", &there).await, 200).await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1, "{theirs}");
}

#[tokio::test]
async fn device_input_is_validated() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_role(Role::Volunteer).await;
    let bad_platform = json!({ "token": "t", "platform": "symbian" });
    let err = assert_error(
        app.post("/api/v1/me/devices", Some(&token), bad_platform)
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(err["error"]["details"]["field"], "platform");
    let empty = json!({ "token": "", "platform": "ios" });
    let err = assert_error(
        app.post("/api/v1/me/devices", Some(&token), empty).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(err["error"]["details"]["field"], "token");
}

#[tokio::test]
async fn devices_come_a_page_at_a_time() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_role(Role::Volunteer).await;
    for i in 0..3 {
        let device = json!({ "token": format!("phone-{i}"), "platform": "android" });
        assert_eq!(
            app.post("/api/v1/me/devices", Some(&token), device)
                .await
                .status(),
            201
        );
    }
    let first = json_with(app.get("/api/v1/me/devices?limit=2", &token).await, 200).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let after = first["next_after"].as_i64().unwrap();
    let rest = json_with(
        app.get(&format!("/api/v1/me/devices?limit=2&after={after}"), &token)
            .await,
        200,
    )
    .await;
    assert_eq!(rest["items"][0]["token"], "phone-2");
    assert!(rest["next_after"].is_null());
    assert_error(
        app.get("/api/v1/me/devices?limit=500", &token).await,
        422,
        "validation_failed",
    )
    .await;
}
