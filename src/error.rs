//! The one place that decides HTTP statuses. Every error leaves the server as
//! `{"error": {"code", "message", "details"}}`; anything unexpected is logged in full
//! and answered with an opaque 500.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde_json::{Value, json};

use crate::domain::Invalid;

/// Every error a handler can answer with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON at all (syntax error, truncated).
    #[error("{0}")]
    InvalidJson(String),
    /// A query string or path parameter that does not parse.
    #[error("{message}")]
    BadRequest { message: String, details: Value },
    /// Well-formed input that breaks a rule; `field` names the offending input.
    #[error("{message}")]
    Validation {
        field: Option<String>,
        message: String,
    },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("no route for this path")]
    RouteNotFound,
    #[error("method not allowed for this path")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    /// A conflict with machine-readable details (which records, how many).
    #[error("{message}")]
    ConflictWith { message: String, details: Value },
    /// Input past a limit other than the body size (vertices, cells, rows).
    #[error("{message}")]
    TooLarge { message: String, details: Value },
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::Forbidden(message.into())
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }

    /// The pool could not hand out a connection in time: the database is down or saturated.
    pub fn pool(err: diesel::r2d2::PoolError) -> Self {
        tracing::error!(error = %err, "no database connection available");
        ApiError::Unavailable("the database is not reachable right now; retry shortly".into())
    }

    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::Validation { .. } => "validation_failed",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::RouteNotFound => "route_not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict(_) | ApiError::ConflictWith { .. } => "conflict",
            ApiError::TooLarge { .. } => "payload_too_large",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    fn details(&self) -> Value {
        match self {
            ApiError::BadRequest { details, .. }
            | ApiError::ConflictWith { details, .. }
            | ApiError::TooLarge { details, .. } => details.clone(),
            ApiError::Validation { field: Some(f), .. } => json!({ "field": f }),
            ApiError::PayloadTooLarge { limit } => json!({ "limit_bytes": limit }),
            ApiError::TooManyRequests {
                retry_after_secs, ..
            } => json!({ "retry_after_secs": retry_after_secs }),
            _ => Value::Null,
        }
    }
}

/// The JSON body for an error, also used by the catch-all for actix's own errors.
pub fn error_body(code: &str, message: &str, details: Value) -> Value {
    json!({ "error": { "code": code, "message": message, "details": details } })
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidJson(_) => StatusCode::BAD_REQUEST,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) | ApiError::ConflictWith { .. } => StatusCode::CONFLICT,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            ApiError::Internal(err) => {
                tracing::error!(error = ?err, "internal error");
                "internal error; it has been logged".to_owned()
            }
            other => other.to_string(),
        };
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::TooManyRequests {
                retry_after_secs, ..
            } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::Unauthorized(_) => {
                response
                    .insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            _ => {}
        }
        response.json(error_body(self.code(), &message, self.details()))
    }
}

/// Every use case's error as the HTTP answer: the one place an application error
/// becomes a status and a code.
impl From<crate::app::AppError> for ApiError {
    fn from(err: crate::app::AppError) -> Self {
        use crate::app::AppError;
        match err {
            AppError::NotFound(what) => ApiError::not_found(what),
            AppError::Absent(message) => ApiError::NotFound(message),
            AppError::Unauthorized(message) => ApiError::Unauthorized(message),
            AppError::Throttled {
                message,
                retry_after_secs,
            } => ApiError::TooManyRequests {
                message,
                retry_after_secs,
            },
            AppError::Forbidden(message) => ApiError::Forbidden(message),
            AppError::Invalid { field, message } => ApiError::Validation { field, message },
            AppError::TooLarge { message, details } => ApiError::TooLarge { message, details },
            AppError::Conflict { message, details } if details.is_null() => {
                ApiError::Conflict(message)
            }
            AppError::Conflict { message, details } => ApiError::ConflictWith { message, details },
            AppError::Busy(message) => ApiError::Unavailable(message),
            AppError::Store(e) => ApiError::from(e),
            AppError::Internal(e) => ApiError::Internal(e),
        }
    }
}

impl From<crate::db::StoreError> for ApiError {
    fn from(err: crate::db::StoreError) -> Self {
        match err {
            crate::db::StoreError::Query(e) => ApiError::from(e),
            crate::db::StoreError::Unreachable(e) => ApiError::pool(e),
            crate::db::StoreError::Task(e) => {
                ApiError::Internal(anyhow::anyhow!("blocking task failed: {e}"))
            }
        }
    }
}

impl From<DieselError> for ApiError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::NotFound => ApiError::NotFound("resource not found".into()),
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                ApiError::Conflict("a record with the same unique value already exists".into())
            }
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                ApiError::Validation {
                    field: None,
                    message: "a referenced record does not exist in this campaign".into(),
                }
            }
            DieselError::DatabaseError(_, ref info)
                if info.message().contains("statement timeout") =>
            {
                tracing::warn!(error = %err, "a statement ran out of time");
                ApiError::Unavailable(
                    "the database took too long to answer and the request was stopped; retry, or ask for less at once".into(),
                )
            }
            DieselError::DatabaseError(_, ref info)
                if info.message().contains("database is locked") =>
            {
                ApiError::Unavailable("the database is busy; retry shortly".into())
            }
            ref e if crate::db::is_retryable(e) => {
                ApiError::Unavailable("the database is busy; retry shortly".into())
            }
            other => ApiError::Internal(anyhow::Error::new(other).context("database error")),
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(err: Invalid) -> Self {
        ApiError::Validation {
            field: Some(err.field.to_owned()),
            message: err.message,
        }
    }
}
