//! Voter-file import over HTTP and on the command line: rows counted, bad rows reported
//! by line, re-imports update without duplicating.

use std::time::Duration;

use groundswell::domain::Role;
use serde_json::Value;

use crate::helpers::{TestApp, assert_error, json_with, spawn_app, spawn_app_with};

const FILE: &str = "\
external_id,first_name,last_name,street,housenumber,unit,postcode,city,lat,lng,flags,support_score,precinct
V1,Anna,Beck,Städtle,23,,9490,Vaduz,47.1399905,9.5228593,,70,P1
V2,Peter,Beck,Städtle,23,,9490,Vaduz,47.1399905,9.5228593,,65,P1
V3,Eva,Frick,Städtle,15,,9490,Vaduz,47.1406122,9.5228179,moved,,P1
,No,Id,Städtle,1,,9490,Vaduz,47.14,9.52,,,P1
V5,Bad,Coordinates,Städtle,2,,9490,Vaduz,north,9.52,,,P1
V6,Far,Away,Städtle,3,,9490,Vaduz,47.14,190,,,P1
V7,Odd,Flag,Städtle,4,,9490,Vaduz,47.14,9.52,vip,,P1
V8,Flat,Owner,Städtle,15,2a,9490,Vaduz,47.1406122,9.5228179,,,P1
";

async fn upload(app: &TestApp, token: &str, body: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/imports/people"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

/// Polls an import until it has finished.
async fn finished(app: &TestApp, token: &str, accepted: Value) -> Value {
    let id = accepted["id"].as_i64().unwrap();
    for _ in 0..200 {
        let run = json_with(app.get(&format!("/api/v1/imports/{id}"), token).await, 200).await;
        if run["status"] == "done" || run["status"] == "failed" {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("import {id} did not finish");
}

fn count(app: &TestApp, table: &str) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
        .get_result::<N>(&mut app.conn())
        .unwrap()
        .n
}

#[tokio::test]
async fn an_import_loads_good_rows_reports_bad_ones_and_reimports_without_duplicates() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let res = upload(&app, &token, FILE).await;
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/api/v1/imports/")
    );
    let accepted = json_with(res, 202).await;
    let run = finished(&app, &token, accepted).await;
    assert_eq!(run["status"], "done", "{run}");
    assert_eq!(run["rows_read"], 8);
    assert_eq!(run["created"], 4);
    assert_eq!(run["updated"], 0);
    assert_eq!(run["rejected"], 4);
    let errors: Vec<(i64, String)> = run["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_i64().unwrap(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errors.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![5, 6, 7, 8]
    );
    assert!(errors[0].1.contains("external_id is missing"));
    assert!(errors[1].1.contains("lat `north` is not a number"));
    assert!(errors[2].1.contains("lng 190 is outside"));
    assert!(errors[3].1.contains("unknown flag `vip`"));
    assert!(
        run["message"].as_str().unwrap().contains("precinct"),
        "{run}"
    );
    // Anna and Peter share a door; the flat 2a is a door of its own.
    assert_eq!(count(&app, "people"), 4);
    assert_eq!(count(&app, "doors"), 3);

    // The same file again, with one person moved to a new address: updates only.
    let again = FILE.replace("V3,Eva,Frick,Städtle,15,", "V3,Eva,Frick,Landstrasse,7,");
    let run = finished(
        &app,
        &token,
        json_with(upload(&app, &token, &again).await, 202).await,
    )
    .await;
    assert_eq!(
        (run["created"].as_i64(), run["updated"].as_i64()),
        (Some(0), Some(4)),
        "{run}"
    );
    assert_eq!(count(&app, "people"), 4);
    assert_eq!(count(&app, "doors"), 4);
    let people = json_with(app.get("/api/v1/people?limit=10", &token).await, 200).await;
    let eva = people["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["external_id"] == "V3")
        .unwrap()
        .clone();
    assert_eq!(eva["moved"], true);
    assert_eq!(eva["first_name"], "Eva");
}

#[tokio::test]
async fn a_file_without_the_required_columns_is_refused_before_it_is_queued() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let err = assert_error(
        upload(&app, &token, "id,name\n1,Anna\n").await,
        422,
        "validation_failed",
    )
    .await;
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("external_id, street, housenumber, lat, lng"),
        "{err}"
    );
    assert_eq!(err["error"]["details"]["field"], "body");
    // A file that is a single line, without a newline, is read as its header too.
    assert_error(upload(&app, &token, "{}").await, 422, "validation_failed").await;
    // Nothing was queued.
    assert_eq!(count(&app, "imports"), 0);
}

#[tokio::test]
async fn imports_refuse_the_wrong_type_an_oversized_file_and_volunteers() {
    let app = spawn_app_with(|s| s.max_import_bytes = 300).await;
    let token = app.admin_token().await;
    let res = app
        .client
        .post(app.url("/api/v1/imports/people"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_error(res, 415, "unsupported_media_type").await;
    let body = assert_error(upload(&app, &token, FILE).await, 413, "payload_too_large").await;
    assert_eq!(body["error"]["details"]["limit_bytes"], 300);
    assert_error(upload(&app, &token, "").await, 422, "validation_failed").await;
    let (_, volunteer) = app.user_with_role(Role::Volunteer).await;
    assert_error(
        upload(&app, &volunteer, "external_id\n").await,
        403,
        "forbidden",
    )
    .await;
    // Another campaign's import is not found.
    let accepted = json_with(
        upload(&app, &token, "external_id,street,housenumber,lat,lng\n").await,
        202,
    )
    .await;
    let rival = app.create_campaign("Rival");
    app.create_user(rival, "boss@rival.org", Role::Admin);
    let theirs = app.token("boss@rival.org").await;
    assert_error(
        app.get(&format!("/api/v1/imports/{}", accepted["id"]), &theirs)
            .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_nul_or_an_endless_line_costs_only_its_own_row() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let long_name = "x".repeat(300_000);
    let file = format!(
        "external_id,first_name,last_name,street,housenumber,lat,lng\n\
         V1,Anna,Beck,Städtle,23,47.1399905,9.5228593\n\
         V2,Nu\0l,Beck,Städtle,23,47.1399905,9.5228593\n\
         V3,{long_name},Frick,Städtle,15,47.1406122,9.5228179\n\
         V4,\"Open {long_name}\nquote\",Frick,Städtle,15,47.1406122,9.5228179\n\
         V5,Eva,Frick,Städtle,15,47.1406122,9.5228179\n"
    );
    let run = finished(
        &app,
        &token,
        json_with(upload(&app, &token, &file).await, 202).await,
    )
    .await;
    // The same outcome on both stores: the neighbours are stored, each bad row is
    // named by its line with the reason.
    assert_eq!(run["status"], "done", "{run}");
    assert_eq!(
        (run["created"].as_i64(), run["rejected"].as_i64()),
        (Some(2), Some(3)),
        "{run}"
    );
    let errors: Vec<(i64, String)> = run["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_i64().unwrap(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errors.iter().map(|e| e.0).collect::<Vec<_>>(),
        [3, 4, 5],
        "{run}"
    );
    assert!(errors[0].1.contains("NUL"), "{run}");
    assert!(errors[1].1.contains("longer than 65536 bytes"), "{run}");
    assert!(errors[2].1.contains("longer than 65536 bytes"), "{run}");
    assert_eq!(count(&app, "people"), 2);
}

/// The people of the test campaign as the API lists them, by external id.
async fn people_by_external_id(
    app: &TestApp,
    token: &str,
) -> std::collections::HashMap<String, Value> {
    let people = json_with(app.get("/api/v1/people?limit=100", token).await, 200).await;
    people["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["external_id"].as_str().unwrap().to_owned(), p.clone()))
        .collect()
}

#[tokio::test]
async fn a_reimport_stores_what_changed_keeps_field_flags_and_odd_text_intact() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    // Quotes, an apostrophe, a backslash, a tab, a line break and accents, which must
    // all come back as the file had them.
    let odd = "Zoë \"Zo\" O'Brien\\\tjr.\nsecond line";
    let header = "external_id,first_name,last_name,street,housenumber,unit,postcode,city,lat,lng,phone,party,flags,support_score";
    let first = format!(
        "{header}\n\
         V1,Anna,Beck,Städtle,23,,9490,Vaduz,47.1399905,9.5228593,+423 111,,do_not_walk,70\n\
         V2,\"{}\",Beck,Städtle,23,,9490,Vaduz,47.1399905,9.5228593,,,deceased,\n\
         V3,Eva,Frick,Städtle,15,,9490,Vaduz,47.1406122,9.5228179,,Blue,,\n",
        odd.replace('"', "\"\"")
    );
    let run = finished(
        &app,
        &token,
        json_with(upload(&app, &token, &first).await, 202).await,
    )
    .await;
    assert_eq!(
        (run["created"].as_i64(), run["updated"].as_i64()),
        (Some(3), Some(0)),
        "{run}"
    );
    let before = people_by_external_id(&app, &token).await;
    assert_eq!(before["V2"]["first_name"], odd);
    let stamped_before = updated_at(&app);

    // Anna's phone changed and her flag is gone from the file, Zoë's flag too; Eva is as
    // she was; Tom is new, at a door of his own.
    let second = format!(
        "{header}\n\
         V1,Anna,Beck,Städtle,23,,9490,Vaduz,47.1399905,9.5228593,+423 222,,,70\n\
         V2,\"{}\",Beck,Städtle,23,,9490,Vaduz,47.1399905,9.5228593,,,,\n\
         V3,Eva,Frick,Städtle,15,,9490,Vaduz,47.1406122,9.5228179,,Blue,,\n\
         V4,Tom,Frick,Landstrasse,7,,9490,Vaduz,47.141,9.521,,,moved,12.5\n",
        odd.replace('"', "\"\"")
    );
    let run = finished(
        &app,
        &token,
        json_with(upload(&app, &token, &second).await, 202).await,
    )
    .await;
    assert_eq!(
        (run["created"].as_i64(), run["updated"].as_i64()),
        (Some(1), Some(3)),
        "{run}"
    );
    let after = people_by_external_id(&app, &token).await;
    assert_eq!(after.len(), 4);
    assert_eq!(after["V1"]["phone"], "+423 222");
    assert_eq!(after["V1"]["do_not_walk"], true, "a flag is never erased");
    assert_eq!(after["V1"]["support_score"], 70.0);
    assert_eq!(after["V2"]["first_name"], odd);
    assert_eq!(after["V2"]["deceased"], true, "a flag is never erased");
    assert_eq!(after["V3"], before["V3"]);
    assert_eq!(after["V4"]["moved"], true);
    assert_eq!(after["V4"]["support_score"], 12.5);
    assert_ne!(after["V4"]["door_id"], after["V3"]["door_id"]);
    assert_eq!(after["V1"]["door_id"], before["V1"]["door_id"]);
    assert_eq!(count(&app, "doors"), 3);
    if app.db.is_postgres() {
        // PostgreSQL rewrites only what the file changed (SQLite rewrites every row).
        let stamped_after = updated_at(&app);
        assert_eq!(stamped_after["V3"], stamped_before["V3"]);
        assert_eq!(stamped_after["V2"], stamped_before["V2"]);
        assert!(stamped_after["V1"] > stamped_before["V1"]);
    }
}

/// When each person was last written, by external id.
fn updated_at(app: &TestApp) -> std::collections::HashMap<String, chrono::NaiveDateTime> {
    use diesel::prelude::*;
    use groundswell::db::schema::people;
    people::table
        .select((people::external_id, people::updated_at))
        .load::<(String, chrono::NaiveDateTime)>(&mut app.conn())
        .unwrap()
        .into_iter()
        .collect()
}

/// One row of a small voter file, read as the import reads it.
fn record(line: &str) -> groundswell::import::row::PersonRecord {
    let header = groundswell::import::row::Header::parse(
        "external_id,first_name,street,housenumber,lat,lng".split(','),
    )
    .unwrap();
    let fields: Vec<&str> = line.split(',').collect();
    groundswell::import::row::parse_row(&header, &fields, 2026).unwrap()
}

/// Two imports of one campaign at once on PostgreSQL: another transaction stores a
/// person (or door) of the batch after the batch has looked for it and before it inserts
/// it. The batch must wait for that transaction and then update the row it stored.
#[test]
fn a_batch_that_loses_a_race_for_a_person_or_door_updates_the_winners_row() {
    use diesel::prelude::*;
    use groundswell::db::people::{Upserted, upsert_batch};
    use groundswell::db::schema::{doors, people};
    use std::sync::mpsc;

    let db = crate::helpers::TestDb::new();
    if !db.is_postgres() {
        return; // SQLite lets one writer in at a time: there is no race to lose.
    }
    let connect = || {
        groundswell::db::DbManager::new(&db.url)
            .establish()
            .unwrap()
    };
    let mut watcher = connect();
    groundswell::db::migrate(&mut watcher).unwrap();
    let campaign = groundswell::admin::create_campaign(&mut watcher, "Race").unwrap();

    // The rival stores `rival` and holds its transaction open until told to commit; the
    // batch starts meanwhile and must come back with `expected`.
    let race = |rival: Vec<groundswell::import::row::PersonRecord>,
                batch: Vec<groundswell::import::row::PersonRecord>,
                expected: Upserted,
                watcher: &mut groundswell::db::DbConnection| {
        let (stored, wait_stored) = mpsc::channel();
        let (commit, wait_commit) = mpsc::channel::<()>();
        let mut rival_conn = connect();
        let mut batch_conn = connect();
        std::thread::scope(|s| {
            s.spawn(move || {
                rival_conn
                    .transaction(|c| {
                        upsert_batch(c, campaign, &rival)?;
                        stored.send(()).unwrap();
                        wait_commit.recv().unwrap();
                        diesel::QueryResult::Ok(())
                    })
                    .unwrap();
            });
            wait_stored.recv().unwrap();
            let writer =
                s.spawn(move || batch_conn.transaction(|c| upsert_batch(c, campaign, &batch)));
            // Commit only once the batch waits for the rival's row.
            #[derive(QueryableByName)]
            struct Waiting {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let mut waited = 0;
            while diesel::sql_query(
                "SELECT COUNT(*) AS n FROM pg_stat_activity \
                  WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .get_result::<Waiting>(watcher)
            .unwrap()
            .n == 0
            {
                waited += 1;
                assert!(waited < 500, "the batch never waited for the rival");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            commit.send(()).unwrap();
            assert_eq!(writer.join().unwrap().unwrap(), expected);
        });
    };

    // A person: the rival stores V2 at another door than the batch's.
    race(
        vec![record("V2,Rival,Städtle,1,47.1399,9.5228")],
        vec![
            record("V1,Anna,Städtle,23,47.1399905,9.5228593"),
            record("V2,Peter,Städtle,23,47.1399905,9.5228593"),
        ],
        Upserted {
            created: 1,
            updated: 1,
        },
        &mut watcher,
    );
    let of = |conn: &mut groundswell::db::DbConnection, id: &str| {
        people::table
            .filter(people::external_id.eq(id))
            .select((people::first_name, people::door_id))
            .first::<(String, i64)>(conn)
            .unwrap()
    };
    let (peter, peters_door) = of(&mut watcher, "V2");
    assert_eq!(peter, "Peter");
    assert_eq!(peters_door, of(&mut watcher, "V1").1);

    // A door: the rival stores the door of the batch's new person first.
    race(
        vec![record("V3,Eva,Landstrasse,7,47.141,9.521")],
        vec![record("V4,Tom,Landstrasse,7,47.141,9.521")],
        Upserted {
            created: 1,
            updated: 0,
        },
        &mut watcher,
    );
    assert_eq!(of(&mut watcher, "V4").1, of(&mut watcher, "V3").1);
    let door_count: i64 = doors::table
        .filter(doors::campaign_id.eq(campaign))
        .count()
        .get_result(&mut watcher)
        .unwrap();
    assert_eq!(door_count, 3);
}

/// Sets an import's run state as a server that stopped mid-run would have left it.
fn left_running(app: &TestApp, id: i64, attempts: i64) {
    use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
    use groundswell::db::schema::imports;
    diesel::update(imports::table.filter(imports::id.eq(id)))
        .set((
            imports::status.eq("running"),
            imports::attempts.eq(attempts),
            imports::lease_until.eq(chrono::Utc::now().naive_utc() - chrono::Duration::minutes(1)),
        ))
        .execute(&mut app.conn())
        .unwrap();
}

#[tokio::test]
async fn an_import_left_by_a_stopped_server_is_run_by_another_or_failed_visibly() {
    // A server that takes uploads but runs no imports, as an API-only node.
    let app = spawn_app_with(|s| s.import_jobs = false).await;
    let token = app.admin_token().await;
    let accepted = json_with(upload(&app, &token, FILE).await, 202).await;
    let id = accepted["id"].as_i64().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let waiting = json_with(app.get(&format!("/api/v1/imports/{id}"), &token).await, 200).await;
    assert_eq!(waiting["status"], "queued");
    assert_eq!(
        count(&app, "import_chunks"),
        1,
        "the file is in the database"
    );
    // Its first runner died mid-run: the lease ran out.
    left_running(&app, id, 1);
    // Another server (or the same one restarted) finds it and runs it again, whole.
    app.another_server(|s| s.import_poll_interval = Duration::from_millis(100))
        .await;
    let run = finished(&app, &token, accepted).await;
    assert_eq!(run["status"], "done", "{run}");
    assert_eq!(
        (run["created"].as_i64(), run["rejected"].as_i64()),
        (Some(4), Some(4))
    );
    assert_eq!(count(&app, "people"), 4);
    assert_eq!(
        count(&app, "import_chunks"),
        0,
        "the file is dropped once imported"
    );

    // A run whose servers kept dying is failed after three starts, saying why. (Stored
    // as such directly: an upload here would be taken by the running server at once.)
    let id = {
        use diesel::{ExpressionMethods, RunQueryDsl};
        use groundswell::db::schema::{import_chunks, imports};
        let mut conn = app.conn();
        let now = chrono::Utc::now().naive_utc();
        let id: i64 = diesel::insert_into(imports::table)
            .values((
                imports::campaign_id.eq(app.campaign_id),
                imports::kind.eq("people"),
                imports::status.eq("running"),
                imports::created_at.eq(now),
                imports::updated_at.eq(now),
                imports::attempts.eq(3),
                imports::bytes.eq(FILE.len() as i64),
                imports::lease_until.eq(now - chrono::Duration::minutes(1)),
            ))
            .returning(imports::id)
            .get_result(&mut conn)
            .unwrap();
        diesel::insert_into(import_chunks::table)
            .values((
                import_chunks::campaign_id.eq(app.campaign_id),
                import_chunks::import_id.eq(id),
                import_chunks::seq.eq(0_i64),
                import_chunks::data.eq(FILE.as_bytes()),
            ))
            .execute(&mut conn)
            .unwrap();
        id
    };
    let run = finished(&app, &token, serde_json::json!({ "id": id })).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(
        run["message"].as_str().unwrap().contains("started 3 times"),
        "{run}"
    );
    assert_eq!(count(&app, "import_chunks"), 0);
    assert_eq!(count(&app, "people"), 4, "nothing duplicated");
}

#[tokio::test]
async fn a_phone_number_recorded_at_the_door_survives_a_reimport_without_one() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let run = finished(
        &app,
        &token,
        json_with(upload(&app, &token, FILE).await, 202).await,
    )
    .await;
    assert_eq!(run["status"], "done", "{run}");
    let found = json_with(app.get("/api/v1/people/search?q=V1", &token).await, 200).await;
    let id = found["items"][0]["id"].as_i64().unwrap();
    json_with(
        app.patch(
            &format!("/api/v1/people/{id}"),
            &token,
            serde_json::json!({ "phone": "+423 555 01 99" }),
        )
        .await,
        200,
    )
    .await;
    // The voter file has no phone column: what the canvasser recorded stays.
    let run = finished(
        &app,
        &token,
        json_with(upload(&app, &token, FILE).await, 202).await,
    )
    .await;
    assert_eq!(run["status"], "done", "{run}");
    let person = json_with(app.get(&format!("/api/v1/people/{id}"), &token).await, 200).await;
    assert_eq!(person["phone"], "+423 555 01 99");
    // A number in the file replaces it.
    let with_phone = FILE
        .replace(
            ",flags,support_score,precinct\n",
            ",flags,support_score,precinct,phone\n",
        )
        .replace("9.5228593,,70,P1\n", "9.5228593,,70,P1,+423 222 33 44\n");
    let run = finished(
        &app,
        &token,
        json_with(upload(&app, &token, &with_phone).await, 202).await,
    )
    .await;
    assert_eq!(run["status"], "done", "{run}");
    let person = json_with(app.get(&format!("/api/v1/people/{id}"), &token).await, 200).await;
    assert_eq!(person["phone"], "+423 222 33 44");
}
