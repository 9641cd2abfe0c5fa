//! The pages people look at, rendered by this server: the director's dashboard (`/`),
//! printable walk packets (HTML and PDF) and the organizer's page. They are the HTTP
//! layer, like `crate::routes`, and read through the same functions the API's handlers
//! use, so a figure on a page is the figure the API gives.
//!
//! Pages are not part of the API's contract (`api-spec/openapi.yaml` is for phones):
//! their routes are listed in [`routes`], apart from `routes::endpoints`. They sign in
//! with a session cookie ([`session`]); the API keeps its bearer tokens.

mod assets;
mod dashboard;
pub mod map;
mod organize;
mod packets;
mod pdf;
pub mod qr;
mod session;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, ResponseError, web};
use askama::Template;

use crate::error::ApiError;
use crate::routes::{Endpoint, ep};

/// Every page route: registered beside the API's, never compared with its contract.
pub fn routes() -> Vec<Endpoint> {
    use Method as M;
    vec![
        ep(M::GET, "/", dashboard::dashboard),
        ep(M::GET, "/login", session::login_form),
        ep(M::POST, "/login", session::login),
        ep(M::POST, "/logout", session::logout),
        ep(M::GET, "/organize", organize::page),
        ep(
            M::POST,
            "/organize/walk-lists/{id}/assign",
            organize::assign,
        ),
        ep(M::POST, "/organize/walk-lists/{id}/close", organize::close),
        ep(
            M::POST,
            "/organize/walk-lists/{id}/recycle",
            organize::recycle,
        ),
        ep(M::GET, "/walk-lists/{id}/packet", packets::list_html),
        ep(M::GET, "/walk-lists/{id}/packet.pdf", packets::list_pdf),
        ep(M::GET, "/turfs/{id}/packets", packets::turf_html),
        ep(M::GET, "/turfs/{id}/packets.pdf", packets::turf_pdf),
        ep(M::GET, "/regions/{id}/packets", packets::region_html),
        ep(M::GET, "/regions/{id}/packets.pdf", packets::region_pdf),
        ep(M::GET, "/l/{number}", packets::list_link),
        ep(M::GET, "/static/{file}", assets::file),
    ]
}

/// The (method, path) pairs of the pages, for tests.
pub fn route_table() -> Vec<(String, String)> {
    routes()
        .into_iter()
        .map(|e| (e.method.to_string(), e.path.to_owned()))
        .collect()
}

/// Registers the pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    crate::routes::register(cfg, routes());
}

/// What every page answers with: no script, style or frame from anywhere but here, and
/// nothing cached (pages carry names and addresses).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// A page's response headers.
fn secure(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An HTML page with the given status.
fn html(status: StatusCode, body: String) -> HttpResponse {
    secure(
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body),
    )
}

/// Renders a template into a page.
fn render(status: StatusCode, template: &impl Template) -> Result<HttpResponse, PageError> {
    let body = template
        .render()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("rendering a page: {e}")))?;
    Ok(html(status, body))
}

/// A 303 to `location` (after a form, or to the sign-in page).
fn see_other(location: &str) -> HttpResponse {
    secure(
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, location.to_owned()))
            .finish(),
    )
}

/// Why a page was not shown. A request without a session goes to the sign-in page;
/// anything else is an HTML page with the API's status and message.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Not signed in (or the session ended): to `/login`, coming back to `next`.
    #[error("sign in first")]
    SignIn { next: Option<String> },
    /// Signed in, but pages are for organizers and up.
    #[error("pages are for organizers, directors and admins")]
    NotStaff,
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<crate::app::AppError> for PageError {
    fn from(e: crate::app::AppError) -> Self {
        PageError::Api(e.into())
    }
}

impl From<crate::db::StoreError> for PageError {
    fn from(e: crate::db::StoreError) -> Self {
        PageError::Api(e.into())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: String,
    status: u16,
    signed_in: bool,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::SignIn { .. } => StatusCode::SEE_OTHER,
            PageError::NotStaff => StatusCode::FORBIDDEN,
            PageError::Api(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let (title, message) = match self {
            PageError::SignIn { next } => {
                let location = match next {
                    Some(next) => format!("/login?next={}", session::encode_component(next)),
                    None => "/login".to_owned(),
                };
                return see_other(&location);
            }
            PageError::NotStaff => (
                "Not for volunteers",
                "These pages are for organizers, directors and admins. Volunteers find their \
                 walk lists in the Groundswell app."
                    .to_owned(),
            ),
            PageError::Api(ApiError::Internal(e)) => {
                tracing::error!(error = ?e, "internal error on a page");
                (
                    "Something went wrong",
                    "Something went wrong on our side; it has been logged.".to_owned(),
                )
            }
            PageError::Api(e) => (status.canonical_reason().unwrap_or("Error"), e.to_string()),
        };
        let page = ErrorPage {
            title,
            message,
            status: status.as_u16(),
            signed_in: !matches!(self, PageError::Api(ApiError::Unauthorized(_))),
        };
        match page.render() {
            Ok(body) => html(status, body),
            Err(_) => html(status, String::from("error")),
        }
    }
}

/// Turns a page handler's store closure error type into ours.
pub(crate) async fn run<F, T>(pool: &crate::db::DbPool, f: F) -> Result<T, PageError>
where
    F: FnOnce(&mut crate::db::DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    Ok(crate::routes::store::run(pool, f).await?)
}
