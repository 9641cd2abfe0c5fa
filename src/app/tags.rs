//! Tags (activist codes) a campaign defines, to apply at the door.

use super::{Actor, AppError};
use crate::db::tags::Tag;
use crate::db::{self, DbConnection};
use crate::domain::DisplayName;

/// Most tags one campaign may define.
pub const MAX_TAGS: usize = 500;

/// Whether `key` is 1 to 64 of a-z, 0-9 and _.
fn key_ok(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A tag whose key and name were checked, ready to store.
#[derive(Debug)]
pub struct NewTag {
    key: String,
    name: DisplayName,
}

/// Checks a tag's key and name before any transaction.
pub fn check(key: String, name: &str) -> Result<NewTag, AppError> {
    if !key_ok(&key) {
        return Err(AppError::invalid("key", "key is 1 to 64 of a-z, 0-9 and _"));
    }
    let name = DisplayName::parse("name", name)?;
    Ok(NewTag { key, name })
}

/// Defines a checked tag; its key is unique in the campaign.
pub fn create(conn: &mut DbConnection, actor: Actor, tag: NewTag) -> Result<Tag, AppError> {
    let NewTag { key, name } = tag;
    let key = key.as_str();
    if db::tags::key_taken(conn, actor.campaign_id, key)? {
        return Err(AppError::conflict(format!("a tag with key {key:?} exists")));
    }
    if db::tags::list(conn, actor.campaign_id)?.len() >= MAX_TAGS {
        return Err(AppError::TooLarge {
            message: format!("a campaign has at most {MAX_TAGS} tags"),
            details: serde_json::json!({ "limit": MAX_TAGS }),
        });
    }
    let tag = db::tags::create(conn, actor.campaign_id, key, name.as_str())?;
    actor.audit(
        conn,
        "tag.create",
        ("tag", Some(tag.id)),
        serde_json::json!({ "key": tag.key }),
    )?;
    Ok(tag)
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_short_lower_case_words() {
        for good in ["yard_sign", "vol2", "a"] {
            assert!(super::key_ok(good), "{good}");
        }
        for bad in ["", "Yard", "yard sign", "yard-sign", &"a".repeat(65)] {
            assert!(!super::key_ok(bad), "{bad}");
        }
    }
}
