//! Survey questions: the built-in support ID and the campaign's own. Organizers add
//! questions, edit them (text, answer labels, answers added) and retire them. An edit
//! never removes an answer value, since stored knocks refer to it; a retired question
//! leaves walk lists but stays answerable, so a phone that got its list before loses
//! nothing.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Actor, AppError};
use crate::db::{self, DbConnection, knocks::StoredQuestion};
use crate::knock::{QuestionKind, SUPPORT_ID, SUPPORT_ID_ANSWERS, SUPPORT_ID_TEXT};

/// Most answers a choice question may offer.
pub const MAX_ANSWERS: usize = 50;
/// Longest question text, in characters.
pub const MAX_TEXT: usize = 500;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// False once the question is retired: it is no longer on walk lists.
    pub active: bool,
}

fn support_id() -> QuestionView {
    QuestionView {
        key: SUPPORT_ID.into(),
        kind: QuestionKind::SingleChoice.as_str(),
        text: SUPPORT_ID_TEXT.into(),
        answers: SUPPORT_ID_ANSWERS
            .iter()
            .map(|&(value, label)| AnswerOption {
                value: Value::from(value),
                label: label.into(),
            })
            .collect(),
        built_in: true,
        active: true,
    }
}

fn view(q: StoredQuestion) -> Option<QuestionView> {
    let kind = QuestionKind::parse(&q.kind)?;
    Some(QuestionView {
        key: q.key,
        kind: kind.as_str(),
        text: q.text,
        answers: serde_json::from_str(&q.answers).unwrap_or_default(),
        built_in: false,
        active: q.active,
    })
}

/// The campaign's questions, support ID first: the active ones (what a walk list
/// carries), or with `retired` the retired ones too.
pub fn listed(
    conn: &mut DbConnection,
    campaign_id: i64,
    retired: bool,
) -> Result<Vec<QuestionView>, AppError> {
    let mut out = vec![support_id()];
    out.extend(
        db::knocks::list_questions(conn, campaign_id)?
            .into_iter()
            .filter(|q| retired || q.active)
            .filter_map(view),
    );
    Ok(out)
}

/// A question as an organizer writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewQuestion {
    pub key: String,
    pub kind: QuestionKind,
    pub text: String,
    #[serde(default)]
    pub answers: Vec<AnswerOption>,
}

fn check_text(text: &str) -> Result<String, AppError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT {
        return Err(AppError::invalid(
            "text",
            format!("text is 1 to {MAX_TEXT} characters"),
        ));
    }
    Ok(text.to_owned())
}

/// Checks a question's answers for its kind: choice questions take 1 to
/// [`MAX_ANSWERS`] distinct string or number values with labels, free text none.
pub fn check_answers(kind: QuestionKind, answers: &[AnswerOption]) -> Result<(), AppError> {
    let choice = kind != QuestionKind::FreeText;
    if choice == answers.is_empty() || answers.len() > MAX_ANSWERS {
        return Err(AppError::invalid(
            "answers",
            format!("choice questions take 1 to {MAX_ANSWERS} answers; free text takes none"),
        ));
    }
    for (i, a) in answers.iter().enumerate() {
        let scalar = a.value.is_string() || a.value.is_number();
        if !scalar || answers[..i].iter().any(|b| b.value == a.value) {
            return Err(AppError::invalid(
                "answers",
                "each answer value is a distinct string or number",
            ));
        }
        if a.label.trim().is_empty() || a.label.chars().count() > 200 {
            return Err(AppError::invalid(
                "answers",
                "each answer has a label of 1 to 200 characters",
            ));
        }
    }
    Ok(())
}

/// Checks that an edit keeps every answer value the question had (labels may change,
/// answers may be added; knocks already stored refer to the old values).
pub fn check_kept(before: &[AnswerOption], after: &[AnswerOption]) -> Result<(), AppError> {
    let dropped: Vec<&Value> = before
        .iter()
        .map(|a| &a.value)
        .filter(|v| !after.iter().any(|a| &a.value == *v))
        .collect();
    if dropped.is_empty() {
        Ok(())
    } else {
        Err(AppError::invalid(
            "answers",
            format!(
                "answers already given cannot be removed (missing: {}); retire the question and add a new one instead",
                dropped
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }
}

fn to_json(answers: &[AnswerOption]) -> Result<String, AppError> {
    serde_json::to_string(answers)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("answers do not serialise: {e}")))
}

fn audit(
    conn: &mut DbConnection,
    actor: Actor,
    action: &'static str,
    q: &StoredQuestion,
) -> Result<(), AppError> {
    actor.audit(
        conn,
        action,
        ("question", Some(q.id)),
        json!({ "key": q.key }),
    )
}

/// Adds a question, inside the caller's write transaction. Audited.
pub fn create(
    conn: &mut DbConnection,
    actor: Actor,
    q: NewQuestion,
) -> Result<QuestionView, AppError> {
    let key_ok = !q.key.is_empty()
        && q.key.len() <= 64
        && q.key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !key_ok || q.key == SUPPORT_ID {
        return Err(AppError::invalid(
            "key",
            "key is 1 to 64 of a-z, 0-9 and _, and not support_id",
        ));
    }
    let text = check_text(&q.text)?;
    check_answers(q.kind, &q.answers)?;
    if db::knocks::question(conn, actor.campaign_id, &q.key)?.is_some() {
        return Err(AppError::conflict(format!(
            "question {:?} exists (retired questions keep their key)",
            q.key
        )));
    }
    let stored = db::knocks::create_question(
        conn,
        actor.campaign_id,
        &q.key,
        q.kind.as_str(),
        &text,
        &to_json(&q.answers)?,
    )?;
    audit(conn, actor, "question.create", &stored)?;
    view(stored).ok_or_else(|| AppError::Internal(anyhow::anyhow!("a stored kind is unknown")))
}

/// An edit: new text, and the whole new list of answers.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    pub text: Option<String>,
    pub answers: Option<Vec<AnswerOption>>,
}

fn stored(conn: &mut DbConnection, actor: Actor, key: &str) -> Result<StoredQuestion, AppError> {
    if key == SUPPORT_ID {
        return Err(AppError::conflict(
            "the built-in support ID cannot be edited or retired",
        ));
    }
    db::knocks::question(conn, actor.campaign_id, key)?.ok_or(AppError::NotFound("question"))
}

/// Edits a question's text and answers (labels changed, answers added; none removed),
/// inside the caller's write transaction. Walk lists show the edit at once. Audited.
pub fn edit(
    conn: &mut DbConnection,
    actor: Actor,
    key: &str,
    edit: Edit,
) -> Result<QuestionView, AppError> {
    let q = stored(conn, actor, key)?;
    let kind = QuestionKind::parse(&q.kind)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a stored kind is unknown")))?;
    let text = match &edit.text {
        Some(t) => check_text(t)?,
        None => q.text.clone(),
    };
    let answers = match edit.answers {
        Some(after) => {
            check_answers(kind, &after)?;
            let before: Vec<AnswerOption> = serde_json::from_str(&q.answers).unwrap_or_default();
            check_kept(&before, &after)?;
            to_json(&after)?
        }
        None => q.answers.clone(),
    };
    let updated =
        db::knocks::update_question(conn, actor.campaign_id, q.id, &text, &answers, q.active)?;
    audit(conn, actor, "question.edit", &updated)?;
    view(updated).ok_or_else(|| AppError::Internal(anyhow::anyhow!("a stored kind is unknown")))
}

/// Retires a question: walk lists no longer carry it; answers to it still sync and
/// still count. Retiring twice is a no-op. Audited.
pub fn retire(conn: &mut DbConnection, actor: Actor, key: &str) -> Result<(), AppError> {
    let q = stored(conn, actor, key)?;
    if q.active {
        let updated =
            db::knocks::update_question(conn, actor.campaign_id, q.id, &q.text, &q.answers, false)?;
        audit(conn, actor, "question.retire", &updated)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(value: Value, label: &str) -> AnswerOption {
        AnswerOption {
            value,
            label: label.into(),
        }
    }

    #[test]
    fn an_edit_may_relabel_and_add_answers_but_never_drop_one() {
        let before = vec![a(json!("bus"), "Bus"), a(json!("rent"), "Rent")];
        let relabelled = vec![a(json!("bus"), "Buses and trams"), a(json!("rent"), "Rent")];
        assert!(check_kept(&before, &relabelled).is_ok());
        let added = vec![
            a(json!("rent"), "Rent"),
            a(json!("bus"), "Bus"),
            a(json!("care"), "Care"),
        ];
        assert!(check_kept(&before, &added).is_ok());
        let dropped = vec![a(json!("bus"), "Bus")];
        let err = check_kept(&before, &dropped).map(|_| ()).unwrap_err();
        assert!(err.to_string().contains("\"rent\""), "{err}");
    }

    #[test]
    fn answers_fit_their_kind() {
        let one = vec![a(json!(1), "Yes")];
        assert!(check_answers(QuestionKind::SingleChoice, &one).is_ok());
        assert!(check_answers(QuestionKind::FreeText, &one).is_err());
        assert!(check_answers(QuestionKind::MultipleChoice, &[]).is_err());
        let twice = vec![a(json!(1), "Yes"), a(json!(1), "Also yes")];
        assert!(check_answers(QuestionKind::SingleChoice, &twice).is_err());
        let unlabelled = vec![a(json!(1), " ")];
        assert!(check_answers(QuestionKind::SingleChoice, &unlabelled).is_err());
        let nested = vec![a(json!([1]), "List")];
        assert!(check_answers(QuestionKind::SingleChoice, &nested).is_err());
    }
}
