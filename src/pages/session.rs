//! Signing in to the pages: a form at `/login` checked by the API's own credential check
//! and throttle, a session cookie the server can revoke, and CSRF defences.
//!
//! The cookie holds a secret stored (as its SHA-256) like a refresh token, in a family
//! of its own kind ([`PAGE_FAMILY_PREFIX`]) that the API's refresh refuses: the cookie
//! never becomes a bearer token. It is `HttpOnly; SameSite=Strict; Path=/`, and
//! `Secure` when the public URL is https. Every page request reads the session and
//! then the user's current role and state the way the API's `AuthUser` does (a
//! deactivated user is signed out within the profile cache's two seconds; deactivating
//! also revokes the session).
//!
//! CSRF: besides `SameSite=Strict`, every form carries a token derived from the session
//! secret (which only the cookie holds), checked on every POST, and a POST whose
//! `Origin` (when sent) is not this server's is refused. The sign-in form, before any
//! session, carries a one-time token matched against a short-lived cookie of its own.

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{
    FromRequest, HttpMessage as _, HttpRequest, HttpResponse, ResponseError as _, web,
};
use askama::Template;
use futures_util::future::LocalBoxFuture;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{PageError, render, see_other};
use crate::app::AppError;
use crate::app::accounts;
use crate::auth::{AuthUser, PAGE_FAMILY_PREFIX, current_role, secret};
use crate::db;
use crate::domain::Role;
use crate::error::ApiError;
use crate::state::AppState;

/// The session cookie.
pub const COOKIE: &str = "gs_session";
/// The sign-in form's one-time token cookie.
const LOGIN_COOKIE: &str = "gs_login";

/// A signed-in user of the pages: who, with their current role, and the CSRF token
/// their forms carry.
#[derive(Debug, Clone)]
pub struct PageUser {
    pub auth: AuthUser,
    pub csrf: String,
    family: String,
}

impl PageUser {
    /// Refuses volunteers: the pages are for organizers and up.
    pub fn staff(&self) -> Result<(), PageError> {
        if self.auth.role >= Role::Organizer {
            Ok(())
        } else {
            Err(PageError::NotStaff)
        }
    }

    /// Checks a POST: its origin and its CSRF token.
    pub fn check_post(
        &self,
        req: &HttpRequest,
        state: &AppState,
        token: &str,
    ) -> Result<(), PageError> {
        if !same_origin(req, state.settings.public_base()) {
            return Err(ApiError::forbidden("this form was sent from another site").into());
        }
        if !constant_time_eq(token.as_bytes(), self.csrf.as_bytes()) {
            return Err(ApiError::forbidden(
                "the form has expired; go back, reload the page and try again",
            )
            .into());
        }
        Ok(())
    }
}

/// The value of cookie `name` in the request, if sent.
fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
}

/// The CSRF token of a session: derived from its secret, so it needs no storage and
/// nobody without the cookie can compute it.
fn csrf_of(session_secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"groundswell page csrf\0");
    h.update(session_secret.as_bytes());
    hex::encode(&h.finalize()[..16])
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The origin (`scheme://host[:port]`) of a URL.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// Whether a POST comes from this server's own pages: no `Origin` header (old browsers,
/// same-origin navigations in some), or one naming the public URL or the host asked.
/// `Sec-Fetch-Site`, where sent, must not say `cross-site`.
pub fn same_origin(req: &HttpRequest, public_base: &str) -> bool {
    let fetch_site = req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok());
    if fetch_site == Some("cross-site") {
        return false;
    }
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    if origin == origin_of(public_base) {
        return true;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    !host.is_empty() && (origin == format!("http://{host}") || origin == format!("https://{host}"))
}

/// Percent-encodes a query-string component.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where to go after signing in: a path on this server only (never `//host` or a URL).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

/// A `Set-Cookie` value.
fn set_cookie(state: &AppState, name: &str, value: &str, path: &str, max_age: u64) -> String {
    let secure = if state.settings.public_base().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

/// The session behind the request's cookie, if it is live.
async fn session_of(
    req: &HttpRequest,
    state: &web::Data<AppState>,
) -> Result<Option<PageUser>, ApiError> {
    let Some(secret_text) = cookie(req, COOKIE) else {
        return Ok(None);
    };
    let Some(campaign_id) = secret::campaign_of(&secret_text) else {
        return Ok(None);
    };
    let hash = secret::digest(&secret_text);
    let row = crate::routes::store::run(&state.db, move |conn| {
        Ok(db::sessions::find_by_hash(conn, campaign_id, &hash)?)
    })
    .await?;
    let Some(row) = row.filter(|r| {
        r.revoked_at.is_none()
            && r.expires_at > db::now()
            && r.family_id.starts_with(PAGE_FAMILY_PREFIX)
    }) else {
        return Ok(None);
    };
    let Some(role) = current_role(state, campaign_id, row.user_id).await? else {
        return Ok(None);
    };
    Ok(Some(PageUser {
        auth: AuthUser {
            user_id: row.user_id,
            campaign_id,
            role,
        },
        csrf: csrf_of(&secret_text),
        family: row.family_id,
    }))
}

impl FromRequest for PageUser {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| {
                    ApiError::Internal(anyhow::anyhow!("app state is not registered"))
                })?;
            match session_of(&req, &state).await? {
                Some(user) => {
                    req.extensions_mut()
                        .insert(crate::auth::RequestUser(user.auth.user_id));
                    Ok(user)
                }
                None => {
                    // Coming back to the page asked for, if it was a page to look at.
                    let next = (req.method() == actix_web::http::Method::GET).then(|| {
                        let uri = req.uri();
                        uri.path_and_query()
                            .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned())
                    });
                    Err(PageError::SignIn { next })
                }
            }
        })
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    title: &'static str,
    /// No session yet: the page shows no navigation.
    csrf: String,
    token: String,
    next: String,
    email: String,
    message: Option<String>,
}

/// A new one-time token for the sign-in form, and its cookie.
fn login_token(state: &AppState) -> Result<(String, String), ApiError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    let token = hex::encode(bytes);
    let cookie = set_cookie(state, LOGIN_COOKIE, &token, "/login", 3600);
    Ok((token, cookie))
}

fn login_page(
    state: &AppState,
    status: StatusCode,
    next: &str,
    email: &str,
    message: Option<String>,
) -> Result<HttpResponse, PageError> {
    let (token, cookie) = login_token(state)?;
    let mut response = render(
        status,
        &LoginPage {
            title: "Sign in",
            csrf: String::new(),
            token,
            next: next.to_owned(),
            email: email.to_owned(),
            message,
        },
    )?;
    if let Ok(value) = header::HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// `GET /login`: the form (or, already signed in, onwards).
pub async fn login_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, PageError> {
    let next = safe_next(query.next.as_deref());
    if session_of(&req, &state).await?.is_some() {
        return Ok(see_other(&next));
    }
    login_page(&state, StatusCode::OK, &next, "", None)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

/// `POST /login`: checks the credentials as the API does, opens a page session, sets
/// its cookie and goes on to `next`.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let next = safe_next(form.next.as_deref());
    let token_ok = cookie(&req, LOGIN_COOKIE)
        .is_some_and(|c| constant_time_eq(c.as_bytes(), form.csrf.as_bytes()));
    if !same_origin(&req, state.settings.public_base()) || !token_ok {
        return login_page(
            &state,
            StatusCode::FORBIDDEN,
            &next,
            &form.email,
            Some("The sign-in form expired or came from another site; please try again.".into()),
        );
    }
    let checked = crate::routes::auth::check_credentials(
        &state,
        &req,
        form.email.clone(),
        form.password,
        None,
    )
    .await;
    let user = match checked {
        Ok(user) => user,
        Err(e) => return refused(&state, e, &next, &form.email),
    };
    let ttl = state.settings.refresh_token_ttl;
    let token = crate::routes::store::run(&state.db, move |conn| {
        let family = format!("{PAGE_FAMILY_PREFIX}{}", uuid::Uuid::new_v4());
        Ok(accounts::open_token(conn, ttl, &user, &family)?)
    })
    .await?;
    Ok(signed_in(&state, &token, &next))
}

/// Sets the session cookie, clears the sign-in form's, and goes on to `next`.
fn signed_in(state: &AppState, token: &str, next: &str) -> HttpResponse {
    let max_age = state.settings.refresh_token_ttl.as_secs();
    let mut response = see_other(next);
    for cookie in [
        set_cookie(state, COOKIE, token, "/", max_age),
        set_cookie(state, LOGIN_COOKIE, "", "/login", 0),
    ] {
        if let Ok(value) = header::HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// The sign-in form again with why the attempt was refused, for wrong credentials,
/// too many attempts or malformed input; any other failure is the error page.
fn refused(
    state: &AppState,
    e: AppError,
    next: &str,
    email: &str,
) -> Result<HttpResponse, PageError> {
    let message = match &e {
        AppError::Unauthorized(_) => "Wrong email or password.".to_owned(),
        AppError::Throttled { .. } | AppError::Invalid { .. } => capitalise(&e.to_string()),
        _ => return Err(ApiError::from(e).into()),
    };
    let status = ApiError::from(e).status_code();
    login_page(state, status, next, email, Some(message))
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /logout`: revokes the session and clears its cookie.
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: PageUser,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    user.check_post(&req, &state, &form.csrf)?;
    let (campaign_id, family) = (user.auth.campaign_id, user.family.clone());
    crate::routes::store::transaction(&state.db, move |conn| {
        Ok(db::sessions::revoke_family(conn, campaign_id, &family)?)
    })
    .await?;
    let mut response = see_other("/login");
    if let Ok(value) = header::HeaderValue::from_str(&set_cookie(&state, COOKIE, "", "/", 0)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_server() {
        assert_eq!(
            safe_next(Some("/organize?region_id=2")),
            "/organize?region_id=2"
        );
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn origins_and_tokens() {
        assert_eq!(
            origin_of("https://field.example.org/app"),
            "https://field.example.org"
        );
        assert_eq!(origin_of("http://localhost:8080"), "http://localhost:8080");
        let a = csrf_of("1.aaaa");
        assert_eq!(a, csrf_of("1.aaaa"));
        assert_ne!(a, csrf_of("1.aaab"));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert_eq!(encode_component("/a?b=1&c"), "/a%3Fb%3D1%26c");
    }
}
