//! The Google service-account key: reading it from a file or a string and checking that
//! it is complete and can sign.

use std::fmt;
use std::path::Path;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;

use super::FcmError;

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
    pub(super) fn signing_key(&self, origin: &str) -> Result<EncodingKey, FcmError> {
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

pub(super) fn check_url(what: &'static str, url: &str) -> Result<(), FcmError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
