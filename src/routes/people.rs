//! People at the door: one person whole, a search, and corrections.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use super::views::{PersonView, utc};
use super::{PageQuery, Paged, store};
use crate::app::{self, Actor};
use crate::auth::AuthUser;
use crate::db;
use crate::domain::Role;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

fn person_json(p: db::people::Person, score: Option<f64>) -> Value {
    let (email, language, do_not_contact) =
        (p.email.clone(), p.preferred_language.clone(), p.do_not_walk);
    let mut v = serde_json::to_value(PersonView::new(p, score)).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("email".into(), json!(email));
        o.insert("preferred_language".into(), json!(language));
        o.insert("do_not_contact".into(), json!(do_not_contact));
    }
    v
}

/// `GET /api/v1/people/{id}`: the person, their door, household, the door's knocks and
/// the current score. Volunteers see people on lists they hold.
pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let actor = Actor::from(&auth);
    let id = path.into_inner();
    let p = store::run(&state.db, move |conn| {
        Ok(app::people::profile(conn, actor, id, db::now())?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(profile_json(p)))
}

/// A person's profile as the API shows it: the person, their door, household, the
/// door's history and their tags.
fn profile_json(p: app::people::Profile) -> Value {
    let door = p.door.map(|d| {
        json!({
            "id": d.id,
            "address": {
                "street": d.street, "housenumber": d.housenumber, "unit": d.unit,
                "postcode": d.postcode, "city": d.city,
            },
            "location": { "lat": d.lat, "lng": d.lng },
            "do_not_walk": d.do_not_walk,
            "last_contact_at": d.last_contact_at.map(utc),
        })
    });
    let household: Vec<Value> = p
        .household
        .into_iter()
        .map(|h| json!({ "id": h.id, "first_name": h.first_name, "last_name": h.last_name }))
        .collect();
    let history: Vec<Value> = p
        .history
        .into_iter()
        .map(|(knock_id, result, at, named)| {
            let spoken = named && crate::knock::KnockResult::parse(&result).is_some_and(crate::knock::KnockResult::is_contact);
            json!({ "knock_id": knock_id, "result": result, "knocked_at": utc(at), "spoken_to": spoken })
        })
        .collect();
    let mut body = person_json(p.person, p.score);
    if let Some(o) = body.as_object_mut() {
        o.insert("door".into(), json!(door));
        o.insert("household".into(), json!(household));
        o.insert("history".into(), json!(history));
        o.insert("tags".into(), json!(p.tags));
    }
    body
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    q: String,
    limit: Option<i64>,
    after: Option<i64>,
}

/// `GET /api/v1/people/search?q=`: by external id, name or street (organizers and up).
pub async fn search(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let page = PageQuery {
        limit: query.limit,
        after: query.after,
    }
    .page()?;
    let actor = Actor::from(&auth);
    let q = query.q.clone();
    let rows = store::run(&state.db, move |conn| {
        Ok(app::people::search(
            conn,
            actor,
            &q,
            page.after,
            page.fetch(),
        )?)
    })
    .await?;
    let (rows, next_after) = page.finish(rows, |p| p.id);
    let items: Vec<Value> = rows.into_iter().map(|p| person_json(p, None)).collect();
    Ok(HttpResponse::Ok().json(Paged::<Value> { items, next_after }))
}

/// A field that may be left out (unchanged), set, or `null` (cleared).
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectionBody {
    #[serde(default, deserialize_with = "nullable")]
    phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    preferred_language: Option<Option<String>>,
    do_not_contact: Option<bool>,
    moved: Option<bool>,
    deceased: Option<bool>,
}

/// `PATCH /api/v1/people/{id}`: corrections from the door or the office (audited).
pub async fn update(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
    ApiJson(body): ApiJson<CorrectionBody>,
) -> Result<HttpResponse, ApiError> {
    let actor = Actor::from(&auth);
    let id = path.into_inner();
    let correction = app::people::Correction {
        phone: body.phone,
        email: body.email,
        preferred_language: body.preferred_language,
        do_not_contact: body.do_not_contact,
        moved: body.moved,
        deceased: body.deceased,
    };
    let person = store::transaction(&state.db, move |conn| {
        Ok(app::people::correct(
            conn,
            actor,
            id,
            correction,
            db::now(),
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(person_json(person, None)))
}
