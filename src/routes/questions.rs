//! Survey questions: the built-in support ID, and the campaign's own.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::store;
use crate::auth::AuthUser;
use crate::db::{self, DbConnection};
use crate::domain::Role;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::knock::{QuestionKind, SUPPORT_ID};
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerOption {
    pub value: Value,
    pub label: String,
}

#[derive(Debug, Serialize)]
pub struct QuestionView {
    pub key: String,
    pub kind: &'static str,
    pub text: String,
    pub answers: Vec<AnswerOption>,
    pub built_in: bool,
}

fn support_id() -> QuestionView {
    QuestionView {
        key: SUPPORT_ID.into(),
        kind: QuestionKind::SingleChoice.as_str(),
        text: "How do you feel about our candidate?".into(),
        answers: [
            (1, "Strong support"),
            (2, "Lean support"),
            (3, "Undecided"),
            (4, "Lean oppose"),
            (5, "Strong oppose"),
        ]
        .into_iter()
        .map(|(value, label)| AnswerOption {
            value: Value::from(value),
            label: label.into(),
        })
        .collect(),
        built_in: true,
    }
}

/// The questions a walk list carries: support ID first, then the active stored ones.
pub fn active(conn: &mut DbConnection, campaign_id: i64) -> Result<Vec<QuestionView>, ApiError> {
    let mut out = vec![support_id()];
    for q in db::knocks::list_questions(conn, campaign_id)? {
        if !q.active {
            continue;
        }
        let Some(kind) = QuestionKind::parse(&q.kind) else {
            continue;
        };
        out.push(QuestionView {
            key: q.key,
            kind: kind.as_str(),
            text: q.text,
            answers: serde_json::from_str(&q.answers).unwrap_or_default(),
            built_in: false,
        });
    }
    Ok(out)
}

pub async fn list(state: web::Data<AppState>, auth: AuthUser) -> Result<HttpResponse, ApiError> {
    let items = store::run(&state.db, move |conn| active(conn, auth.campaign_id)).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewQuestionBody {
    key: String,
    kind: QuestionKind,
    text: String,
    #[serde(default)]
    answers: Vec<AnswerOption>,
}

pub const MAX_ANSWERS: usize = 50;

pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<NewQuestionBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let key_ok = !body.key.is_empty()
        && body.key.len() <= 64
        && body
            .key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !key_ok || body.key == SUPPORT_ID {
        return Err(ApiError::validation(
            "key",
            "key is 1 to 64 of a-z, 0-9 and _, and not support_id",
        ));
    }
    let text = body.text.trim();
    if text.is_empty() || text.chars().count() > 500 {
        return Err(ApiError::validation("text", "text is 1 to 500 characters"));
    }
    let choice = body.kind != QuestionKind::FreeText;
    if choice == body.answers.is_empty() || body.answers.len() > MAX_ANSWERS {
        return Err(ApiError::validation(
            "answers",
            format!("choice questions take 1 to {MAX_ANSWERS} answers; free text takes none"),
        ));
    }
    for (i, a) in body.answers.iter().enumerate() {
        let scalar = a.value.is_string() || a.value.is_number();
        if !scalar || body.answers[..i].iter().any(|b| b.value == a.value) {
            return Err(ApiError::validation(
                "answers",
                "each answer value is a distinct string or number",
            ));
        }
    }
    let answers = serde_json::to_string(&body.answers)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("answers do not serialise: {e}")))?;
    let text = text.to_owned();
    let stored = store::transaction(&state.db, move |conn| {
        let stored = db::knocks::create_question(
            conn,
            auth.campaign_id,
            &body.key,
            body.kind.as_str(),
            &text,
            &answers,
        )?;
        db::audit::record(
            conn,
            db::audit::Change {
                campaign_id: auth.campaign_id,
                actor_id: Some(auth.user_id),
                action: "question.create",
                target_type: "question",
                target_id: Some(stored.id),
                details: json!({ "key": stored.key }),
            },
        )?;
        Ok(stored)
    })
    .await?;
    Ok(HttpResponse::Created().json(QuestionView {
        key: stored.key,
        kind: body.kind.as_str(),
        text: stored.text,
        answers: serde_json::from_str(&stored.answers).unwrap_or_default(),
        built_in: false,
    }))
}
