//! Script experiments: stable arms at the door, results by intention to treat, and
//! every guard rail.

use std::collections::BTreeMap;

use groundswell::domain::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, json_with, spawn_app};
use crate::turf::seed_liechtenstein;

struct Lab {
    app: TestApp,
    organizer: String,
    turf: i64,
    scripts: [i64; 2],
}

async fn lab() -> Lab {
    let app = spawn_app().await;
    let organizer = app.admin_token().await;
    seed_liechtenstein(&app, app.campaign_id);
    let square = json!({ "type": "Polygon", "coordinates": [[[9.515, 47.135], [9.53, 47.135], [9.53, 47.145], [9.515, 47.145], [9.515, 47.135]]] });
    let turf = json_with(
        app.post(
            "/api/v1/turfs",
            Some(&organizer),
            json!({ "name": "Vaduz centre", "geometry": square }),
        )
        .await,
        201,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let mut scripts = [0; 2];
    for (i, title) in ["Healthcare first", "Housing first"].iter().enumerate() {
        scripts[i] = json_with(
            app.post(
                "/api/v1/scripts",
                Some(&organizer),
                json!({ "title": title, "body": format!("Hi, I'm with the campaign. {title}…"), "question_keys": ["support_id"] }),
            )
            .await,
            201,
        )
        .await["id"]
            .as_i64()
            .unwrap();
    }
    Lab {
        app,
        organizer,
        turf,
        scripts,
    }
}

async fn start(lab: &Lab, body: Value) -> Value {
    json_with(
        lab.app
            .post("/api/v1/experiments", Some(&lab.organizer), body)
            .await,
        201,
    )
    .await
}

fn two_arms(lab: &Lab) -> Value {
    json!([
        { "script_id": lab.scripts[0], "weight": 1 },
        { "script_id": lab.scripts[1], "weight": 1 }
    ])
}

/// door → script id as the walk lists show it.
async fn scripts_on_lists(lab: &Lab) -> BTreeMap<i64, i64> {
    let lists = json_with(
        lab.app
            .post(
                "/api/v1/walk-lists",
                Some(&lab.organizer),
                json!({ "turf_id": lab.turf, "max_doors": 500 }),
            )
            .await,
        201,
    )
    .await;
    let mut out = BTreeMap::new();
    for l in lists["items"].as_array().unwrap() {
        let list = json_with(
            lab.app
                .get(&format!("/api/v1/walk-lists/{}", l["id"]), &lab.organizer)
                .await,
            200,
        )
        .await;
        for stop in list["stops"].as_array().unwrap() {
            out.insert(
                stop["door_id"].as_i64().unwrap(),
                stop["script"]["id"].as_i64().unwrap(),
            );
        }
    }
    out
}

#[tokio::test]
async fn doors_keep_their_arm_and_results_count_by_intention_to_treat() {
    let lab = lab().await;
    let e = start(
        &lab,
        json!({ "name": "Opening line", "arms": two_arms(&lab), "scope": { "turf_ids": [lab.turf] }, "min_contacts_per_arm": 5 }),
    )
    .await;
    let id = e["id"].as_i64().unwrap();
    let doors = e["doors_assigned"].as_u64().unwrap() as usize;
    assert!(doors > 50);

    // Every door shows the script the stable hash of (experiment, door) gives: it
    // depends on nothing a restart or a rebuilt list could change. The lists here are
    // built after the experiment started, so they read the recorded arms.
    let first = scripts_on_lists(&lab).await;
    // Doors where nobody is left to ask (all suppressed) are in the experiment but on
    // no list.
    assert!(
        first.len() <= doors && first.len() > doors * 9 / 10,
        "{} of {doors}",
        first.len()
    );
    let weights = [1_u32, 1];
    for (door, script) in &first {
        let arm = groundswell::experiments::assign_arm(id, *door, &weights).unwrap();
        assert_eq!(*script, lab.scripts[arm], "door {door}");
    }
    let per_arm = first.values().filter(|s| **s == lab.scripts[0]).count();
    assert!(
        per_arm > doors / 4 && per_arm < doors * 3 / 4,
        "{per_arm} of {doors}"
    );

    // Results: knock every door; contacted ones say 1 (success) in arm 0 and 4 in arm 1,
    // even when the canvasser used the other arm's script (intention to treat).
    let lists = json_with(lab.app.get("/api/v1/walk-lists", &lab.organizer).await, 200).await;
    let mut batch = Vec::new();
    for l in lists["items"].as_array().unwrap() {
        let list = json_with(
            lab.app
                .get(&format!("/api/v1/walk-lists/{}", l["id"]), &lab.organizer)
                .await,
            200,
        )
        .await;
        for (i, stop) in list["stops"].as_array().unwrap().iter().enumerate() {
            let arm0 = stop["script"]["id"] == lab.scripts[0];
            let contacted = i % 3 != 0;
            let mut k = json!({
                "client_id": uuid::Uuid::new_v4().to_string(),
                "walk_list_id": list["id"],
                "door_id": stop["door_id"],
                "result": if contacted { "contacted" } else { "not_home" },
                "knocked_at": chrono::Utc::now().to_rfc3339(),
                "script_id": lab.scripts[1],
            });
            if contacted {
                k["people"] = json!([{ "person_id": stop["people"][0]["id"], "answers": { "support_id": if arm0 { 1 } else { 4 } } }]);
            }
            batch.push(k);
        }
    }
    let mut expected = [[0_u64; 3]; 2];
    for k in &batch {
        let door = k["door_id"].as_i64().unwrap();
        let arm = usize::from(first[&door] == lab.scripts[1]);
        expected[arm][0] += 1;
        if k["result"] == "contacted" {
            expected[arm][1] += 1;
            if arm == 0 {
                expected[arm][2] += 1;
            }
        }
    }
    for chunk in batch.chunks(500) {
        let answer = json_with(
            lab.app
                .post(
                    "/api/v1/knocks/batch",
                    Some(&lab.organizer),
                    json!({ "knocks": chunk }),
                )
                .await,
            200,
        )
        .await;
        assert_eq!(answer["rejected"], 0, "{answer:#}");
    }
    let results = json_with(
        lab.app
            .get(&format!("/api/v1/experiments/{id}/results"), &lab.organizer)
            .await,
        200,
    )
    .await;
    let arms = results["analysis"]["arms"].as_array().unwrap();
    for (i, arm) in arms.iter().enumerate() {
        let c = &arm["counts"];
        assert_eq!(c["attempts"], expected[i][0], "{results:#}");
        assert_eq!(c["contacts"], expected[i][1], "{results:#}");
        assert_eq!(c["successes"], expected[i][2], "{results:#}");
    }
    // Arm 0 always succeeds, arm 1 never: the difference interval excludes zero.
    assert_eq!(
        results["analysis"]["verdict"]["kind"], "worse",
        "{results:#}"
    );
    let diff = &arms[1]["difference_vs_first"];
    assert!(diff["high"].as_f64().unwrap() < 0.0, "{results:#}");
}

#[tokio::test]
async fn an_experiment_says_when_it_has_too_few_contacts() {
    let lab = lab().await;
    let e = start(
        &lab,
        json!({ "name": "Tiny", "arms": two_arms(&lab), "scope": { "turf_ids": [lab.turf] } }),
    )
    .await;
    let results = json_with(
        lab.app
            .get(
                &format!("/api/v1/experiments/{}/results", e["id"]),
                &lab.organizer,
            )
            .await,
        200,
    )
    .await;
    assert_eq!(
        results["analysis"]["verdict"]["kind"], "not_enough_data",
        "{results:#}"
    );
}

#[tokio::test]
async fn guard_rails_refuse_what_would_spoil_an_experiment() {
    let lab = lab().await;
    let app = &lab.app;
    let org = &lab.organizer;
    let cases = [
        json!({ "name": "One arm", "arms": [{ "script_id": lab.scripts[0], "weight": 1 }] }),
        json!({ "name": "Zero", "arms": [{ "script_id": lab.scripts[0], "weight": 0 }, { "script_id": lab.scripts[1], "weight": 1 }] }),
        json!({ "name": "Ghost", "arms": [{ "script_id": 999, "weight": 1 }, { "script_id": lab.scripts[1], "weight": 1 }] }),
        json!({ "name": "Odd outcome", "arms": two_arms(&lab), "outcome": { "question_key": "support_id", "answers": [9] } }),
        json!({ "name": "Backwards", "arms": two_arms(&lab), "starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-11-01T00:00:00Z" }),
        json!({ "name": "Both", "arms": two_arms(&lab), "scope": { "turf_ids": [lab.turf], "region_id": 1 } }),
        json!({ "name": "No turf", "arms": two_arms(&lab), "scope": { "turf_ids": [4242] } }),
    ];
    for body in cases {
        let res = app
            .post("/api/v1/experiments", Some(org), body.clone())
            .await;
        assert_eq!(res.status(), 422, "{body}: {}", res.text().await.unwrap());
    }
    let (_, volunteer) = app.user_with_role(Role::Volunteer).await;
    assert_error(
        app.post(
            "/api/v1/experiments",
            Some(&volunteer),
            json!({ "name": "Mine", "arms": two_arms(&lab) }),
        )
        .await,
        403,
        "forbidden",
    )
    .await;

    let e = start(
        &lab,
        json!({ "name": "Running", "arms": two_arms(&lab), "scope": { "turf_ids": [lab.turf] } }),
    )
    .await;
    let id = e["id"].as_i64().unwrap();
    // A second experiment over the same doors is refused, naming the first.
    let res = app
        .post(
            "/api/v1/experiments",
            Some(org),
            json!({ "name": "Overlap", "arms": two_arms(&lab) }),
        )
        .await;
    let body = assert_error(res, 409, "conflict").await;
    assert_eq!(body["error"]["details"]["experiments"][0]["id"], id);
    // Arms of a running experiment never change.
    let res = app
        .patch(
            &format!("/api/v1/experiments/{id}"),
            org,
            json!({ "arms": [{ "script_id": lab.scripts[0], "weight": 9 }] }),
        )
        .await;
    assert_error(res, 409, "conflict").await;
    let renamed = json_with(
        app.patch(
            &format!("/api/v1/experiments/{id}"),
            org,
            json!({ "name": "Renamed" }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(renamed["name"], "Renamed");
    // Another organizer does not see it; results need organizer or above.
    let (_, other) = app.user_with_role(Role::Organizer).await;
    assert_error(
        app.get(&format!("/api/v1/experiments/{id}/results"), &other)
            .await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.get(&format!("/api/v1/experiments/{id}/results"), &volunteer)
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_error(
        app.get("/api/v1/experiments/777/results", org).await,
        404,
        "not_found",
    )
    .await;
    // Stopped: stopping again is a conflict, and the doors are free for a new one.
    let stopped = json_with(
        app.post(
            &format!("/api/v1/experiments/{id}/stop"),
            Some(org),
            json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(stopped["state"], "stopped");
    // Its audit entry keeps the log's promise of an object of details.
    let admin = lab.app.admin_token().await;
    let log = json_with(lab.app.get("/api/v1/audit?limit=200", &admin).await, 200).await;
    let entry = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "experiment.stop")
        .cloned()
        .unwrap_or_default();
    assert!(entry["details"].is_object(), "{entry}");
    assert_error(
        app.post(
            &format!("/api/v1/experiments/{id}/stop"),
            Some(org),
            json!({}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    start(
        &lab,
        json!({ "name": "Second round", "arms": two_arms(&lab), "scope": { "turf_ids": [lab.turf] } }),
    )
    .await;
}
