//! The campaign's own settings: its name and the time zone its days, weeks and hours
//! are counted in.

use chrono_tz::Tz;

use super::{Actor, AppError};
use crate::db::{self, DbConnection, campaigns::Campaign};

/// Sets the campaign's time zone (an IANA name such as `America/New_York`), inside the
/// caller's write transaction: the progress tallies are rebuilt in campaign time at
/// once, so no figure is ever read half in one zone and half in another. Audited.
/// Returns the campaign and how many tallies were written.
pub fn set_time_zone(
    conn: &mut DbConnection,
    actor: Actor,
    name: &str,
) -> Result<(Campaign, usize), AppError> {
    let zone: Tz = name.trim().parse().map_err(|_| AppError::Invalid {
        field: Some("time_zone".into()),
        message: format!("{name:?} is not an IANA time zone such as America/New_York"),
    })?;
    let before = db::campaigns::time_zone_for_counting(conn, actor.campaign_id)?;
    let mut rebuilt = 0;
    if before != zone {
        db::campaigns::set_time_zone(conn, actor.campaign_id, zone.name())?;
        rebuilt = db::tallies::rebuild(conn, actor.campaign_id)?;
        actor.audit(
            conn,
            "campaign.time_zone",
            ("campaign", Some(actor.campaign_id)),
            serde_json::json!({ "from": before.name(), "to": zone.name() }),
        )?;
    }
    let campaign =
        db::campaigns::find(conn, actor.campaign_id)?.ok_or(AppError::NotFound("campaign"))?;
    Ok((campaign, rebuilt))
}
