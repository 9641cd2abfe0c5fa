//! Request-body extraction with our error shape: the body limit is enforced while
//! reading (never buffered past it), and a field that does not fit is named by path.
//!
//! Text may not hold U+0000: PostgreSQL cannot store it in text columns, and SQLite
//! would, so the same body would succeed on one store and fail with a 500 on the other.
//! [`ApiJson`] answers such a body with a 422 on both. A knock batch must never fail as a
//! whole for one knock's note, so it is read with [`ApiJsonKeepingNul`] and its text is
//! cleaned knock by knock instead.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body of type `T`, none of whose strings holds U+0000.
pub struct ApiJson<T>(pub T);

/// A JSON body of type `T` whose strings may hold U+0000, for a handler that cleans them.
pub struct ApiJsonKeepingNul<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload);
        Box::pin(async move {
            let body = body.await?;
            let value = parse(&body)?;
            if has_nul(&body) {
                return Err(ApiError::Validation {
                    message: "text must not contain the NUL character (U+0000)".into(),
                    field: None,
                });
            }
            Ok(ApiJson(value))
        })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJsonKeepingNul<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload);
        Box::pin(async move { parse(&body.await?).map(ApiJsonKeepingNul) })
    }
}

/// Whether a JSON text holds the escape `\u0000` (the only way JSON can carry U+0000 in
/// a string), not counting an escaped backslash followed by "u0000".
pub fn has_nul(json: &[u8]) -> bool {
    const ESCAPE: &[u8] = b"\\u0000";
    json.windows(ESCAPE.len()).enumerate().any(|(at, w)| {
        w == ESCAPE && {
            // The backslash escapes the `u` only if an even number of backslashes
            // stand before it.
            let before = json[..at].iter().rev().take_while(|&&b| b == b'\\').count();
            before % 2 == 0
        }
    })
}

/// Reads the body of a JSON request within the body limit.
fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> LocalBoxFuture<'static, Result<web::BytesMut, ApiError>> {
    let limit = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings.max_body_bytes)
        .unwrap_or(1024 * 1024);
    let content_type_ok = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let mime = v
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            mime == "application/json" || mime.ends_with("+json")
        })
        .unwrap_or(false);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let mut payload = payload.take();
    Box::pin(async move {
        if !content_type_ok {
            return Err(ApiError::UnsupportedMediaType(
                "the body must be JSON (Content-Type: application/json)".into(),
            ));
        }
        if declared.is_some_and(|n| n > limit) {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| ApiError::BadRequest {
                message: format!("could not read the request body: {e}"),
                details: serde_json::Value::Null,
            })?;
            if body.len() + chunk.len() > limit {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    })
}

/// Parses JSON, telling a syntax error (400) from a body of the wrong shape (422).
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        classify(err.into_inner(), path)
    })?;
    de.end().map_err(|e| classify(e, ".".to_owned()))?;
    Ok(value)
}

fn classify(inner: serde_json::Error, path: String) -> ApiError {
    match inner.classify() {
        serde_json::error::Category::Data => {
            let message = inner.to_string();
            let field = missing_field(&message)
                .map(|f| {
                    if path == "." {
                        f.to_owned()
                    } else {
                        format!("{path}.{f}")
                    }
                })
                .unwrap_or(path);
            let message = strip_position(&message);
            ApiError::Validation {
                message: format!("{field}: {message}"),
                field: Some(field),
            }
        }
        _ => ApiError::InvalidJson(format!("the body is not valid JSON: {inner}")),
    }
}

fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[expect(dead_code, reason = "fields exist to be deserialised")]
    struct Login {
        email: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[expect(dead_code, reason = "fields exist to be deserialised")]
    struct Inner {
        n: i64,
    }

    fn field_of(body: &str) -> Option<String> {
        match parse::<Login>(body.as_bytes()) {
            Err(ApiError::Validation { field, .. }) => field,
            _ => None,
        }
    }

    #[test]
    fn names_the_missing_or_mistyped_field() {
        assert_eq!(field_of("{}"), Some("email".to_owned()));
        assert_eq!(field_of(r#"{"email": 5}"#), Some("email".to_owned()));
        assert_eq!(
            field_of(r#"{"email": "a", "inner": {"n": "x"}}"#),
            Some("inner.n".to_owned())
        );
        assert_eq!(
            field_of(r#"{"email": "a", "inner": {}}"#),
            Some("inner.n".to_owned())
        );
    }

    #[test]
    fn nul_is_found_only_where_json_escapes_it() {
        assert!(has_nul(br#"{"notes": "a\u0000b"}"#));
        assert!(has_nul(br#"{"notes": "\\\u0000"}"#));
        // An escaped backslash followed by the letters u0000 is plain text.
        assert!(!has_nul(br#"{"notes": "C:\\u0000"}"#));
        assert!(!has_nul(br#"{"notes": "u0000"}"#));
    }

    #[test]
    fn broken_json_is_a_syntax_error() {
        assert!(matches!(
            parse::<Login>(b"{\"email\": "),
            Err(ApiError::InvalidJson(_))
        ));
        assert!(matches!(
            parse::<Login>(br#"{"email": "a"} trailing"#),
            Err(ApiError::InvalidJson(_))
        ));
    }
}
