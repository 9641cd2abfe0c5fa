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

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::RETRY_AFTER;
use serde::{Deserialize, Serialize};

/// OAuth2 scope needed to send FCM messages.
pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// OAuth2 grant type of the service-account (JWT bearer) flow.
pub const JWT_BEARER_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// First retry delay of [`backoff`].
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Longest delay [`backoff`] picks on its own (a longer `Retry-After` still wins).
pub const BACKOFF_CAP: Duration = Duration::from_secs(15 * 60);

/// `@type` suffix of the FCM-specific entry in `error.details`.
const FCM_ERROR_TYPE_SUFFIX: &str = "google.firebase.fcm.v1.FcmError";
/// `@type` suffix of the field-violation entry in `error.details`.
const BAD_REQUEST_TYPE_SUFFIX: &str = "google.rpc.BadRequest";
/// Lifetime of the signed assertion (Google accepts at most one hour).
const ASSERTION_LIFETIME_SECS: i64 = 3600;
/// A cached access token is replaced this long before it expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// Used when the token endpoint does not say how long its token lives.
const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 3600;
/// A token is never kept longer than this, whatever the endpoint says.
const MAX_TOKEN_LIFETIME_SECS: u64 = 24 * 3600;
/// Ceiling on a server-supplied `Retry-After`, against absurd values.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// At most this much of an unparseable body ends up in an error message.
const BODY_SNIPPET_CHARS: usize = 200;

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

/// A Google service-account key, as downloaded from the Firebase console
/// (Project settings → Service accounts → Generate new private key).
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct ServiceAccount {
    pub project_id: String,
    pub private_key_id: String,
    /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub private_key: String,
    pub client_email: String,
    /// OAuth2 token endpoint, normally `https://oauth2.googleapis.com/token`.
    pub token_uri: String,
}

impl fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("project_id", &self.project_id)
            .field("private_key_id", &self.private_key_id)
            .field("private_key", &"<redacted>")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish()
    }
}

impl ServiceAccount {
    /// Loads and validates a service-account JSON key file: it must be readable, be JSON,
    /// have every field, and hold an RSA private key that can sign.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, FcmError> {
        let path = path.as_ref();
        let text = std::fs::read(path).map_err(|source| FcmError::ReadKeyFile {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Same as [`ServiceAccount::from_file`], for a key held in memory (an environment
    /// variable or a secret store).
    pub fn from_json(json: &str) -> Result<Self, FcmError> {
        Self::parse(json.as_bytes(), "(inline JSON)")
    }

    fn parse(bytes: &[u8], origin: &str) -> Result<Self, FcmError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|source| FcmError::NotJson {
                origin: origin.to_owned(),
                source,
            })?;
        if let Some(kind) = value.get("type").and_then(serde_json::Value::as_str)
            && kind != "service_account"
        {
            return Err(FcmError::NotServiceAccount {
                origin: origin.to_owned(),
                reason: format!("its type is {kind:?}, not \"service_account\""),
            });
        }
        let account: Self =
            serde_json::from_value(value).map_err(|e| FcmError::NotServiceAccount {
                origin: origin.to_owned(),
                reason: e.to_string(),
            })?;
        account.signing_key(origin)?;
        Ok(account)
    }

    /// Checks every field and returns the signing key, after proving it can sign.
    fn signing_key(&self, origin: &str) -> Result<EncodingKey, FcmError> {
        let fields = [
            ("project_id", &self.project_id),
            ("private_key_id", &self.private_key_id),
            ("private_key", &self.private_key),
            ("client_email", &self.client_email),
            ("token_uri", &self.token_uri),
        ];
        for (field, value) in fields {
            if value.trim().is_empty() {
                return Err(FcmError::EmptyField {
                    origin: origin.to_owned(),
                    field,
                });
            }
        }
        if self
            .project_id
            .chars()
            .any(|c| c == '/' || c == '?' || c == '#' || c == '%' || c.is_whitespace())
        {
            return Err(FcmError::NotServiceAccount {
                origin: origin.to_owned(),
                reason: format!("project_id {:?} is not a project id", self.project_id),
            });
        }
        check_url("token_uri", &self.token_uri)?;
        let invalid_key = |source| FcmError::InvalidPrivateKey {
            origin: origin.to_owned(),
            source,
        };
        let key = EncodingKey::from_rsa_pem(self.private_key.as_bytes()).map_err(invalid_key)?;
        // Parsing the PEM does not look inside the key; signing does.
        jsonwebtoken::encode(
            &Header::new(Algorithm::RS256),
            &serde_json::json!({ "probe": true }),
            &key,
        )
        .map_err(invalid_key)?;
        Ok(key)
    }
}

fn check_url(what: &'static str, url: &str) -> Result<(), FcmError> {
    let invalid = |reason: String| FcmError::InvalidUrl {
        what,
        url: url.to_owned(),
        reason,
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| invalid(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be https (or http)".to_owned()));
    }
    if parsed.host_str().is_none() {
        return Err(invalid("there is no host".to_owned()));
    }
    Ok(())
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

/// Sends FCM messages for one Firebase project. Cheap to clone: clones share the HTTP
/// connection pool and the access token.
#[derive(Clone)]
pub struct FcmClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    project_id: String,
    send_url: String,
    token_uri: String,
    client_email: String,
    private_key_id: String,
    key: EncodingKey,
    /// The current access token; read on every send without waiting.
    cached: RwLock<Option<CachedToken>>,
    /// Held while a token is fetched, so that one request serves every waiting sender.
    /// It keeps the last failed refresh: senders that queued behind it share its outcome
    /// instead of each asking the token endpoint again.
    refresh: tokio::sync::Mutex<Option<FailedRefresh>>,
}

#[derive(Clone)]
struct CachedToken {
    value: Arc<str>,
    refresh_at: Instant,
}

struct FailedRefresh {
    at: Instant,
    outcome: SendOutcome,
}

impl fmt::Debug for FcmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FcmClient")
            .field("project_id", &self.inner.project_id)
            .field("send_url", &self.inner.send_url)
            .field("token_uri", &self.inner.token_uri)
            .field("client_email", &self.inner.client_email)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Serialize)]
struct SendRequest<'a> {
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

impl FcmClient {
    /// Builds a client for `account`, sending to `send_base` (`https://fcm.googleapis.com`
    /// in production). `timeout` bounds each HTTP request, token requests included.
    /// Makes no request: the first send fetches the access token.
    pub fn new(
        account: ServiceAccount,
        send_base: &str,
        timeout: Duration,
    ) -> Result<Self, FcmError> {
        let key = account.signing_key("(service account)")?;
        check_url("send base", send_base)?;
        let send_url = format!(
            "{}/v1/projects/{}/messages:send",
            send_base.trim_end_matches('/'),
            account.project_id
        );
        check_url("send", &send_url)?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("groundswell/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(FcmError::HttpClient)?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                project_id: account.project_id,
                send_url,
                token_uri: account.token_uri,
                client_email: account.client_email,
                private_key_id: account.private_key_id,
                key,
                cached: RwLock::new(None),
                refresh: tokio::sync::Mutex::new(None),
            }),
        })
    }

    /// The Firebase project this client sends for.
    pub fn project_id(&self) -> &str {
        &self.inner.project_id
    }

    /// Sends one message. Never panics and never retries on its own, except once after an
    /// HTTP 401 that means our access token was refused (the token is then fetched anew).
    pub async fn send(&self, msg: &PushMessage) -> SendOutcome {
        let request = SendRequest::from(msg);
        let mut refreshed = false;
        loop {
            let token = match self.inner.access_token().await {
                Ok(token) => token,
                Err(outcome) => return outcome,
            };
            let response = match self
                .inner
                .http
                .post(&self.inner.send_url)
                .bearer_auth(&*token)
                .json(&request)
                .send()
                .await
            {
                Ok(response) => response,
                Err(e) => return transport_failure("FCM send", &e),
            };
            let status = response.status().as_u16();
            let retry_after = header_text(response.headers(), RETRY_AFTER);
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(e) => return transport_failure("FCM send", &e),
            };
            if status == 401 && !refreshed && !GoogleError::parse(&body).has_fcm_error() {
                // Our access token was refused (expired early, revoked, rotated keys):
                // drop it and try once more with a fresh one.
                tracing::info!("FCM refused the access token; fetching a new one");
                self.inner.forget_token(&token);
                refreshed = true;
                continue;
            }
            return classify(status, retry_after.as_deref(), &body);
        }
    }
}

impl Inner {
    fn current_token(&self) -> Option<Arc<str>> {
        let cached = self.cached.read().unwrap_or_else(PoisonError::into_inner);
        cached
            .as_ref()
            .filter(|t| Instant::now() < t.refresh_at)
            .map(|t| Arc::clone(&t.value))
    }

    /// Drops `used` from the cache, unless another sender has already replaced it.
    fn forget_token(&self, used: &Arc<str>) {
        let mut cached = self.cached.write().unwrap_or_else(PoisonError::into_inner);
        if cached.as_ref().is_some_and(|t| t.value == *used) {
            *cached = None;
        }
    }

    async fn access_token(&self) -> Result<Arc<str>, SendOutcome> {
        if let Some(token) = self.current_token() {
            return Ok(token);
        }
        let asked_at = Instant::now();
        let mut last_failure = self.refresh.lock().await;
        // Whoever held the lock before us may have refreshed already, or failed to.
        if let Some(token) = self.current_token() {
            return Ok(token);
        }
        if let Some(failure) = last_failure.as_ref()
            && failure.at >= asked_at
        {
            return Err(failure.outcome.clone());
        }
        match self.fetch_token().await {
            Ok(token) => {
                *last_failure = None;
                let value = Arc::clone(&token.value);
                *self.cached.write().unwrap_or_else(PoisonError::into_inner) = Some(token);
                Ok(value)
            }
            Err(outcome) => {
                tracing::warn!(token_uri = %self.token_uri, ?outcome, "cannot get an FCM access token");
                *last_failure = Some(FailedRefresh {
                    at: Instant::now(),
                    outcome: outcome.clone(),
                });
                Err(outcome)
            }
        }
    }

    async fn fetch_token(&self) -> Result<CachedToken, SendOutcome> {
        tracing::debug!(token_uri = %self.token_uri, "fetching an FCM access token");
        let iat = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let claims = AssertionClaims {
            iss: &self.client_email,
            scope: FCM_SCOPE,
            aud: &self.token_uri,
            iat,
            exp: iat.saturating_add(ASSERTION_LIFETIME_SECS),
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.private_key_id.clone());
        let assertion =
            jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| SendOutcome::Fatal {
                status: 0,
                code: "ASSERTION_SIGNING_FAILED".to_owned(),
                message: e.to_string(),
            })?;

        let sent_at = Instant::now();
        let response = self
            .http
            .post(&self.token_uri)
            .form(&[
                ("grant_type", JWT_BEARER_GRANT_TYPE),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await
            .map_err(|e| transport_failure("OAuth2 token", &e))?;
        let status = response.status().as_u16();
        let retry_after = header_text(response.headers(), RETRY_AFTER);
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_failure("OAuth2 token", &e))?;

        if !(200..300).contains(&status) {
            return Err(classify_token_error(status, retry_after.as_deref(), &body));
        }
        let parsed = serde_json::from_slice::<TokenResponse>(&body)
            .ok()
            .filter(|t| !t.access_token.is_empty());
        let Some(parsed) = parsed else {
            tracing::warn!(body = %snippet(&body), "unusable answer from the OAuth2 token endpoint");
            return Err(SendOutcome::Retry {
                code: "TOKEN_RESPONSE_INVALID".to_owned(),
                retry_after: None,
            });
        };
        Ok(CachedToken {
            value: Arc::from(parsed.access_token),
            refresh_at: sent_at + keep_token_for(parsed.expires_in),
        })
    }
}

/// How long an access token that lives `expires_in` seconds is used: until a minute before
/// it expires, or half its life when it lives less than two minutes.
fn keep_token_for(expires_in: Option<u64>) -> Duration {
    let lifetime = Duration::from_secs(
        expires_in
            .unwrap_or(DEFAULT_TOKEN_LIFETIME_SECS)
            .min(MAX_TOKEN_LIFETIME_SECS),
    );
    lifetime - REFRESH_MARGIN.min(lifetime / 2)
}

fn header_text(
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
fn transport_failure(what: &str, e: &reqwest::Error) -> SendOutcome {
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
fn classify_token_error(status: u16, retry_after: Option<&str>, body: &[u8]) -> SendOutcome {
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

/// The parts of a Google API error body (`{"error": {...}}`) that matter here.
#[derive(Debug, Default)]
struct GoogleError {
    status: Option<String>,
    message: Option<String>,
    fcm_error_code: Option<String>,
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
    fn parse(body: &[u8]) -> Self {
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

    fn has_fcm_error(&self) -> bool {
        self.fcm_error_code.is_some()
    }

    /// INVALID_ARGUMENT about the registration token itself, not about the payload.
    fn blames_registration_token(&self) -> bool {
        self.token_field_violation
            || self.message.as_deref().is_some_and(|m| {
                m.to_ascii_lowercase()
                    .contains("not a valid fcm registration token")
            })
    }
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
fn snippet(body: &[u8]) -> String {
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

/// Delay before retry number `attempt` (0 for the first retry): "full jitter" exponential
/// backoff, a uniform pick in `[BACKOFF_BASE, min(BACKOFF_CAP, BACKOFF_BASE * 2^attempt)]`.
/// A `Retry-After` from the server is a floor (and may exceed the cap).
pub fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let delay = jittered(backoff_ceiling(attempt), random_u64());
    retry_after.map_or(delay, |floor| delay.max(floor))
}

/// `min(BACKOFF_CAP, BACKOFF_BASE * 2^attempt)`.
fn backoff_ceiling(attempt: u32) -> Duration {
    // 2^20 seconds is far beyond the cap already.
    let factor = 1_u32 << attempt.min(20);
    BACKOFF_BASE.saturating_mul(factor).min(BACKOFF_CAP)
}

/// A point in `[BACKOFF_BASE, ceiling]` picked by `random`.
fn jittered(ceiling: Duration, random: u64) -> Duration {
    let low = u64::try_from(BACKOFF_BASE.as_millis()).unwrap_or(u64::MAX);
    let high = u64::try_from(ceiling.as_millis())
        .unwrap_or(u64::MAX)
        .max(low);
    let span = (high - low).saturating_add(1);
    Duration::from_millis(low + random % span)
}

fn random_u64() -> u64 {
    getrandom::u64().unwrap_or_else(|_| {
        // No OS randomness: the clock's nanoseconds still spread concurrent retries.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::from(d.subsec_nanos()))
    })
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

    #[test]
    fn access_tokens_are_kept_until_a_minute_before_expiry() {
        assert_eq!(keep_token_for(Some(3599)), Duration::from_secs(3539));
        assert_eq!(keep_token_for(None), Duration::from_secs(3540));
        assert_eq!(keep_token_for(Some(120)), Duration::from_secs(60));
        assert_eq!(keep_token_for(Some(60)), Duration::from_secs(30));
        assert_eq!(keep_token_for(Some(1)), Duration::from_millis(500));
        assert_eq!(keep_token_for(Some(0)), Duration::ZERO);
        assert_eq!(
            keep_token_for(Some(u64::MAX)),
            Duration::from_secs(MAX_TOKEN_LIFETIME_SECS - 60)
        );
    }

    #[test]
    fn backoff_ceiling_grows_then_caps() {
        assert_eq!(backoff_ceiling(0), Duration::from_secs(1));
        assert_eq!(backoff_ceiling(1), Duration::from_secs(2));
        assert_eq!(backoff_ceiling(2), Duration::from_secs(4));
        assert_eq!(backoff_ceiling(9), Duration::from_secs(512));
        assert_eq!(backoff_ceiling(10), BACKOFF_CAP);
        assert_eq!(backoff_ceiling(u32::MAX), BACKOFF_CAP);
    }

    #[test]
    fn jitter_stays_within_base_and_ceiling() {
        let ceiling = Duration::from_secs(8);
        assert_eq!(jittered(ceiling, 0), BACKOFF_BASE);
        assert_eq!(jittered(ceiling, 7000), ceiling);
        assert_eq!(jittered(ceiling, 7001), BACKOFF_BASE);
        assert!(jittered(ceiling, u64::MAX) <= ceiling);
        assert_eq!(jittered(BACKOFF_BASE, u64::MAX), BACKOFF_BASE);
    }

    #[test]
    fn backoff_bounds_growth_and_cap() {
        for attempt in 0..40 {
            let ceiling = backoff_ceiling(attempt);
            for _ in 0..50 {
                let d = backoff(attempt, None);
                assert!(
                    d >= BACKOFF_BASE && d <= ceiling,
                    "attempt {attempt}: {d:?}"
                );
                assert!(d <= BACKOFF_CAP);
            }
        }
        // Growth: late attempts wait longer on average than early ones.
        let mean = |attempt| {
            (0..200)
                .map(|_| backoff(attempt, None).as_secs_f64())
                .sum::<f64>()
                / 200.0
        };
        let (m2, m6, m12) = (mean(2), mean(6), mean(12));
        assert!(m2 < m6 && m6 < m12, "{m2} {m6} {m12}");
        assert!(
            m12 > 300.0,
            "capped attempts should average ~7.5 min, got {m12}"
        );
        // Jitter: a burst of retries does not all pick the same delay.
        let picks: std::collections::BTreeSet<_> = (0..20).map(|_| backoff(8, None)).collect();
        assert!(picks.len() > 1);
    }

    #[test]
    fn retry_after_is_a_floor() {
        let floor = Duration::from_secs(90);
        for attempt in 0..5 {
            assert!(backoff(attempt, Some(floor)) >= floor);
        }
        // Longer than the cap: still honoured.
        let long = Duration::from_secs(3600);
        assert_eq!(backoff(30, Some(long)), long);
        // Shorter than the jittered delay: the jitter wins.
        let d = backoff(12, Some(Duration::from_millis(1)));
        assert!(d >= BACKOFF_BASE);
    }

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

    #[test]
    fn debug_output_hides_the_private_key() {
        let account = ServiceAccount {
            project_id: "p".to_owned(),
            private_key_id: "k".to_owned(),
            private_key: "-----BEGIN PRIVATE KEY-----secret".to_owned(),
            client_email: "e@p.iam.gserviceaccount.com".to_owned(),
            token_uri: "https://oauth2.googleapis.com/token".to_owned(),
        };
        let shown = format!("{account:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
