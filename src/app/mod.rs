//! Use cases: what the service does, as plain functions over the store, between the
//! HTTP handlers (`routes`, which parse, call and shape the answer) and the store
//! (`db`, which owns every query). Nothing here knows about HTTP: a use case answers
//! with its own [`AppError`], and `crate::error` turns that into a response in one
//! place.

pub mod accounts;
pub mod buildings;
pub mod campaign;
pub mod devices;
pub mod experiments;
pub mod exports;
pub mod goals;
pub mod imports;
pub mod knocks;
pub mod people;
pub mod progress;
pub mod questions;
pub mod regions;
pub mod scores;
pub mod tags;
pub mod turf_edits;
pub mod turfs;
pub mod users;
pub mod walk_lists;

use crate::db::{QueryError, StoreError};
use crate::domain::Role;

/// Who is acting: the user, their campaign and their current role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: i64,
    pub campaign_id: i64,
    pub role: Role,
}

impl Actor {
    /// Writes what the actor did to the campaign's audit log, inside the caller's
    /// transaction: the one way a use case records a change.
    pub fn audit(
        self,
        conn: &mut crate::db::DbConnection,
        action: &str,
        target: (&str, Option<i64>),
        details: serde_json::Value,
    ) -> Result<(), AppError> {
        crate::db::audit::record(
            conn,
            crate::db::audit::Change {
                campaign_id: self.campaign_id,
                actor_id: Some(self.user_id),
                action,
                target_type: target.0,
                target_id: target.1,
                details,
            },
        )?;
        Ok(())
    }
}

/// Why a use case did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Something the request named does not exist in the caller's campaign.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Like `NotFound`, for a link between records the request names (an assignment)
    /// that does not exist; the message says which.
    #[error("{0}")]
    Absent(String),
    /// The credentials or token do not name anyone who may act.
    #[error("{0}")]
    Unauthorized(String),
    /// Too many attempts: try again after `retry_after_secs`.
    #[error("{message}")]
    Throttled {
        message: String,
        retry_after_secs: u64,
    },
    /// The caller's role or region does not reach what was asked.
    #[error("{0}")]
    Forbidden(String),
    /// Well-formed input that breaks a rule; `field` names the input.
    #[error("{message}")]
    Invalid {
        field: Option<String>,
        message: String,
    },
    /// Input past a limit, with the limit and the count.
    #[error("{message}")]
    TooLarge {
        message: String,
        details: serde_json::Value,
    },
    /// The request clashes with what is stored (a state, another record); `details`
    /// names what it clashes with, or is null.
    #[error("{message}")]
    Conflict {
        message: String,
        details: serde_json::Value,
    },
    /// The store stayed too busy (deadlocks, serialisation failures) through every
    /// retry; nothing was stored.
    #[error("{0}")]
    Busy(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A state the code believes impossible.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// Input that breaks a rule, naming the field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    /// A clash with what is stored, without details.
    pub fn conflict(message: impl Into<String>) -> Self {
        AppError::Conflict {
            message: message.into(),
            details: serde_json::Value::Null,
        }
    }
}

impl From<crate::domain::Invalid> for AppError {
    fn from(e: crate::domain::Invalid) -> Self {
        AppError::invalid(e.field, e.message)
    }
}

impl From<QueryError> for AppError {
    fn from(e: QueryError) -> Self {
        AppError::Store(StoreError::Query(e))
    }
}
