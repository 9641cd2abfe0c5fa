//! Back to the voter file: the people and contacts exports read as a spreadsheet
//! program reads them, their codes, the round trip through the import, and the OSDI
//! canvass feed.

use std::collections::HashMap;
use std::time::Duration;

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, json_with};
use crate::knocks::{Canvass, canvass, knock, person, stop, sync};

/// Reads a CSV body as a spreadsheet program would: a byte order mark, if any, marks
/// UTF-8 and is not part of the first column's name.
fn spreadsheet(bytes: &[u8]) -> (bool, Vec<HashMap<String, String>>) {
    let bom = bytes.starts_with("\u{feff}".as_bytes());
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.expect("a well-formed CSV row");
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect();
    (bom, rows)
}

async fn download(app: &TestApp, token: &str, path: &str) -> Vec<u8> {
    let res = app.get(path, token).await;
    assert_eq!(res.status(), 200, "{path}");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    res.bytes().await.unwrap().to_vec()
}

fn external_ids(app: &TestApp) -> HashMap<i64, String> {
    use groundswell::db::schema::people;
    people::table
        .filter(people::campaign_id.eq(app.campaign_id))
        .select((people::id, people::external_id))
        .load::<(i64, String)>(&mut app.conn())
        .unwrap()
        .into_iter()
        .collect()
}

#[tokio::test]
async fn exports_go_back_into_the_voter_file_with_the_campaigns_codes() {
    let Canvass {
        app,
        organizer,
        volunteer,
        list,
        ..
    } = canvass().await;
    let externals = external_ids(&app);
    // Door 0: the first person says 2 on the support scale; door 1: nobody home.
    let mut spoke = knock(&list, 0, "contacted", 30);
    spoke["people"] = json!([{ "person_id": person(&list, 0), "answers": { "support_id": 2 } }]);
    let nobody = knock(&list, 1, "not_home", 20);
    assert_eq!(sync(&app, &volunteer, &[spoke, nobody]).await["created"], 2);

    // The data lead maps codes once.
    let codes = json!({ "items": [
        { "kind": "result", "key": "not_home", "code": "NH" },
        { "kind": "question", "key": "support_id", "code": "SQ1021" },
        { "kind": "answer", "key": "support_id:2", "code": "R2" },
    ] });
    let put = json_with(
        app.request(
            reqwest::Method::PUT,
            "/api/v1/export-codes",
            Some(&organizer),
            Some(codes.clone()),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(put, codes);
    assert_eq!(
        json_with(app.get("/api/v1/export-codes", &organizer).await, 200).await,
        codes
    );
    for bad in [
        json!({ "items": [{ "kind": "badge", "key": "x", "code": "y" }] }),
        json!({ "items": [{ "kind": "result", "key": "nonsense", "code": "y" }] }),
        json!({ "items": [{ "kind": "answer", "key": "support_id", "code": "y" }] }),
        json!({ "items": [{ "kind": "result", "key": "moved", "code": "" }] }),
        json!({ "items": [
            { "kind": "result", "key": "moved", "code": "M" },
            { "kind": "result", "key": "moved", "code": "MV" },
        ] }),
    ] {
        assert_error(
            app.request(
                reqwest::Method::PUT,
                "/api/v1/export-codes",
                Some(&organizer),
                Some(bad),
            )
            .await,
            422,
            "validation_failed",
        )
        .await;
    }
    assert_error(
        app.get("/api/v1/exports/contacts.csv", &volunteer).await,
        403,
        "forbidden",
    )
    .await;

    // Contacts: with a byte order mark when asked; per person one row per answer, or
    // one with the result; the mapped codes where there are some.
    let (bom, rows) =
        spreadsheet(&download(&app, &organizer, "/api/v1/exports/contacts.csv?bom=true").await);
    assert!(bom);
    let (plain, _) = spreadsheet(&download(&app, &organizer, "/api/v1/exports/contacts.csv").await);
    assert!(!plain);
    let spoken = &externals[&person(&list, 0)];
    let answered: Vec<&HashMap<String, String>> = rows
        .iter()
        .filter(|r| &r["external_id"] == spoken)
        .collect();
    assert_eq!(answered.len(), 1, "{rows:?}");
    let a = answered[0];
    assert_eq!(a["contact_type"], "Walk");
    assert_eq!(a["result_code"], "Canvassed", "unmapped: VAN's name");
    assert_eq!(
        (&*a["question_code"], &*a["answer"], &*a["answer_code"]),
        ("SQ1021", "2", "R2")
    );
    assert_eq!(a["date_canvassed"].len(), 10);
    let residents: Vec<i64> = stop(&list, 1)["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    let not_home: Vec<&HashMap<String, String>> =
        rows.iter().filter(|r| r["result"] == "not_home").collect();
    assert_eq!(not_home.len(), residents.len(), "{rows:?}");
    for r in &not_home {
        assert_eq!(r["result_code"], "NH");
        assert!(residents.iter().any(|p| externals[p] == r["external_id"]));
    }

    // People: everyone once, keyed by external_id, with what the campaign learned.
    let file = download(&app, &organizer, "/api/v1/exports/people.csv?bom=true").await;
    let (bom, people) = spreadsheet(&file);
    assert!(bom);
    assert_eq!(people.len(), externals.len());
    let row = people.iter().find(|r| &r["external_id"] == spoken).unwrap();
    assert_eq!(row["latest_support_id"], "2");
    assert!(!row["latest_support_id_at"].is_empty());
    assert_eq!(row["last_result"], "contacted");
    assert_eq!(row["van_last_result"], "Canvassed");
    let current: f64 = row["current_score"].parse().unwrap();
    assert!((0.0..=100.0).contains(&current));

    // Round trip: the file goes back in by external_id. One phone number corrected in
    // the spreadsheet is stored; nothing is duplicated or rejected.
    let text = String::from_utf8(file).unwrap();
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = reader.headers().unwrap().clone();
    let phone_col = headers.iter().position(|h| h == "phone").unwrap();
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&headers).unwrap();
    for r in reader.records() {
        let mut r: Vec<String> = r.unwrap().iter().map(str::to_owned).collect();
        if &r[0] == spoken {
            r[phone_col] = "+423 555 01 02".into();
        }
        writer.write_record(&r).unwrap();
    }
    let edited = String::from_utf8(writer.into_inner().unwrap()).unwrap();
    let accepted = json_with(
        app.client
            .post(app.url("/api/v1/imports/people"))
            .bearer_auth(&organizer)
            .header("content-type", "text/csv")
            .body(format!("\u{feff}{edited}"))
            .send()
            .await
            .unwrap(),
        202,
    )
    .await;
    let id = accepted["id"].as_i64().unwrap();
    let mut run = Value::Null;
    for _ in 0..600 {
        run = json_with(
            app.get(&format!("/api/v1/imports/{id}"), &organizer).await,
            200,
        )
        .await;
        if run["status"] == "done" || run["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(run["status"], "done", "{run}");
    assert_eq!(run["created"], 0, "{run}");
    assert_eq!(run["rejected"], 0, "{run}");
    assert_eq!(external_ids(&app).len(), externals.len());
    {
        use groundswell::db::schema::people;
        let phone: Option<String> = people::table
            .filter(people::id.eq(person(&list, 0)))
            .select(people::phone)
            .first(&mut app.conn())
            .unwrap();
        assert_eq!(phone.as_deref(), Some("+423 555 01 02"));
    }
    let again = spreadsheet(&download(&app, &organizer, "/api/v1/exports/people.csv").await).1;
    for (before, after) in people.iter().zip(&again) {
        if &before["external_id"] == spoken {
            // Stored as typed; guarded in the file, where a leading + starts a formula.
            assert_eq!(after["phone"], "'+423 555 01 02");
        } else {
            assert_eq!(before, after, "a re-import changes nothing else");
        }
    }

    // The OSDI feed pages through every knock.
    let mut seen = Vec::new();
    let mut path = "/api/v1/canvasses?limit=1".to_owned();
    loop {
        let page = json_with(app.get(&path, &organizer).await, 200).await;
        for c in page["_embedded"]["osdi:canvasses"].as_array().unwrap() {
            seen.push(c.clone());
        }
        match page["next_after"].as_i64() {
            Some(next) => path = format!("/api/v1/canvasses?limit=1&after={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 2);
    let contacted = seen
        .iter()
        .find(|c| c["status_code"] == "contacted")
        .unwrap();
    assert_eq!(contacted["success"], true);
    assert_eq!(contacted["target"], json!([spoken]));
    assert_eq!(contacted["answers"][0]["person"], json!(spoken));
    assert_eq!(contacted["answers"][0]["responses"], json!(["2"]));
    assert!(
        seen.iter()
            .any(|c| c["status_code"] == "not_home" && c["success"] == false)
    );
}
