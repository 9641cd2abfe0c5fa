//! Opaque secrets handed to clients (refresh tokens, invite codes). The database keeps
//! only their SHA-256; the secret carries its campaign id in front so a lookup goes
//! straight to one campaign's rows.

use sha2::{Digest, Sha256};

/// A new secret for `campaign_id`: `<campaign_id>.<64 hex chars of randomness>`.
pub fn generate(campaign_id: i64) -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(format!("{campaign_id}.{}", hex::encode(bytes)))
}

/// The campaign a secret belongs to, or `None` when it is not of our shape.
pub fn campaign_of(secret: &str) -> Option<i64> {
    let (campaign, rest) = secret.split_once('.')?;
    let campaign: i64 = campaign.parse().ok()?;
    (campaign > 0 && rest.len() == 64 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(campaign)
}

/// What the database stores in place of the secret.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_name_their_campaign_and_differ() {
        let a = generate(12).unwrap_or_default();
        let b = generate(12).unwrap_or_default();
        assert_ne!(a, b);
        assert_eq!(campaign_of(&a), Some(12));
        assert_eq!(digest(&a).len(), 64);
        assert_ne!(digest(&a), digest(&b));
    }

    #[test]
    fn foreign_shapes_are_refused() {
        assert_eq!(campaign_of("nonsense"), None);
        assert_eq!(campaign_of("12.abc"), None);
        assert_eq!(campaign_of(&format!("x.{}", "a".repeat(64))), None);
        assert_eq!(campaign_of(&format!("-1.{}", "a".repeat(64))), None);
    }
}
