//! Error classification: what an FCM or OAuth2 answer (or the lack of one) means for
//! the caller — sent, delete the device token, retry later, or give up.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use super::SendOutcome;
use super::wire::GoogleError;

/// Ceiling on a server-supplied `Retry-After`, against absurd values.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// At most this much of an unparseable body ends up in an error message.
const BODY_SNIPPET_CHARS: usize = 200;

pub(super) fn header_text(
    headers: &reqwest::header::HeaderMap,
    name: reqwest::header::HeaderName,
) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A request that got no HTTP answer: always worth retrying, except a request we could
/// not even build.
pub(super) fn transport_failure(what: &str, e: &reqwest::Error) -> SendOutcome {
    tracing::warn!(error = %e, "{what} request failed");
    if e.is_builder() {
        return SendOutcome::Fatal {
            status: 0,
            code: "REQUEST_INVALID".to_owned(),
            message: e.to_string(),
        };
    }
    let code = if e.is_timeout() {
        "TIMEOUT"
    } else if e.is_connect() {
        "CONNECT_ERROR"
    } else {
        "NETWORK_ERROR"
    };
    SendOutcome::Retry {
        code: code.to_owned(),
        retry_after: None,
    }
}

/// Maps a non-2xx answer of the OAuth2 token endpoint.
pub(super) fn classify_token_error(
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
) -> SendOutcome {
    if is_retryable_status(status) {
        return SendOutcome::Retry {
            code: "TOKEN_ENDPOINT_UNAVAILABLE".to_owned(),
            retry_after: retry_after.and_then(|v| parse_retry_after(v, SystemTime::now())),
        };
    }
    let parsed = serde_json::from_slice::<OAuthError>(body).ok();
    let code = parsed
        .as_ref()
        .and_then(|e| e.error.clone())
        .unwrap_or_else(|| "TOKEN_REQUEST_REJECTED".to_owned());
    let detail = parsed
        .and_then(|e| e.error_description)
        .unwrap_or_else(|| snippet(body));
    SendOutcome::Fatal {
        status,
        code,
        message: format!("the OAuth2 token endpoint refused the service account: {detail}"),
    }
}

fn is_retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..600).contains(&status)
}

#[derive(Deserialize)]
struct OAuthError {
    error: Option<String>,
    error_description: Option<String>,
}

/// Maps one FCM send answer to what the caller should do (Firebase's error-code table):
///
/// | errorCode (else `error.status`) | outcome |
/// |---|---|
/// | 2xx | `Sent` |
/// | `UNREGISTERED` | `DeleteToken` |
/// | `INVALID_ARGUMENT` about the registration token | `DeleteToken` |
/// | `INVALID_ARGUMENT` about the payload | `Fatal` |
/// | `SENDER_ID_MISMATCH`, `THIRD_PARTY_AUTH_ERROR` | `Fatal` |
/// | `QUOTA_EXCEEDED`, `UNAVAILABLE`, `INTERNAL` | `Retry` |
/// | anything else on 408, 429 or 5xx | `Retry` |
/// | anything else | `Fatal` |
///
/// `retry_after` is the raw `Retry-After` header. Never panics, whatever the body.
pub fn classify(status: u16, retry_after: Option<&str>, body: &[u8]) -> SendOutcome {
    classify_at(status, retry_after, body, SystemTime::now())
}

fn classify_at(
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
    now: SystemTime,
) -> SendOutcome {
    #[derive(Deserialize)]
    struct Accepted {
        name: Option<String>,
    }

    if (200..300).contains(&status) {
        let name = serde_json::from_slice::<Accepted>(body)
            .ok()
            .and_then(|a| a.name)
            .unwrap_or_default();
        return SendOutcome::Sent { name };
    }
    let error = GoogleError::parse(body);
    let retry = |code: String| SendOutcome::Retry {
        code,
        retry_after: retry_after.and_then(|v| parse_retry_after(v, now)),
    };
    let code = error
        .fcm_error_code
        .clone()
        .or_else(|| error.status.clone())
        .unwrap_or_else(|| format!("HTTP_{status}"));
    match code.as_str() {
        "UNREGISTERED" => SendOutcome::DeleteToken { code },
        "INVALID_ARGUMENT" if error.blames_registration_token() => {
            SendOutcome::DeleteToken { code }
        }
        "QUOTA_EXCEEDED" | "UNAVAILABLE" | "INTERNAL" => retry(code),
        "INVALID_ARGUMENT" | "SENDER_ID_MISMATCH" | "THIRD_PARTY_AUTH_ERROR" => {
            fatal(status, code, error.message, body)
        }
        _ if is_retryable_status(status) => retry(code),
        _ => fatal(status, code, error.message, body),
    }
}

fn fatal(status: u16, code: String, message: Option<String>, body: &[u8]) -> SendOutcome {
    SendOutcome::Fatal {
        status,
        code,
        message: message.unwrap_or_else(|| snippet(body)),
    }
}

/// The start of a body, as text, for error messages and logs.
pub(super) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    let mut out: String = trimmed.chars().take(BODY_SNIPPET_CHARS).collect();
    if out.len() < trimmed.len() {
        out.push('…');
    }
    out
}

/// Reads a `Retry-After` value: delay-seconds or an HTTP date (a date in the past means
/// "now"). Capped at one day. `None` when it is neither.
fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let delay = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: only overflow can fail, and that is "very long".
        Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let at = chrono::DateTime::parse_from_rfc2822(value)
            .ok()?
            .timestamp();
        let now = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        Duration::from_secs(u64::try_from(at.saturating_sub(now)).unwrap_or(0))
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(value: serde_json::Value) -> Vec<u8> {
        value.to_string().into_bytes()
    }

    fn fcm_error(code: u16, status: &str, message: &str, error_code: &str) -> Vec<u8> {
        body(serde_json::json!({
            "error": {
                "code": code,
                "message": message,
                "status": status,
                "details": [{
                    "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                    "errorCode": error_code,
                }],
            }
        }))
    }

    fn retry(code: &str, retry_after: Option<Duration>) -> SendOutcome {
        SendOutcome::Retry {
            code: code.to_owned(),
            retry_after,
        }
    }

    fn fatal(status: u16, code: &str, message: &str) -> SendOutcome {
        SendOutcome::Fatal {
            status,
            code: code.to_owned(),
            message: message.to_owned(),
        }
    }

    #[test]
    fn success_returns_the_message_name() {
        let ok = body(serde_json::json!({"name": "projects/p/messages/0:1"}));
        assert_eq!(
            classify(200, None, &ok),
            SendOutcome::Sent {
                name: "projects/p/messages/0:1".to_owned()
            }
        );
        // Accepted is accepted, even with an odd body: resending would duplicate it.
        assert_eq!(
            classify(200, None, b"<html></html>"),
            SendOutcome::Sent {
                name: String::new()
            }
        );
    }

    #[test]
    fn unregistered_deletes_the_token() {
        let b = fcm_error(
            404,
            "NOT_FOUND",
            "Requested entity was not found.",
            "UNREGISTERED",
        );
        assert_eq!(
            classify(404, None, &b),
            SendOutcome::DeleteToken {
                code: "UNREGISTERED".to_owned()
            }
        );
    }

    #[test]
    fn invalid_registration_token_deletes_the_token() {
        let b = fcm_error(
            400,
            "INVALID_ARGUMENT",
            "The registration token is not a valid FCM registration token",
            "INVALID_ARGUMENT",
        );
        assert_eq!(
            classify(400, None, &b),
            SendOutcome::DeleteToken {
                code: "INVALID_ARGUMENT".to_owned()
            }
        );
        // Same verdict when only a field violation names the token.
        let b = body(serde_json::json!({"error": {
            "code": 400, "message": "Invalid value", "status": "INVALID_ARGUMENT",
            "details": [
                {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "INVALID_ARGUMENT"},
                {"@type": "type.googleapis.com/google.rpc.BadRequest",
                 "fieldViolations": [{"field": "message.token", "description": "Invalid registration token"}]}
            ]
        }}));
        assert_eq!(
            classify(400, None, &b),
            SendOutcome::DeleteToken {
                code: "INVALID_ARGUMENT".to_owned()
            }
        );
    }

    #[test]
    fn invalid_payload_is_fatal() {
        let message = "Invalid value at 'message.data[0].value' (TYPE_STRING), 1";
        let b = fcm_error(400, "INVALID_ARGUMENT", message, "INVALID_ARGUMENT");
        assert_eq!(
            classify(400, None, &b),
            fatal(400, "INVALID_ARGUMENT", message)
        );
    }

    #[test]
    fn sender_id_mismatch_is_fatal() {
        let b = fcm_error(
            403,
            "PERMISSION_DENIED",
            "SenderId mismatch",
            "SENDER_ID_MISMATCH",
        );
        assert_eq!(
            classify(403, None, &b),
            fatal(403, "SENDER_ID_MISMATCH", "SenderId mismatch")
        );
    }

    #[test]
    fn quota_exceeded_is_retried_with_retry_after() {
        let b = fcm_error(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded",
            "QUOTA_EXCEEDED",
        );
        assert_eq!(
            classify(429, Some("7"), &b),
            retry("QUOTA_EXCEEDED", Some(Duration::from_secs(7)))
        );
        assert_eq!(classify(429, None, &b), retry("QUOTA_EXCEEDED", None));
    }

    #[test]
    fn unavailable_and_internal_are_retried() {
        let b = fcm_error(
            503,
            "UNAVAILABLE",
            "The service is currently unavailable.",
            "UNAVAILABLE",
        );
        assert_eq!(
            classify(503, Some("30"), &b),
            retry("UNAVAILABLE", Some(Duration::from_secs(30)))
        );
        let b = fcm_error(500, "INTERNAL", "Internal error encountered.", "INTERNAL");
        assert_eq!(classify(500, None, &b), retry("INTERNAL", None));
    }

    #[test]
    fn third_party_auth_error_is_fatal() {
        let b = fcm_error(
            401,
            "UNAUTHENTICATED",
            "Auth error from APNS or Web Push Service",
            "THIRD_PARTY_AUTH_ERROR",
        );
        assert_eq!(
            classify(401, None, &b),
            fatal(
                401,
                "THIRD_PARTY_AUTH_ERROR",
                "Auth error from APNS or Web Push Service"
            )
        );
        assert!(GoogleError::parse(&b).has_fcm_error());
    }

    #[test]
    fn unspecified_error_is_retried_only_on_5xx_or_429() {
        let b = fcm_error(500, "INTERNAL", "?", "UNSPECIFIED_ERROR");
        assert_eq!(classify(500, None, &b), retry("UNSPECIFIED_ERROR", None));
        let b = fcm_error(429, "RESOURCE_EXHAUSTED", "?", "UNSPECIFIED_ERROR");
        assert_eq!(classify(429, None, &b), retry("UNSPECIFIED_ERROR", None));
        let b = fcm_error(400, "FAILED_PRECONDITION", "?", "UNSPECIFIED_ERROR");
        assert_eq!(
            classify(400, None, &b),
            fatal(400, "UNSPECIFIED_ERROR", "?")
        );
    }

    #[test]
    fn unauthenticated_without_fcm_error_is_an_oauth_problem() {
        let b = body(serde_json::json!({"error": {
            "code": 401,
            "message": "Request had invalid authentication credentials.",
            "status": "UNAUTHENTICATED"
        }}));
        let parsed = GoogleError::parse(&b);
        assert!(!parsed.has_fcm_error());
        // `send` refreshes the token and tries again; if that fails too, it is final.
        assert_eq!(
            classify(401, None, &b),
            fatal(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials."
            )
        );
    }

    #[test]
    fn falls_back_to_error_status() {
        let b = body(serde_json::json!({"error": {
            "code": 503, "message": "Overloaded", "status": "UNAVAILABLE"
        }}));
        assert_eq!(classify(503, None, &b), retry("UNAVAILABLE", None));
        let b = body(serde_json::json!({"error": {
            "code": 429, "message": "Slow down", "status": "RESOURCE_EXHAUSTED"
        }}));
        assert_eq!(
            classify(429, Some("2"), &b),
            retry("RESOURCE_EXHAUSTED", Some(Duration::from_secs(2)))
        );
        let b = body(serde_json::json!({"error": {
            "code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"
        }}));
        assert_eq!(
            classify(404, None, &b),
            fatal(404, "NOT_FOUND", "Requested entity was not found.")
        );
        // Details of other types are ignored.
        let b = body(serde_json::json!({"error": {
            "code": 403, "message": "denied", "status": "PERMISSION_DENIED",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "errorCode": "UNREGISTERED"}]
        }}));
        assert_eq!(
            classify(403, None, &b),
            fatal(403, "PERMISSION_DENIED", "denied")
        );
    }

    #[test]
    fn weird_bodies_never_panic() {
        let html = b"<html><body>502 Bad Gateway</body></html>";
        assert_eq!(classify(502, None, html), retry("HTTP_502", None));
        assert_eq!(classify(503, Some("soon"), b""), retry("HTTP_503", None));
        assert_eq!(classify(400, None, b"oops"), fatal(400, "HTTP_400", "oops"));
        assert_eq!(classify(418, None, b""), fatal(418, "HTTP_418", ""));
        for weird in [
            &b"{"[..],
            b"null",
            b"[]",
            b"{\"error\": null}",
            b"{\"error\": \"x\"}",
            b"{\"error\": {\"details\": 5}}",
            b"{\"error\": {\"details\": [1, null, {\"@type\": 7}]}}",
            b"\xff\xfe\x00",
        ] {
            let outcome = classify(500, None, weird);
            assert!(
                matches!(outcome, SendOutcome::Retry { .. }),
                "{weird:?} -> {outcome:?}"
            );
            let outcome = classify(400, None, weird);
            assert!(
                matches!(outcome, SendOutcome::Fatal { status: 400, .. }),
                "{weird:?} -> {outcome:?}"
            );
        }
        let long = "x".repeat(10_000);
        let SendOutcome::Fatal { message, .. } = classify(400, None, long.as_bytes()) else {
            panic!("a 400 must be fatal");
        };
        assert!(message.chars().count() <= BODY_SNIPPET_CHARS + 1);
    }

    #[test]
    fn retry_after_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            parse_retry_after("Mon, 01 Jan 1900 00:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("1.5", now), None);
        assert_eq!(parse_retry_after("", now), None);
        assert_eq!(parse_retry_after("tomorrow", now), None);
        let b = fcm_error(503, "UNAVAILABLE", "busy", "UNAVAILABLE");
        assert_eq!(
            classify_at(503, Some("Wed, 21 Oct 2015 07:29:00 GMT"), &b, now),
            retry("UNAVAILABLE", Some(Duration::from_secs(60)))
        );
    }

    #[test]
    fn token_endpoint_errors() {
        let refused =
            br#"{"error": "invalid_grant", "error_description": "Invalid JWT Signature."}"#;
        assert_eq!(
            classify_token_error(400, None, refused),
            fatal(
                400,
                "invalid_grant",
                "the OAuth2 token endpoint refused the service account: Invalid JWT Signature."
            )
        );
        assert_eq!(
            classify_token_error(503, Some("3"), b"<html>"),
            retry("TOKEN_ENDPOINT_UNAVAILABLE", Some(Duration::from_secs(3)))
        );
        assert!(matches!(
            classify_token_error(401, None, b""),
            SendOutcome::Fatal { status: 401, code, .. } if code == "TOKEN_REQUEST_REJECTED"
        ));
    }
}
