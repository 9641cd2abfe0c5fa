//! The wire format of FCM HTTP v1: the JSON of a send request, and the parts of a Google
//! API error body that decide what to do with a failed send.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::PushMessage;

/// `@type` suffix of the FCM-specific entry in `error.details`.
const FCM_ERROR_TYPE_SUFFIX: &str = "google.firebase.fcm.v1.FcmError";
/// `@type` suffix of the field-violation entry in `error.details`.
const BAD_REQUEST_TYPE_SUFFIX: &str = "google.rpc.BadRequest";

#[derive(Serialize)]
pub(super) struct SendRequest<'a> {
    message: WireMessage<'a>,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    token: &'a str,
    notification: WireNotification<'a>,
    data: &'a BTreeMap<String, String>,
    android: WireAndroid,
    apns: WireApns,
}

#[derive(Serialize)]
struct WireNotification<'a> {
    title: &'a str,
    body: &'a str,
}

#[derive(Serialize)]
struct WireAndroid {
    priority: &'static str,
}

#[derive(Serialize)]
struct WireApns {
    headers: WireApnsHeaders,
}

#[derive(Serialize)]
struct WireApnsHeaders {
    #[serde(rename = "apns-priority")]
    apns_priority: &'static str,
}

impl<'a> From<&'a PushMessage> for SendRequest<'a> {
    fn from(msg: &'a PushMessage) -> Self {
        Self {
            message: WireMessage {
                token: &msg.token,
                notification: WireNotification {
                    title: &msg.title,
                    body: &msg.body,
                },
                data: &msg.data,
                android: WireAndroid { priority: "high" },
                apns: WireApns {
                    headers: WireApnsHeaders {
                        apns_priority: "10",
                    },
                },
            },
        }
    }
}

/// The parts of a Google API error body (`{"error": {...}}`) that matter here.
#[derive(Debug, Default)]
pub(super) struct GoogleError {
    pub(super) status: Option<String>,
    pub(super) message: Option<String>,
    pub(super) fcm_error_code: Option<String>,
    token_field_violation: bool,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    message: Option<String>,
    status: Option<String>,
    #[serde(default)]
    details: Vec<serde_json::Value>,
}

impl GoogleError {
    /// Reads what it can; anything else (HTML, empty, truncated) gives an empty value.
    pub(super) fn parse(body: &[u8]) -> Self {
        let Ok(envelope) = serde_json::from_slice::<ErrorEnvelope>(body) else {
            return Self::default();
        };
        let error = envelope.error;
        let type_ends_with = |detail: &serde_json::Value, suffix: &str| {
            detail
                .get("@type")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|t| t.ends_with(suffix))
        };
        let fcm_error_code = error
            .details
            .iter()
            .filter(|d| type_ends_with(d, FCM_ERROR_TYPE_SUFFIX))
            .find_map(|d| d.get("errorCode").and_then(serde_json::Value::as_str))
            .map(str::to_owned);
        let token_field_violation = error
            .details
            .iter()
            .filter(|d| type_ends_with(d, BAD_REQUEST_TYPE_SUFFIX))
            .filter_map(|d| {
                d.get("fieldViolations")
                    .and_then(serde_json::Value::as_array)
            })
            .flatten()
            .any(|v| v.get("field").and_then(serde_json::Value::as_str) == Some("message.token"));
        Self {
            status: error.status,
            message: error.message,
            fcm_error_code,
            token_field_violation,
        }
    }

    pub(super) fn has_fcm_error(&self) -> bool {
        self.fcm_error_code.is_some()
    }

    /// INVALID_ARGUMENT about the registration token itself, not about the payload.
    pub(super) fn blames_registration_token(&self) -> bool {
        self.token_field_violation
            || self.message.as_deref().is_some_and(|m| {
                m.to_ascii_lowercase()
                    .contains("not a valid fcm registration token")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_wire_shape() {
        let msg = PushMessage {
            token: "tok".to_owned(),
            title: "Turf ready".to_owned(),
            body: "Your walk list is ready".to_owned(),
            data: BTreeMap::from([("turf_id".to_owned(), "42".to_owned())]),
        };
        let wire = serde_json::to_value(SendRequest::from(&msg)).unwrap_or_default();
        assert_eq!(
            wire,
            serde_json::json!({"message": {
                "token": "tok",
                "notification": {"title": "Turf ready", "body": "Your walk list is ready"},
                "data": {"turf_id": "42"},
                "android": {"priority": "high"},
                "apns": {"headers": {"apns-priority": "10"}}
            }})
        );
    }
}
