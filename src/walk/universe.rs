//! The universe: which people of a turf are worth a knock.

use chrono::{Datelike, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::domain::Invalid;

/// An inclusive score range on the 0–100 scale; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreRange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// An inclusive age range in years; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeRange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
}

/// The filters of a walk list. Every filter given must hold; a person whose value is
/// unknown (no score, no birth year, no party) does not pass a filter on that value.
/// Do-not-walk, deceased and moved people, and people at a do-not-walk door, never pass.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Universe {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::domain::json::optional_object"
    )]
    pub support: Option<ScoreRange>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::domain::json::optional_object"
    )]
    pub turnout: Option<ScoreRange>,
    /// Any of these parties (compared without regard to case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parties: Option<Vec<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::domain::json::optional_object"
    )]
    pub age: Option<AgeRange>,
    /// Only people not contacted in the last this many days (never contacted passes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_contacted_days: Option<u32>,
    /// The round of the turf these lists are for ("first" unless named, e.g. "gotv"):
    /// doors finished in it, or that refused or were hostile in it, are not walked
    /// again in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass: Option<String>,
    /// Only people whose latest support ID is one of these (chase supporters: `[1, 2]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_ids: Option<Vec<u8>>,
    /// Only people carrying every one of these tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Only people carrying none of these tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub without_tags: Option<Vec<String>>,
}

/// The pass of lists whose universe names none.
pub const FIRST_PASS: &str = "first";

/// What the universe looks at of one person and their door.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub support_score: Option<f64>,
    pub turnout_score: Option<f64>,
    pub party: Option<&'a str>,
    pub birth_year: Option<i64>,
    pub last_contact_at: Option<NaiveDateTime>,
    pub do_not_walk: bool,
    pub deceased: bool,
    pub moved: bool,
    pub door_do_not_walk: bool,
    /// The person's latest support ID (1–5), if any.
    pub latest_support_id: Option<u8>,
    /// The tag keys the person carries.
    pub tags: &'a [String],
}

pub const MAX_PARTIES: usize = 50;
pub const MAX_DAYS: u32 = 3650;

fn check_scores(field: &'static str, range: &Option<ScoreRange>) -> Result<(), Invalid> {
    let Some(r) = range else { return Ok(()) };
    for v in [r.min, r.max].into_iter().flatten() {
        if !(0.0..=100.0).contains(&v) {
            return Err(Invalid::new(field, "scores are between 0 and 100"));
        }
    }
    if let (Some(lo), Some(hi)) = (r.min, r.max)
        && lo > hi
    {
        return Err(Invalid::new(field, "min is greater than max"));
    }
    Ok(())
}

impl Universe {
    /// Checks ranges and sizes; field names are as the API shows them.
    pub fn validate(&self) -> Result<(), Invalid> {
        check_scores("universe.support", &self.support)?;
        check_scores("universe.turnout", &self.turnout)?;
        if let Some(parties) = &self.parties {
            if parties.is_empty() || parties.len() > MAX_PARTIES {
                return Err(Invalid::new(
                    "universe.parties",
                    format!("give between 1 and {MAX_PARTIES} parties"),
                ));
            }
            if parties
                .iter()
                .any(|p| p.trim().is_empty() || p.chars().count() > 64)
            {
                return Err(Invalid::new(
                    "universe.parties",
                    "a party is 1 to 64 characters",
                ));
            }
        }
        if let Some(age) = &self.age {
            if age.min.is_some_and(|v| v > 130) || age.max.is_some_and(|v| v > 130) {
                return Err(Invalid::new("universe.age", "ages are between 0 and 130"));
            }
            if let (Some(lo), Some(hi)) = (age.min, age.max)
                && lo > hi
            {
                return Err(Invalid::new("universe.age", "min is greater than max"));
            }
        }
        if self.not_contacted_days.is_some_and(|d| d > MAX_DAYS) {
            return Err(Invalid::new(
                "universe.not_contacted_days",
                format!("at most {MAX_DAYS} days"),
            ));
        }
        if let Some(pass) = &self.pass {
            let ok = !pass.is_empty()
                && pass.len() <= 32
                && pass
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                return Err(Invalid::new(
                    "universe.pass",
                    "a pass is 1 to 32 of a-z, 0-9 and _ (\"first\", \"gotv\")",
                ));
            }
        }
        if let Some(ids) = &self.support_ids
            && (ids.is_empty() || ids.iter().any(|i| !(1..=5).contains(i)))
        {
            return Err(Invalid::new(
                "universe.support_ids",
                "support IDs are 1 (strong support) to 5 (strong oppose)",
            ));
        }
        for (field, tags) in [
            ("universe.tags", &self.tags),
            ("universe.without_tags", &self.without_tags),
        ] {
            if tags.as_ref().is_some_and(|t| {
                t.is_empty() || t.len() > 20 || t.iter().any(|k| k.is_empty() || k.len() > 64)
            }) {
                return Err(Invalid::new(field, "give 1 to 20 tag keys"));
            }
        }
        Ok(())
    }

    /// The pass these lists are for.
    pub fn pass(&self) -> &str {
        self.pass.as_deref().unwrap_or(FIRST_PASS)
    }

    /// Whether a door is walked again in this pass, given what its stops on earlier
    /// lists of the same pass ended with: not once finished there, nor after a refusal
    /// or hostility there.
    pub fn door_open_in_pass<'r>(
        history: impl IntoIterator<Item = (bool, Option<&'r str>)>,
    ) -> bool {
        history
            .into_iter()
            .all(|(finished, last)| !finished && !matches!(last, Some("refused" | "hostile")))
    }

    /// Whether the person is in the universe at time `now`.
    pub fn admits(&self, c: &Candidate<'_>, now: NaiveDateTime) -> bool {
        if c.do_not_walk || c.deceased || c.moved || c.door_do_not_walk {
            return false;
        }
        let in_range = |range: &Option<ScoreRange>, value: Option<f64>| match range {
            None => true,
            Some(r) => value
                .is_some_and(|v| r.min.is_none_or(|lo| v >= lo) && r.max.is_none_or(|hi| v <= hi)),
        };
        if !in_range(&self.support, c.support_score) || !in_range(&self.turnout, c.turnout_score) {
            return false;
        }
        if let Some(parties) = &self.parties {
            let Some(party) = c.party else { return false };
            if !parties
                .iter()
                .any(|p| p.trim().eq_ignore_ascii_case(party.trim()))
            {
                return false;
            }
        }
        if let Some(age) = &self.age {
            let Some(born) = c.birth_year else {
                return false;
            };
            let years = i64::from(now.year()) - born;
            if age.min.is_some_and(|lo| years < i64::from(lo))
                || age.max.is_some_and(|hi| years > i64::from(hi))
            {
                return false;
            }
        }
        if let (Some(days), Some(last)) = (self.not_contacted_days, c.last_contact_at)
            && now.signed_duration_since(last) < chrono::Duration::days(i64::from(days))
        {
            return false;
        }
        if let Some(ids) = &self.support_ids
            && !c.latest_support_id.is_some_and(|id| ids.contains(&id))
        {
            return false;
        }
        if let Some(all) = &self.tags
            && !all.iter().all(|t| c.tags.contains(t))
        {
            return false;
        }
        if let Some(none) = &self.without_tags
            && none.iter().any(|t| c.tags.contains(t))
        {
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_795_000_000, 0)
            .map(|t| t.naive_utc())
            .unwrap_or_default()
    }

    fn person() -> Candidate<'static> {
        Candidate {
            support_score: Some(55.0),
            turnout_score: Some(80.0),
            party: Some("FBP"),
            birth_year: Some(1980),
            last_contact_at: None,
            do_not_walk: false,
            deceased: false,
            moved: false,
            door_do_not_walk: false,
            latest_support_id: Some(2),
            tags: &[],
        }
    }

    #[test]
    fn a_pass_skips_doors_finished_refused_or_hostile_in_it() {
        assert!(Universe::door_open_in_pass([]));
        assert!(Universe::door_open_in_pass([
            (false, Some("not_home")),
            (false, None)
        ]));
        assert!(!Universe::door_open_in_pass([(true, Some("contacted"))]));
        assert!(!Universe::door_open_in_pass([(false, Some("refused"))]));
        assert!(!Universe::door_open_in_pass([(false, Some("hostile"))]));
        let gotv: Universe =
            serde_json::from_value(serde_json::json!({ "pass": "gotv" })).unwrap_or_default();
        assert_eq!(gotv.pass(), "gotv");
        assert_eq!(Universe::default().pass(), FIRST_PASS);
        let bad: Universe =
            serde_json::from_value(serde_json::json!({ "pass": "GOTV!" })).unwrap_or_default();
        assert!(bad.validate().is_err());
    }

    #[test]
    fn supporters_and_tags_are_targeted() {
        let chase: Universe = serde_json::from_value(serde_json::json!({ "support_ids": [1, 2] }))
            .unwrap_or_default();
        assert!(chase.admits(&person(), now()));
        let undecided = Candidate {
            latest_support_id: Some(3),
            ..person()
        };
        assert!(!chase.admits(&undecided, now()));
        let never_asked = Candidate {
            latest_support_id: None,
            ..person()
        };
        assert!(!chase.admits(&never_asked, now()));
        let rides: Universe = serde_json::from_value(
            serde_json::json!({ "tags": ["needs_ride"], "without_tags": ["voted"] }),
        )
        .unwrap_or_default();
        let tagged = [String::from("needs_ride")];
        let voted = [String::from("needs_ride"), String::from("voted")];
        assert!(rides.admits(
            &Candidate {
                tags: &tagged,
                ..person()
            },
            now()
        ));
        assert!(!rides.admits(&person(), now()));
        assert!(!rides.admits(
            &Candidate {
                tags: &voted,
                ..person()
            },
            now()
        ));
        let bad: Universe =
            serde_json::from_value(serde_json::json!({ "support_ids": [6] })).unwrap_or_default();
        assert!(bad.validate().is_err());
    }

    #[test]
    fn suppressions_always_drop_a_person() {
        let all = Universe::default();
        assert!(all.admits(&person(), now()));
        for c in [
            Candidate {
                do_not_walk: true,
                ..person()
            },
            Candidate {
                deceased: true,
                ..person()
            },
            Candidate {
                moved: true,
                ..person()
            },
            Candidate {
                door_do_not_walk: true,
                ..person()
            },
        ] {
            assert!(!all.admits(&c, now()));
        }
    }

    #[test]
    fn ranges_are_inclusive_and_unknown_values_fail_them() {
        let u = Universe {
            support: Some(ScoreRange {
                min: Some(40.0),
                max: Some(55.0),
            }),
            ..Universe::default()
        };
        assert!(u.admits(&person(), now()));
        let higher = Candidate {
            support_score: Some(55.5),
            ..person()
        };
        assert!(!u.admits(&higher, now()));
        let unknown = Candidate {
            support_score: None,
            ..person()
        };
        assert!(!u.admits(&unknown, now()));
    }

    #[test]
    fn party_age_and_last_contact_filter() {
        let u = Universe {
            parties: Some(vec!["fbp".into(), "VU".into()]),
            age: Some(AgeRange {
                min: Some(18),
                max: Some(50),
            }),
            not_contacted_days: Some(30),
            ..Universe::default()
        };
        assert!(u.admits(&person(), now()));
        let other_party = Candidate {
            party: Some("FL"),
            ..person()
        };
        assert!(!u.admits(&other_party, now()));
        let too_old = Candidate {
            birth_year: Some(1950),
            ..person()
        };
        assert!(!u.admits(&too_old, now()));
        let recent = Candidate {
            last_contact_at: Some(now() - chrono::Duration::days(3)),
            ..person()
        };
        assert!(!u.admits(&recent, now()));
        let long_ago = Candidate {
            last_contact_at: Some(now() - chrono::Duration::days(31)),
            ..person()
        };
        assert!(u.admits(&long_ago, now()));
    }

    #[test]
    fn validation_names_the_field() {
        let bad = Universe {
            turnout: Some(ScoreRange {
                min: Some(70.0),
                max: Some(20.0),
            }),
            ..Universe::default()
        };
        assert_eq!(bad.validate().map_err(|e| e.field), Err("universe.turnout"));
        let empty = Universe {
            parties: Some(vec![]),
            ..Universe::default()
        };
        assert!(empty.validate().is_err());
        assert!(Universe::default().validate().is_ok());
    }
}
