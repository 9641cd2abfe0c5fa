//! A person's supporter score explained: what the voter file said, what the campaign's
//! evidence has taught the model, and every change to the person's own score.

use super::{Actor, AppError};
use crate::db::scores::{Explained, HistoryRow};
use crate::db::{self, DbConnection};
use crate::scores::Params;

/// A person's score with what it rests on.
#[derive(Debug)]
pub struct PersonScore {
    pub person_id: i64,
    /// The score from the voter file.
    pub imported: Option<f64>,
    /// The score now, when there is one to show.
    pub explained: Option<Explained>,
    /// The campaign's model the score comes from.
    pub params: Params,
    /// Every change to the person's own score, oldest first.
    pub history: Vec<HistoryRow>,
}

/// The score of one person of the actor's campaign.
pub fn of_person(conn: &mut DbConnection, actor: Actor, id: i64) -> Result<PersonScore, AppError> {
    let campaign_id = actor.campaign_id;
    let (imported, cell) =
        db::scores::person_with_cell(conn, campaign_id, id)?.ok_or(AppError::NotFound("person"))?;
    let explained = db::scores::explain(conn, campaign_id, &[(id, imported, cell)])?
        .remove(&id)
        .flatten();
    let params = match explained {
        Some(e) => e.params,
        None => db::scores::model(conn, campaign_id)?.0,
    };
    let history = db::scores::history_of(conn, campaign_id, id)?;
    Ok(PersonScore {
        person_id: id,
        imported,
        explained,
        params,
        history,
    })
}
