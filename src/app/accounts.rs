//! Signing in, rotating refresh tokens, and accepting an invite: who may act, under the
//! sign-in throttle, with sessions stored in the database so any server can end them.
//! The API's bearer tokens and the pages' session cookies both come through here.

use std::time::Duration;

use super::AppError;
use crate::auth::throttle::LoginLimits;
use crate::auth::{password, secret};
use crate::db::users::User;
use crate::db::{self, DbConnection, DbPool};
use crate::domain::{DisplayName, Email, NewPassword};

/// What a sign-in names: an email, a password, optionally the campaign, and the client
/// address the attempt came from.
#[derive(Debug)]
pub struct Credentials {
    pub email: String,
    pub password: String,
    pub campaign_id: Option<i64>,
    pub address: String,
}

/// Stores a new refresh token for the user in `family`, valid for `ttl`, and returns
/// the secret. The pages' session cookie is stored the same way, in a family of its
/// own kind (see [`crate::auth::PAGE_FAMILY_PREFIX`]).
pub fn open_token(
    conn: &mut DbConnection,
    ttl: Duration,
    user: &User,
    family: &str,
) -> Result<String, AppError> {
    let token = secret::generate(user.campaign_id)?;
    let ttl = chrono::Duration::from_std(ttl)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("refresh token ttl: {e}")))?;
    db::sessions::insert(
        conn,
        user.campaign_id,
        user.id,
        family,
        &secret::digest(&token),
        db::now() + ttl,
    )?;
    Ok(token)
}

/// A new session family for the user: the refresh token that opens it.
pub async fn open_session(
    pool: &DbPool,
    ttl: Duration,
    user: User,
) -> Result<(User, String), AppError> {
    db::run(pool, move |conn| {
        let family = uuid::Uuid::new_v4().to_string();
        let token = open_token(conn, ttl, &user, &family)?;
        Ok((user, token))
    })
    .await
}

/// The active user these credentials name. Each attempt is counted against the account
/// before the password is checked, in the database, so concurrent attempts on this
/// server or another each spend one; the address is checked first and charged only for
/// a failure; a success clears the account.
pub async fn check_credentials(
    pool: &DbPool,
    limits: LoginLimits,
    credentials: Credentials,
) -> Result<User, AppError> {
    let email = Email::parse(&credentials.email)?;
    if credentials.password.len() > NewPassword::MAX_CHARS * 4 {
        return Err(AppError::invalid("password", "password is too long"));
    }
    let account = limits.account(email.as_str());
    let address = limits.address(&credentials.address);
    let (spend, check) = ([account.clone()], [address.clone()]);
    let now_ms = chrono::Utc::now().timestamp_millis();
    let admitted = db::transaction(pool, move |conn| {
        Ok::<_, AppError>(db::throttle::take(conn, &spend, &check, now_ms)?)
    })
    .await?;
    if let Err(retry_after_secs) = admitted {
        return Err(AppError::Throttled {
            message: format!("too many sign-in attempts; retry in {retry_after_secs} s"),
            retry_after_secs,
        });
    }

    let (lookup, campaign) = (email.as_str().to_owned(), credentials.campaign_id);
    let candidates = db::run(pool, move |conn| {
        Ok::<_, AppError>(db::users::find_active_by_email(conn, &lookup, campaign)?)
    })
    .await?;
    let pw = credentials.password;
    let mut matched = password::on_hashing_threads(move || {
        let with_hash: Vec<User> = candidates
            .into_iter()
            .filter(|u| u.password_hash.is_some())
            .collect();
        if with_hash.is_empty() {
            password::burn_time(&pw);
        }
        with_hash
            .into_iter()
            .filter(|u| {
                u.password_hash
                    .as_deref()
                    .is_some_and(|h| password::verify(&pw, h))
            })
            .collect::<Vec<_>>()
    })
    .await?;

    if matched.len() > 1 {
        return Err(AppError::invalid(
            "campaign_id",
            "this email belongs to several campaigns; give campaign_id",
        ));
    }
    let now_ms = chrono::Utc::now().timestamp_millis();
    let Some(user) = matched.pop() else {
        db::transaction(pool, move |conn| {
            let (key, limit) = address;
            Ok::<_, AppError>(db::throttle::charge(conn, &key, limit, now_ms)?)
        })
        .await?;
        return Err(AppError::Unauthorized("invalid email or password".into()));
    };
    db::transaction(pool, move |conn| {
        Ok::<_, AppError>(db::throttle::clear(conn, &account.0)?)
    })
    .await?;
    Ok(user)
}

/// What became of a refresh token.
pub enum Refreshed {
    /// A fresh token in the same family, for this user.
    Rotated(Box<User>, String),
    /// The token was already rotated: it leaked or was replayed, and its whole family
    /// is now revoked.
    Reused,
    Invalid,
}

/// Rotates a refresh token in one transaction: find, rotate, issue. A token presented
/// after it was rotated revokes its family, and that revocation commits.
pub async fn refresh(pool: &DbPool, ttl: Duration, token: &str) -> Result<Refreshed, AppError> {
    let Some(campaign_id) = secret::campaign_of(token) else {
        return Ok(Refreshed::Invalid);
    };
    let hash = secret::digest(token);
    db::transaction(pool, move |conn| {
        let Some(row) = db::sessions::find_by_hash(conn, campaign_id, &hash)? else {
            return Ok(Refreshed::Invalid);
        };
        if row.revoked_at.is_some() {
            if row.rotated {
                db::sessions::revoke_family(conn, campaign_id, &row.family_id)?;
                return Ok(Refreshed::Reused);
            }
            return Ok(Refreshed::Invalid);
        }
        if row.expires_at <= db::now() || row.family_id.starts_with(crate::auth::PAGE_FAMILY_PREFIX)
        {
            // A page session's cookie is not a refresh token: it never becomes a
            // bearer token.
            return Ok(Refreshed::Invalid);
        }
        let user = match db::users::find(conn, campaign_id, row.user_id)? {
            Some(u) if u.active => u,
            _ => {
                db::sessions::revoke_family(conn, campaign_id, &row.family_id)?;
                return Ok(Refreshed::Invalid);
            }
        };
        if !db::sessions::rotate(conn, campaign_id, row.id)? {
            db::sessions::revoke_family(conn, campaign_id, &row.family_id)?;
            return Ok(Refreshed::Reused);
        }
        let token = open_token(conn, ttl, &user, &row.family_id)?;
        Ok(Refreshed::Rotated(Box::new(user), token))
    })
    .await
}

/// Ends the session family a refresh token belongs to; an unknown token ends nothing.
pub async fn sign_out(pool: &DbPool, token: &str) -> Result<(), AppError> {
    let Some(campaign_id) = secret::campaign_of(token) else {
        return Ok(());
    };
    let hash = secret::digest(token);
    db::transaction(pool, move |conn| {
        if let Some(row) = db::sessions::find_by_hash(conn, campaign_id, &hash)? {
            db::sessions::revoke_family(conn, campaign_id, &row.family_id)?;
        }
        Ok(())
    })
    .await
}

/// What accepting an invite needs: its code, the new password, optionally a name.
#[derive(Debug)]
pub struct Acceptance {
    pub invite_code: String,
    pub password: String,
    pub name: Option<String>,
}

/// Sets the invited user's password (and name) once, and opens their first session.
pub async fn accept_invite(
    pool: &DbPool,
    ttl: Duration,
    acceptance: Acceptance,
) -> Result<(User, String), AppError> {
    let gone = || AppError::Absent("the invite code is unknown, used or expired".into());
    let new_password = NewPassword::parse(acceptance.password)?;
    let name = acceptance
        .name
        .as_deref()
        .map(|n| DisplayName::parse("name", n))
        .transpose()?;
    let campaign_id = secret::campaign_of(&acceptance.invite_code).ok_or_else(gone)?;
    let hash = secret::digest(&acceptance.invite_code);

    // Check the code before spending an Argon2 hash on it.
    let h = hash.clone();
    let usable = db::run(pool, move |conn| {
        Ok::<_, AppError>(db::invites::find_usable(conn, campaign_id, &h)?.is_some())
    })
    .await?;
    if !usable {
        return Err(gone());
    }
    let phc = password::on_hashing_threads(move || password::hash(new_password.expose())).await??;

    let accepted = db::transaction(pool, move |conn| {
        let Some(invite) = db::invites::find_usable(conn, campaign_id, &hash)? else {
            return Ok(None);
        };
        if !db::invites::mark_used(conn, campaign_id, invite.id)? {
            return Ok(None);
        }
        let Some(user) = db::users::find(conn, campaign_id, invite.user_id)?.filter(|u| u.active)
        else {
            return Ok(None);
        };
        let changes = db::users::UserChanges {
            name: name.map(DisplayName::into_string),
            password_hash: Some(Some(phc)),
            updated_at: Some(db::now()),
            ..Default::default()
        };
        db::users::update(conn, campaign_id, user.id, &changes)?;
        let actor = super::Actor {
            user_id: user.id,
            campaign_id,
            role: user.role.parse().map_err(|_| {
                AppError::Internal(anyhow::anyhow!("user {} has an unknown role", user.id))
            })?,
        };
        actor.audit(
            conn,
            "user.accept_invite",
            ("user", Some(user.id)),
            serde_json::json!({}),
        )?;
        let user = db::users::find(conn, campaign_id, user.id)?.ok_or_else(gone)?;
        let family = uuid::Uuid::new_v4().to_string();
        let token = open_token(conn, ttl, &user, &family)?;
        Ok::<_, AppError>(Some((user, token)))
    })
    .await?;
    accepted.ok_or_else(gone)
}
