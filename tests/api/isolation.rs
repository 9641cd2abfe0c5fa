//! Nothing crosses campaigns: another campaign's ids are simply not found, and lists
//! show only the caller's campaign.

use groundswell::domain::Role;
use serde_json::json;

use crate::helpers::{assert_error, json_with, spawn_app};

#[tokio::test]
async fn another_campaigns_records_are_invisible_to_every_read_and_write() {
    let app = spawn_app().await;
    let ours = app.admin_token().await;
    let theirs_campaign = app.create_campaign("Rival");
    app.create_user(theirs_campaign, "boss@rival.org", Role::Admin);
    let theirs = app.token("boss@rival.org").await;

    // The rival campaign creates a user, a region, an audit trail and a device.
    let their_user = json_with(
        app.post(
            "/api/v1/users",
            Some(&theirs),
            json!({ "email": "v@rival.org", "name": "V", "role": "volunteer" }),
        )
        .await,
        201,
    )
    .await["user"]["id"]
        .as_i64()
        .unwrap();
    let their_region = json_with(
        app.post(
            "/api/v1/regions",
            Some(&theirs),
            json!({ "name": "Rival Ward" }),
        )
        .await,
        201,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    app.post(
        "/api/v1/me/devices",
        Some(&theirs),
        json!({ "token": "rival-phone", "platform": "ios" }),
    )
    .await;

    // Every get and write by id answers 404, exactly as for an id that does not exist.
    for path in [
        format!("/api/v1/users/{their_user}"),
        format!("/api/v1/regions/{their_region}"),
    ] {
        assert_error(app.get(&path, &ours).await, 404, "not_found").await;
    }
    let user_path = format!("/api/v1/users/{their_user}");
    assert_error(
        app.patch(&user_path, &ours, json!({ "name": "Hijacked" }))
            .await,
        404,
        "not_found",
    )
    .await;
    assert_error(app.delete(&user_path, &ours).await, 404, "not_found").await;
    assert_error(
        app.delete("/api/v1/me/devices/rival-phone", &ours).await,
        404,
        "not_found",
    )
    .await;

    // Lists hold only our own records.
    let users = json_with(app.get("/api/v1/users?limit=200", &ours).await, 200).await;
    assert!(
        users["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["campaign_id"] == app.campaign_id)
    );
    assert_eq!(users["items"].as_array().unwrap().len(), 1);
    let regions = json_with(app.get("/api/v1/regions", &ours).await, 200).await;
    assert!(regions["items"].as_array().unwrap().is_empty());
    let audit = json_with(app.get("/api/v1/audit", &ours).await, 200).await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["target_id"] != their_user)
    );
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);
    let devices = json_with(app.get("/api/v1/me/devices", &ours).await, 200).await;
    assert!(devices["items"].as_array().unwrap().is_empty());

    // Their region cannot be used in our campaign, on create or on update.
    let with_their_region = json!({ "email": "x@test.org", "name": "X", "role": "volunteer", "region_id": their_region });
    let err = assert_error(
        app.post("/api/v1/users", Some(&ours), with_their_region)
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(err["error"]["details"]["field"], "region_id");

    // And the rival's data is intact.
    let still = json_with(app.get(&user_path, &theirs).await, 200).await;
    assert_eq!(still["name"], "V");
    assert_eq!(still["active"], true);
}
