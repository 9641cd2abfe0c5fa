//! Request-body extraction with our error shape: the body limit is enforced while
//! reading (never buffered past it), and a field that does not fit is named by path.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body of type `T`.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
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
            parse(&body).map(ApiJson)
        })
    }
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
