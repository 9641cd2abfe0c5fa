//! The client: the HTTP connection pool, the shared state behind every clone, and one
//! send per message.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::EncodingKey;
use reqwest::header::RETRY_AFTER;

use super::classification::{classify, header_text, transport_failure};
use super::service_account::check_url;
use super::token::{CachedToken, FailedRefresh};
use super::wire::{GoogleError, SendRequest};
use super::{FcmError, PushMessage, SendOutcome, ServiceAccount};

/// Sends FCM messages for one Firebase project. Cheap to clone: clones share the HTTP
/// connection pool and the access token.
#[derive(Clone)]
pub struct FcmClient {
    inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) http: reqwest::Client,
    project_id: String,
    send_url: String,
    pub(super) token_uri: String,
    pub(super) client_email: String,
    pub(super) private_key_id: String,
    pub(super) key: EncodingKey,
    /// The current access token; read on every send without waiting.
    pub(super) cached: RwLock<Option<CachedToken>>,
    /// Held while a token is fetched, so that one request serves every waiting sender.
    /// It keeps the last failed refresh: senders that queued behind it share its outcome
    /// instead of each asking the token endpoint again.
    pub(super) refresh: tokio::sync::Mutex<Option<FailedRefresh>>,
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
