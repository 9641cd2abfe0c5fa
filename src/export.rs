//! Getting data back into the voter file: the shape of the export files. Pure: no
//! actix, no diesel.
//!
//! A data lead maps the campaign's result codes, questions and answers to the codes of
//! their voter file once ([`Codes`]); the contacts export then writes one row per person
//! contacted per knock, or one per question answered, in the columns a VAN-style bulk
//! upload takes, with those codes (or, where none is mapped, VAN's result names and our
//! own keys).

use std::collections::BTreeMap;

/// What a code maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CodeKind {
    /// A knock result (`not_home`, `contacted`, …).
    Result,
    /// A question, by its key.
    Question,
    /// One answer of a question, keyed `question_key:answer`.
    Answer,
    /// A tag (activist code), by its key.
    Tag,
}

impl CodeKind {
    pub const ALL: [CodeKind; 4] = [
        CodeKind::Result,
        CodeKind::Question,
        CodeKind::Answer,
        CodeKind::Tag,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CodeKind::Result => "result",
            CodeKind::Question => "question",
            CodeKind::Answer => "answer",
            CodeKind::Tag => "tag",
        }
    }

    pub fn parse(text: &str) -> Option<CodeKind> {
        CodeKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Most codes one campaign maps.
pub const MAX_CODES: usize = 5_000;
/// The longest key or code.
pub const MAX_CODE_CHARS: usize = 100;

/// The campaign's external codes: (kind, our key) → their code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Codes(pub BTreeMap<(CodeKind, String), String>);

impl Codes {
    fn get(&self, kind: CodeKind, key: &str) -> Option<&str> {
        self.0.get(&(kind, key.to_owned())).map(String::as_str)
    }

    /// The code of a knock result: the mapped one, else VAN's name for it.
    pub fn result(&self, result: &str) -> String {
        self.get(CodeKind::Result, result)
            .unwrap_or_else(|| van_result(result))
            .to_owned()
    }

    /// The code of a question: the mapped one, else its key.
    pub fn question(&self, key: &str) -> String {
        self.get(CodeKind::Question, key).unwrap_or(key).to_owned()
    }

    /// The code of a tag: the mapped one, else its key.
    pub fn tag(&self, key: &str) -> String {
        self.get(CodeKind::Tag, key).unwrap_or(key).to_owned()
    }

    /// The code of an answer: the mapped one, else the answer as given.
    pub fn answer(&self, question: &str, answer: &str) -> String {
        self.get(CodeKind::Answer, &format!("{question}:{answer}"))
            .unwrap_or(answer)
            .to_owned()
    }
}

/// The result name VAN uses for one of our result codes (empty for an unknown code).
pub fn van_result(result: &str) -> &'static str {
    crate::knock::KnockResult::parse(result).map_or("", crate::knock::KnockResult::van_name)
}

/// Text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, return) gets a
/// leading apostrophe: volunteers' notes must not become live formulas on an
/// organizer's machine (CSV injection).
pub fn cell_text(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

/// Text as it was before [`cell_text`] guarded it: the apostrophe before a formula
/// character is dropped.
pub fn unguard(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => text,
    }
}

/// The UTF-8 byte order mark, which spreadsheet programs need to read accented names.
pub const BOM: &str = "\u{feff}";

/// The contacts file's columns.
pub const CONTACT_COLUMNS: [&str; 12] = [
    "external_id",
    "date_canvassed",
    "contact_type",
    "result",
    "result_code",
    "question",
    "question_code",
    "answer",
    "answer_code",
    "tag",
    "tag_code",
    "tag_action",
];

/// The contact type of every knock: in person, at the door.
pub const CONTACT_TYPE: &str = "Walk";

/// One knock, as the contacts file needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactKnock<'a> {
    /// The day canvassed, `YYYY-MM-DD` (campaign time).
    pub date: String,
    pub result: &'a str,
    /// External ids of the people the knock is about: those named at the door, or the
    /// door's residents when nobody was named.
    pub people: Vec<(i64, &'a str)>,
    /// Answers given: (person id, question key, answer).
    pub answers: Vec<(i64, &'a str, &'a str)>,
    /// Tags the knock applied (`false`) or removed (`true`) that still stand: (person
    /// id, tag key, removed).
    pub tags: Vec<(i64, &'a str, bool)>,
}

/// The contacts file's rows of one knock: per person, one row per question answered
/// and one per tag applied or removed, or one row with the result alone.
pub fn contact_rows(knock: &ContactKnock, codes: &Codes) -> Vec<[String; 12]> {
    let mut rows = Vec::new();
    for &(person, external_id) in &knock.people {
        let base = |question: &str, answer: &str| {
            [
                cell_text(external_id),
                knock.date.clone(),
                CONTACT_TYPE.to_owned(),
                knock.result.to_owned(),
                cell_text(&codes.result(knock.result)),
                cell_text(question),
                if question.is_empty() {
                    String::new()
                } else {
                    cell_text(&codes.question(question))
                },
                cell_text(answer),
                if question.is_empty() {
                    String::new()
                } else {
                    cell_text(&codes.answer(question, answer))
                },
                String::new(),
                String::new(),
                String::new(),
            ]
        };
        let mut answered = false;
        for &(_, question, answer) in knock.answers.iter().filter(|a| a.0 == person) {
            rows.push(base(question, answer));
            answered = true;
        }
        for &(_, tag, removed) in knock.tags.iter().filter(|t| t.0 == person) {
            let mut row = base("", "");
            row[9] = cell_text(tag);
            row[10] = cell_text(&codes.tag(tag));
            row[11] = if removed { "Remove" } else { "Apply" }.to_owned();
            rows.push(row);
            answered = true;
        }
        if !answered {
            rows.push(base("", ""));
        }
    }
    rows
}

/// Answers are stored as JSON text (`2`, `"yes"`, `["a","b"]`); in a file each choice
/// is written plain, several joined by `|`.
pub fn answer_text(stored: &str) -> Vec<String> {
    match serde_json::from_str::<serde_json::Value>(stored) {
        Ok(serde_json::Value::String(s)) => vec![s],
        Ok(serde_json::Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        Ok(serde_json::Value::Null) | Err(_) => vec![stored.to_owned()],
        Ok(other) => vec![other.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes() -> Codes {
        let mut c = Codes::default();
        c.0.insert((CodeKind::Result, "not_home".into()), "NH".into());
        c.0.insert((CodeKind::Question, "support_id".into()), "SQ101".into());
        c.0.insert((CodeKind::Answer, "support_id:1".into()), "R1".into());
        c
    }

    #[test]
    fn one_row_per_answer_or_one_with_the_result() {
        let knock = ContactKnock {
            date: "2026-11-03".into(),
            result: "contacted",
            people: vec![(1, "V1"), (2, "V2")],
            answers: vec![(1, "support_id", "1"), (1, "issue", "=cmd")],
            tags: vec![(2, "yard_sign", false)],
        };
        let rows = contact_rows(&knock, &codes());
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0][0], "V1");
        assert_eq!(
            rows[0][4], "Canvassed",
            "VAN's name where nothing is mapped"
        );
        assert_eq!((&*rows[0][6], &*rows[0][8]), ("SQ101", "R1"));
        assert_eq!((&*rows[1][6], &*rows[1][8]), ("issue", "'=cmd"), "guarded");
        assert_eq!(rows[2][0], "V2");
        assert_eq!(
            rows[2][5], "",
            "no question for a person who only got a tag"
        );
        assert_eq!((&*rows[2][9], &*rows[2][11]), ("yard_sign", "Apply"));
    }

    #[test]
    fn mapped_result_codes_win() {
        let knock = ContactKnock {
            date: "2026-11-03".into(),
            result: "not_home",
            people: vec![(1, "V1")],
            answers: Vec::new(),
            tags: Vec::new(),
        };
        assert_eq!(contact_rows(&knock, &codes())[0][4], "NH");
        assert_eq!(contact_rows(&knock, &Codes::default())[0][4], "Not Home");
    }

    #[test]
    fn guarded_text_reads_back_as_it_was() {
        for text in [
            "+423 555 01 02",
            "=SUM(A1)",
            "-",
            "@home",
            "plain",
            "'quoted",
            "",
        ] {
            assert_eq!(unguard(&cell_text(text)), text);
        }
    }

    #[test]
    fn stored_answers_are_written_plain() {
        assert_eq!(answer_text("2"), vec!["2"]);
        assert_eq!(answer_text("\"yes\""), vec!["yes"]);
        assert_eq!(answer_text("[\"a\",\"b\"]"), vec!["a", "b"]);
        assert_eq!(answer_text("plain"), vec!["plain"]);
    }
}
