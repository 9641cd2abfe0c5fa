//! Getting knocks out: a streamed CSV with VAN-style result names beside ours, and a
//! person's canvasses in the OSDI canvass shape.

use std::collections::BTreeMap;

use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use futures_util::stream;
use serde::Deserialize;
use serde_json::{Value, json};

use super::store;
use crate::app::exports::{PAGE, next_after};
use crate::app::progress::{Window, resolve};
use crate::app::{self, Actor, exports};
use crate::auth::AuthUser;
use crate::db;
use crate::db::progress::Filter;
use crate::domain::{Role, When};
use crate::error::ApiError;
use crate::export::{self, cell_text, van_result};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    from: Option<When>,
    to: Option<When>,
    region_id: Option<i64>,
    turf_id: Option<i64>,
    /// Start the file with a UTF-8 byte order mark, for spreadsheet programs.
    bom: Option<bool>,
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
    let (filter, window) = scope(query.region_id, query.turf_id, query.from, query.to);
    let filter = store::run(&state.db, move |conn| {
        Ok(resolve(conn, Actor::from(&auth), filter, window)?.0)
    })
    .await?;
    let body = csv_stream(
        state.db.clone(),
        query.bom.unwrap_or(false),
        move |conn, after| {
            let rows = db::progress::export_page(conn, auth.campaign_id, &filter, after, PAGE)?;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let answers = db::knocks::answers_of(conn, auth.campaign_id, &ids)?;
            let next = next_after(&rows, |r| r.id);
            Ok((csv_page(&rows, &answers, after == 0)?, next))
        },
    );
    Ok(csv_response("knocks.csv", body))
}

/// A CSV file streamed page by page, so an export never sits whole in memory: `page`
/// gets the last id sent (0 first) and answers the page's bytes and where the next page
/// starts (`None`: done).
fn csv_stream<F>(
    pool: db::DbPool,
    bom: bool,
    page: F,
) -> impl futures_util::Stream<Item = Result<Bytes, ApiError>>
where
    F: Fn(&mut db::DbConnection, i64) -> Result<(Bytes, Option<i64>), ApiError>
        + Clone
        + Send
        + 'static,
{
    stream::unfold(Some((0_i64, bom)), move |state| {
        let (pool, page) = (pool.clone(), page.clone());
        async move {
            let (after, bom) = state?;
            match store::run(&pool, move |conn| page(conn, after)).await {
                Ok((bytes, next)) => {
                    let bytes = if bom {
                        let mut with = export::BOM.as_bytes().to_vec();
                        with.extend_from_slice(&bytes);
                        Bytes::from(with)
                    } else {
                        bytes
                    };
                    Some((Ok(bytes), next.map(|n| (n, false))))
                }
                Err(e) => Some((Err(e), None)),
            }
        }
    })
}

fn csv_response(
    name: &str,
    body: impl futures_util::Stream<Item = Result<Bytes, ApiError>> + 'static,
) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .streaming(body)
}

fn csv_bytes<I, R>(records: I) -> Result<Bytes, ApiError>
where
    I: IntoIterator<Item = R>,
    R: IntoIterator,
    R::Item: AsRef<[u8]>,
{
    let mut out = csv::Writer::from_writer(Vec::new());
    for r in records {
        out.write_record(r)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("writing CSV: {e}")))?;
    }
    out.into_inner()
        .map(Bytes::from)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("writing CSV: {e}")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeopleExportQuery {
    bom: Option<bool>,
}

/// `GET /api/v1/exports/people.csv`: every person of the campaign keyed by
/// `external_id`, with the imported and current scores, the latest support ID, the
/// door's last result and the flags; re-importing the file updates, never duplicates.
pub async fn people_csv(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<PeopleExportQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let model = store::run(&state.db, move |conn| {
        Ok(std::sync::Arc::new(db::scores::model(
            conn,
            auth.campaign_id,
        )?))
    })
    .await?;
    let body = csv_stream(
        state.db.clone(),
        query.bom.unwrap_or(false),
        move |conn, after| {
            let (records, next) = app::exports::people_page(conn, auth.campaign_id, &model, after)?;
            Ok((csv_bytes(records)?, next))
        },
    );
    Ok(csv_response("people.csv", body))
}

/// `GET /api/v1/exports/contacts.csv`: the knocks in scope in the shape a VAN-style
/// bulk upload takes: per person contacted (or, for a knock that named nobody, per
/// resident of the door), one row per question answered or one with the result, with
/// the campaign's external codes.
pub async fn contacts_csv(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let (filter, window) = scope(query.region_id, query.turf_id, query.from, query.to);
    let (filter, codes, zone) = store::run(&state.db, move |conn| {
        let (filter, zone) = resolve(conn, Actor::from(&auth), filter, window)?;
        let codes = std::sync::Arc::new(db::exports::codes(conn, auth.campaign_id)?);
        Ok((filter, codes, zone))
    })
    .await?;
    let body = csv_stream(
        state.db.clone(),
        query.bom.unwrap_or(false),
        move |conn, after| {
            let (records, next) =
                app::exports::contact_page(conn, auth.campaign_id, (&filter, zone), &codes, after)?;
            Ok((csv_bytes(records)?, next))
        },
    );
    Ok(csv_response("contacts.csv", body))
}

/// `GET /api/v1/people/{id}/canvasses`: the knocks at the person's door in the OSDI
/// canvass shape; `success` is whether this person was spoken to.
pub async fn canvasses(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let (actor, id) = (Actor::from(&auth), path.into_inner());
    let items = store::run(&state.db, move |conn| {
        Ok(exports::person_canvasses(conn, actor, id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({
        "person_id": id,
        "_embedded": { "osdi:canvasses": items },
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    limit: Option<i64>,
    after: Option<i64>,
    from: Option<When>,
    to: Option<When>,
    region_id: Option<i64>,
    turf_id: Option<i64>,
}

/// `GET /api/v1/canvasses`: every knock in scope as an OSDI canvass, a page at a time
/// by knock id, for other tools to pull: who knocked, the door's people by external id,
/// the result, and each answer with its question.
pub async fn canvass_feed(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<FeedQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let page = super::PageQuery {
        limit: query.limit,
        after: query.after,
    }
    .page()?;
    let (filter, window) = scope(query.region_id, query.turf_id, query.from, query.to);
    let items = store::run(&state.db, move |conn| {
        let (filter, _) = resolve(conn, Actor::from(&auth), filter, window)?;
        let after = page.after.unwrap_or(0);
        let items = exports::canvass_items(conn, auth.campaign_id, &filter, after, page.fetch())?;
        Ok(items)
    })
    .await?;
    let (items, next_after) = page.finish(items, |i| i.0);
    let canvasses: Vec<Value> = items.into_iter().map(|i| i.1).collect();
    let mut links = json!({ "self": { "href": "/api/v1/canvasses" } });
    if let Some(next) = next_after {
        links["next"] =
            json!({ "href": format!("/api/v1/canvasses?{}", next_query(&query, next)) });
    }
    Ok(HttpResponse::Ok().json(json!({
        "per_page": page.limit,
        "next_after": next_after,
        "_links": links,
        "_embedded": { "osdi:canvasses": canvasses },
    })))
}

/// Which knocks an export holds: a region or turf, and a window.
fn scope(
    region_id: Option<i64>,
    turf_id: Option<i64>,
    from: Option<When>,
    to: Option<When>,
) -> (Filter, Window) {
    let filter = Filter {
        region_id,
        turf_id,
        ..Filter::default()
    };
    (filter, Window { from, to })
}

/// The feed's query for the page after `next`, keeping every filter of this one.
fn next_query(q: &FeedQuery, next: i64) -> String {
    let when = |w: &When| match w {
        When::Instant(t) => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        When::Local(t) => t.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
    };
    let mut parts = vec![format!("after={next}")];
    if let Some(l) = q.limit {
        parts.push(format!("limit={l}"));
    }
    for (name, value) in [("from", q.from.as_ref()), ("to", q.to.as_ref())] {
        if let Some(w) = value {
            let text: String = when(w)
                .bytes()
                .map(|b| match b {
                    b'+' => "%2B".to_owned(),
                    b':' => "%3A".to_owned(),
                    _ => (b as char).to_string(),
                })
                .collect();
            parts.push(format!("{name}={text}"));
        }
    }
    if let Some(r) = q.region_id {
        parts.push(format!("region_id={r}"));
    }
    if let Some(t) = q.turf_id {
        parts.push(format!("turf_id={t}"));
    }
    parts.join("&")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodesBody {
    items: Vec<exports::CodeItem>,
}

fn codes_view(codes: &export::Codes) -> Value {
    let items: Vec<Value> = codes
        .0
        .iter()
        .map(|((kind, key), code)| json!({ "kind": kind.as_str(), "key": key, "code": code }))
        .collect();
    json!({ "items": items })
}

/// `GET /api/v1/export-codes`: what the campaign's results, questions and answers are
/// called in its voter file.
pub async fn get_codes(
    state: web::Data<AppState>,
    auth: AuthUser,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let codes = store::run(&state.db, move |conn| {
        Ok(db::exports::codes(conn, auth.campaign_id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(codes_view(&codes)))
}

/// `PUT /api/v1/export-codes`: replaces the campaign's codes (audited).
pub async fn put_codes(
    state: web::Data<AppState>,
    auth: AuthUser,
    crate::extract::ApiJson(body): crate::extract::ApiJson<CodesBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let codes = exports::check_codes(body.items)?;
    let actor = Actor::from(&auth);
    let codes = store::transaction(&state.db, move |conn| {
        Ok(exports::replace_codes(conn, actor, codes)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(codes_view(&codes)))
}
