//! Knock sync: every knock answered on its own, stored exactly once however often and
//! in whatever order the phone sends it, and its effects on doors, people and lists.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use groundswell::domain::Role;
use serde_json::{Value, json};

use crate::helpers::{JWT_SECRET, TestApp, assert_error, json_with, spawn_app};
use crate::turf::seed_liechtenstein;

/// A campaign with two lists of a Vaduz square; the volunteer holds the first.
pub(crate) struct Canvass {
    pub app: TestApp,
    pub organizer: String,
    pub volunteer: String,
    pub list: Value,
    pub other_list: Value,
}

pub(crate) async fn canvass() -> Canvass {
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
    let lists = json_with(
        app.post(
            "/api/v1/walk-lists",
            Some(&organizer),
            json!({ "turf_id": turf, "max_doors": 40 }),
        )
        .await,
        201,
    )
    .await;
    let ids: Vec<i64> = lists["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect();
    assert!(ids.len() >= 2);
    let (vol_id, volunteer) = app.user_with_role(Role::Volunteer).await;
    json_with(
        app.post(
            &format!("/api/v1/walk-lists/{}/assignments", ids[0]),
            Some(&organizer),
            json!({ "user_id": vol_id }),
        )
        .await,
        201,
    )
    .await;
    let read = |id: i64| {
        let app = &app;
        let organizer = &organizer;
        async move {
            json_with(
                app.get(&format!("/api/v1/walk-lists/{id}"), organizer)
                    .await,
                200,
            )
            .await
        }
    };
    let list = read(ids[0]).await;
    let other_list = read(ids[1]).await;
    Canvass {
        app,
        organizer,
        volunteer,
        list,
        other_list,
    }
}

pub(crate) fn stop(list: &Value, i: usize) -> &Value {
    &list["stops"][i]
}

pub(crate) fn knock(list: &Value, i: usize, result: &str, minutes_ago: i64) -> Value {
    let s = stop(list, i);
    json!({
        "client_id": uuid::Uuid::new_v4().to_string(),
        "walk_list_id": list["id"],
        "door_id": s["door_id"],
        "result": result,
        "knocked_at": (chrono::Utc::now() - chrono::Duration::minutes(minutes_ago)).to_rfc3339(),
        "location": { "lat": s["location"]["lat"], "lng": s["location"]["lng"], "accuracy_m": 5 },
    })
}

pub(crate) fn person(list: &Value, i: usize) -> i64 {
    stop(list, i)["people"][0]["id"].as_i64().unwrap()
}

pub(crate) async fn sync(app: &TestApp, token: &str, knocks: &[Value]) -> Value {
    json_with(
        app.post(
            "/api/v1/knocks/batch",
            Some(token),
            json!({ "knocks": knocks }),
        )
        .await,
        200,
    )
    .await
}

fn statuses(answer: &Value) -> Vec<String> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect()
}

fn stored_knocks(app: &TestApp) -> i64 {
    use groundswell::db::schema::knocks;
    knocks::table.count().get_result(&mut app.conn()).unwrap()
}

#[tokio::test]
async fn every_knock_gets_its_own_answer() {
    let Canvass {
        app,
        volunteer,
        list,
        other_list,
        ..
    } = canvass().await;
    let mut contacted = knock(&list, 0, "contacted", 30);
    contacted["people"] =
        json!([{ "person_id": person(&list, 0), "answers": { "support_id": 2 } }]);
    let mut conflicting = contacted.clone();
    conflicting["notes"] = json!("a different story");
    let mut unknown_door = knock(&list, 1, "not_home", 5);
    unknown_door["door_id"] = json!(99_999_999);
    let mut off_list = knock(&list, 1, "not_home", 5);
    off_list["door_id"] = stop(&other_list, 0)["door_id"].clone();
    let not_mine = knock(&other_list, 0, "not_home", 5);
    let mut bad_answer = knock(&list, 2, "contacted", 5);
    bad_answer["people"] =
        json!([{ "person_id": person(&list, 2), "answers": { "support_id": 7 } }]);
    let mut unknown_question = knock(&list, 2, "contacted", 5);
    unknown_question["people"] =
        json!([{ "person_id": person(&list, 2), "answers": { "favourite_colour": "red" } }]);
    let mut stranger = knock(&list, 2, "contacted", 5);
    stranger["people"] = json!([{ "person_id": person(&other_list, 0) }]);
    let future = knock(&list, 3, "not_home", -30);
    let mut malformed = knock(&list, 3, "not_home", 5);
    malformed.as_object_mut().unwrap().remove("result");
    let mut unknown_result = knock(&list, 3, "asleep", 5);
    unknown_result["result"] = json!("asleep");

    let batch = vec![
        contacted.clone(),
        contacted.clone(),
        conflicting,
        unknown_door,
        off_list,
        not_mine,
        bad_answer,
        unknown_question,
        stranger,
        future,
        malformed,
        unknown_result,
    ];
    let answer = sync(&app, &volunteer, &batch).await;
    assert_eq!(
        statuses(&answer),
        vec![
            "created",
            "duplicate",
            "conflict",
            "rejected",
            "rejected",
            "rejected",
            "rejected",
            "rejected",
            "rejected",
            "rejected",
            "rejected",
            "rejected"
        ],
        "{answer:#}"
    );
    let reasons: Vec<&str> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["reason"].as_str())
        .collect();
    for expected in [
        "different content",
        "unknown door",
        "is not on walk list",
        "is not yours",
        "is not an answer",
        "unknown question",
        "does not live at door",
        "future",
        "malformed knock",
        "unknown result",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(expected)),
            "no reason mentions {expected:?}: {reasons:#?}"
        );
    }
    assert_eq!(
        answer["results"][0]["knock_id"],
        answer["results"][1]["knock_id"]
    );
    assert_eq!(answer["created"], 1);
    assert_eq!(answer["rejected"], 9);
    assert_eq!(stored_knocks(&app), 1);

    // More than 500 knocks is a 413 naming the limit.
    let too_many: Vec<Value> = (0..501).map(|_| knock(&list, 0, "not_home", 1)).collect();
    let res = app
        .post(
            "/api/v1/knocks/batch",
            Some(&volunteer),
            json!({ "knocks": too_many }),
        )
        .await;
    let body = assert_error(res, 413, "payload_too_large").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("500"));
}

#[tokio::test]
async fn a_batch_sent_again_whole_in_halves_or_reversed_is_stored_once() {
    let Canvass {
        app,
        volunteer,
        list,
        ..
    } = canvass().await;
    let doors = list["stops"].as_array().unwrap().len();
    let batch: Vec<Value> = (0..doors)
        .map(|i| knock(&list, i, "not_home", 60 - i as i64))
        .collect();
    let first = sync(&app, &volunteer, &batch).await;
    assert!(statuses(&first).iter().all(|s| s == "created"));
    let again = sync(&app, &volunteer, &batch).await;
    assert!(statuses(&again).iter().all(|s| s == "duplicate"));
    let (a, b) = batch.split_at(doors / 2);
    let mut reversed: Vec<Value> = b.to_vec();
    reversed.reverse();
    for half in [reversed, a.to_vec()] {
        let answer = sync(&app, &volunteer, &half).await;
        assert!(statuses(&answer).iter().all(|s| s == "duplicate"));
    }
    assert_eq!(stored_knocks(&app), doors as i64);
    // Knock ids stay the same across re-sends.
    let ids = |answer: &Value| -> BTreeSet<i64> {
        answer["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["knock_id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&first), ids(&again));
}

fn spawn_server(url: &str) -> (Child, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_groundswell"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("DATABASE_URL", url)
        .env("GROUNDSWELL_JWT_SECRET", JWT_SECRET)
        .env("GROUNDSWELL_WORKERS", "1")
        .env_remove("GROUNDSWELL_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn server");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) else {
            break;
        };
        let event: Value = serde_json::from_str(&line).unwrap_or_default();
        if let Some(port) = event["message"]
            .as_str()
            .filter(|m| *m == "listening")
            .and(event["port"].as_u64())
        {
            return (child, port as u16);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not start");
}

#[tokio::test]
async fn a_batch_cut_off_by_a_killed_server_is_stored_once_when_sent_again() {
    let Canvass {
        app,
        volunteer,
        list,
        ..
    } = canvass().await;
    let doors = list["stops"].as_array().unwrap().len();
    // 500 knocks (several per door, as on a long day of come-backs).
    let batch: Vec<Value> = (0..500)
        .map(|i| knock(&list, i % doors, "come_back", 500 - i as i64))
        .collect();
    let client = reqwest::Client::new();
    let mut killed_mid_batch = 0;
    for delay_ms in [5_u64, 20, 60] {
        let (mut server, port) = spawn_server(&app.db.url);
        let send = client
            .post(format!("http://127.0.0.1:{port}/api/v1/knocks/batch"))
            .bearer_auth(&volunteer)
            .json(&json!({ "knocks": batch }))
            .send();
        let kill = async {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            server.kill().expect("kill -9");
        };
        let (sent, ()) = tokio::join!(send, kill);
        let _ = server.wait();
        if sent.is_err() {
            killed_mid_batch += 1;
        }
    }
    assert!(
        killed_mid_batch > 0,
        "no send was cut off; the test proves nothing"
    );
    let (mut server, port) = spawn_server(&app.db.url);
    let answer: Value = client
        .post(format!("http://127.0.0.1:{port}/api/v1/knocks/batch"))
        .bearer_auth(&volunteer)
        .json(&json!({ "knocks": batch }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        statuses(&answer)
            .iter()
            .all(|s| s == "created" || s == "duplicate"),
        "{answer:#}"
    );
    assert_eq!(stored_knocks(&app), 500);
}

#[tokio::test]
async fn knocks_move_doors_people_and_lists() {
    let Canvass {
        app,
        organizer,
        volunteer,
        list,
        ..
    } = canvass().await;
    let list_id = list["id"].as_i64().unwrap();
    let doors = list["stops"].as_array().unwrap().len();
    let spoken = person(&list, 0);
    let mut contacted = knock(&list, 0, "contacted", 120);
    contacted["people"] = json!([{ "person_id": spoken, "answers": { "support_id": 1 } }]);
    let mut far = knock(&list, 1, "not_home", 100);
    far["location"]["lat"] = json!(stop(&list, 1)["location"]["lat"].as_f64().unwrap() + 0.01);
    let hostile = knock(&list, 2, "hostile", 90);
    let mut moved = knock(&list, 3, "moved", 80);
    moved["people"] = json!([{ "person_id": person(&list, 3) }]);
    let answer = sync(&app, &volunteer, &[contacted, far, hostile, moved]).await;
    assert_eq!(answer["created"], 4, "{answer:#}");

    let after = json_with(
        app.get(&format!("/api/v1/walk-lists/{list_id}"), &organizer)
            .await,
        200,
    )
    .await;
    assert_eq!(after["status"], "in_progress");
    assert!(after["version"].as_i64() > list["version"].as_i64());
    assert!(stop(&after, 0)["last_contact_at"].is_string());
    let spoken_view = stop(&after, 0)["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == spoken)
        .unwrap()
        .clone();
    assert!(spoken_view["last_contact_at"].is_string());

    let mut conn = app.conn();
    use groundswell::db::schema::{doors, knocks, people};
    let hostile_door = stop(&list, 2)["door_id"].as_i64().unwrap();
    let dnw: bool = doors::table
        .find(hostile_door)
        .select(doors::do_not_walk)
        .first(&mut conn)
        .unwrap();
    assert!(dnw, "a hostile door goes on do-not-walk");
    let moved_flag: bool = people::table
        .find(person(&list, 3))
        .select(people::moved)
        .first(&mut conn)
        .unwrap();
    assert!(moved_flag);
    // Knocks are stored in door order, so look them up by door.
    let grade = |i: usize| -> (String, Option<f64>) {
        knocks::table
            .filter(knocks::door_id.eq(stop(&list, i)["door_id"].as_i64().unwrap()))
            .select((knocks::location_quality, knocks::distance_m))
            .first(&mut app.conn())
            .unwrap()
    };
    assert_eq!(grade(0).0, "fine");
    let far_grade = grade(1);
    assert_eq!(far_grade.0, "unverified", "1.1 km away: {far_grade:?}");
    assert!(far_grade.1.unwrap() > 1000.0);

    // Every door finished: the list is done and its doors are free again.
    let rest: Vec<Value> = (4..doors).map(|i| knock(&list, i, "refused", 10)).collect();
    // A not_home on door 1 does not finish it; a later refusal does.
    let mut closing = rest;
    closing.push(knock(&list, 1, "refused", 5));
    let answer = sync(&app, &volunteer, &closing).await;
    assert_eq!(answer["rejected"], 0, "{answer:#}");
    let done = json_with(
        app.get(&format!("/api/v1/walk-lists/{list_id}"), &organizer)
            .await,
        200,
    )
    .await;
    assert_eq!(done["status"], "done");
    // A late, older knock syncs fine and does not reopen anything.
    let late = knock(&list, 0, "not_home", 600);
    let answer = sync(&app, &volunteer, &[late]).await;
    assert_eq!(answer["created"], 1);
    let still = json_with(
        app.get(&format!("/api/v1/walk-lists/{list_id}"), &organizer)
            .await,
        200,
    )
    .await;
    assert_eq!(still["status"], "done");
    assert_eq!(
        stop(&still, 0)["last_contact_at"],
        stop(&done, 0)["last_contact_at"],
        "an older knock does not move last contact back"
    );
}

fn snapshot(app: &TestApp) -> groundswell::db::scores::Snapshot {
    groundswell::db::scores::snapshot(&mut app.conn(), app.campaign_id).unwrap()
}

#[tokio::test]
async fn scores_learn_once_per_knock_and_a_rebuild_gives_the_same() {
    let Canvass {
        app,
        organizer,
        volunteer,
        list,
        ..
    } = canvass().await;
    let doors = list["stops"].as_array().unwrap().len();
    // Support IDs at most doors (answers cycling 1..5), refusals and hostility elsewhere.
    let mut batch = Vec::new();
    for i in 0..doors {
        let k = match i % 4 {
            0 | 1 => {
                let mut k = knock(&list, i, "contacted", 200 - i as i64);
                k["people"] = json!([{ "person_id": person(&list, i), "answers": { "support_id": (i % 5) + 1 } }]);
                k
            }
            2 => knock(&list, i, "refused", 200 - i as i64),
            _ => knock(&list, i, "hostile", 200 - i as i64),
        };
        batch.push(k);
    }
    let answer = sync(&app, &volunteer, &batch).await;
    assert_eq!(answer["rejected"], 0, "{answer:#}");
    let incremental = snapshot(&app);
    assert!(!incremental.0.is_empty() && !incremental.1.is_empty());

    // Re-syncing moves nothing.
    let again = sync(&app, &volunteer, &batch).await;
    assert_eq!(again["duplicate"].as_u64().unwrap() as usize, doors);
    assert_eq!(snapshot(&app), incremental);

    // The rebuild from imported scores and all knocks gives exactly the same state.
    let out = Command::new(env!("CARGO_BIN_EXE_groundswell"))
        .args([
            "scores",
            "recompute",
            "--campaign",
            &app.campaign_id.to_string(),
        ])
        .env("DATABASE_URL", &app.db.url)
        .env_remove("GROUNDSWELL_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(snapshot(&app), incremental);

    // The history explains every change of the person who answered "strong support".
    let answered = person(&list, 0);
    let score = json_with(
        app.get(&format!("/api/v1/people/{answered}/score"), &organizer)
            .await,
        200,
    )
    .await;
    let history = score["history"].as_array().unwrap();
    assert!(!history.is_empty());
    let prior = score["imported_score"].as_f64().unwrap_or(50.0);
    // Each change starts where the last ended; the first from the imported score (its
    // logit is kept to 1/65,536).
    let mut current = prior;
    for (i, change) in history.iter().enumerate() {
        let tolerance = if i == 0 { 1e-3 } else { 1e-9 };
        assert!(
            (change["old_score"].as_f64().unwrap() - current).abs() < tolerance,
            "{score:#}"
        );
        current = change["new_score"].as_f64().unwrap();
    }
    assert!(history.iter().any(|c| c["rule"] == "support_id"));
    assert!(
        current > prior,
        "a strong support ID raises the score: {score:#}"
    );
    // The score shown is the personal score moved the way the cell shifts.
    let shown = score["score"].as_f64().unwrap();
    let personal = score["personal_score"].as_f64().unwrap();
    let shift = score["cell_shift"].as_f64().unwrap();
    assert!(shown > prior && personal > prior, "{score:#}");
    assert_eq!(
        (shown - personal).signum(),
        if shift == 0.0 { 0.0 } else { shift.signum() },
        "{score:#}"
    );
    assert_eq!(
        score["model"]["support_ids"].as_i64().unwrap(),
        (doors.div_ceil(4) + (doors + 2) / 4) as i64,
        "{score:#}"
    );

    // A model change queues a rebuild that the next server start runs once.
    {
        use diesel::RunQueryDsl;
        let mut conn = app.conn();
        diesel::sql_query("DELETE FROM person_evidence")
            .execute(&mut conn)
            .unwrap();
        diesel::sql_query("DELETE FROM cell_evidence")
            .execute(&mut conn)
            .unwrap();
        diesel::sql_query(format!(
            "INSERT INTO score_rebuilds (campaign_id) VALUES ({})",
            app.campaign_id
        ))
        .execute(&mut conn)
        .unwrap();
        assert_eq!(
            groundswell::db::scores::run_queued_rebuilds(&mut conn).unwrap(),
            vec![app.campaign_id]
        );
        assert!(
            groundswell::db::scores::run_queued_rebuilds(&mut conn)
                .unwrap()
                .is_empty()
        );
    }
    assert_eq!(snapshot(&app), incremental);
}

#[tokio::test]
async fn neighbours_not_yet_asked_move_toward_what_their_cell_said() {
    let Canvass {
        app,
        organizer,
        volunteer,
        list,
        other_list,
        ..
    } = canvass().await;
    let doors = list["stops"].as_array().unwrap().len();
    // Everyone asked on the first list strongly opposes.
    let batch: Vec<Value> = (0..doors)
        .map(|i| {
            let mut k = knock(&list, i, "contacted", 100);
            k["people"] =
                json!([{ "person_id": person(&list, i), "answers": { "support_id": 5 } }]);
            k
        })
        .collect();
    assert_eq!(
        sync(&app, &volunteer, &batch).await["created"]
            .as_u64()
            .unwrap() as usize,
        doors
    );
    // A person on the other list, in the same part of town, was never asked.
    let neighbour = person(&other_list, 0);
    let score = json_with(
        app.get(&format!("/api/v1/people/{neighbour}/score"), &organizer)
            .await,
        200,
    )
    .await;
    let imported = score["imported_score"].as_f64().unwrap();
    let now = score["score"].as_f64().unwrap();
    assert!(score["history"].as_array().unwrap().is_empty(), "{score:#}");
    assert!(now < imported, "pooled toward opposition: {score:#}");
    assert!(
        now >= 0.0 && imported - now < imported,
        "never past the evidence: {score:#}"
    );
    assert!(score["cell_shift"].as_f64().unwrap() < 0.0, "{score:#}");
    // The people list carries the same current score beside the imported one.
    let mut after = 0;
    let listed = loop {
        let page = json_with(
            app.get(
                &format!("/api/v1/people?limit=200&after={after}"),
                &organizer,
            )
            .await,
            200,
        )
        .await;
        if let Some(p) = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == neighbour)
        {
            break p.clone();
        }
        after = page["next_after"]
            .as_i64()
            .expect("the neighbour is listed");
    };
    assert_eq!(listed["support_score"].as_f64().unwrap(), imported);
    assert!(
        (listed["score"].as_f64().unwrap() - now).abs() < 1e-9,
        "{listed:#}"
    );
}

/// Every tally of the campaign, by key, as the progress figures read them.
fn all_tallies(
    app: &TestApp,
) -> Vec<(
    groundswell::progress::TallyKey,
    Option<i64>,
    groundswell::progress::Tally,
)> {
    use groundswell::db::{progress::Filter, tallies};
    let mut rows: Vec<_> = tallies::read(
        &mut app.conn(),
        app.campaign_id,
        (None, None),
        &Filter::default(),
    )
    .unwrap()
    .into_iter()
    .map(|r| (r.key, r.region_id, r.tally))
    .collect();
    rows.sort_by_key(|r| r.0);
    rows
}

#[tokio::test]
async fn tallied_progress_equals_counting_the_knocks_over_any_window() {
    use groundswell::db::progress::{Filter, GroupBy, figures, figures_from_knocks};
    use groundswell::db::tallies;
    let Canvass {
        app,
        organizer,
        volunteer,
        list,
        other_list,
    } = canvass().await;
    // Lists made ten days ago, so phones may sync knocks of the days since.
    {
        use groundswell::db::schema::walk_lists;
        diesel::update(walk_lists::table)
            .set(walk_lists::created_at.eq(groundswell::db::now() - chrono::Duration::days(10)))
            .execute(&mut app.conn())
            .unwrap();
    }
    // Knocks spread over eight days at every hour, doors knocked again and again, by
    // the volunteer on their list and the organizer on the other.
    let results = ["not_home", "contacted", "refused", "come_back", "contacted"];
    let mut batches: Vec<(String, Vec<Value>)> = Vec::new();
    for (token, l, rounds) in [(&volunteer, &list, 6), (&organizer, &other_list, 3)] {
        let doors = l["stops"].as_array().unwrap().len();
        let mut batch = Vec::new();
        for round in 0..rounds {
            for i in 0..doors {
                let n = round * doors + i;
                let minutes_ago = ((n * 997 + round * 331) % (8 * 24 * 60)) as i64 + 1;
                let result = results[n % results.len()];
                let mut k = knock(l, i, result, minutes_ago);
                if result == "contacted" && n % 3 != 0 {
                    k["people"] = json!([{ "person_id": person(l, i), "answers": { "support_id": (n % 5) + 1 } }]);
                }
                batch.push(k);
            }
        }
        batches.push((token.to_string(), batch));
    }
    for (token, batch) in &batches {
        for chunk in batch.chunks(97) {
            assert_eq!(sync(&app, token, chunk).await["created"], chunk.len());
        }
    }
    // Sent again: nothing is counted twice.
    let (token, batch) = &batches[0];
    assert_eq!(sync(&app, token, &batch[..60]).await["duplicate"], 60);

    let now = groundswell::db::now();
    let midnight = |days_ago: i64| {
        (now.date() - chrono::Duration::days(days_ago))
            .and_hms_opt(0, 0, 0)
            .unwrap()
    };
    let hours_ago = |h: i64| now - chrono::Duration::minutes(h * 60 + 17);
    let windows = [
        (None, None),
        (Some(midnight(3)), None),
        (Some(midnight(5)), Some(midnight(2))),
        (Some(hours_ago(50)), None),
        (None, Some(hours_ago(30))),
        (Some(hours_ago(100)), Some(hours_ago(20))),
        (Some(hours_ago(12)), Some(hours_ago(9))),
        (Some(midnight(4)), Some(hours_ago(40))),
    ];
    let me = json_with(app.get("/api/v1/me", &volunteer).await, 200).await;
    let vol_id = me["id"].as_i64().unwrap();
    let mut conn = app.conn();
    let mut compared = 0;
    for (from, to) in windows {
        for user_id in [None, Some(vol_id)] {
            let f = Filter {
                from,
                to,
                user_id,
                ..Filter::default()
            };
            for group in [
                GroupBy::Region,
                GroupBy::Turf,
                GroupBy::Volunteer,
                GroupBy::Day,
                GroupBy::Cell(7),
                GroupBy::Cell(9),
                GroupBy::Cell(10),
            ] {
                let tallied = figures(&mut conn, app.campaign_id, group, &f).unwrap();
                let counted = figures_from_knocks(&mut conn, app.campaign_id, group, &f).unwrap();
                assert_eq!(
                    tallied, counted,
                    "{group:?} from {from:?} to {to:?}, user {user_id:?}"
                );
                compared += tallied.values().filter(|v| v.attempts > 0).count();
            }
        }
    }
    assert!(
        compared > 100,
        "the windows hold knocks: {compared} groups compared"
    );

    // A rebuild from the knocks gives exactly the tallies the sync kept.
    let kept = all_tallies(&app);
    assert!(kept.len() > 8, "{} tallies", kept.len());
    let written = groundswell::db::write_transaction(&mut conn, |c| {
        groundswell::db::tallies::rebuild(c, app.campaign_id)
    })
    .unwrap();
    assert_eq!(written, kept.len());
    assert_eq!(all_tallies(&app), kept);

    // Knocks at one and the same moment, stored in two text forms on SQLite (as the
    // server writes it, and with six fractional digits as other tools write it): paging
    // through them, by time or by id, three at a time, reads each knock once and ends.
    let total = stored_knocks(&app) as usize;
    let moment = if app.db.is_postgres() {
        ["'2026-11-01 10:00:00'", "'2026-11-01 10:00:00'"]
    } else {
        ["'2026-11-01 10:00:00'", "'2026-11-01 10:00:00.000000'"]
    };
    for (parity, at) in moment.iter().enumerate() {
        diesel::sql_query(format!(
            "UPDATE knocks SET knocked_at = {at} WHERE id % 2 = {parity}"
        ))
        .execute(&mut conn)
        .unwrap();
    }
    let hour = Filter {
        from: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).and_then(|d| d.and_hms_opt(10, 0, 0)),
        to: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).and_then(|d| d.and_hms_opt(11, 0, 0)),
        ..Filter::default()
    };
    let mut seen = BTreeSet::new();
    let mut after = tallies::Keyset::Time(None);
    for _ in 0..=total {
        let page = tallies::counted(
            &mut conn,
            app.campaign_id,
            chrono_tz::Tz::UTC,
            &hour,
            after,
            3,
        )
        .unwrap();
        for c in &page {
            assert!(seen.insert(c.id), "knock {} read twice", c.id);
        }
        match page.last() {
            Some(last) if page.len() == 3 => after = tallies::Keyset::Time(Some(last.id)),
            _ => break,
        }
    }
    assert_eq!(seen.len(), total);
    let written = groundswell::db::write_transaction(&mut conn, |c| {
        tallies::rebuild_in_pages(c, app.campaign_id, 3)
    })
    .unwrap();
    let rebuilt = all_tallies(&app);
    assert_eq!(written, rebuilt.len());
    let attempts: i64 = figures(&mut conn, app.campaign_id, GroupBy::Day, &hour)
        .unwrap()
        .values()
        .map(|f| f.attempts)
        .sum();
    assert_eq!(attempts as usize, total);
}

#[tokio::test]
async fn progress_figures_equal_counts_from_the_knocks() {
    let Canvass {
        app,
        organizer,
        volunteer,
        list,
        other_list,
    } = canvass().await;
    let me = json_with(app.get("/api/v1/me", &volunteer).await, 200).await;
    let vol_id = me["id"].as_i64().unwrap();
    // The volunteer knocks list 1 twice over (come-backs, then contacts); the organizer
    // knocks part of list 2.
    let doors = list["stops"].as_array().unwrap().len();
    let mut mine = Vec::new();
    for i in 0..doors {
        mine.push(knock(&list, i, "not_home", 300));
        if i % 2 == 0 {
            let mut k = knock(&list, i, "contacted", 100);
            k["people"] = json!([{ "person_id": person(&list, i), "answers": { "support_id": (i % 5) + 1 } }]);
            mine.push(k);
        }
    }
    let theirs: Vec<Value> = (0..5)
        .map(|i| knock(&other_list, i, "refused", 50))
        .collect();
    assert_eq!(sync(&app, &volunteer, &mine).await["rejected"], 0);
    assert_eq!(sync(&app, &organizer, &theirs).await["rejected"], 0);

    let mut ids = [0_i64; 5];
    for k in &mine {
        if let Some(a) = k["people"][0]["answers"]["support_id"].as_u64() {
            ids[a as usize - 1] += 1;
        }
    }
    let contacts = mine.iter().filter(|k| k["result"] == "contacted").count() as i64;

    let by_volunteer = json_with(
        app.get("/api/v1/progress?group_by=volunteer", &organizer)
            .await,
        200,
    )
    .await;
    let items = by_volunteer["items"].as_array().unwrap();
    let row = items.iter().find(|r| r["key"] == vol_id).unwrap();
    assert_eq!(row["attempts"].as_i64().unwrap(), mine.len() as i64);
    assert_eq!(row["doors_knocked"].as_i64().unwrap(), doors as i64);
    assert_eq!(row["contacts"].as_i64().unwrap(), contacts);
    for (i, n) in ids.iter().enumerate() {
        assert_eq!(row["support_ids"][(i + 1).to_string()], *n, "{row:#}");
    }
    let rate = row["contact_rate"].as_f64().unwrap();
    assert!((rate - contacts as f64 / mine.len() as f64).abs() < 0.001);
    // Half the volunteer's doors are contacted (finished); the rest remain.
    assert_eq!(
        row["doors_remaining"].as_i64().unwrap(),
        (doors / 2) as i64,
        "{row:#}"
    );

    // By turf: one turf, every knock.
    let by_turf = json_with(
        app.get("/api/v1/progress?group_by=turf", &organizer).await,
        200,
    )
    .await;
    assert_eq!(by_turf["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        by_turf["items"][0]["attempts"].as_i64().unwrap(),
        (mine.len() + theirs.len()) as i64
    );
    // By day and by cell the attempts add up to the same total.
    for path in [
        "/api/v1/progress?group_by=day",
        "/api/v1/progress?group_by=cell&resolution=9",
    ] {
        let body = json_with(app.get(path, &organizer).await, 200).await;
        let total: i64 = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["attempts"].as_i64().unwrap())
            .sum();
        assert_eq!(total, (mine.len() + theirs.len()) as i64, "{path}");
    }
    // A time window counts only the knocks inside it.
    let since = (chrono::Utc::now() - chrono::Duration::minutes(200))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let recent = json_with(
        app.get(
            &format!("/api/v1/progress?group_by=volunteer&from={since}"),
            &organizer,
        )
        .await,
        200,
    )
    .await;
    let row = recent["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == vol_id)
        .unwrap()
        .clone();
    assert_eq!(row["attempts"].as_i64().unwrap(), contacts);
    // Directors read names beside the ids.
    let me = json_with(app.get("/api/v1/me", &volunteer).await, 200).await;
    assert_eq!(row["name"], me["name"], "{row}");
    let by_turf = json_with(
        app.get("/api/v1/progress?group_by=turf", &organizer).await,
        200,
    )
    .await;
    for r in by_turf["items"].as_array().unwrap() {
        let turf = json_with(
            app.get(&format!("/api/v1/turfs/{}", r["key"]), &organizer)
                .await,
            200,
        )
        .await;
        assert_eq!(r["name"], turf["name"], "{r}");
    }
    let by_day = json_with(
        app.get("/api/v1/progress?group_by=day", &organizer).await,
        200,
    )
    .await;
    assert!(by_day["items"][0].get("name").is_none(), "{by_day}");

    // The heatmap is a FeatureCollection of closed hexagons carrying the same figures.
    let heat = json_with(
        app.get("/api/v1/progress/heatmap?resolution=9", &organizer)
            .await,
        200,
    )
    .await;
    assert_eq!(heat["type"], "FeatureCollection");
    let mut total = 0;
    for f in heat["features"].as_array().unwrap() {
        assert_eq!(f["type"], "Feature");
        assert_eq!(f["geometry"]["type"], "Polygon");
        let ring = f["geometry"]["coordinates"][0].as_array().unwrap();
        assert!(ring.len() >= 7, "a hexagon ring closes: {ring:?}");
        assert_eq!(ring.first(), ring.last());
        total += f["properties"]["attempts"].as_i64().unwrap();
    }
    assert_eq!(total, (mine.len() + theirs.len()) as i64);
    let parsed: Result<geojson::GeoJson, _> = heat.to_string().parse();
    assert!(parsed.is_ok(), "valid GeoJSON");

    // A volunteer sees only their own figures.
    let own = json_with(
        app.get("/api/v1/progress?group_by=volunteer", &volunteer)
            .await,
        200,
    )
    .await;
    let keys: Vec<&Value> = own["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["key"])
        .collect();
    assert_eq!(keys, vec![&json!(vol_id)]);
    // A director of a region sees that region only (no knock is in it), and may not
    // ask for another.
    let (director_id, _) = app.user_with_role(Role::Director).await;
    let region = json_with(
        app.post(
            "/api/v1/regions",
            Some(&organizer),
            json!({ "name": "Oberland", "director_id": director_id }),
        )
        .await,
        201,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let res = app
        .patch(
            &format!("/api/v1/users/{director_id}"),
            &organizer,
            json!({ "region_id": region }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let users = json_with(
        app.get(&format!("/api/v1/users/{director_id}"), &organizer)
            .await,
        200,
    )
    .await;
    let director = app.token(users["email"].as_str().unwrap()).await;
    let scoped = json_with(
        app.get("/api/v1/progress?group_by=turf", &director).await,
        200,
    )
    .await;
    assert_eq!(scoped["items"].as_array().unwrap().len(), 0);
    assert_error(
        app.get(
            &format!("/api/v1/progress?group_by=turf&region_id={}", region + 1),
            &director,
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // This week's leaderboard (from Monday 00:00 UTC) counts the volunteer's doors
    // knocked since then: early on a Monday some of the knocks above fall last week.
    use chrono::Datelike;
    let today = chrono::Utc::now().date_naive();
    let monday = (today
        - chrono::Duration::days(i64::from(today.weekday().num_days_from_monday())))
    .and_hms_opt(0, 0, 0)
    .unwrap()
    .and_utc();
    let this_week: BTreeSet<i64> = mine
        .iter()
        .filter(|k| {
            chrono::DateTime::parse_from_rfc3339(k["knocked_at"].as_str().unwrap()).unwrap()
                >= monday
        })
        .map(|k| k["door_id"].as_i64().unwrap())
        .collect();
    let board = json_with(app.get("/api/v1/leaderboard", &organizer).await, 200).await;
    let rows = board["items"].as_array().unwrap();
    let row = rows.iter().find(|r| r["user_id"] == vol_id);
    if this_week.is_empty() {
        assert!(row.is_none(), "{board:#}");
    } else {
        let row = row.expect("the volunteer is on the board");
        assert_eq!(row["name"], me["name"], "{board:#}");
        assert_eq!(row["doors"].as_i64().unwrap(), this_week.len() as i64);
        if this_week.len() > theirs.len() {
            assert_eq!(rows[0]["user_id"], vol_id, "most doors first: {board:#}");
        }
    }
    // It takes no parameters, and says so, like every other endpoint.
    assert_error(
        app.get("/api/v1/leaderboard?week=last", &organizer).await,
        422,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn quality_flags_exports_and_canvasses_tell_the_same_story() {
    let Canvass {
        app,
        organizer,
        volunteer,
        list,
        other_list,
    } = canvass().await;
    let me = json_with(app.get("/api/v1/me", &volunteer).await, 200).await;
    let vol_id = me["id"].as_i64().unwrap();
    // Every door of the volunteer's list within one clock hour, all contacted; the
    // organizer finds nobody home on the other list.
    let hour = {
        let t = chrono::Utc::now() - chrono::Duration::hours(2);
        t.date_naive()
            .and_hms_opt(chrono::Timelike::hour(&t), 0, 0)
            .unwrap()
            .and_utc()
    };
    let doors = list["stops"].as_array().unwrap().len();
    let mine: Vec<Value> = (0..doors)
        .map(|i| {
            let mut k = knock(&list, i, "contacted", 0);
            k["knocked_at"] = json!((hour + chrono::Duration::seconds(i as i64 * 60)).to_rfc3339());
            k["people"] =
                json!([{ "person_id": person(&list, i), "answers": { "support_id": 2 } }]);
            k
        })
        .collect();
    let mut theirs: Vec<Value> = (0..other_list["stops"].as_array().unwrap().len())
        .map(|i| knock(&other_list, i, "not_home", 30 + 5 * i as i64))
        .collect();
    // The organizer's knocks are spread over hours; one comes from 1 km away.
    theirs[0]["location"]["lat"] =
        json!(stop(&other_list, 0)["location"]["lat"].as_f64().unwrap() + 0.009);
    assert_eq!(
        sync(&app, &volunteer, &mine).await["created"]
            .as_u64()
            .unwrap() as usize,
        doors
    );
    assert_eq!(sync(&app, &organizer, &theirs).await["rejected"], 0);

    let flags = json_with(app.get("/api/v1/quality-flags", &organizer).await, 200).await;
    let far = flags["far_from_door"].as_array().unwrap();
    assert_eq!(far.len(), 1, "{flags:#}");
    assert_eq!(far[0]["door_id"], stop(&other_list, 0)["door_id"]);
    let organizer_me = json_with(app.get("/api/v1/me", &organizer).await, 200).await;
    assert_eq!(far[0]["user_name"], organizer_me["name"], "{flags:#}");
    let street = stop(&other_list, 0)["address"]["street"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let address = far[0]["address"].as_str().unwrap();
    assert!(
        !street.is_empty() && address.starts_with(&street),
        "{address} vs {street}"
    );
    let busy = flags["too_many_doors_per_hour"].as_array().unwrap();
    if doors > 30 {
        assert_eq!(busy.len(), 1, "{flags:#}");
        assert_eq!(busy[0]["user_id"], vol_id);
        assert_eq!(busy[0]["doors"].as_u64().unwrap() as usize, doors);
    } else {
        assert!(busy.is_empty(), "{flags:#}");
    }
    let odd: Vec<&Value> = flags["unusual_contact_rates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["user_id"])
        .collect();
    assert!(odd.contains(&&json!(vol_id)), "{flags:#}");
    let vol_name = json_with(app.get("/api/v1/me", &volunteer).await, 200).await["name"].clone();
    for r in flags["unusual_contact_rates"].as_array().unwrap() {
        if r["user_id"] == vol_id {
            assert_eq!(r["user_name"], vol_name, "{flags:#}");
        }
    }

    // The CSV export holds every knock once, with VAN names beside ours.
    let res = app.get("/api/v1/exports/knocks.csv", &organizer).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), doors + theirs.len());
    let ids: BTreeSet<&str> = rows
        .iter()
        .map(|r| r.get(col("client_id")).unwrap())
        .collect();
    assert_eq!(ids.len(), rows.len());
    for r in &rows {
        let (ours, van) = (
            r.get(col("result")).unwrap(),
            r.get(col("van_result")).unwrap(),
        );
        match ours {
            "contacted" => assert_eq!(van, "Canvassed"),
            "not_home" => assert_eq!(van, "Not Home"),
            other => panic!("unexpected result {other}"),
        }
    }
    // Volunteers cannot export.
    assert_error(
        app.get("/api/v1/exports/knocks.csv", &volunteer).await,
        403,
        "forbidden",
    )
    .await;

    // The person spoken to has one successful canvass with their support ID.
    let spoken = person(&list, 0);
    let osdi = json_with(
        app.get(&format!("/api/v1/people/{spoken}/canvasses"), &organizer)
            .await,
        200,
    )
    .await;
    let canvasses = osdi["_embedded"]["osdi:canvasses"].as_array().unwrap();
    assert_eq!(canvasses.len(), 1, "{osdi:#}");
    assert_eq!(canvasses[0]["success"], true);
    assert_eq!(canvasses[0]["status_code"], "contacted");
    assert_eq!(canvasses[0]["contact_type"], "in-person");
    assert_eq!(canvasses[0]["answers"][0]["question"], "support_id");
    assert_eq!(canvasses[0]["answers"][0]["answer"], 2);
    assert_error(
        app.get("/api/v1/people/987654/canvasses", &organizer).await,
        404,
        "not_found",
    )
    .await;
}

/// A full batch whose knocks name every resident with many answers: more answer rows
/// than one PostgreSQL statement can bind (65,535 values, 5 per row) all stored, and
/// each person's last contact set by the newest of the many knocks at their door.
#[tokio::test]
async fn a_full_batch_with_thousands_of_answers_is_stored_whole() {
    let Canvass {
        app,
        organizer,
        volunteer,
        list,
        ..
    } = canvass().await;
    let keys: Vec<String> = (0..14).map(|i| format!("note_{i}")).collect();
    for key in &keys {
        json_with(
            app.post(
                "/api/v1/questions",
                Some(&organizer),
                json!({ "key": key, "kind": "free_text", "text": "Anything else?" }),
            )
            .await,
            201,
        )
        .await;
    }
    let stops = list["stops"].as_array().unwrap().len();
    let mut answers_sent = 0;
    let batch: Vec<Value> = (0..500)
        .map(|i| {
            let s = i % stops;
            let mut k = knock(&list, s, "contacted", 600 - i as i64);
            let people: Vec<Value> = stop(&list, s)["people"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let mut answers = serde_json::Map::new();
                    answers.insert("support_id".into(), json!(1 + i % 5));
                    for key in &keys {
                        answers.insert(key.clone(), json!(format!("knock {i}")));
                    }
                    answers_sent += answers.len();
                    json!({ "person_id": p["id"], "answers": answers })
                })
                .collect();
            k["people"] = json!(people);
            k
        })
        .collect();
    assert!(answers_sent > 65_535 / 5, "only {answers_sent} answers");
    let answer = sync(&app, &volunteer, &batch).await;
    assert_eq!(answer["created"], 500, "{answer}");

    use groundswell::db::schema::{knock_answers, people};
    let stored: i64 = knock_answers::table
        .count()
        .get_result(&mut app.conn())
        .unwrap();
    assert_eq!(stored as usize, answers_sent);
    // Every person at a knocked door was contacted, last by the newest knock there.
    let newest = chrono::DateTime::parse_from_rfc3339(batch[499]["knocked_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    let contacted: Vec<Option<chrono::NaiveDateTime>> = people::table
        .filter(people::door_id.eq(stop(&list, 499 % stops)["door_id"].as_i64().unwrap()))
        .select(people::last_contact_at)
        .load(&mut app.conn())
        .unwrap();
    assert!(!contacted.is_empty());
    for at in contacted {
        let at = at.expect("a contacted person has a last contact");
        assert!((at - newest.naive_utc()).num_seconds().abs() <= 2, "{at}");
    }
}

/// A hostile or moved knock synced late, after a newer knock at the same door, still
/// flags the door and the person, while the door's last contact stays the newer one.
#[tokio::test]
async fn a_late_hostile_or_moved_knock_still_flags_its_door_and_person() {
    let Canvass {
        app,
        volunteer,
        list,
        ..
    } = canvass().await;
    let (newer, older) = (10, 60);
    sync(
        &app,
        &volunteer,
        &[
            knock(&list, 0, "not_home", newer),
            knock(&list, 1, "not_home", newer),
        ],
    )
    .await;
    let hostile = knock(&list, 0, "hostile", older);
    let mut moved = knock(&list, 1, "moved", older);
    moved["people"] = json!([{ "person_id": person(&list, 1) }]);
    let answer = sync(&app, &volunteer, &[hostile, moved]).await;
    assert_eq!(answer["created"], 2, "{answer:#}");

    use groundswell::db::schema::{doors, people};
    let door = stop(&list, 0)["door_id"].as_i64().unwrap();
    let (dnw, last): (bool, Option<chrono::NaiveDateTime>) = doors::table
        .find(door)
        .select((doors::do_not_walk, doors::last_contact_at))
        .first(&mut app.conn())
        .unwrap();
    assert!(dnw, "the late hostile knock puts the door on do-not-walk");
    let newer_at = (chrono::Utc::now() - chrono::Duration::minutes(newer)).naive_utc();
    let last = last.expect("the door was knocked");
    assert!(
        (last - newer_at).num_seconds().abs() <= 5,
        "last contact {last} went back"
    );
    let flagged: bool = people::table
        .find(person(&list, 1))
        .select(people::moved)
        .first(&mut app.conn())
        .unwrap();
    assert!(flagged, "the late moved knock flags the person");
}

#[tokio::test]
async fn a_nul_in_a_note_never_keeps_a_phone_from_syncing() {
    let Canvass {
        app,
        organizer,
        volunteer,
        list,
        ..
    } = canvass().await;
    let mut odd = knock(&list, 0, "not_home", 5);
    odd["notes"] = json!("gate code 4\u{0}7");
    let fine = knock(&list, 1, "not_home", 4);
    let batch = [odd.clone(), fine];
    // Stored on both stores, with its neighbour; sent again, a duplicate, not a 500.
    assert_eq!(
        statuses(&sync(&app, &volunteer, &batch).await),
        ["created", "created"]
    );
    assert_eq!(
        statuses(&sync(&app, &volunteer, &batch).await),
        ["duplicate", "duplicate"]
    );
    assert_eq!(stored_knocks(&app), 2);
    // Organizer text is refused with a clear 422 instead, the same on both stores.
    for (path, body) in [
        (
            "/api/v1/scripts",
            json!({ "title": "Door\u{0}", "body": "Hello" }),
        ),
        (
            "/api/v1/questions",
            json!({ "key": "issue", "kind": "free_text", "text": "What matters\u{0}?" }),
        ),
    ] {
        let err = assert_error(
            app.post(path, Some(&organizer), body).await,
            422,
            "validation_failed",
        )
        .await;
        assert!(
            err["error"]["message"].as_str().unwrap().contains("U+0000"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn days_weeks_and_windows_are_in_campaign_time() {
    use chrono::{Datelike, TimeZone};
    let Canvass {
        app,
        organizer,
        volunteer,
        list,
        ..
    } = canvass().await;
    let ny = chrono_tz::Tz::America__New_York;
    // Only an admin sets the zone, and only to a real one.
    assert_error(
        app.patch(
            "/api/v1/campaign",
            &volunteer,
            json!({ "time_zone": "America/New_York" }),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_error(
        app.patch(
            "/api/v1/campaign",
            &organizer,
            json!({ "time_zone": "Mars/Olympus" }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    let campaign = json_with(
        app.patch(
            "/api/v1/campaign",
            &organizer,
            json!({ "time_zone": "America/New_York" }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(campaign["time_zone"], "America/New_York");
    assert_eq!(
        json_with(app.get("/api/v1/campaign", &volunteer).await, 200).await["time_zone"],
        "America/New_York"
    );
    // The list is older than the evening in question.
    {
        use groundswell::db::schema::walk_lists;
        diesel::update(walk_lists::table)
            .set(
                walk_lists::created_at
                    .eq(chrono::Utc::now().naive_utc() - chrono::Duration::days(4)),
            )
            .execute(&mut app.conn())
            .unwrap();
    }
    json_with(
        app.post(
            "/api/v1/questions",
            Some(&organizer),
            json!({ "key": "issue", "kind": "single_choice", "text": "What matters most?",
                    "answers": [{ "value": "transport", "label": "Transport" },
                                { "value": "housing", "label": "Housing" }] }),
        )
        .await,
        201,
    )
    .await;
    // An evening shift in New York two days ago: 23:30 and, after midnight, 00:30;
    // both fall on the same UTC day.
    let today = crate::helpers::ny_today(ny);
    let day = today - chrono::Duration::days(2);
    let next = day + chrono::Duration::days(1);
    let at = |d: chrono::NaiveDate, h: u32, m: u32| {
        ny.from_local_datetime(&d.and_hms_opt(h, m, 0).unwrap())
            .earliest()
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let (late, after_midnight) = (at(day, 23, 30), at(next, 0, 30));
    assert_eq!(late.date_naive(), after_midnight.date_naive());
    let mut first = knock(&list, 0, "contacted", 0);
    first["knocked_at"] = json!(late.to_rfc3339());
    first["people"] = json!([{ "person_id": person(&list, 0),
                               "answers": { "support_id": 1, "issue": "transport" } }]);
    let mut second = knock(&list, 1, "not_home", 0);
    second["knocked_at"] = json!(after_midnight.to_rfc3339());
    assert_eq!(sync(&app, &volunteer, &[first, second]).await["created"], 2);

    let days = |body: &Value| -> Vec<(String, i64)> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["key"].as_str().unwrap().to_owned(),
                    r["attempts"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let by_day = json_with(
        app.get("/api/v1/progress?group_by=day", &organizer).await,
        200,
    )
    .await;
    assert_eq!(by_day["time_zone"], "America/New_York");
    assert_eq!(
        days(&by_day),
        vec![(day.to_string(), 1), (next.to_string(), 1)]
    );
    // A window without an offset is campaign time; with one, it is what it says.
    let local = json_with(
        app.get(
            &format!(
                "/api/v1/progress?group_by=day&from={next}&to={}",
                next + chrono::Duration::days(1)
            ),
            &organizer,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(days(&local), vec![(next.to_string(), 1)]);
    let utc_midnight = format!("{}T00:00:00Z", late.date_naive());
    let utc = json_with(
        app.get(
            &format!("/api/v1/progress?group_by=volunteer&from={utc_midnight}"),
            &organizer,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(utc["items"][0]["attempts"], 2, "{utc}");
    let evening = json_with(
        app.get(
            &format!("/api/v1/progress?group_by=volunteer&from={day}T23:00&to={next}T01:00"),
            &organizer,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(evening["items"][0]["attempts"], 2, "{evening}");
    assert_error(
        app.get("/api/v1/progress?from=last%20tuesday", &organizer)
            .await,
        422,
        "validation_failed",
    )
    .await;
    // By walk list, with its name and the answers to the campaign's questions.
    let by_list = json_with(
        app.get("/api/v1/progress?group_by=walk_list", &organizer)
            .await,
        200,
    )
    .await;
    let row = &by_list["items"][0];
    assert_eq!(row["key"], list["id"]);
    assert_eq!(row["name"], list["name"]);
    assert_eq!(row["attempts"], 2);
    assert_eq!(row["questions"]["issue"]["transport"], 1, "{row}");
    assert_eq!(row["support_ids"]["1"], 1);
    // The leaderboard's week starts on Monday at midnight in New York.
    let board = json_with(app.get("/api/v1/leaderboard", &organizer).await, 200).await;
    let since = chrono::DateTime::parse_from_rfc3339(board["since"].as_str().unwrap())
        .unwrap()
        .with_timezone(&ny);
    assert_eq!(since.time(), chrono::NaiveTime::MIN, "{board}");
    assert_eq!(since.weekday(), chrono::Weekday::Mon);
    assert!(today - since.date_naive() < chrono::Duration::days(7));
    // Back to UTC: the tallies follow, and the evening is one UTC day.
    json_with(
        app.patch(
            "/api/v1/campaign",
            &organizer,
            json!({ "time_zone": "UTC" }),
        )
        .await,
        200,
    )
    .await;
    let by_day = json_with(
        app.get("/api/v1/progress?group_by=day", &organizer).await,
        200,
    )
    .await;
    assert_eq!(days(&by_day), vec![(late.date_naive().to_string(), 2)]);
}

#[tokio::test]
async fn goals_show_what_is_done_and_the_pace_needed() {
    let Canvass {
        app,
        organizer: admin,
        volunteer,
        list,
        ..
    } = canvass().await;
    let today = chrono::Utc::now().date_naive();
    let range = (
        today - chrono::Duration::days(1),
        today + chrono::Duration::days(8),
    );
    let goal = |metric: &str, target: i64| json!({ "metric": metric, "starts_on": range.0, "ends_on": range.1, "target": target });
    assert_error(
        app.post("/api/v1/goals", Some(&volunteer), goal("doors", 100))
            .await,
        403,
        "forbidden",
    )
    .await;
    for bad in [
        json!({ "metric": "hugs", "starts_on": range.0, "ends_on": range.1, "target": 5 }),
        json!({ "metric": "doors", "starts_on": range.1, "ends_on": range.0, "target": 5 }),
        json!({ "metric": "doors", "starts_on": range.0, "ends_on": range.1, "target": 0 }),
        json!({ "metric": "doors", "starts_on": range.0, "ends_on": range.1, "target": 5, "region_id": 999_999 }),
    ] {
        assert_error(
            app.post("/api/v1/goals", Some(&admin), bad).await,
            422,
            "validation_failed",
        )
        .await;
    }
    let doors = json_with(
        app.post("/api/v1/goals", Some(&admin), goal("doors", 100))
            .await,
        201,
    )
    .await;
    let contacts = json_with(
        app.post("/api/v1/goals", Some(&admin), goal("contacts", 1))
            .await,
        201,
    )
    .await;
    assert_eq!(
        (doors["done"].as_i64(), doors["remaining"].as_i64()),
        (Some(0), Some(100))
    );

    // Three doors today, one of them a conversation.
    let knocks: Vec<Value> = (0..3)
        .map(|i| {
            knock(
                &list,
                i,
                if i == 0 { "contacted" } else { "not_home" },
                10 + i as i64,
            )
        })
        .collect();
    assert_eq!(sync(&app, &volunteer, &knocks).await["created"], 3);
    let goals = json_with(app.get("/api/v1/goals", &admin).await, 200).await;
    let by_id = |id: &Value| {
        goals["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| &g["id"] == id)
            .unwrap()
            .clone()
    };
    let d = by_id(&doors["id"]);
    assert_eq!(
        (d["done"].as_i64(), d["remaining"].as_i64()),
        (Some(3), Some(97)),
        "{d}"
    );
    let (elapsed, left) = (
        d["days_elapsed"].as_f64().unwrap(),
        d["days_left"].as_f64().unwrap(),
    );
    assert!(
        (1.0..=2.0).contains(&elapsed) && (8.0..=9.0).contains(&left),
        "{d}"
    );
    let needed = d["pace_needed_per_day"].as_f64().unwrap();
    assert!((needed - 97.0 / left).abs() < 0.2, "{d}");
    assert!(d["pace_achieved_per_day"].as_f64().unwrap() < needed);
    assert_eq!(d["on_track"], false);
    let c = by_id(&contacts["id"]);
    assert_eq!(
        (c["done"].as_i64(), c["remaining"].as_i64()),
        (Some(1), Some(0))
    );
    assert_eq!(c["on_track"], true);
    assert!(c["pace_needed_per_day"].is_null());

    // A director of a region sets and sees goals only there.
    let (director_id, director) = app.user_with_role(Role::Director).await;
    let region = json_with(
        app.post(
            "/api/v1/regions",
            Some(&admin),
            json!({ "name": "Unterland" }),
        )
        .await,
        201,
    )
    .await["id"]
        .clone();
    json_with(
        app.patch(
            &format!("/api/v1/users/{director_id}"),
            &admin,
            json!({ "region_id": region }),
        )
        .await,
        200,
    )
    .await;
    assert_error(
        app.post("/api/v1/goals", Some(&director), goal("doors", 10))
            .await,
        403,
        "forbidden",
    )
    .await;
    let mut own = goal("doors", 10);
    own["region_id"] = region.clone();
    let own = json_with(app.post("/api/v1/goals", Some(&director), own).await, 201).await;
    assert_eq!(own["done"], 0, "no knock in that region");
    let seen = json_with(app.get("/api/v1/goals", &director).await, 200).await;
    let ids: Vec<&Value> = seen["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| &g["id"])
        .collect();
    assert_eq!(ids, vec![&own["id"]]);
    assert_error(
        app.delete(&format!("/api/v1/goals/{}", doors["id"]), &director)
            .await,
        404,
        "not_found",
    )
    .await;
    let res = app
        .delete(&format!("/api/v1/goals/{}", doors["id"]), &admin)
        .await;
    assert_eq!(res.status(), 204);
    let left = json_with(app.get("/api/v1/goals", &admin).await, 200).await;
    assert_eq!(left["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_person_is_looked_up_read_whole_and_corrected() {
    let Canvass {
        app,
        organizer,
        volunteer,
        list,
        other_list,
    } = canvass().await;
    let stop0 = stop(&list, 0).clone();
    let id = person(&list, 0);
    let mut k = knock(&list, 0, "contacted", 5);
    k["people"] = json!([{ "person_id": id, "answers": { "support_id": 2 } }]);
    assert_eq!(sync(&app, &volunteer, &[k]).await["created"], 1);

    // The whole person: door, household, the door's knocks, the score now.
    let p = json_with(
        app.get(&format!("/api/v1/people/{id}"), &organizer).await,
        200,
    )
    .await;
    assert_eq!(p["id"], id);
    assert_eq!(p["door"]["id"], stop0["door_id"]);
    assert_eq!(p["door"]["address"]["street"], stop0["address"]["street"]);
    let residents = stop0["people"].as_array().unwrap().len();
    assert!(
        p["household"].as_array().unwrap().len() + 1 >= residents,
        "{p}"
    );
    assert!(
        p["household"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["id"] != id)
    );
    assert_eq!(p["history"][0]["result"], "contacted");
    assert_eq!(p["history"][0]["spoken_to"], true);
    assert!(p["score"].is_number(), "{p}");
    // A volunteer reads the people of their own lists only.
    json_with(
        app.get(&format!("/api/v1/people/{id}"), &volunteer).await,
        200,
    )
    .await;
    let elsewhere = person(&other_list, 0);
    assert_error(
        app.get(&format!("/api/v1/people/{elsewhere}"), &volunteer)
            .await,
        404,
        "not_found",
    )
    .await;

    // Search by external id, name beginnings in any case, and street with number.
    let find = |q: String| {
        let app = &app;
        let organizer = &organizer;
        async move {
            let body = json_with(
                app.get(
                    &format!("/api/v1/people/search?q={}&limit=200", urlencode(&q)),
                    organizer,
                )
                .await,
                200,
            )
            .await;
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_i64().unwrap())
                .collect::<Vec<i64>>()
        }
    };
    let external = p["external_id"].as_str().unwrap().to_owned();
    assert_eq!(find(external.clone()).await, vec![id]);
    let last = p["last_name"].as_str().unwrap().to_lowercase();
    let first = p["first_name"].as_str().unwrap().to_uppercase();
    assert!(find(last.chars().take(3).collect()).await.contains(&id));
    assert!(
        find(format!(
            "{first} {}",
            last.chars().take(2).collect::<String>()
        ))
        .await
        .contains(&id)
    );
    let street = format!(
        "{} {}",
        stop0["address"]["street"].as_str().unwrap(),
        stop0["address"]["housenumber"].as_str().unwrap()
    );
    let at_door = find(street).await;
    assert!(at_door.contains(&id), "{at_door:?}");
    assert_error(
        app.get("/api/v1/people/search?q=x", &organizer).await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        app.get("/api/v1/people/search?q=ab", &volunteer).await,
        403,
        "forbidden",
    )
    .await;

    // Corrections: audited, a volunteer's only for people on their lists.
    let fixed = json_with(
        app.patch(
            &format!("/api/v1/people/{id}"),
            &volunteer,
            json!({ "phone": "+423 555 00 11", "email": "Anna@Example.LI", "preferred_language": "de" }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(fixed["phone"], "+423 555 00 11");
    assert_eq!(fixed["email"], "anna@example.li");
    assert_eq!(fixed["preferred_language"], "de");
    let fixed = json_with(
        app.patch(
            &format!("/api/v1/people/{id}"),
            &organizer,
            json!({ "do_not_contact": true, "phone": null }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(fixed["do_not_contact"], true);
    assert!(fixed["phone"].is_null());
    assert_eq!(fixed["email"], "anna@example.li", "left out: unchanged");
    assert_error(
        app.patch(
            &format!("/api/v1/people/{id}"),
            &organizer,
            json!({ "email": "not an email" }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        app.patch(
            &format!("/api/v1/people/{elsewhere}"),
            &volunteer,
            json!({ "moved": true }),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let audit = json_with(app.get("/api/v1/audit?limit=50", &organizer).await, 200).await;
    let updates = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "person.update" && e["target_id"] == id)
        .count();
    assert_eq!(updates, 2);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn one_knock_marks_several_doors_each_stored_once() {
    let Canvass {
        app,
        volunteer,
        list,
        ..
    } = canvass().await;
    let doors: Vec<Value> = (1..4).map(|i| stop(&list, i)["door_id"].clone()).collect();
    let bulk = json!({
        "client_id": uuid::Uuid::new_v4(),
        "walk_list_id": list["id"],
        "door_ids": doors,
        "result": "not_home",
        "knocked_at": (chrono::Utc::now() - chrono::Duration::minutes(3)).to_rfc3339(),
    });
    let mut talk = knock(&list, 0, "contacted", 4);
    talk["door_ids"] = json!([stop(&list, 0)["door_id"], stop(&list, 4)["door_id"]]);
    talk.as_object_mut().unwrap().remove("door_id");
    let first = sync(&app, &volunteer, &[bulk.clone(), talk]).await;
    assert_eq!(
        (first["created"].as_u64(), first["rejected"].as_u64()),
        (Some(3), Some(1)),
        "{first}"
    );
    let results = first["results"].as_array().unwrap();
    let mut answered: Vec<Value> = results
        .iter()
        .filter(|r| r["index"] == 0)
        .map(|r| r["door_id"].clone())
        .collect();
    answered.sort_by_key(|d| d.as_i64());
    let mut expected = doors.clone();
    expected.sort_by_key(|d| d.as_i64());
    assert_eq!(answered, expected, "one answer per door");
    assert!(results.iter().any(|r| r["index"] == 1
        && r["status"] == "rejected"
        && r["reason"].as_str().unwrap().contains("names nobody")));
    // Sent again (a flaky network): every door answers duplicate, nothing is stored twice.
    let again = sync(&app, &volunteer, &[bulk]).await;
    assert_eq!(
        (again["created"].as_u64(), again["duplicate"].as_u64()),
        (Some(0), Some(3)),
        "{again}"
    );
    let read = json_with(
        app.get(&format!("/api/v1/walk-lists/{}", list["id"]), &volunteer)
            .await,
        200,
    )
    .await;
    assert_eq!(read["knocked_doors"], 3);
    for i in 1..4 {
        assert_eq!(read["stops"][i]["last_result"], "not_home");
    }
}

#[tokio::test]
async fn tags_are_applied_and_removed_at_the_door_and_shown_on_the_person() {
    let Canvass {
        app,
        organizer,
        volunteer,
        list,
        ..
    } = canvass().await;
    assert_error(
        app.post(
            "/api/v1/tags",
            Some(&volunteer),
            json!({ "key": "yard_sign", "name": "Yard sign" }),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_error(
        app.post(
            "/api/v1/tags",
            Some(&organizer),
            json!({ "key": "Yard Sign", "name": "Yard sign" }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    for (key, name) in [("yard_sign", "Yard sign"), ("needs_ride", "Needs a ride")] {
        json_with(
            app.post(
                "/api/v1/tags",
                Some(&organizer),
                json!({ "key": key, "name": name }),
            )
            .await,
            201,
        )
        .await;
    }
    assert_error(
        app.post(
            "/api/v1/tags",
            Some(&organizer),
            json!({ "key": "yard_sign", "name": "Again" }),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    let tags = json_with(app.get("/api/v1/tags", &volunteer).await, 200).await;
    assert_eq!(tags["items"].as_array().unwrap().len(), 2);

    let id = person(&list, 0);
    let mut first = knock(&list, 0, "contacted", 20);
    first["people"] =
        json!([{ "person_id": id, "tags": { "apply": ["yard_sign", "needs_ride"] } }]);
    let mut unknown = knock(&list, 1, "contacted", 19);
    unknown["people"] = json!([{ "person_id": person(&list, 1), "tags": { "apply": ["hugs"] } }]);
    let sent = sync(&app, &volunteer, &[first.clone(), unknown]).await;
    assert_eq!(
        (sent["created"].as_u64(), sent["rejected"].as_u64()),
        (Some(1), Some(1)),
        "{sent}"
    );
    let p = json_with(
        app.get(&format!("/api/v1/people/{id}"), &organizer).await,
        200,
    )
    .await;
    assert_eq!(p["tags"], json!(["yard_sign", "needs_ride"]));
    // The ride was arranged: a later visit removes the tag; resending the first knock
    // changes nothing.
    let mut later = knock(&list, 0, "contacted", 5);
    later["people"] = json!([{ "person_id": id, "tags": { "remove": ["needs_ride"] } }]);
    let sent = sync(&app, &volunteer, &[later, first]).await;
    assert_eq!(
        (sent["created"].as_u64(), sent["duplicate"].as_u64()),
        (Some(1), Some(1)),
        "{sent}"
    );
    let p = json_with(
        app.get(&format!("/api/v1/people/{id}"), &organizer).await,
        200,
    )
    .await;
    assert_eq!(p["tags"], json!(["yard_sign"]));
    // A phone that was offline syncs an older visit that applied the tag: the later
    // removal still stands.
    let mut older = knock(&list, 0, "contacted", 15);
    older["people"] = json!([{ "person_id": id, "tags": { "apply": ["needs_ride"] } }]);
    assert_eq!(sync(&app, &organizer, &[older]).await["created"], 1);
    let p = json_with(
        app.get(&format!("/api/v1/people/{id}"), &organizer).await,
        200,
    )
    .await;
    assert_eq!(p["tags"], json!(["yard_sign"]), "{p}");
    // The people export carries them back to the voter file.
    let csv = app
        .get("/api/v1/exports/people.csv", &organizer)
        .await
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let (ext, tag_col) = (
        headers.iter().position(|h| h == "external_id").unwrap(),
        headers.iter().position(|h| h == "tags").unwrap(),
    );
    let row = reader
        .records()
        .map(Result::unwrap)
        .find(|r| r.get(ext) == p["external_id"].as_str())
        .unwrap();
    assert_eq!(row.get(tag_col), Some("yard_sign"));
    // The contacts export has a row per tag change that still stands: yard_sign applied
    // at the first visit, needs_ride removed at the later one.
    let csv = app
        .get("/api/v1/exports/contacts.csv", &organizer)
        .await
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (ext, tag, action) = (col("external_id"), col("tag"), col("tag_action"));
    let mut changes: Vec<(String, String)> = reader
        .records()
        .map(Result::unwrap)
        .filter(|r| r.get(ext) == p["external_id"].as_str() && !r[tag].is_empty())
        .map(|r| (r[tag].to_owned(), r[action].to_owned()))
        .collect();
    changes.sort();
    assert_eq!(
        changes,
        vec![
            ("needs_ride".to_owned(), "Remove".to_owned()),
            ("yard_sign".to_owned(), "Apply".to_owned())
        ]
    );
}

#[tokio::test]
async fn someone_met_at_the_door_is_added_once_and_joins_the_household() {
    let Canvass {
        app,
        organizer,
        volunteer,
        list,
        ..
    } = canvass().await;
    let id = person(&list, 0);
    let mut k = knock(&list, 0, "contacted", 10);
    k["people"] = json!([{ "person_id": id }]);
    k["new_people"] =
        json!([{ "first_name": "Lea", "last_name": "Marxer", "phone": "+423 777 00 00" }]);
    let mut not_home = knock(&list, 1, "not_home", 9);
    let k_client = k["client_id"].as_str().unwrap().to_owned();
    not_home["new_people"] = json!([{ "first_name": "Nobody", "last_name": "Home" }]);
    let sent = sync(&app, &volunteer, &[k.clone(), not_home]).await;
    assert_eq!(
        (sent["created"].as_u64(), sent["rejected"].as_u64()),
        (Some(1), Some(1)),
        "{sent}"
    );
    async fn household(app: &TestApp, token: &str, id: i64) -> usize {
        let p = json_with(app.get(&format!("/api/v1/people/{id}"), token).await, 200).await;
        p["household"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["first_name"] == "Lea" && h["last_name"] == "Marxer")
            .count()
    }
    assert_eq!(household(&app, &organizer, id).await, 1);
    // A resent knock adds nobody twice.
    let again = sync(&app, &volunteer, &[k]).await;
    assert_eq!(again["duplicate"], 1);
    assert_eq!(household(&app, &organizer, id).await, 1);
    // Their external id is the knock's client id and their place in it.
    let external = format!("door:{}:0", k_client);
    let found = json_with(
        app.get(&format!("/api/v1/people/search?q={external}"), &organizer)
            .await,
        200,
    )
    .await;
    let lea = found["items"][0].clone();
    assert_eq!(lea["first_name"], "Lea");
    assert_eq!(lea["phone"], "+423 777 00 00");
    assert_eq!(lea["door_id"], stop(&list, 0)["door_id"]);
}

#[tokio::test]
async fn a_search_with_accented_letters_finds_the_same_people_on_both_stores() {
    use groundswell::db::schema::people;
    let Canvass { app, organizer, .. } = canvass().await;
    // Every person whose last name starts with "Bü" (Büchel is common in Liechtenstein),
    // counted here in Rust.
    let all: Vec<(i64, String)> = people::table
        .filter(people::campaign_id.eq(app.campaign_id))
        .select((people::id, people::last_name))
        .load(&mut app.conn())
        .unwrap();
    let expected: BTreeSet<i64> = all
        .iter()
        .filter(|(_, n)| n.starts_with("Bü"))
        .map(|(id, _)| *id)
        .collect();
    assert!(!expected.is_empty(), "the demo has a Büchel");
    for q in ["B%C3%BC", "b%C3%BC", "b%C3%BCch"] {
        let mut ids: BTreeSet<i64> = BTreeSet::new();
        let mut after = String::new();
        loop {
            let found = json_with(
                app.get(
                    &format!("/api/v1/people/search?q={q}&limit=200{after}"),
                    &organizer,
                )
                .await,
                200,
            )
            .await;
            ids.extend(
                found["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["id"].as_i64().unwrap())
                    .filter(|id| all.iter().any(|(i, n)| i == id && n.starts_with("Bü"))),
            );
            match found["next_after"].as_i64() {
                Some(next) => after = format!("&after={next}"),
                None => break,
            }
        }
        let want: BTreeSet<i64> = if q == "b%C3%BCch" {
            all.iter()
                .filter(|(_, n)| n.starts_with("Büch"))
                .map(|(id, _)| *id)
                .collect()
        } else {
            expected.clone()
        };
        assert_eq!(ids, want, "{q}");
    }
}

#[tokio::test]
async fn an_edited_or_retired_question_loses_no_answer() {
    let Canvass {
        app,
        organizer,
        volunteer,
        list,
        ..
    } = canvass().await;
    let created = json_with(
        app.post(
            "/api/v1/questions",
            Some(&organizer),
            json!({ "key": "issue", "kind": "single_choice", "text": "What matters most?",
                    "answers": [{ "value": "bus", "label": "Bus" }, { "value": "rent", "label": "Rent" }] }),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(created["active"], true);
    let path = format!("/api/v1/walk-lists/{}", list["id"]);
    let before = app.get(&path, &volunteer).await;
    let etag = before.headers()["etag"].to_str().unwrap().to_owned();
    // Relabel one answer and add one: the list shows it at once, with a new ETag.
    let edited = json_with(
        app.patch(
            "/api/v1/questions/issue",
            &organizer,
            json!({ "text": "What matters most this year?",
                    "answers": [{ "value": "bus", "label": "Buses and trams" },
                                { "value": "rent", "label": "Rent" },
                                { "value": "care", "label": "Childcare" }] }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(edited["answers"].as_array().unwrap().len(), 3);
    let again = app.get(&path, &volunteer).await;
    assert_ne!(again.headers()["etag"].to_str().unwrap(), etag);
    let shown = json_with(again, 200).await;
    let issue = shown["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["key"] == "issue")
        .unwrap();
    assert_eq!(issue["text"], "What matters most this year?");
    assert_eq!(issue["answers"][0]["label"], "Buses and trams");
    // Dropping an answer already offered is refused, naming it; support ID is fixed.
    let err = assert_error(
        app.patch(
            "/api/v1/questions/issue",
            &organizer,
            json!({ "answers": [{ "value": "bus", "label": "Bus" }] }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"rent\""),
        "{err}"
    );
    assert_error(
        app.patch(
            "/api/v1/questions/support_id",
            &organizer,
            json!({ "text": "Hm?" }),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    assert_error(
        app.delete("/api/v1/questions/issue", &volunteer).await,
        403,
        "forbidden",
    )
    .await;
    // Retired: off the list, listed only when asked for ...
    let res = app.delete("/api/v1/questions/issue", &organizer).await;
    assert_eq!(res.status(), 204);
    let shown = json_with(app.get(&path, &volunteer).await, 200).await;
    assert!(
        shown["questions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|q| q["key"] != "issue")
    );
    let all = json_with(
        app.get("/api/v1/questions?retired=true", &organizer).await,
        200,
    )
    .await;
    let retired = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["key"] == "issue")
        .unwrap();
    assert_eq!(retired["active"], false);
    // ... but a phone that got the list before still syncs its answer, kept and counted.
    let mut k = knock(&list, 0, "contacted", 5);
    k["people"] = json!([{ "person_id": person(&list, 0), "answers": { "issue": "care" } }]);
    assert_eq!(statuses(&sync(&app, &volunteer, &[k]).await), ["created"]);
    let progress = json_with(
        app.get("/api/v1/progress?group_by=campaign", &organizer)
            .await,
        200,
    )
    .await;
    assert_eq!(
        progress["items"][0]["questions"]["issue"]["care"], 1,
        "{progress}"
    );
    // The key stays taken.
    assert_error(
        app.post(
            "/api/v1/questions",
            Some(&organizer),
            json!({ "key": "issue", "kind": "free_text", "text": "Anything else?" }),
        )
        .await,
        409,
        "conflict",
    )
    .await;
}
