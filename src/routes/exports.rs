//! Getting knocks out: a streamed CSV with VAN-style result names beside ours, and a
//! person's canvasses in the OSDI canvass shape.

use std::collections::BTreeMap;

use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use futures_util::stream;
use serde::Deserialize;
use serde_json::{Value, json};

use super::progress::scoped_filter;
use super::store;
use crate::auth::AuthUser;
use crate::db;
use crate::db::progress::Filter;
use crate::domain::Role;
use crate::error::ApiError;
use crate::state::AppState;

/// Knocks read per page while streaming.
const PAGE: i64 = 2000;

/// The result name VAN uses for each of our result codes.
pub fn van_result(result: &str) -> &'static str {
    match result {
        "contacted" => "Canvassed",
        "not_home" => "Not Home",
        "come_back" => "Come Back",
        "refused" => "Refused",
        "hostile" => "Hostile",
        "moved" => "Moved",
        "deceased" => "Deceased",
        "language_barrier" => "Language Barrier",
        "inaccessible" => "Inaccessible",
        "wrong_address" => "Wrong Address",
        _ => "",
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    region_id: Option<i64>,
    turf_id: Option<i64>,
}

const HEADER: [&str; 18] = [
    "knock_id",
    "client_id",
    "knocked_at",
    "received_at",
    "user_id",
    "walk_list_id",
    "turf_id",
    "door_id",
    "street",
    "housenumber",
    "city",
    "result",
    "van_result",
    "support_ids",
    "answers",
    "notes",
    "distance_m",
    "location_quality",
];

/// Text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, return) gets a
/// leading apostrophe: volunteers' notes must not become live formulas on an
/// organizer's machine (CSV injection).
fn cell_text(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

fn csv_page(
    rows: &[db::progress::ExportRow],
    answers: &[(i64, i64, String, String)],
    header: bool,
) -> Result<Bytes, ApiError> {
    let mut by_knock: BTreeMap<i64, Vec<&(i64, i64, String, String)>> = BTreeMap::new();
    for a in answers {
        by_knock.entry(a.0).or_default().push(a);
    }
    let mut out = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| ApiError::Internal(anyhow::anyhow!("writing CSV: {e}"));
    if header {
        out.write_record(HEADER).map_err(fail)?;
    }
    for r in rows {
        let given = by_knock.get(&r.id).map(Vec::as_slice).unwrap_or(&[]);
        let ids: Vec<String> = given
            .iter()
            .filter(|a| a.2 == crate::knock::SUPPORT_ID)
            .map(|a| format!("{}:{}", a.1, a.3))
            .collect();
        let others: Vec<String> = given
            .iter()
            .filter(|a| a.2 != crate::knock::SUPPORT_ID)
            .map(|a| format!("{}:{}={}", a.1, a.2, a.3))
            .collect();
        out.write_record([
            r.id.to_string(),
            r.client_id.clone(),
            r.knocked_at.and_utc().to_rfc3339(),
            r.received_at.and_utc().to_rfc3339(),
            r.user_id.to_string(),
            r.walk_list_id.to_string(),
            r.turf_id.to_string(),
            r.door_id.to_string(),
            cell_text(&r.street),
            cell_text(&r.housenumber),
            cell_text(&r.city),
            r.result.clone(),
            van_result(&r.result).to_owned(),
            ids.join(";"),
            cell_text(&others.join(";")),
            cell_text(&r.notes),
            r.distance_m.map(|d| d.to_string()).unwrap_or_default(),
            r.location_quality.clone(),
        ])
        .map_err(fail)?;
    }
    out.into_inner()
        .map(Bytes::from)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("writing CSV: {e}")))
}

/// `GET /api/v1/exports/knocks.csv`: every knock in scope, streamed page by page, so
/// the export never sits whole in memory.
pub async fn knocks_csv(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    if let (Some(a), Some(b)) = (query.from, query.to)
        && a >= b
    {
        return Err(ApiError::validation("from", "from must be before to"));
    }
    let filter = Filter {
        from: query.from.map(|t| t.naive_utc()),
        to: query.to.map(|t| t.naive_utc()),
        region_id: query.region_id,
        turf_id: query.turf_id,
        user_id: None,
    };
    let filter = store::run(&state.db, move |conn| scoped_filter(conn, &auth, filter)).await?;
    let pool = state.db.clone();
    // State: (the last knock id sent, whether the header went out, whether done).
    let body = stream::unfold((0_i64, false, false), move |(after, header_sent, done)| {
        let pool = pool.clone();
        async move {
            if done {
                return None;
            }
            let page = store::run(&pool, move |conn| {
                let rows = db::progress::export_page(conn, auth.campaign_id, &filter, after, PAGE)?;
                let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                let answers = db::knocks::answers_of(conn, auth.campaign_id, &ids)?;
                Ok((rows, answers))
            })
            .await;
            match page {
                Ok((rows, answers)) => {
                    let last = rows.last().map_or(after, |r| r.id);
                    let finished = i64::try_from(rows.len()).unwrap_or(0) < PAGE;
                    let chunk = csv_page(&rows, &answers, !header_sent);
                    Some((chunk, (last, true, finished)))
                }
                Err(e) => Some((Err(e), (after, true, true))),
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"knocks.csv\""))
        .streaming(body))
}

/// `GET /api/v1/people/{id}/canvasses`: the knocks at the person's door in the OSDI
/// canvass shape; `success` is whether this person was spoken to.
pub async fn canvasses(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let id = path.into_inner();
    let items = store::run(&state.db, move |conn| {
        let door = db::people::door_of(conn, auth.campaign_id, id)?
            .ok_or_else(|| ApiError::not_found("person"))?;
        let knocks = db::knocks::at_door(conn, auth.campaign_id, door)?;
        let ids: Vec<i64> = knocks.iter().map(|k| k.0).collect();
        let answers = db::knocks::answers_of(conn, auth.campaign_id, &ids)?;
        Ok(knocks
            .into_iter()
            .map(|(knock_id, result, at, people)| {
                let named: Vec<i64> = serde_json::from_str(&people).unwrap_or_default();
                let spoke = result == "contacted" && named.contains(&id);
                let given: Vec<Value> = answers
                    .iter()
                    .filter(|a| a.0 == knock_id && a.1 == id)
                    .map(|a| {
                        json!({
                            "question": a.2,
                            "answer": serde_json::from_str::<Value>(&a.3).unwrap_or(Value::Null),
                        })
                    })
                    .collect();
                json!({
                    "identifiers": [format!("groundswell:knock-{knock_id}")],
                    "action_date": at.and_utc(),
                    "contact_type": "in-person",
                    "input_type": "mobile",
                    "success": spoke,
                    "status_code": result,
                    "answers": given,
                })
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({
        "person_id": id,
        "_embedded": { "osdi:canvasses": items },
    })))
}
