//! Invites, users, roles, regions and the audit log.

use groundswell::domain::Role;
use serde_json::json;

use crate::helpers::{PASSWORD, assert_error, json_with, spawn_app};

#[tokio::test]
async fn an_invited_user_sets_a_password_once_and_signs_in() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created = json_with(
        app.post(
            "/api/v1/users",
            Some(&admin),
            json!({ "email": "New.Volunteer@Test.org", "name": "Nia", "role": "volunteer" }),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(created["user"]["email"], "new.volunteer@test.org");
    let code = created["invite_code"].as_str().unwrap().to_owned();
    // No password yet: nobody can sign in as the new user.
    assert_error(
        app.login("new.volunteer@test.org", PASSWORD).await,
        401,
        "unauthorized",
    )
    .await;

    let accept = |password: &str| {
        app.post(
            "/api/v1/auth/accept-invite",
            None,
            json!({ "invite_code": code, "password": password, "name": "Nia Okafor" }),
        )
    };
    let weak = assert_error(accept("short").await, 422, "validation_failed").await;
    assert_eq!(weak["error"]["details"]["field"], "password");
    let tokens = json_with(accept("a long enough password").await, 200).await;
    assert_eq!(tokens["user"]["name"], "Nia Okafor");
    assert_eq!(tokens["user"]["role"], "volunteer");
    assert_eq!(
        app.login("new.volunteer@test.org", "a long enough password")
            .await
            .status(),
        200
    );
    // The code works once.
    assert_error(accept("another long password").await, 404, "not_found").await;
    assert_error(
        app.post(
            "/api/v1/auth/accept-invite",
            None,
            json!({ "invite_code": "1.abc", "password": "whatever long" }),
        )
        .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn the_same_email_twice_in_a_campaign_is_a_conflict() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = json!({ "email": "dup@test.org", "name": "Dup", "role": "volunteer" });
    assert_eq!(
        app.post("/api/v1/users", Some(&admin), body.clone())
            .await
            .status(),
        201
    );
    assert_error(
        app.post("/api/v1/users", Some(&admin), body).await,
        409,
        "conflict",
    )
    .await;
}

#[tokio::test]
async fn nobody_grants_a_role_above_their_own_or_touches_a_superior() {
    let app = spawn_app().await;
    let (organizer_id, organizer) = app.user_with_role(Role::Organizer).await;
    let (volunteer_id, volunteer) = app.user_with_role(Role::Volunteer).await;
    let (director_id, _) = app.user_with_role(Role::Director).await;
    let new_user =
        |role: &str| json!({ "email": format!("{role}-x@test.org"), "name": "X", "role": role });

    assert_error(
        app.post("/api/v1/users", Some(&organizer), new_user("director"))
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_error(
        app.post("/api/v1/users", Some(&organizer), new_user("admin"))
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        app.post("/api/v1/users", Some(&organizer), new_user("organizer"))
            .await
            .status(),
        201
    );
    assert_error(
        app.post("/api/v1/users", Some(&volunteer), new_user("volunteer"))
            .await,
        403,
        "forbidden",
    )
    .await;

    let promote = json!({ "role": "director" });
    let path = format!("/api/v1/users/{volunteer_id}");
    assert_error(
        app.patch(&path, &organizer, promote).await,
        403,
        "forbidden",
    )
    .await;
    let director_path = format!("/api/v1/users/{director_id}");
    assert_error(
        app.patch(&director_path, &organizer, json!({ "name": "Renamed" }))
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_error(
        app.delete(&director_path, &organizer).await,
        403,
        "forbidden",
    )
    .await;
    let own = format!("/api/v1/users/{organizer_id}");
    assert_error(
        app.patch(&own, &organizer, json!({ "role": "organizer" }))
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_error(app.delete(&own, &organizer).await, 403, "forbidden").await;
    // A volunteer may not change anyone, not even themself.
    assert_error(
        app.patch(&path, &volunteer, json!({ "name": "Me" })).await,
        403,
        "forbidden",
    )
    .await;

    // Within their rank, an organizer may promote to organizer.
    let promoted = json_with(
        app.patch(&path, &organizer, json!({ "role": "organizer" }))
            .await,
        200,
    )
    .await;
    assert_eq!(promoted["role"], "organizer");
    // And the stored role is what the next sign-in carries.
    let me = json_with(
        app.get(
            "/api/v1/me",
            &app.token(promoted["email"].as_str().unwrap()).await,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(me["role"], "organizer");
}

#[tokio::test]
async fn volunteers_see_themselves_but_not_the_user_list() {
    let app = spawn_app().await;
    let (volunteer_id, volunteer) = app.user_with_role(Role::Volunteer).await;
    assert_error(app.get("/api/v1/users", &volunteer).await, 403, "forbidden").await;
    assert_error(
        app.get(&format!("/api/v1/users/{}", app.admin_id), &volunteer)
            .await,
        403,
        "forbidden",
    )
    .await;
    let me = json_with(
        app.get(&format!("/api/v1/users/{volunteer_id}"), &volunteer)
            .await,
        200,
    )
    .await;
    assert_eq!(me["id"], volunteer_id);
}

#[tokio::test]
async fn user_lists_page_through_everything_once_and_bound_the_page_size() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for i in 0..6 {
        app.create_user(app.campaign_id, &format!("u{i}@test.org"), Role::Volunteer);
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/users?limit=3".to_owned();
    loop {
        let page = json_with(app.get(&path, &admin).await, 200).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|u| u["id"].as_i64().unwrap()));
        match page["next_after"].as_i64() {
            Some(after) => path = format!("/api/v1/users?limit=3&after={after}"),
            None => break,
        }
    }
    assert_eq!(
        seen.len(),
        7,
        "admin plus six volunteers, each once: {seen:?}"
    );
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted, seen);

    let filtered = json_with(app.get("/api/v1/users?role=admin", &admin).await, 200).await;
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);

    let too_big = assert_error(
        app.get("/api/v1/users?limit=201", &admin).await,
        422,
        "validation_failed",
    )
    .await;
    assert!(
        too_big["error"]["message"]
            .as_str()
            .unwrap()
            .contains("200")
    );
    assert_error(
        app.get("/api/v1/users?limit=0", &admin).await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        app.get("/api/v1/users?after=-5", &admin).await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        app.get("/api/v1/users?limit=lots", &admin).await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        app.get("/api/v1/users?role=king", &admin).await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        app.get("/api/v1/regions?limit=1000", &admin).await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        app.get("/api/v1/audit?limit=1000", &admin).await,
        422,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn regions_are_created_by_directors_with_unique_names() {
    let app = spawn_app().await;
    let (director_id, director) = app.user_with_role(Role::Director).await;
    let (volunteer_id, organizer) = {
        let (v, _) = app.user_with_role(Role::Volunteer).await;
        let (_, o) = app.user_with_role(Role::Organizer).await;
        (v, o)
    };
    let region = json_with(
        app.post(
            "/api/v1/regions",
            Some(&director),
            json!({ "name": "Oberland", "director_id": director_id }),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(region["director_id"], director_id);
    let again = json!({ "name": "Oberland" });
    assert_error(
        app.post("/api/v1/regions", Some(&director), again).await,
        409,
        "conflict",
    )
    .await;
    let by_organizer = json!({ "name": "Unterland" });
    assert_error(
        app.post("/api/v1/regions", Some(&organizer), by_organizer)
            .await,
        403,
        "forbidden",
    )
    .await;
    let bad_director = json!({ "name": "Unterland", "director_id": volunteer_id });
    let err = assert_error(
        app.post("/api/v1/regions", Some(&director), bad_director)
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(err["error"]["details"]["field"], "director_id");

    let id = region["id"].as_i64().unwrap();
    let got = json_with(
        app.get(&format!("/api/v1/regions/{id}"), &organizer).await,
        200,
    )
    .await;
    assert_eq!(got["name"], "Oberland");
    let list = json_with(app.get("/api/v1/regions", &organizer).await, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // A user can be put in the region and taken out again with null.
    let path = format!("/api/v1/users/{volunteer_id}");
    let admin = app.admin_token().await;
    let placed = json_with(
        app.patch(&path, &admin, json!({ "region_id": id })).await,
        200,
    )
    .await;
    assert_eq!(placed["region_id"], id);
    let cleared = json_with(
        app.patch(&path, &admin, json!({ "region_id": null })).await,
        200,
    )
    .await;
    assert!(cleared["region_id"].is_null());
    let err = assert_error(
        app.patch(&path, &admin, json!({ "region_id": 999_999 }))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(err["error"]["details"]["field"], "region_id");
}

#[tokio::test]
async fn every_change_by_staff_is_in_the_audit_log() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created = json_with(
        app.post(
            "/api/v1/users",
            Some(&admin),
            json!({ "email": "a@test.org", "name": "A", "role": "organizer" }),
        )
        .await,
        201,
    )
    .await;
    let user_id = created["user"]["id"].as_i64().unwrap();
    app.post("/api/v1/regions", Some(&admin), json!({ "name": "North" }))
        .await;
    app.patch(
        &format!("/api/v1/users/{user_id}"),
        &admin,
        json!({ "role": "volunteer" }),
    )
    .await;
    app.delete(&format!("/api/v1/users/{user_id}"), &admin)
        .await;

    let log = json_with(app.get("/api/v1/audit", &admin).await, 200).await;
    let entries = log["items"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Newest first; the CLI's creation of the admin is the oldest.
    assert_eq!(
        actions,
        [
            "user.deactivate",
            "user.update",
            "region.create",
            "user.create",
            "user.create"
        ]
    );
    assert_eq!(entries[0]["actor_id"], app.admin_id);
    assert_eq!(entries[0]["target_id"], user_id);
    assert_eq!(entries[1]["details"]["role"], "volunteer");
    assert!(entries[4]["actor_id"].is_null());

    let page = json_with(app.get("/api/v1/audit?limit=2", &admin).await, 200).await;
    let after = page["next_after"].as_i64().unwrap();
    let rest = json_with(
        app.get(&format!("/api/v1/audit?after={after}"), &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 3);

    let (_, organizer) = app.user_with_role(Role::Organizer).await;
    assert_error(app.get("/api/v1/audit", &organizer).await, 403, "forbidden").await;
}
