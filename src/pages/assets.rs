//! The pages' stylesheet and script, compiled into the binary and served from
//! `/static/`, so the Content-Security-Policy can allow 'self' only (no inline script
//! or style).

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use super::PageError;
use crate::error::ApiError;

const FILES: [(&str, &str, &str); 5] = [
    (
        "pages.css",
        "text/css; charset=utf-8",
        include_str!("../../static/pages.css"),
    ),
    (
        "print.css",
        "text/css; charset=utf-8",
        include_str!("../../static/print.css"),
    ),
    (
        "paper-a4.css",
        "text/css; charset=utf-8",
        "@page { size: A4; margin: 12mm; }\n",
    ),
    (
        "paper-letter.css",
        "text/css; charset=utf-8",
        "@page { size: letter; margin: 12mm; }\n",
    ),
    (
        "dashboard.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/dashboard.js"),
    ),
];

/// `GET /static/{file}`.
pub async fn file(path: web::Path<String>) -> Result<HttpResponse, PageError> {
    let name = path.into_inner();
    let (_, kind, body) = FILES
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(|| ApiError::not_found("file"))?;
    Ok(HttpResponse::Ok()
        .content_type(*kind)
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(*body))
}
