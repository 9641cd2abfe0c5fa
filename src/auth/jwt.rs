//! Access tokens: short-lived HS256 JWTs naming the user, their campaign and role.
//! Issuer and audience are set and checked, the algorithm is pinned, `exp`, `iat`,
//! `sub`, `iss` and `aud` are required, and an `nbf` in the future is refused.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::Role;

const ISSUER: &str = "groundswell";
const AUDIENCE: &str = "groundswell-api";

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id, as a string per RFC 7519.
    pub sub: String,
    pub campaign_id: i64,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub iss: String,
    pub aud: String,
}

/// Signs and checks access tokens with one HMAC secret.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl JwtKeys {
    /// The secret must be at least 32 bytes: HS256 is only as strong as its key.
    pub fn new(secret: &[u8], ttl: Duration) -> anyhow::Result<Self> {
        if secret.len() < 32 {
            anyhow::bail!("the JWT secret must be at least 32 bytes long");
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        validation.leeway = 5;
        // A token that says it is not valid yet is not (RFC 7519 §4.1.5); ours carry no
        // `nbf`, so only a token made elsewhere can be refused by this.
        validation.validate_nbf = true;
        Ok(JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        })
    }

    /// Seconds an access token lives.
    pub fn ttl_secs(&self) -> i64 {
        i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX)
    }

    /// A signed token for this user, valid from now for the configured time.
    pub fn issue(&self, user_id: i64, campaign_id: i64, role: Role) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            campaign_id,
            role,
            iat: now,
            exp: now.saturating_add(self.ttl_secs()),
            jti: uuid::Uuid::new_v4().to_string(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// The claims of a token signed by us, with our algorithm, not expired.
    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map(|d| d.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &[u8]) -> JwtKeys {
        match JwtKeys::new(secret, Duration::from_secs(900)) {
            Ok(k) => k,
            Err(e) => panic!("keys: {e}"),
        }
    }

    #[test]
    fn a_token_round_trips_with_its_claims() {
        let k = keys(&[7u8; 32]);
        let token = k.issue(42, 7, Role::Organizer).ok();
        let claims = token.and_then(|t| k.verify(&t).ok());
        let claims = claims.map(|c| (c.sub, c.campaign_id, c.role));
        assert_eq!(claims, Some(("42".to_owned(), 7, Role::Organizer)));
    }

    #[test]
    fn another_key_does_not_verify() {
        let token = keys(&[1u8; 32]).issue(1, 1, Role::Admin).ok();
        let other = keys(&[2u8; 32]);
        assert!(token.map(|t| other.verify(&t).is_err()).unwrap_or(false));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(JwtKeys::new(b"too short", Duration::from_secs(60)).is_err());
    }
}
