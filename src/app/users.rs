//! Users of a campaign: inviting one, changing one, deactivating one. Nobody acts on
//! someone who outranks them or grants a role above their own.

use std::time::Duration;

use chrono::NaiveDateTime;

use super::{Actor, AppError};
use crate::auth::secret;
use crate::db::users::User;
use crate::db::{self, DbConnection};
use crate::domain::{DisplayName, Email, Role};

/// The role stored on a user row.
pub fn stored_role(user: &User) -> Result<Role, AppError> {
    user.role
        .parse()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("user {} has unknown role", user.id)))
}

fn check_region(conn: &mut DbConnection, campaign_id: i64, region_id: i64) -> Result<(), AppError> {
    match db::regions::find(conn, campaign_id, region_id)? {
        Some(_) => Ok(()),
        None => Err(AppError::invalid(
            "region_id",
            "no such region in this campaign",
        )),
    }
}

/// Someone to invite.
#[derive(Debug)]
pub struct Invitee {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub region_id: Option<i64>,
}

/// A new user and the one-time code that lets them set a password.
#[derive(Debug)]
pub struct Invited {
    pub user: User,
    pub invite_code: String,
    pub expires_at: NaiveDateTime,
}

/// Someone to invite whose email and name were checked, and whom the actor may
/// create.
#[derive(Debug)]
pub struct CheckedInvitee {
    email: Email,
    name: DisplayName,
    role: Role,
    region_id: Option<i64>,
}

/// Checks an invitation before any transaction: the email, the name, and that the
/// actor may grant the role.
pub fn check_invite(actor: Actor, who: Invitee) -> Result<CheckedInvitee, AppError> {
    let email = Email::parse(&who.email)?;
    let name = DisplayName::parse("name", &who.name)?;
    if !actor.role.may_grant(who.role) {
        return Err(AppError::Forbidden(format!(
            "a {} cannot create a {}",
            actor.role, who.role
        )));
    }
    Ok(CheckedInvitee {
        email,
        name,
        role: who.role,
        region_id: who.region_id,
    })
}

/// Creates a checked invitee as a user without a password, with an invite code valid
/// for `ttl`.
pub fn invite(
    conn: &mut DbConnection,
    actor: Actor,
    who: CheckedInvitee,
    ttl: Duration,
) -> Result<Invited, AppError> {
    let ttl = chrono::Duration::from_std(ttl)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("invite ttl: {e}")))?;
    let CheckedInvitee {
        email,
        name,
        role,
        region_id,
    } = who;
    if let Some(region) = region_id {
        check_region(conn, actor.campaign_id, region)?;
    }
    let now = db::now();
    let id = db::users::insert(
        conn,
        &db::users::NewUser {
            campaign_id: actor.campaign_id,
            email: email.as_str(),
            name: name.as_str(),
            role: role.as_str(),
            region_id,
            password_hash: None,
            active: true,
            created_at: now,
            updated_at: now,
        },
    )
    .map_err(|e| {
        if db::is_unique_violation(&e) {
            AppError::conflict(format!(
                "{} already has an account in this campaign",
                email.as_str()
            ))
        } else {
            e.into()
        }
    })?;
    let code = secret::generate(actor.campaign_id)?;
    let expires_at = now + ttl;
    let digest = secret::digest(&code);
    db::invites::insert(
        conn,
        actor.campaign_id,
        id,
        &digest,
        Some(actor.user_id),
        expires_at,
    )?;
    actor.audit(
        conn,
        "user.create",
        ("user", Some(id)),
        serde_json::json!({ "email": email.as_str(), "role": role, "region_id": region_id }),
    )?;
    let user = db::users::find(conn, actor.campaign_id, id)?.ok_or(AppError::NotFound("user"))?;
    Ok(Invited {
        user,
        invite_code: code,
        expires_at,
    })
}

/// A change to a user: each field left `None` stays as it is; `region_id: Some(None)`
/// takes the user out of their region.
#[derive(Debug, Default)]
pub struct Changes {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub region_id: Option<Option<i64>>,
    pub active: Option<bool>,
}

/// Applies a change to a user under the rank rules, with its audit row (`action`); a
/// deactivated user's sessions end at once.
pub fn change(
    conn: &mut DbConnection,
    actor: Actor,
    id: i64,
    changes: Changes,
    action: &str,
) -> Result<User, AppError> {
    let target = db::users::find(conn, actor.campaign_id, id)?.ok_or(AppError::NotFound("user"))?;
    if stored_role(&target)? > actor.role {
        return Err(AppError::Forbidden(
            "you cannot change a user who outranks you".into(),
        ));
    }
    if id == actor.user_id && (changes.role.is_some() || changes.active.is_some()) {
        return Err(AppError::Forbidden(
            "you cannot change your own role or deactivate yourself".into(),
        ));
    }
    if let Some(role) = changes.role
        && !actor.role.may_grant(role)
    {
        return Err(AppError::Forbidden(format!(
            "a {} cannot grant the {} role",
            actor.role, role
        )));
    }
    if let Some(Some(region)) = changes.region_id {
        check_region(conn, actor.campaign_id, region)?;
    }
    let name = changes
        .name
        .as_deref()
        .map(|n| DisplayName::parse("name", n))
        .transpose()?;
    let details = serde_json::json!({
        "name": name.as_ref().map(DisplayName::as_str),
        "role": changes.role,
        "region_id": changes.region_id,
        "active": changes.active,
    });
    let stored = db::users::UserChanges {
        name: name.map(DisplayName::into_string),
        role: changes.role.map(|r| r.as_str().to_owned()),
        region_id: changes.region_id,
        active: changes.active,
        password_hash: None,
        updated_at: Some(db::now()),
    };
    db::users::update(conn, actor.campaign_id, id, &stored)?;
    if changes.active == Some(false) {
        db::sessions::revoke_user(conn, actor.campaign_id, id)?;
    }
    actor.audit(conn, action, ("user", Some(id)), details)?;
    db::users::find(conn, actor.campaign_id, id)?.ok_or(AppError::NotFound("user"))
}
