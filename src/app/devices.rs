//! A phone's push registration: the app registers its FCM token after sign-in and
//! removes it on sign-out. Registrations by organizers and above are audited.

use super::{Actor, AppError};
use crate::db::devices::{Device, Registered};
use crate::db::{self, DbConnection};
use crate::domain::{DeviceToken, Platform, Role};

/// Registers the actor's device token (checked before any transaction), moving it
/// from whoever held it before in the campaign.
pub fn register(
    conn: &mut DbConnection,
    actor: Actor,
    token: &DeviceToken,
    platform: Platform,
) -> Result<(Registered, Device), AppError> {
    let (registered, device) = db::devices::register(
        conn,
        actor.campaign_id,
        actor.user_id,
        token.as_str(),
        platform.as_str(),
    )?;
    if actor.role >= Role::Organizer && registered == Registered::Created {
        actor.audit(
            conn,
            "device.register",
            ("device", Some(device.id)),
            serde_json::json!({ "platform": platform.as_str() }),
        )?;
    }
    Ok((registered, device))
}

/// Removes one of the actor's device tokens; whether there was one.
pub fn remove(conn: &mut DbConnection, actor: Actor, token: &str) -> Result<bool, AppError> {
    let deleted = db::devices::delete_for_user(conn, actor.campaign_id, actor.user_id, token)?;
    if deleted && actor.role >= Role::Organizer {
        actor.audit(
            conn,
            "device.delete",
            ("device", None),
            serde_json::json!({}),
        )?;
    }
    Ok(deleted)
}
