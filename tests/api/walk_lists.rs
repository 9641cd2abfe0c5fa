//! Walk lists on the real Liechtenstein doors: the universe decides the doors, the route
//! decides the order, lists are read with ETags, assigned, claimed nearby, expired and
//! re-cut, and no door is ever on two live lists.

use std::collections::{BTreeMap, BTreeSet};

use groundswell::domain::Role;
use groundswell::routing;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, json_with, spawn_app, spawn_app_with};
use crate::turf::seed_liechtenstein;

/// Draws a municipality as a turf and returns its id.
async fn town_turf(app: &TestApp, token: &str, name: &str) -> i64 {
    let town = groundswell::demo::municipalities()
        .unwrap()
        .into_iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no municipality {name}"));
    let created = json_with(
        app.post(
            "/api/v1/turfs",
            Some(token),
            json!({ "name": town.name, "geometry": town.geometry }),
        )
        .await,
        201,
    )
    .await;
    created["id"].as_i64().unwrap()
}

/// Every person of the turf, through the public people endpoint.
async fn people_of_turf(app: &TestApp, token: &str, turf_id: i64) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = json_with(
            app.get(
                &format!("/api/v1/people?turf_id={turf_id}&limit=200&after={after}"),
                token,
            )
            .await,
            200,
        )
        .await;
        all.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_after"].as_i64() {
            Some(next) => after = next,
            None => return all,
        }
    }
}

async fn create_lists(app: &TestApp, token: &str, body: Value) -> Vec<Value> {
    let created = json_with(app.post("/api/v1/walk-lists", Some(token), body).await, 201).await;
    created["items"].as_array().unwrap().clone()
}

async fn read_list(app: &TestApp, token: &str, id: i64) -> Value {
    json_with(
        app.get(&format!("/api/v1/walk-lists/{id}"), token).await,
        200,
    )
    .await
}

fn stop_doors(list: &Value) -> Vec<i64> {
    list["stops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["door_id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_list_of_a_real_turf_holds_exactly_the_universe_in_a_short_route() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    seed_liechtenstein(&app, app.campaign_id);
    let turf = town_turf(&app, &token, "Triesen").await;

    // What the universe should select, worked out from the people themselves.
    let mut expected: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for p in people_of_turf(&app, &token, turf).await {
        let support = p["support_score"].as_f64();
        let suppressed = p["do_not_walk"] == true || p["deceased"] == true || p["moved"] == true;
        if !suppressed && support.is_some_and(|s| (40.0..=70.0).contains(&s)) {
            expected
                .entry(p["door_id"].as_i64().unwrap())
                .or_default()
                .insert(p["id"].as_i64().unwrap());
        }
    }
    assert!(expected.len() > 100, "the universe should be sizeable");

    let lists = create_lists(
        &app,
        &token,
        json!({ "turf_id": turf, "universe": { "support": { "min": 40, "max": 70 } }, "max_doors": 80 }),
    )
    .await;
    let mut seen: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    let mut previous_last: Option<(f64, f64)> = None;
    for summary in &lists {
        assert_eq!(summary["status"], "open");
        let list = read_list(&app, &token, summary["id"].as_i64().unwrap()).await;
        let stops = list["stops"].as_array().unwrap();
        assert!(stops.len() <= 80 && !stops.is_empty());
        assert_eq!(list["door_count"].as_u64().unwrap() as usize, stops.len());
        for (i, stop) in stops.iter().enumerate() {
            assert_eq!(stop["position"].as_u64().unwrap() as usize, i);
            let people: BTreeSet<i64> = stop["people"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_i64().unwrap())
                .collect();
            assert!(
                seen.insert(stop["door_id"].as_i64().unwrap(), people)
                    .is_none(),
                "a door is on two lists"
            );
            assert!(stop["people"][0]["support_band"].is_string());
            assert!(stop["address"]["street"].is_string());
        }
        // Consecutive lists are consecutive stretches of one route: each starts where
        // the previous one ended, not across town.
        let first = &stops[0]["location"];
        let first = (
            first["lat"].as_f64().unwrap(),
            first["lng"].as_f64().unwrap(),
        );
        if let Some(last) = previous_last {
            assert!(
                routing::distance_m(last, first) < 600.0,
                "list {} starts {} m from where the previous ended",
                summary["id"],
                routing::distance_m(last, first)
            );
        }
        let last = &stops[stops.len() - 1]["location"];
        previous_last = Some((last["lat"].as_f64().unwrap(), last["lng"].as_f64().unwrap()));
        assert_eq!(list["result_codes"].as_array().unwrap().len(), 10);
        assert_eq!(list["questions"][0]["key"], "support_id");
    }
    assert_eq!(
        seen, expected,
        "the lists hold exactly the universe's doors and people"
    );

    // The route is much shorter than walking the same doors by street and number.
    let first_list = read_list(&app, &token, lists[0]["id"].as_i64().unwrap()).await;
    let stops: Vec<routing::Stop> = first_list["stops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| routing::Stop {
            lat: s["location"]["lat"].as_f64().unwrap(),
            lng: s["location"]["lng"].as_f64().unwrap(),
            side: None,
        })
        .collect();
    let start = (
        first_list["start"]["lat"].as_f64().unwrap(),
        first_list["start"]["lng"].as_f64().unwrap(),
    );
    let ours: Vec<usize> = (0..stops.len()).collect();
    let mut by_street: Vec<usize> = ours.clone();
    let addr = |i: usize| {
        let a = &first_list["stops"][i]["address"];
        let n: u32 = a["housenumber"]
            .as_str()
            .unwrap()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap_or(0);
        (a["street"].as_str().unwrap().to_owned(), n)
    };
    by_street.sort_by_key(|&i| addr(i));
    let route = routing::path_length_m(&stops, Some(start), &ours);
    let street = routing::path_length_m(&stops, Some(start), &by_street);
    assert!(
        route < 0.8 * street,
        "route {route:.0} m vs street order {street:.0} m"
    );
    let reported = first_list["distance_m"].as_f64().unwrap();
    assert!((reported - route).abs() < 1.0, "{reported} vs {route}");
    assert!(first_list["walking_minutes"].as_f64().unwrap() > 0.0);

    // Every door is taken now: the same universe again finds nothing free.
    let again = app
        .post(
            "/api/v1/walk-lists",
            Some(&token),
            json!({ "turf_id": turf, "universe": { "support": { "min": 40, "max": 70 } } }),
        )
        .await;
    let body = assert_error(again, 422, "validation_failed").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("other live lists")
    );
    // A wider universe only gets the doors still free.
    let rest = create_lists(&app, &token, json!({ "turf_id": turf, "max_doors": 500 })).await;
    for summary in rest {
        let list = read_list(&app, &token, summary["id"].as_i64().unwrap()).await;
        for door in stop_doors(&list) {
            assert!(
                !seen.contains_key(&door),
                "door {door} is on two live lists"
            );
        }
    }
}

#[tokio::test]
async fn bad_walk_list_requests_are_explained() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let (_, volunteer) = app.user_with_role(Role::Volunteer).await;
    let cases = [
        (json!({ "turf_id": 999 }), 422, "validation_failed"),
        (
            json!({ "turf_id": 1, "universe": { "support": { "min": 80, "max": 20 } } }),
            422,
            "validation_failed",
        ),
        (
            json!({ "turf_id": 1, "max_doors": 0 }),
            422,
            "validation_failed",
        ),
        (
            json!({ "turf_id": 1, "max_doors": 501 }),
            422,
            "validation_failed",
        ),
        (
            json!({ "turf_id": 1, "start": { "lat": 91, "lng": 0 } }),
            422,
            "validation_failed",
        ),
        (
            json!({ "turf_id": 1, "universe": { "colour": "red" } }),
            422,
            "validation_failed",
        ),
    ];
    for (body, status, code) in cases {
        let res = app
            .post("/api/v1/walk-lists", Some(&token), body.clone())
            .await;
        let got = res.status().as_u16();
        let text = res.text().await.unwrap();
        assert_eq!(got, status, "{body} -> {text}");
        assert!(text.contains(code), "{body} -> {text}");
    }
    let res = app
        .post(
            "/api/v1/walk-lists",
            Some(&volunteer),
            json!({ "turf_id": 1 }),
        )
        .await;
    assert_error(res, 403, "forbidden").await;
    for path in [
        "/api/v1/walk-lists/nearby?lat=47&lng=9.5&radius_m=50000",
        "/api/v1/walk-lists/nearby?lat=95&lng=9.5",
        "/api/v1/walk-lists/nearby?lat=47&lng=9.5&radius_m=-1",
    ] {
        assert_error(app.get(path, &volunteer).await, 422, "validation_failed").await;
    }
    assert_error(
        app.get("/api/v1/walk-lists/12345", &token).await,
        404,
        "not_found",
    )
    .await;
}

/// A small campaign: one town's lists, an organizer and some volunteers.
struct Field {
    app: TestApp,
    organizer: String,
    lists: Vec<i64>,
}

async fn field(max_doors: u32) -> Field {
    field_with(max_doors, |_| {}).await
}

async fn field_with(
    max_doors: u32,
    adjust: impl FnOnce(&mut groundswell::config::Settings),
) -> Field {
    let app = spawn_app_with(adjust).await;
    let organizer = app.admin_token().await;
    seed_liechtenstein(&app, app.campaign_id);
    let turf = town_turf(&app, &organizer, "Schaan").await;
    let lists = create_lists(
        &app,
        &organizer,
        json!({ "turf_id": turf, "max_doors": max_doors }),
    )
    .await
    .iter()
    .map(|l| l["id"].as_i64().unwrap())
    .collect();
    Field {
        app,
        organizer,
        lists,
    }
}

#[tokio::test]
async fn phones_refresh_cheaply_and_volunteers_see_only_their_lists() {
    let Field {
        app,
        organizer,
        lists,
    } = field(60).await;
    let list = lists[0];
    let path = format!("/api/v1/walk-lists/{list}");
    let (vol_id, volunteer) = app.user_with_role(Role::Volunteer).await;
    let (_, other_volunteer) = app.user_with_role(Role::Volunteer).await;

    // Not assigned yet: the volunteer cannot read it.
    assert_error(app.get(&path, &volunteer).await, 404, "not_found").await;
    let mine = json_with(app.get("/api/v1/me/walk-lists", &volunteer).await, 200).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 0);

    let assigned = app
        .post(
            &format!("{path}/assignments"),
            Some(&organizer),
            json!({ "user_id": vol_id }),
        )
        .await;
    let assigned = json_with(assigned, 201).await;
    assert_eq!(assigned["status"], "assigned");
    assert_eq!(assigned["assignees"], json!([vol_id]));
    // Assigning again changes nothing.
    let again = app
        .post(
            &format!("{path}/assignments"),
            Some(&organizer),
            json!({ "user_id": vol_id }),
        )
        .await;
    assert_eq!(again.status(), 200);

    let res = app.get(&path, &volunteer).await;
    assert_eq!(res.status(), 200);
    let tag = res.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "assigned");
    assert_error(app.get(&path, &other_volunteer).await, 404, "not_found").await;
    let mine = json_with(app.get("/api/v1/me/walk-lists", &volunteer).await, 200).await;
    assert_eq!(mine["items"][0]["id"], list);

    // Same version: 304 without a body.
    let res = app
        .client
        .get(app.url(&path))
        .bearer_auth(&volunteer)
        .header("If-None-Match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), tag);
    assert!(res.text().await.unwrap().is_empty());

    // A change (another assignee) gives a new version, and a full answer.
    let (vol2, _) = app.user_with_role(Role::Volunteer).await;
    json_with(
        app.post(
            &format!("{path}/assignments"),
            Some(&organizer),
            json!({ "user_id": vol2 }),
        )
        .await,
        201,
    )
    .await;
    let res = app
        .client
        .get(app.url(&path))
        .bearer_auth(&volunteer)
        .header("If-None-Match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_ne!(res.headers()["etag"].to_str().unwrap(), tag);

    // Unassigned: the list is gone from the volunteer's phone.
    let res = app
        .delete(&format!("{path}/assignments/{vol_id}"), &organizer)
        .await;
    assert_eq!(res.status(), 204);
    assert_error(app.get(&path, &volunteer).await, 404, "not_found").await;
    assert_error(
        app.delete(&format!("{path}/assignments/{vol_id}"), &organizer)
            .await,
        404,
        "not_found",
    )
    .await;
    // Volunteers cannot assign, and a user of another campaign cannot be assigned.
    assert_error(
        app.post(
            &format!("{path}/assignments"),
            Some(&volunteer),
            json!({ "user_id": vol_id }),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let elsewhere = app.create_campaign("Elsewhere");
    let stranger = app.create_user(elsewhere, "stranger@else.org", Role::Volunteer);
    assert_error(
        app.post(
            &format!("{path}/assignments"),
            Some(&organizer),
            json!({ "user_id": stranger }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    // The other campaign's organizer sees nothing of this one's lists.
    app.create_user(elsewhere, "org@else.org", Role::Organizer);
    let foreign = app.token("org@else.org").await;
    assert_error(app.get(&path, &foreign).await, 404, "not_found").await;
}

#[tokio::test]
async fn of_many_volunteers_claiming_at_once_exactly_one_wins() {
    let Field { app, lists, .. } = field(60).await;
    let list = lists[0];
    let mut volunteers = Vec::new();
    for _ in 0..8 {
        volunteers.push(app.user_with_role(Role::Volunteer).await);
    }
    let claims = volunteers.iter().map(|(_, token)| {
        app.client
            .post(app.url(&format!("/api/v1/walk-lists/{list}/claim")))
            .bearer_auth(token)
            .send()
    });
    let results = futures_util::future::join_all(claims).await;
    let statuses: Vec<u16> = results
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 409).count(),
        7,
        "{statuses:?}"
    );

    let winner = statuses.iter().position(|&s| s == 200).unwrap();
    let (winner_id, winner_token) = &volunteers[winner];
    let (_, loser_token) = &volunteers[(winner + 1) % volunteers.len()];
    let read = read_list(&app, winner_token, list).await;
    assert_eq!(read["claimed_by"], *winner_id);
    assert_eq!(read["status"], "assigned");
    // Only the holder can release; then another volunteer can claim it.
    assert_error(
        app.post(
            &format!("/api/v1/walk-lists/{list}/release"),
            Some(loser_token),
            json!({}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    let res = app
        .post(
            &format!("/api/v1/walk-lists/{list}/release"),
            Some(winner_token),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), 204);
    let res = app
        .post(
            &format!("/api/v1/walk-lists/{list}/claim"),
            Some(loser_token),
            json!({}),
        )
        .await;
    assert_eq!(json_with(res, 200).await["status"], "assigned");
}

#[tokio::test]
async fn nearby_lists_come_nearest_first_and_only_when_claimable() {
    let Field {
        app,
        organizer,
        lists,
    } = field(40).await;
    assert!(lists.len() >= 3);
    let (_, volunteer) = app.user_with_role(Role::Volunteer).await;
    // Stand at the first door of the second list.
    let target = read_list(&app, &organizer, lists[1]).await;
    let here = &target["stops"][0]["location"];
    let (lat, lng) = (here["lat"].as_f64().unwrap(), here["lng"].as_f64().unwrap());
    let near = json_with(
        app.get(
            &format!("/api/v1/walk-lists/nearby?lat={lat}&lng={lng}&radius_m=5000"),
            &volunteer,
        )
        .await,
        200,
    )
    .await;
    let items = near["items"].as_array().unwrap();
    assert_eq!(
        items[0]["id"], lists[1],
        "the list under my feet comes first"
    );
    let distances: Vec<f64> = items
        .iter()
        .map(|i| i["away_m"].as_f64().unwrap())
        .collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    assert!(distances[0] < 200.0);
    let all_ids: BTreeSet<i64> = items.iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(
        all_ids,
        lists.iter().copied().collect(),
        "Schaan fits in 5 km"
    );

    // A small radius finds only what is close.
    let close = json_with(
        app.get(
            &format!("/api/v1/walk-lists/nearby?lat={lat}&lng={lng}&radius_m=100"),
            &volunteer,
        )
        .await,
        200,
    )
    .await;
    assert!(close["items"].as_array().unwrap().len() < lists.len());
    // Far away (Malbun, about 10 km from Schaan): nothing.
    let far = json_with(
        app.get(
            "/api/v1/walk-lists/nearby?lat=47.1013&lng=9.6097&radius_m=500",
            &volunteer,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(far["items"].as_array().unwrap().len(), 0);

    // Once assigned, a list is no longer offered.
    let (someone, _) = app.user_with_role(Role::Volunteer).await;
    json_with(
        app.post(
            &format!("/api/v1/walk-lists/{}/assignments", lists[1]),
            Some(&organizer),
            json!({ "user_id": someone }),
        )
        .await,
        201,
    )
    .await;
    let near = json_with(
        app.get(
            &format!("/api/v1/walk-lists/nearby?lat={lat}&lng={lng}&radius_m=5000"),
            &volunteer,
        )
        .await,
        200,
    )
    .await;
    assert!(
        near["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["id"] != lists[1])
    );
    // And an assigned list cannot be claimed.
    assert_error(
        app.post(
            &format!("/api/v1/walk-lists/{}/claim", lists[1]),
            Some(&volunteer),
            json!({}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
}

#[tokio::test]
async fn expired_lists_return_their_doors_and_tell_the_phone() {
    let Field {
        app,
        organizer,
        lists,
    } = field_with(500, |s| {
        s.walk_list_ttl = std::time::Duration::from_secs(3);
        s.expiry_sweep_interval = std::time::Duration::from_millis(200);
    })
    .await;
    let list = lists[0];
    let (vol_id, volunteer) = app.user_with_role(Role::Volunteer).await;
    json_with(
        app.post(
            &format!("/api/v1/walk-lists/{list}/assignments"),
            Some(&organizer),
            json!({ "user_id": vol_id }),
        )
        .await,
        201,
    )
    .await;
    let before = read_list(&app, &organizer, list).await;
    let turf = before["turf_id"].as_i64().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(4000)).await;

    let after = read_list(&app, &organizer, list).await;
    assert_eq!(after["status"], "expired");
    let mine = json_with(app.get("/api/v1/me/walk-lists", &volunteer).await, 200).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 0);
    // The sweep wrote the expiry message (skipped: the volunteer has no phone).
    let notes = json_with(
        app.get(
            &format!("/api/v1/walk-lists/{list}/notifications"),
            &organizer,
        )
        .await,
        200,
    )
    .await;
    let events: Vec<&str> = notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, vec!["assigned", "expired"]);
    assert!(
        notes["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["state"] == "skipped")
    );
    // An expired list cannot be assigned or claimed, and its doors are free again.
    assert_error(
        app.post(
            &format!("/api/v1/walk-lists/{list}/assignments"),
            Some(&organizer),
            json!({ "user_id": vol_id }),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    let fresh = create_lists(
        &app,
        &organizer,
        json!({ "turf_id": turf, "max_doors": 500 }),
    )
    .await;
    let fresh_doors: BTreeSet<i64> = {
        let mut all = BTreeSet::new();
        for l in &fresh {
            all.extend(stop_doors(
                &read_list(&app, &organizer, l["id"].as_i64().unwrap()).await,
            ));
        }
        all
    };
    let old_doors: BTreeSet<i64> = stop_doors(&before).into_iter().collect();
    assert!(old_doors.is_subset(&fresh_doors));
}

#[tokio::test]
async fn an_organizer_moves_doors_between_lists() {
    let Field {
        app,
        organizer,
        lists,
    } = field(60).await;
    let (from, to) = (lists[0], lists[1]);
    let source = read_list(&app, &organizer, from).await;
    let target = read_list(&app, &organizer, to).await;
    let moving: Vec<i64> = stop_doors(&source).into_iter().take(5).collect();
    let moved = json_with(
        app.post(
            &format!("/api/v1/walk-lists/{from}/move-doors"),
            Some(&organizer),
            json!({ "door_ids": moving, "to_walk_list_id": to }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(moved["items"].as_array().unwrap().len(), 2);
    let source_after = read_list(&app, &organizer, from).await;
    let target_after = read_list(&app, &organizer, to).await;
    let src: BTreeSet<i64> = stop_doors(&source_after).into_iter().collect();
    let dst: BTreeSet<i64> = stop_doors(&target_after).into_iter().collect();
    for d in &moving {
        assert!(!src.contains(d) && dst.contains(d));
    }
    assert_eq!(src.len() + 5, stop_doors(&source).len());
    assert_eq!(dst.len(), stop_doors(&target).len() + 5);
    assert!(source_after["version"].as_i64() > source["version"].as_i64());
    // Both lists are routed again from their starts: each walk's length changed.
    let metres = |list: &serde_json::Value| list["distance_m"].as_f64().unwrap();
    assert_ne!(metres(&target_after), metres(&target));
    assert_ne!(metres(&source_after), metres(&source));
    // The moved doors keep their people.
    let moved_stop = target_after["stops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["door_id"] == moving[0])
        .unwrap();
    assert!(!moved_stop["people"].as_array().unwrap().is_empty());
    // Doors not on the source are refused, by id.
    let res = app
        .post(
            &format!("/api/v1/walk-lists/{from}/move-doors"),
            Some(&organizer),
            json!({ "door_ids": moving, "to_walk_list_id": to }),
        )
        .await;
    assert_error(res, 422, "validation_failed").await;
}

#[tokio::test]
async fn free_doors_are_found_through_the_live_door_index_however_many_lists_are_live() {
    use diesel::RunQueryDsl;
    use groundswell::db::{Backend, DbConnection};
    #[derive(diesel::QueryableByName)]
    struct SqlitePlan {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }
    #[derive(diesel::QueryableByName)]
    struct PgPlan {
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[diesel(column_name = "QUERY PLAN")]
        line: String,
    }
    let app = spawn_app().await;
    let token = app.admin_token().await;
    seed_liechtenstein(&app, app.campaign_id);
    let vaduz = town_turf(&app, &token, "Vaduz").await;
    let schaan = town_turf(&app, &token, "Schaan").await;
    // Thousands of stops live in other lists of the campaign.
    let lists = create_lists(&app, &token, json!({ "turf_id": vaduz, "max_doors": 50 })).await;
    assert!(lists.len() > 5, "{} lists", lists.len());
    let plan: Vec<String> = match app.conn() {
        DbConnection::Sqlite(mut c) => {
            let sql = groundswell::db::walk_lists::free_doors_sql(Backend::Sqlite);
            diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                .bind::<diesel::sql_types::BigInt, _>(app.campaign_id)
                .bind::<diesel::sql_types::BigInt, _>(schaan)
                .load::<SqlitePlan>(&mut c)
                .unwrap()
                .into_iter()
                .map(|p| p.detail)
                .collect()
        }
        DbConnection::Postgresql(mut c) => {
            // A generic plan, as a prepared statement gets after five runs: it cannot
            // rely on the parameters' values.
            let sql = groundswell::db::walk_lists::free_doors_sql(Backend::Postgres);
            diesel::sql_query("SET plan_cache_mode = force_generic_plan")
                .execute(&mut c)
                .unwrap();
            diesel::sql_query("SET enable_seqscan = off")
                .execute(&mut c)
                .unwrap();
            diesel::sql_query(format!("PREPARE free_doors AS {sql}"))
                .execute(&mut c)
                .unwrap();
            // The campaign and the turf, then the zeros of `id + 0`.
            let count = (1..100)
                .take_while(|n| sql.contains(&format!("${n}")))
                .count();
            let mut args = vec![app.campaign_id.to_string(), schaan.to_string()];
            args.resize(count, "0".to_owned());
            diesel::sql_query(format!("EXPLAIN EXECUTE free_doors({})", args.join(", ")))
                .load::<PgPlan>(&mut c)
                .unwrap()
                .into_iter()
                .map(|p| p.line)
                .collect()
        }
    };
    assert!(
        plan.iter()
            .any(|line| line.contains("walk_list_stops_live_door")),
        "the free-doors test does not use the live-door index:\n{}",
        plan.join("\n")
    );
}

/// One knock on a list's stop `i` with `result`, a few minutes ago.
fn knock_on(list: &Value, i: usize, result: &str) -> Value {
    let stop = &list["stops"][i];
    let mut k = json!({
        "client_id": uuid::Uuid::new_v4(),
        "walk_list_id": list["id"],
        "door_id": stop["door_id"],
        "result": result,
        "knocked_at": (chrono::Utc::now() - chrono::Duration::minutes(5)).to_rfc3339(),
    });
    if result == "contacted" {
        k["people"] = json!([{ "person_id": stop["people"][0]["id"] }]);
    }
    k
}

#[tokio::test]
async fn lists_show_how_far_they_got_and_can_be_closed_deleted_or_recycled() {
    let Field {
        app,
        organizer,
        lists,
    } = field(20).await;
    assert!(lists.len() >= 3, "{lists:?}");
    let (vol_id, volunteer) = app.user_with_role(Role::Volunteer).await;
    let (first, second, third) = (lists[0], lists[1], lists[2]);
    json_with(
        app.post(
            &format!("/api/v1/walk-lists/{first}/assignments"),
            Some(&organizer),
            json!({ "user_id": vol_id }),
        )
        .await,
        201,
    )
    .await;
    // Lists are numbered for people, one after another in the campaign.
    let numbers: Vec<i64> = {
        let all = json_with(
            app.get("/api/v1/walk-lists?limit=100", &organizer).await,
            200,
        )
        .await;
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["number"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(numbers, (1..=numbers.len() as i64).collect::<Vec<_>>());

    // Three doors: a conversation, a refusal, nobody home.
    let list = read_list(&app, &organizer, first).await;
    let knocks = vec![
        knock_on(&list, 0, "contacted"),
        knock_on(&list, 1, "refused"),
        knock_on(&list, 2, "not_home"),
    ];
    let sent = json_with(
        app.post(
            "/api/v1/knocks/batch",
            Some(&volunteer),
            json!({ "knocks": knocks }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(sent["created"], 3, "{sent}");
    let list = read_list(&app, &volunteer, first).await;
    let doors = list["door_count"].as_i64().unwrap();
    assert_eq!(list["knocked_doors"], 3);
    assert_eq!(
        list["finished_doors"], 2,
        "not_home leaves the door to knock again"
    );
    assert_eq!(list["contacts"], 1);
    assert_eq!(list["remaining_doors"].as_i64(), Some(doors - 2));
    let stops = list["stops"].as_array().unwrap();
    assert_eq!(
        (
            stops[0]["last_result"].as_str(),
            stops[0]["finished"].as_bool()
        ),
        (Some("contacted"), Some(true))
    );
    assert_eq!(
        (
            stops[2]["last_result"].as_str(),
            stops[2]["finished"].as_bool()
        ),
        (Some("not_home"), Some(false))
    );
    assert!(stops[2]["last_knocked_at"].is_string());
    assert!(stops[3]["last_result"].is_null() && stops[3]["finished"] == false);

    // Volunteers manage no lists; a list with knocks is closed, never deleted.
    assert_error(
        app.post(
            &format!("/api/v1/walk-lists/{first}/close"),
            Some(&volunteer),
            json!({}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_error(
        app.delete(&format!("/api/v1/walk-lists/{first}"), &organizer)
            .await,
        409,
        "conflict",
    )
    .await;

    // Recycling closes the list and routes its unfinished doors as a new one.
    let again = json_with(
        app.post(
            &format!("/api/v1/walk-lists/{first}/recycle"),
            Some(&organizer),
            json!({}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(again["door_count"].as_i64(), Some(doors - 2), "{again}");
    assert!(again["number"].as_i64().unwrap() > *numbers.last().unwrap());
    let old = read_list(&app, &organizer, first).await;
    assert_eq!(old["status"], "closed");
    assert!(old["closed_at"].is_string());
    let fresh = read_list(&app, &organizer, again["id"].as_i64().unwrap()).await;
    let old_doors: BTreeSet<i64> = stop_doors(&old).into_iter().collect();
    let new_doors: BTreeSet<i64> = stop_doors(&fresh).into_iter().collect();
    assert!(new_doors.is_subset(&old_doors));
    assert!(!new_doors.contains(&old["stops"][0]["door_id"].as_i64().unwrap()));
    assert!(new_doors.contains(&old["stops"][2]["door_id"].as_i64().unwrap()));
    // The volunteer's phone was told, and the list left their phone.
    let notes = json_with(
        app.get(
            &format!("/api/v1/walk-lists/{first}/notifications"),
            &organizer,
        )
        .await,
        200,
    )
    .await;
    let events: Vec<&str> = notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, vec!["assigned", "closed"]);
    let mine = json_with(app.get("/api/v1/me/walk-lists", &volunteer).await, 200).await;
    assert!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["id"] != first)
    );
    assert_error(
        app.post(
            &format!("/api/v1/walk-lists/{first}/close"),
            Some(&organizer),
            json!({}),
        )
        .await,
        409,
        "conflict",
    )
    .await;

    // Closing an untouched list frees its doors for the next build.
    let closed = json_with(
        app.post(
            &format!("/api/v1/walk-lists/{second}/close"),
            Some(&organizer),
            json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(closed["status"], "closed");
    // Deleting a list built by mistake removes it.
    let res = app
        .delete(&format!("/api/v1/walk-lists/{third}"), &organizer)
        .await;
    assert_eq!(res.status(), 204);
    assert_error(
        app.get(&format!("/api/v1/walk-lists/{third}"), &organizer)
            .await,
        404,
        "not_found",
    )
    .await;
    let turf = old["turf_id"].as_i64().unwrap();
    // The newest list (the recycled one) deleted: its number is not given again.
    let newest = again["number"].as_i64().unwrap();
    let res = app
        .delete(&format!("/api/v1/walk-lists/{}", again["id"]), &organizer)
        .await;
    assert_eq!(res.status(), 204);
    let rebuilt = create_lists(
        &app,
        &organizer,
        json!({ "turf_id": turf, "max_doors": 500 }),
    )
    .await;
    assert!(!rebuilt.is_empty());
    assert!(
        rebuilt
            .iter()
            .all(|l| l["number"].as_i64().unwrap() > newest),
        "{rebuilt:?}"
    );
}

#[tokio::test]
async fn a_pass_skips_doors_done_in_it_and_a_gotv_pass_chases_supporters() {
    let Field {
        app,
        organizer,
        lists,
    } = field(20).await;
    let first = lists[0];
    let list = read_list(&app, &organizer, first).await;
    let door = |i: usize| list["stops"][i]["door_id"].as_i64().unwrap();
    let mut spoke = knock_on(&list, 0, "contacted");
    spoke["people"][0]["answers"] = json!({ "support_id": 1 });
    let knocks = vec![
        spoke,
        knock_on(&list, 1, "refused"),
        knock_on(&list, 2, "not_home"),
    ];
    let sent = json_with(
        app.post(
            "/api/v1/knocks/batch",
            Some(&organizer),
            json!({ "knocks": knocks }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(sent["created"], 3, "{sent}");
    json_with(
        app.post(
            &format!("/api/v1/walk-lists/{first}/close"),
            Some(&organizer),
            json!({}),
        )
        .await,
        200,
    )
    .await;
    let turf = list["turf_id"].as_i64().unwrap();
    let doors_of = |made: Vec<Value>| {
        let app = &app;
        let organizer = &organizer;
        async move {
            let mut all = BTreeSet::new();
            for l in made {
                all.extend(stop_doors(
                    &read_list(app, organizer, l["id"].as_i64().unwrap()).await,
                ));
            }
            all
        }
    };
    // The same (first) pass again: the conversation and the refusal stay off; the door
    // nobody answered comes back.
    let again = doors_of(
        create_lists(
            &app,
            &organizer,
            json!({ "turf_id": turf, "max_doors": 500 }),
        )
        .await,
    )
    .await;
    assert!(
        !again.contains(&door(0)) && !again.contains(&door(1)),
        "{again:?}"
    );
    assert!(again.contains(&door(2)));
    // A get-out-the-vote pass for strong supporters: exactly the door that said 1.
    let gotv = doors_of(
        create_lists(
            &app,
            &organizer,
            json!({ "turf_id": turf, "universe": { "pass": "gotv", "support_ids": [1] } }),
        )
        .await,
    )
    .await;
    assert_eq!(gotv.into_iter().collect::<Vec<_>>(), vec![door(0)]);
    let res = app
        .post(
            "/api/v1/walk-lists",
            Some(&organizer),
            json!({ "turf_id": turf, "universe": { "pass": "GOTV!" } }),
        )
        .await;
    assert_error(res, 422, "validation_failed").await;
}

/// A street of four houses with a six-unit building in the middle, in Vaduz.
fn seed_street_with_a_building(app: &TestApp) {
    let mut csv = String::from(
        "external_id,first_name,last_name,street,housenumber,unit,postcode,city,lat,lng,flags,support_score,birth_year,precinct\n",
    );
    let mut row = |id: &str, number: u32, unit: &str, lng: f64| {
        csv.push_str(&format!(
            "{id},Alex,Frick,Aeulestrasse,{number},{unit},9490,Vaduz,47.1400,{lng},,,1980,P1\n"
        ));
    };
    row("H2", 2, "", 9.5200);
    row("H4", 4, "", 9.5204);
    for (i, unit) in ["3 OG", "EG links", "1. OG", "EG rechts", "2 OG", "Dach"]
        .into_iter()
        .enumerate()
    {
        row(&format!("B{i}"), 6, unit, 9.5208);
    }
    row("H8", 8, "", 9.5212);
    row("H10", 10, "", 9.5216);
    let report = groundswell::import::import_people(
        &mut app.conn(),
        app.campaign_id,
        csv.as_bytes(),
        &mut |_, _| Ok(()),
    )
    .unwrap();
    assert_eq!(report.rejected, 0, "{:?}", report.errors);
}

#[tokio::test]
async fn a_building_is_one_stop_with_its_units_by_floor_and_shared_notes() {
    let app = spawn_app().await;
    let organizer = app.admin_token().await;
    seed_street_with_a_building(&app);
    let square = json!({ "type": "Polygon", "coordinates": [[[9.518, 47.138], [9.523, 47.138], [9.523, 47.142], [9.518, 47.142], [9.518, 47.138]]] });
    let turf = json_with(
        app.post(
            "/api/v1/turfs",
            Some(&organizer),
            json!({ "name": "Aeulestrasse", "geometry": square }),
        )
        .await,
        201,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let lists = create_lists(
        &app,
        &organizer,
        json!({ "turf_id": turf, "max_doors": 20, "start": { "lat": 47.14, "lng": 9.5195 } }),
    )
    .await;
    assert_eq!(lists.len(), 1);
    let list = read_list(&app, &organizer, lists[0]["id"].as_i64().unwrap()).await;
    let stops = list["stops"].as_array().unwrap();
    assert_eq!(stops.len(), 10);
    // The units come together, ground floor first, each with its floor, as one stop.
    let units: Vec<(&str, Value, i64)> = stops
        .iter()
        .filter(|s| s["address"]["housenumber"] == "6")
        .map(|s| {
            (
                s["address"]["unit"].as_str().unwrap(),
                s["floor"].clone(),
                s["stop"].as_i64().unwrap(),
            )
        })
        .collect();
    let names: Vec<&str> = units.iter().map(|u| u.0).collect();
    assert_eq!(
        names,
        // As the import keeps units: lower case, punctuation folded.
        ["eg links", "eg rechts", "1 og", "2 og", "3 og", "dach"]
    );
    assert_eq!(
        units.iter().map(|u| u.1.clone()).collect::<Vec<_>>(),
        [
            json!(0),
            json!(0),
            json!(1),
            json!(2),
            json!(3),
            Value::Null
        ]
    );
    assert!(units.iter().all(|u| u.2 == units[0].2), "{units:?}");
    let first_unit = stops
        .iter()
        .position(|s| s["address"]["housenumber"] == "6")
        .unwrap();
    assert!(
        stops[first_unit..first_unit + 6]
            .iter()
            .all(|s| s["address"]["housenumber"] == "6"),
        "the units are consecutive"
    );
    assert_eq!(stops[first_unit]["building"]["units_on_list"], 6);
    assert!(stops[0].get("building").is_none(), "a house is no building");
    // Five walking stops: four houses and the building, walked down the street.
    let walked: Vec<i64> = stops.iter().map(|s| s["stop"].as_i64().unwrap()).collect();
    assert_eq!(walked.last(), Some(&5));
    let numbers: Vec<&str> = stops
        .iter()
        .map(|s| s["address"]["housenumber"].as_str().unwrap())
        .collect();
    let mut along: Vec<&str> = numbers.clone();
    along.dedup();
    assert_eq!(along, ["2", "4", "6", "8", "10"]);

    // Notes: a volunteer without the list sees nothing; the holder may write them.
    let unit_door = stops[first_unit + 2]["door_id"].as_i64().unwrap();
    let (vol_id, volunteer) = app.user_with_role(Role::Volunteer).await;
    let building_path = format!("/api/v1/doors/{unit_door}/building");
    assert_error(app.get(&building_path, &volunteer).await, 404, "not_found").await;
    json_with(
        app.post(
            &format!("/api/v1/walk-lists/{}/assignments", list["id"]),
            Some(&organizer),
            json!({ "user_id": vol_id }),
        )
        .await,
        201,
    )
    .await;
    let list_path = format!("/api/v1/walk-lists/{}", list["id"]);
    let etag = app.get(&list_path, &volunteer).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let building = json_with(
        app.request(
            reqwest::Method::PUT,
            &format!("{building_path}/notes"),
            Some(&volunteer),
            Some(json!({ "notes": "Code box left of the door; buzz 3 for the caretaker" })),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(building["units"].as_array().unwrap().len(), 6);
    assert_eq!(building["units"][0]["unit"], "eg links");
    assert_eq!(
        building["notes"],
        "Code box left of the door; buzz 3 for the caretaker"
    );
    let again = app.get(&list_path, &volunteer).await;
    assert_ne!(again.headers()["etag"].to_str().unwrap(), etag);
    let again = json_with(again, 200).await;
    for s in &again["stops"].as_array().unwrap()[first_unit..first_unit + 6] {
        assert_eq!(
            s["building"]["notes"],
            "Code box left of the door; buzz 3 for the caretaker"
        );
    }
    // Too long a note is refused with the limit.
    let err = assert_error(
        app.request(
            reqwest::Method::PUT,
            &format!("{building_path}/notes"),
            Some(&organizer),
            Some(json!({ "notes": "x".repeat(2001) })),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert!(err["error"]["message"].as_str().unwrap().contains("2000"));
    // A bulk not-home covers the whole building, one answer per unit.
    let building_doors: Vec<Value> = stops[first_unit..first_unit + 6]
        .iter()
        .map(|s| s["door_id"].clone())
        .collect();
    let synced = json_with(
        app.post(
            "/api/v1/knocks/batch",
            Some(&volunteer),
            json!({ "knocks": [{
                "client_id": uuid::Uuid::new_v4(),
                "walk_list_id": list["id"],
                "door_ids": building_doors,
                "result": "not_home",
                "knocked_at": (chrono::Utc::now() - chrono::Duration::minutes(2)).to_rfc3339(),
            }] }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(synced["created"], 6, "{synced}");
}
