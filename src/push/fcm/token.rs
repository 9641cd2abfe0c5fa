//! The OAuth2 access token: the signed RS256 assertion, the exchange at the token
//! endpoint, and the cache shared by every sender.

use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, Header};
use reqwest::header::RETRY_AFTER;
use serde::{Deserialize, Serialize};

use super::SendOutcome;
use super::classification::{classify_token_error, header_text, snippet, transport_failure};
use super::client::Inner;

/// OAuth2 scope needed to send FCM messages.
pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// OAuth2 grant type of the service-account (JWT bearer) flow.
pub const JWT_BEARER_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Lifetime of the signed assertion (Google accepts at most one hour).
const ASSERTION_LIFETIME_SECS: i64 = 3600;
/// A cached access token is replaced this long before it expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// Used when the token endpoint does not say how long its token lives.
const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 3600;
/// A token is never kept longer than this, whatever the endpoint says.
const MAX_TOKEN_LIFETIME_SECS: u64 = 24 * 3600;

#[derive(Clone)]
pub(super) struct CachedToken {
    value: Arc<str>,
    refresh_at: Instant,
}

pub(super) struct FailedRefresh {
    at: Instant,
    outcome: SendOutcome,
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

impl Inner {
    fn current_token(&self) -> Option<Arc<str>> {
        let cached = self.cached.read().unwrap_or_else(PoisonError::into_inner);
        cached
            .as_ref()
            .filter(|t| Instant::now() < t.refresh_at)
            .map(|t| Arc::clone(&t.value))
    }

    /// Drops `used` from the cache, unless another sender has already replaced it.
    pub(super) fn forget_token(&self, used: &Arc<str>) {
        let mut cached = self.cached.write().unwrap_or_else(PoisonError::into_inner);
        if cached.as_ref().is_some_and(|t| t.value == *used) {
            *cached = None;
        }
    }

    pub(super) async fn access_token(&self) -> Result<Arc<str>, SendOutcome> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
