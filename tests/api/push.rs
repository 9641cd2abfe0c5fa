//! Push over FCM HTTP v1 through the outbox, against a local fake FCM server: every
//! failure mode ends where it should, nothing is dropped silently, and two servers on
//! one PostgreSQL database never send a message twice.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use groundswell::domain::Role;
use serde_json::{Value, json};

use crate::fake_fcm::FakeFcm;
use crate::helpers::{TestApp, TestDb, json_with, spawn_app, spawn_app_with};
use crate::turf::seed_liechtenstein;
use groundswell::db::DbManager;

/// A campaign with one list of a small turf, and push pointed at `fake`.
async fn app_with_fcm(fake: &FakeFcm, dir: &std::path::Path) -> TestApp {
    let credentials = fake.write_service_account(dir);
    let base = fake.base_url();
    spawn_app_with(move |s| {
        s.push.credentials_file = Some(credentials);
        s.push.fcm_base_url = base;
        s.push.poll_interval = Duration::from_millis(100);
    })
    .await
}

/// A list made from a small square of Vaduz.
async fn one_list(app: &TestApp, token: &str) -> i64 {
    seed_liechtenstein(app, app.campaign_id);
    let square = json!({ "type": "Polygon", "coordinates": [[[9.515, 47.135], [9.53, 47.135], [9.53, 47.145], [9.515, 47.145], [9.515, 47.135]]] });
    let turf = json_with(
        app.post(
            "/api/v1/turfs",
            Some(token),
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
            Some(token),
            json!({ "turf_id": turf, "max_doors": 500 }),
        )
        .await,
        201,
    )
    .await;
    lists["items"][0]["id"].as_i64().unwrap()
}

async fn register(app: &TestApp, token: &str, device: &str) {
    let res = app
        .post(
            "/api/v1/me/devices",
            Some(token),
            json!({ "token": device, "platform": "android" }),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
}

async fn notifications(app: &TestApp, token: &str, list: i64) -> Vec<Value> {
    json_with(
        app.get(&format!("/api/v1/walk-lists/{list}/notifications"), token)
            .await,
        200,
    )
    .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// Polls the list's messages until `done` holds or 20 s pass.
async fn wait_for(
    app: &TestApp,
    token: &str,
    list: i64,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let items = notifications(app, token, list).await;
        if done(&items) || start.elapsed() > Duration::from_secs(20) {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn by_device(items: &[Value]) -> BTreeMap<i64, Value> {
    items
        .iter()
        .filter_map(|m| m["device_id"].as_i64().map(|d| (d, m.clone())))
        .collect()
}

#[tokio::test]
async fn each_fcm_answer_ends_where_it_should() {
    let fake = FakeFcm::start();
    let dir = tempfile::tempdir().unwrap();
    let app = app_with_fcm(&fake, dir.path()).await;
    let organizer = app.admin_token().await;
    let list = one_list(&app, &organizer).await;
    let (vol_id, volunteer) = app.user_with_role(Role::Volunteer).await;
    for device in [
        "ok-phone",
        "dead-phone",
        "invalid-phone",
        "busy-phone",
        "flaky2-phone",
        "mismatch-phone",
    ] {
        register(&app, &volunteer, device).await;
    }
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

    // The flaky device needs two retries (backoff of about 1 s, then 2 s).
    let items = wait_for(&app, &organizer, list, |items| {
        items.len() == 6
            && items.iter().all(|m| m["state"] != "sending")
            && items.iter().filter(|m| m["state"] == "sent").count() == 2
    })
    .await;
    assert_eq!(items.len(), 6, "one message per device: {items:#?}");
    let states: BTreeMap<String, (String, i64, String)> = items
        .iter()
        .map(|m| {
            let device = m["device_id"].as_i64().unwrap();
            (
                device.to_string(),
                (
                    m["state"].as_str().unwrap().to_owned(),
                    m["attempts"].as_i64().unwrap(),
                    m["last_error"].as_str().unwrap_or("").to_owned(),
                ),
            )
        })
        .collect();
    let devices = by_device(&items);
    let ids: Vec<i64> = devices.keys().copied().collect();
    // Devices were registered in this order, so their ids ascend in it.
    let [ok, dead, invalid, busy, flaky, mismatch] = ids[..] else {
        panic!("six devices: {states:?}")
    };
    let state = |d: i64| devices[&d]["state"].as_str().unwrap().to_owned();
    let error = |d: i64| devices[&d]["last_error"].as_str().unwrap_or("").to_owned();
    assert_eq!(state(ok), "sent");
    assert_eq!(devices[&ok]["attempts"], 1);
    assert_eq!(state(dead), "failed");
    assert!(error(dead).contains("UNREGISTERED"), "{}", error(dead));
    assert_eq!(state(invalid), "failed");
    assert!(
        error(invalid).contains("INVALID_ARGUMENT"),
        "{}",
        error(invalid)
    );
    assert_eq!(state(busy), "pending", "429 is retried later");
    assert!(error(busy).contains("QUOTA_EXCEEDED"), "{}", error(busy));
    assert!(devices[&busy]["next_attempt_at"].is_string());
    assert_eq!(state(flaky), "sent");
    assert_eq!(devices[&flaky]["attempts"], 3);
    assert_eq!(state(mismatch), "failed");
    assert!(
        error(mismatch).contains("SENDER_ID_MISMATCH"),
        "{}",
        error(mismatch)
    );

    // Dead and invalid tokens are gone from the user's devices; the others stay.
    let mine = json_with(app.get("/api/v1/me/devices", &volunteer).await, 200).await;
    let left: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["token"].as_str().unwrap())
        .collect();
    assert!(!left.contains(&"dead-phone") && !left.contains(&"invalid-phone"));
    assert!(left.contains(&"ok-phone") && left.contains(&"busy-phone"));

    // What FCM received: the list id and the event, as data strings.
    let delivered = fake.delivered();
    let to_ok: Vec<_> = delivered.iter().filter(|d| d.token == "ok-phone").collect();
    assert_eq!(to_ok.len(), 1);
    assert_eq!(to_ok[0].data["event"], "assigned");
    assert_eq!(to_ok[0].data["walk_list_id"], list.to_string());
    // One OAuth token served every send.
    assert_eq!(fake.token_requests(), 1);
}

#[tokio::test]
async fn unassignment_and_reassignment_reach_the_right_phones() {
    let fake = FakeFcm::start();
    let dir = tempfile::tempdir().unwrap();
    let app = app_with_fcm(&fake, dir.path()).await;
    let organizer = app.admin_token().await;
    let list = one_list(&app, &organizer).await;
    let (first, first_token) = app.user_with_role(Role::Volunteer).await;
    let (second, second_token) = app.user_with_role(Role::Volunteer).await;
    register(&app, &first_token, "ok-first").await;
    register(&app, &second_token, "ok-second").await;
    let path = format!("/api/v1/walk-lists/{list}/assignments");
    let assign = |user: i64, replace: bool| {
        app.post(
            &path,
            Some(&organizer),
            json!({ "user_id": user, "replace": replace }),
        )
    };
    json_with(assign(first, false).await, 201).await;
    json_with(assign(second, true).await, 201).await;
    let res = app
        .delete(
            &format!("/api/v1/walk-lists/{list}/assignments/{second}"),
            &organizer,
        )
        .await;
    assert_eq!(res.status(), 204);
    wait_for(&app, &organizer, list, |items| {
        items.len() == 4 && items.iter().all(|m| m["state"] == "sent")
    })
    .await;
    let events = |token: &str| -> Vec<String> {
        fake.delivered()
            .iter()
            .filter(|d| d.token == token)
            .map(|d| d.data["event"].clone())
            .collect()
    };
    assert_eq!(events("ok-first"), vec!["assigned", "reassigned"]);
    assert_eq!(events("ok-second"), vec!["assigned", "unassigned"]);
}

#[tokio::test]
async fn without_fcm_messages_are_kept_as_skipped() {
    let app = spawn_app().await;
    let organizer = app.admin_token().await;
    let list = one_list(&app, &organizer).await;
    let (vol, token) = app.user_with_role(Role::Volunteer).await;
    let (bare, _) = app.user_with_role(Role::Volunteer).await;
    register(&app, &token, "ok-phone").await;
    for user in [vol, bare] {
        json_with(
            app.post(
                &format!("/api/v1/walk-lists/{list}/assignments"),
                Some(&organizer),
                json!({ "user_id": user }),
            )
            .await,
            201,
        )
        .await;
    }
    let items = wait_for(&app, &organizer, list, |items| {
        items.len() == 2 && items.iter().all(|m| m["state"] == "skipped")
    })
    .await;
    let reasons: Vec<&str> = items
        .iter()
        .map(|m| m["last_error"].as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"push not configured"), "{items:#?}");
    assert!(
        reasons.contains(&"the user has no registered device"),
        "{items:#?}"
    );
}

#[tokio::test]
async fn two_servers_on_one_postgres_never_send_a_message_twice() {
    // No in-process app here: its own push worker (without FCM) would take messages too.
    let db = TestDb::new();
    if !db.is_postgres() {
        // SQLite has one writer and one server; the case is PostgreSQL's.
        return;
    }
    let fake = FakeFcm::start();
    let dir = tempfile::tempdir().unwrap();
    let credentials = fake.write_service_account(dir.path());
    let mut conn = DbManager::new(&db.url).establish().unwrap();
    groundswell::db::migrate(&mut conn).unwrap();
    let campaign_id = groundswell::admin::create_campaign(&mut conn, "Two servers").unwrap();
    let user = groundswell::admin::create_user(
        &mut conn,
        groundswell::admin::NewAccount {
            campaign_id,
            email: "phones@test.org",
            name: None,
            role: Role::Volunteer,
            password: crate::helpers::PASSWORD.into(),
        },
    )
    .unwrap();
    // 2,000 messages to 2,000 devices, queued before either server starts sending.
    let data = BTreeMap::from([("event".to_owned(), "assigned".to_owned())]);
    for n in 0..2000 {
        groundswell::db::devices::register(
            &mut conn,
            campaign_id,
            user,
            &format!("ok-{n}"),
            "android",
        )
        .unwrap();
    }
    groundswell::db::outbox::enqueue(
        &mut conn,
        &groundswell::db::outbox::NewPush {
            campaign_id,
            user_id: user,
            walk_list_id: None,
            event: "assigned",
            title: "t",
            body: "b",
            data: &data,
        },
    )
    .unwrap();
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_groundswell"))
            .arg("serve")
            .env("DATABASE_URL", &db.url)
            .env("GROUNDSWELL_ADDR", "127.0.0.1:0")
            .env("GROUNDSWELL_JWT_SECRET", crate::helpers::JWT_SECRET)
            .env("GROUNDSWELL_FCM_CREDENTIALS_FILE", &credentials)
            .env("GROUNDSWELL_FCM_BASE_URL", fake.base_url())
            .env("GROUNDSWELL_PUSH_BATCH_SIZE", "50")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut servers = [spawn(), spawn()];
    let start = Instant::now();
    while fake.delivered().len() < 2000 && start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Give a double send the chance to show up before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for s in &mut servers {
        let _ = s.kill();
        let _ = s.wait();
    }
    let mut per_token: BTreeMap<String, usize> = BTreeMap::new();
    for d in fake.delivered() {
        *per_token.entry(d.token.clone()).or_default() += 1;
    }
    assert_eq!(per_token.len(), 2000, "every message was delivered");
    let twice: Vec<_> = per_token.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    let counts = groundswell::db::outbox::state_counts(&mut conn).unwrap();
    assert_eq!(counts, vec![("sent".to_owned(), 2000)]);
}
