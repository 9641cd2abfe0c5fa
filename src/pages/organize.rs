//! The organizer's page, minimal: the turfs of a region with how far they got, their
//! walk lists with number, holders and completion, and forms to assign a list to a
//! volunteer, close it or recycle it. The forms call the API's own use cases (through
//! the handlers' shared functions in `routes::walk_lists`), then go back to the page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::session::PageUser;
use super::{PageError, render, run, see_other};
use crate::app::Actor;
use crate::app::progress::scoped_filter;
use crate::db::names::{self, Named};
use crate::db::progress::{Filter, GroupBy};
use crate::db::{self, DbConnection};
use crate::domain::PageRequest;
use crate::error::ApiError;
use crate::routes::walk_lists::{assign_list, close_list, recycle_list};
use crate::state::AppState;
use crate::walk::Status;

/// Most turfs one page shows.
const MAX_TURFS: usize = 300;

/// A list as the page shows it.
pub struct ListRow {
    pub id: i64,
    pub number: i64,
    pub name: String,
    pub status: &'static str,
    pub live: bool,
    pub holders: String,
    pub door_count: i64,
    pub finished: i64,
    pub knocked: i64,
    pub percent: i64,
}

/// A turf with its lists.
pub struct TurfBlock {
    pub id: i64,
    pub name: String,
    pub door_count: i64,
    pub doors_knocked: i64,
    pub percent: i64,
    pub lists: Vec<ListRow>,
}

/// A choice in a select.
pub struct Choice {
    pub value: i64,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "organize.html")]
struct OrganizePage {
    title: &'static str,
    csrf: String,
    regions: Vec<Choice>,
    region_id: Option<i64>,
    region_name: String,
    turfs: Vec<TurfBlock>,
    volunteers: Vec<Choice>,
    notice: Option<String>,
    more_turfs: bool,
}

#[derive(Debug, Deserialize)]
pub struct OrganizeQuery {
    region_id: Option<String>,
    notice: Option<String>,
    list: Option<i64>,
}

fn percent(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        0
    } else {
        (part * 100 + whole / 2) / whole
    }
}

fn status_label(status: Status) -> &'static str {
    match status {
        Status::Open => "open",
        Status::Assigned => "assigned",
        Status::InProgress => "in progress",
        Status::Done => "done",
        Status::Expired => "expired",
        Status::Closed => "closed",
    }
}

struct Gathered {
    regions: Vec<Choice>,
    region_id: Option<i64>,
    region_name: String,
    turfs: Vec<TurfBlock>,
    volunteers: Vec<Choice>,
    more_turfs: bool,
}

fn gather(
    conn: &mut DbConnection,
    user: &PageUser,
    asked: Option<i64>,
) -> Result<Gathered, ApiError> {
    let auth = &user.auth;
    let now = db::now();
    // The same scope as the API's maps: staff bound to a region see only it.
    let scoped = scoped_filter(
        conn,
        Actor::from(auth),
        Filter {
            region_id: asked,
            ..Filter::default()
        },
    )?;
    let all_regions = db::regions::list(
        conn,
        auth.campaign_id,
        &PageRequest {
            limit: 1000,
            after: None,
        },
    )?;
    // Without a choice, the first region (or, with none, every turf).
    let region_id = scoped
        .region_id
        .or_else(|| all_regions.first().map(|r| r.id));
    let bound = scoped_filter(conn, Actor::from(auth), Filter::default())?
        .region_id
        .is_some();
    if let Some(r) = region_id
        && !all_regions.iter().any(|x| x.id == r)
    {
        return Err(ApiError::not_found("region"));
    }
    let region_name = region_id
        .and_then(|r| all_regions.iter().find(|x| x.id == r))
        .map_or_else(|| "the whole campaign".to_owned(), |r| r.name.clone());
    let mut turfs = db::turfs::all(
        conn,
        auth.campaign_id,
        region_id,
        i64::try_from(MAX_TURFS).unwrap_or(300) + 1,
    )?;
    let more_turfs = turfs.len() > MAX_TURFS;
    turfs.truncate(MAX_TURFS);
    let figures = db::progress::figures(
        conn,
        auth.campaign_id,
        GroupBy::Turf,
        &Filter {
            region_id,
            ..Filter::default()
        },
    )?;
    let mut blocks = Vec::new();
    let mut holder_ids = Vec::new();
    let mut raw_lists = Vec::new();
    for turf in turfs {
        let (door_count, _) = db::turfs::counts(conn, auth.campaign_id, turf.id)?;
        let knocked = figures
            .get(&Some(turf.id.to_string()))
            .map_or(0, |f| f.doors_knocked);
        let lists = db::walk_lists::list(conn, auth.campaign_id, Some(turf.id), None, 500)?;
        let mut with_holders = Vec::new();
        for list in lists {
            let mut holders = db::walk_lists::assignees(conn, auth.campaign_id, list.id)?;
            if let Some(c) = list
                .claimed_by
                .filter(|_| list.list_state().claim_active(now))
            {
                holders.push(c);
            }
            holder_ids.extend(holders.iter().copied());
            with_holders.push((list, holders));
        }
        raw_lists.push(with_holders);
        blocks.push(TurfBlock {
            id: turf.id,
            name: turf.name,
            door_count,
            doors_knocked: knocked,
            percent: percent(knocked, door_count),
            lists: Vec::new(),
        });
    }
    let names = names::of(conn, auth.campaign_id, Named::User, holder_ids)?;
    for (block, lists) in blocks.iter_mut().zip(raw_lists) {
        block.lists = lists
            .into_iter()
            .map(|(l, holders)| {
                let status = l.list_state().status(now);
                ListRow {
                    id: l.id,
                    number: l.number,
                    name: l.name.clone(),
                    status: status_label(status),
                    live: matches!(status, Status::Open | Status::Assigned | Status::InProgress),
                    holders: holders
                        .iter()
                        .map(|h| names.get(h).cloned().unwrap_or_else(|| format!("user {h}")))
                        .collect::<Vec<_>>()
                        .join(", "),
                    door_count: l.door_count,
                    finished: l.finished_doors,
                    knocked: l.knocked_doors,
                    percent: percent(l.finished_doors, l.door_count),
                }
            })
            .collect();
    }
    let volunteers = db::users::list(
        conn,
        auth.campaign_id,
        &db::users::UserFilter {
            role: Some("volunteer".into()),
            region_id: None,
        },
        &PageRequest {
            limit: 1000,
            after: None,
        },
    )?
    .into_iter()
    .filter(|u| u.active)
    .map(|u| Choice {
        value: u.id,
        label: format!("{} ({})", u.name, u.email),
        selected: false,
    })
    .collect();
    let regions = all_regions
        .iter()
        .filter(|r| !bound || Some(r.id) == region_id)
        .map(|r| Choice {
            value: r.id,
            label: r.name.clone(),
            selected: Some(r.id) == region_id,
        })
        .collect();
    Ok(Gathered {
        regions,
        region_id,
        region_name,
        turfs: blocks,
        volunteers,
        more_turfs,
    })
}

/// `GET /organize?region_id=`.
pub async fn page(
    state: web::Data<AppState>,
    user: PageUser,
    query: web::Query<OrganizeQuery>,
) -> Result<HttpResponse, PageError> {
    user.staff()?;
    let asked = match query.region_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(
            text.parse::<i64>()
                .map_err(|_| ApiError::validation("region_id", "region_id must be a number"))?,
        ),
    };
    let u = user.clone();
    let g = run(&state.db, move |conn| gather(conn, &u, asked)).await?;
    let notice = match (query.notice.as_deref(), query.list) {
        (Some("assigned"), Some(n)) => Some(format!("List {n} is assigned.")),
        (Some("closed"), Some(n)) => Some(format!("List {n} is closed; its doors are free again.")),
        (Some("recycled"), Some(n)) => Some(format!(
            "The unfinished doors are now list {n}; the old list is closed."
        )),
        _ => None,
    };
    render(
        StatusCode::OK,
        &OrganizePage {
            title: "Organize",
            csrf: user.csrf.clone(),
            regions: g.regions,
            region_id: g.region_id,
            region_name: g.region_name,
            turfs: g.turfs,
            volunteers: g.volunteers,
            notice,
            more_turfs: g.more_turfs,
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    csrf: String,
    back: Option<String>,
    user_id: Option<String>,
    replace: Option<String>,
}

/// Where the form goes back to: the organizer page of the region it came from.
fn back_to(form: &ActionForm, notice: &str, list_number: i64) -> String {
    let region = form
        .back
        .as_deref()
        .and_then(|b| b.trim().parse::<i64>().ok());
    match region {
        Some(r) => format!("/organize?region_id={r}&notice={notice}&list={list_number}"),
        None => format!("/organize?notice={notice}&list={list_number}"),
    }
}

/// `POST /organize/walk-lists/{id}/assign`.
pub async fn assign(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: PageUser,
    path: web::Path<i64>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, PageError> {
    user.staff()?;
    user.check_post(&req, &state, &form.csrf)?;
    let user_id = form
        .user_id
        .as_deref()
        .and_then(|u| u.trim().parse::<i64>().ok())
        .ok_or_else(|| ApiError::validation("user_id", "choose a volunteer"))?;
    let replace = form.replace.is_some();
    let (_, summary) = assign_list(
        &state,
        Actor::from(&user.auth),
        path.into_inner(),
        (user_id, replace),
    )
    .await?;
    Ok(see_other(&back_to(&form, "assigned", summary.number)))
}

/// `POST /organize/walk-lists/{id}/close`.
pub async fn close(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: PageUser,
    path: web::Path<i64>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, PageError> {
    user.staff()?;
    user.check_post(&req, &state, &form.csrf)?;
    let summary = close_list(&state, Actor::from(&user.auth), path.into_inner()).await?;
    Ok(see_other(&back_to(&form, "closed", summary.number)))
}

/// `POST /organize/walk-lists/{id}/recycle`.
pub async fn recycle(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: PageUser,
    path: web::Path<i64>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, PageError> {
    user.staff()?;
    user.check_post(&req, &state, &form.csrf)?;
    let summary = recycle_list(&state, Actor::from(&user.auth), path.into_inner()).await?;
    Ok(see_other(&back_to(&form, "recycled", summary.number)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_and_never_divide_by_zero() {
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(2, 3), 67);
        assert_eq!(percent(5, 0), 0);
    }
}
