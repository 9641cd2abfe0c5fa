//! Instance administration shared by the CLI and the tests: creating campaigns and
//! users with a password directly, without the HTTP API.

use crate::auth::password;
use crate::db::{self, DbConnection};
use crate::domain::{DisplayName, Email, NewPassword, Role};

/// Creates a campaign; returns its id.
pub fn create_campaign(conn: &mut DbConnection, name: &str) -> anyhow::Result<i64> {
    let name = DisplayName::parse("name", name).map_err(|e| anyhow::anyhow!(e.message))?;
    let id = db::campaigns::insert(conn, name.as_str())?;
    Ok(id)
}

/// A user to create from the command line.
pub struct NewAccount<'a> {
    pub campaign_id: i64,
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub role: Role,
    pub password: String,
}

/// Creates an active user who can sign in at once; returns the id.
pub fn create_user(conn: &mut DbConnection, account: NewAccount<'_>) -> anyhow::Result<i64> {
    let email = Email::parse(account.email).map_err(|e| anyhow::anyhow!(e.message))?;
    let password = NewPassword::parse(account.password).map_err(|e| anyhow::anyhow!(e.message))?;
    let name = DisplayName::parse("name", account.name.unwrap_or(email.as_str()))
        .map_err(|e| anyhow::anyhow!(e.message))?;
    if db::campaigns::find(conn, account.campaign_id)?.is_none() {
        anyhow::bail!("campaign {} does not exist", account.campaign_id);
    }
    let phc = password::hash(password.expose())?;
    let now = db::now();
    let id = diesel::Connection::transaction(conn, |conn| {
        let id = db::users::insert(
            conn,
            &db::users::NewUser {
                campaign_id: account.campaign_id,
                email: email.as_str(),
                name: name.as_str(),
                role: account.role.as_str(),
                region_id: None,
                password_hash: Some(&phc),
                active: true,
                created_at: now,
                updated_at: now,
            },
        )?;
        db::audit::record(
            conn,
            db::audit::Change {
                campaign_id: account.campaign_id,
                actor_id: None,
                action: "user.create",
                target_type: "user",
                target_id: Some(id),
                details: serde_json::json!({ "email": email.as_str(), "role": account.role, "via": "cli" }),
            },
        )?;
        Ok::<_, diesel::result::Error>(id)
    })
    .map_err(|e| {
        if db::is_unique_violation(&e) {
            anyhow::anyhow!("{} already has an account in campaign {}", email.as_str(), account.campaign_id)
        } else {
            anyhow::Error::new(e)
        }
    })?;
    Ok(id)
}
