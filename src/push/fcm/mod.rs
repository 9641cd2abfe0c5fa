//! Firebase Cloud Messaging HTTP v1 client.
//!
//! * [`ServiceAccount`] is the Google service-account JSON key (validated when loaded).
//! * [`FcmClient`] exchanges an RS256 assertion for an OAuth2 access token at the key's
//!   `token_uri`, caches it until a minute before it expires (one refresh shared by all
//!   concurrent senders), and posts one message per request to
//!   `{send_base}/v1/projects/{project_id}/messages:send`.
//! * [`SendOutcome`] tells the caller what to do next; [`classify`] is the pure mapping
//!   from an FCM answer to it, and [`backoff`] the delay before a retry.
//!
//! Both URLs are configurable, so tests point the client at a local fake server.
//!
//! The code: `service_account` (the key file), `token` (the OAuth2 access token),
//! `wire` (the JSON of FCM HTTP v1), `classification` (what an answer means), `retry`
//! (the backoff) and `client` (sending).

mod classification;
mod client;
mod retry;
mod service_account;
mod token;
mod wire;

use std::collections::BTreeMap;
use std::time::Duration;

pub use classification::classify;
pub use client::FcmClient;
pub use retry::{BACKOFF_BASE, BACKOFF_CAP, backoff};
pub use service_account::ServiceAccount;
pub use token::{FCM_SCOPE, JWT_BEARER_GRANT_TYPE};

/// Why a service account or a client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum FcmError {
    #[error("cannot read the FCM service-account key file {path}: {source}")]
    ReadKeyFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the FCM service-account key {origin} is not JSON: {source}")]
    NotJson {
        origin: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("the FCM service-account key {origin} is not a service-account key: {reason}")]
    NotServiceAccount { origin: String, reason: String },
    #[error("the FCM service-account key {origin} has an empty `{field}`")]
    EmptyField { origin: String, field: &'static str },
    #[error(
        "the FCM service-account key {origin} has a `private_key` that is not a usable RSA private key in PEM form: {source}"
    )]
    InvalidPrivateKey {
        origin: String,
        #[source]
        source: jsonwebtoken::errors::Error,
    },
    #[error("invalid FCM {what} URL {url:?}: {reason}")]
    InvalidUrl {
        what: &'static str,
        url: String,
        reason: String,
    },
    #[error("cannot build the HTTP client for FCM: {0}")]
    HttpClient(#[source] reqwest::Error),
}

/// One notification to one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMessage {
    /// The FCM registration token of the device.
    pub token: String,
    pub title: String,
    pub body: String,
    /// Custom key/value pairs handed to the app (FCM accepts string values only).
    pub data: BTreeMap<String, String>,
}

/// What became of one send, and so what the caller should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// FCM accepted the message; `name` is its id (`projects/<p>/messages/<id>`).
    Sent { name: String },
    /// The registration token is dead (UNREGISTERED, or INVALID_ARGUMENT saying the token
    /// is not a valid FCM registration token): delete the device, never retry.
    DeleteToken { code: String },
    /// Try again later: 429 / 500 / 503 (and network errors, timeouts, token endpoint
    /// unavailable). `retry_after` comes from the Retry-After header (seconds or HTTP
    /// date), if any; feed it to [`backoff`].
    Retry {
        code: String,
        retry_after: Option<Duration>,
    },
    /// Final, visible failure: other 4xx (SENDER_ID_MISMATCH, THIRD_PARTY_AUTH_ERROR,
    /// payload INVALID_ARGUMENT, token endpoint refusing our credentials...). `status` is
    /// the HTTP status, or 0 when the failure happened before any request was made.
    Fatal {
        status: u16,
        code: String,
        message: String,
    },
}
