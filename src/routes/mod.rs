//! HTTP only: every route is listed once in [`endpoints`], which both registers it and
//! lets a test compare the served routes with `api-spec/openapi.yaml`. The pages people
//! look at (`crate::pages`) list theirs apart, in `pages::routes`: they are not part of
//! the API's contract.

mod audit;
pub(crate) mod auth;
mod buildings;
mod campaign;
mod experiments;
mod exports;
mod goals;
mod health;
mod imports;
mod knocks;
mod me;
mod people;
pub(crate) mod progress;
mod questions;
mod regions;
mod scores;
pub mod store;
mod tags;
pub(crate) mod turfs;
mod users;
mod views;
pub(crate) mod walk_lists;

use actix_web::http::Method;
use actix_web::{FromRequest, Handler, HttpResponse, Responder, Route, web};
use serde::Deserialize;

use crate::domain::PageRequest;
use crate::error::ApiError;

/// One route: method, path pattern (OpenAPI and actix share the `{param}` syntax), handler.
pub struct Endpoint {
    pub method: Method,
    pub path: &'static str,
    route: Route,
}

/// One route of `handler` (the pages list theirs the same way, in `crate::pages`).
pub(crate) fn ep<F, Args>(method: Method, path: &'static str, handler: F) -> Endpoint
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    Endpoint {
        route: web::route().method(method.clone()).to(handler),
        method,
        path,
    }
}

/// Every route the server answers.
pub fn endpoints() -> Vec<Endpoint> {
    use Method as M;
    vec![
        ep(M::GET, "/healthz", health::healthz),
        ep(M::GET, "/readyz", health::readyz),
        ep(M::GET, "/metrics", health::metrics),
        ep(M::GET, "/api/v1/openapi.json", health::openapi),
        ep(M::POST, "/api/v1/auth/login", auth::login),
        ep(M::POST, "/api/v1/auth/refresh", auth::refresh),
        ep(M::POST, "/api/v1/auth/logout", auth::logout),
        ep(M::POST, "/api/v1/auth/accept-invite", auth::accept_invite),
        ep(M::GET, "/api/v1/me", me::get_me),
        ep(M::GET, "/api/v1/me/devices", me::list_devices),
        ep(M::POST, "/api/v1/me/devices", me::register_device),
        ep(M::DELETE, "/api/v1/me/devices/{token}", me::delete_device),
        ep(M::GET, "/api/v1/campaign", campaign::get),
        ep(M::PATCH, "/api/v1/campaign", campaign::update),
        ep(M::GET, "/api/v1/regions", regions::list),
        ep(M::POST, "/api/v1/regions", regions::create),
        ep(M::GET, "/api/v1/regions/{id}", regions::get),
        ep(M::GET, "/api/v1/regions/{id}/geojson", regions::geojson),
        ep(M::GET, "/api/v1/users", users::list),
        ep(M::POST, "/api/v1/users", users::create),
        ep(M::GET, "/api/v1/users/{id}", users::get),
        ep(M::PATCH, "/api/v1/users/{id}", users::update),
        ep(M::DELETE, "/api/v1/users/{id}", users::deactivate),
        ep(M::GET, "/api/v1/audit", audit::list),
        ep(M::POST, "/api/v1/imports/people", imports::create_people),
        ep(M::GET, "/api/v1/imports/{id}", imports::get),
        ep(M::GET, "/api/v1/people", turfs::people),
        ep(M::GET, "/api/v1/people/search", people::search),
        ep(M::GET, "/api/v1/people/{id}", people::get),
        ep(M::PATCH, "/api/v1/people/{id}", people::update),
        ep(M::GET, "/api/v1/people/{id}/score", scores::get),
        ep(M::GET, "/api/v1/turfs", turfs::list),
        ep(M::POST, "/api/v1/turfs", turfs::create),
        ep(M::POST, "/api/v1/turfs/autocut", turfs::autocut_area),
        ep(M::POST, "/api/v1/turfs/merge", turfs::merge),
        ep(M::GET, "/api/v1/turfs/geojson", turfs::outlines),
        ep(M::GET, "/api/v1/turfs/{id}", turfs::get),
        ep(M::DELETE, "/api/v1/turfs/{id}", turfs::delete),
        ep(M::PATCH, "/api/v1/turfs/{id}", turfs::edit),
        ep(M::POST, "/api/v1/turfs/{id}/split", turfs::split),
        ep(M::GET, "/api/v1/turfs/{id}/geojson", turfs::geojson),
        ep(M::GET, "/api/v1/turfs/{id}/doors", turfs::doors),
        ep(M::GET, "/api/v1/walk-lists", walk_lists::list),
        ep(M::POST, "/api/v1/walk-lists", walk_lists::create),
        ep(M::GET, "/api/v1/walk-lists/nearby", walk_lists::nearby),
        ep(M::GET, "/api/v1/walk-lists/{id}", walk_lists::get),
        ep(M::DELETE, "/api/v1/walk-lists/{id}", walk_lists::delete),
        ep(M::POST, "/api/v1/walk-lists/{id}/close", walk_lists::close),
        ep(
            M::POST,
            "/api/v1/walk-lists/{id}/recycle",
            walk_lists::recycle,
        ),
        ep(
            M::POST,
            "/api/v1/walk-lists/{id}/assignments",
            walk_lists::assign,
        ),
        ep(
            M::DELETE,
            "/api/v1/walk-lists/{id}/assignments/{user_id}",
            walk_lists::unassign,
        ),
        ep(M::POST, "/api/v1/walk-lists/{id}/claim", walk_lists::claim),
        ep(
            M::POST,
            "/api/v1/walk-lists/{id}/release",
            walk_lists::release,
        ),
        ep(
            M::POST,
            "/api/v1/walk-lists/{id}/move-doors",
            walk_lists::move_doors,
        ),
        ep(
            M::GET,
            "/api/v1/walk-lists/{id}/notifications",
            walk_lists::notifications,
        ),
        ep(M::GET, "/api/v1/me/walk-lists", walk_lists::mine),
        ep(M::POST, "/api/v1/knocks/batch", knocks::batch),
        ep(M::GET, "/api/v1/progress", progress::progress),
        ep(M::GET, "/api/v1/progress/heatmap", progress::heatmap),
        ep(M::GET, "/api/v1/leaderboard", progress::leaderboard),
        ep(M::GET, "/api/v1/goals", goals::list),
        ep(M::POST, "/api/v1/goals", goals::create),
        ep(M::DELETE, "/api/v1/goals/{id}", goals::delete),
        ep(M::GET, "/api/v1/quality-flags", progress::quality_flags),
        ep(M::GET, "/api/v1/exports/knocks.csv", exports::knocks_csv),
        ep(M::GET, "/api/v1/exports/people.csv", exports::people_csv),
        ep(
            M::GET,
            "/api/v1/exports/contacts.csv",
            exports::contacts_csv,
        ),
        ep(M::GET, "/api/v1/export-codes", exports::get_codes),
        ep(M::PUT, "/api/v1/export-codes", exports::put_codes),
        ep(M::GET, "/api/v1/canvasses", exports::canvass_feed),
        ep(M::GET, "/api/v1/people/{id}/canvasses", exports::canvasses),
        ep(M::GET, "/api/v1/scripts", experiments::list_scripts),
        ep(M::POST, "/api/v1/scripts", experiments::create_script),
        ep(M::GET, "/api/v1/experiments", experiments::list),
        ep(M::POST, "/api/v1/experiments", experiments::create),
        ep(M::GET, "/api/v1/experiments/{id}", experiments::get),
        ep(M::PATCH, "/api/v1/experiments/{id}", experiments::update),
        ep(M::POST, "/api/v1/experiments/{id}/stop", experiments::stop),
        ep(
            M::GET,
            "/api/v1/experiments/{id}/results",
            experiments::results,
        ),
        ep(M::GET, "/api/v1/tags", tags::list),
        ep(M::POST, "/api/v1/tags", tags::create),
        ep(M::GET, "/api/v1/questions", questions::list),
        ep(M::POST, "/api/v1/questions", questions::create),
        ep(M::GET, "/api/v1/doors/{id}/building", buildings::get),
        ep(
            M::PUT,
            "/api/v1/doors/{id}/building/notes",
            buildings::set_notes,
        ),
        ep(M::PATCH, "/api/v1/questions/{key}", questions::edit),
        ep(M::DELETE, "/api/v1/questions/{key}", questions::retire),
    ]
}

/// The (method, path) pairs the server answers, for comparing with the spec.
pub fn route_table() -> Vec<(String, String)> {
    endpoints()
        .into_iter()
        .map(|e| (e.method.to_string(), e.path.to_owned()))
        .collect()
}

/// Registers all routes: one resource per path, so a wrong method is a JSON 405.
pub fn configure(cfg: &mut web::ServiceConfig) {
    register(cfg, endpoints());
}

/// Registers `endpoints`, one resource per path with a 405 naming the methods it has.
pub(crate) fn register(cfg: &mut web::ServiceConfig, endpoints: Vec<Endpoint>) {
    let mut by_path: Vec<(&'static str, Vec<Method>, Vec<Route>)> = Vec::new();
    for e in endpoints {
        match by_path.iter_mut().find(|(p, _, _)| *p == e.path) {
            Some((_, methods, routes)) => {
                methods.push(e.method);
                routes.push(e.route);
            }
            None => by_path.push((e.path, vec![e.method], vec![e.route])),
        }
    }
    for (path, methods, routes) in by_path {
        let allow = methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let mut resource = web::resource(path).default_service(web::to(move || {
            let allow = allow.clone();
            async move { method_not_allowed(allow) }
        }));
        for route in routes {
            resource = resource.route(route);
        }
        cfg.service(resource);
    }
}

/// 405 with the `Allow` header naming the methods the path does answer (RFC 9110).
fn method_not_allowed(allow: String) -> HttpResponse {
    use actix_web::ResponseError;
    let mut response = ApiError::MethodNotAllowed.error_response();
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
        response
            .headers_mut()
            .insert(actix_web::http::header::ALLOW, value);
    }
    response
}

/// The answer for a path no route matches.
pub async fn route_not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::RouteNotFound)
}

/// `?limit=&after=` as given; parsed into a [`PageRequest`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub after: Option<i64>,
}

impl PageQuery {
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        Ok(PageRequest::parse(self.limit, self.after)?)
    }
}

/// A page of items and the cursor of the next one.
#[derive(Debug, serde::Serialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub next_after: Option<i64>,
}
