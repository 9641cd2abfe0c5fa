//! The result of a knock: the one place that knows the codes a canvasser records, what
//! each means for the door, and what VAN and OSDI call it.

use serde::{Deserialize, Serialize};

/// What happened at a door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KnockResult {
    Contacted,
    NotHome,
    ComeBack,
    Refused,
    Hostile,
    Moved,
    Deceased,
    LanguageBarrier,
    Inaccessible,
    WrongAddress,
}

impl KnockResult {
    /// Every result, in the order a phone lists them.
    pub const ALL: [KnockResult; 10] = [
        KnockResult::Contacted,
        KnockResult::NotHome,
        KnockResult::ComeBack,
        KnockResult::Refused,
        KnockResult::Hostile,
        KnockResult::Moved,
        KnockResult::Deceased,
        KnockResult::LanguageBarrier,
        KnockResult::Inaccessible,
        KnockResult::WrongAddress,
    ];

    /// The code as sent and stored.
    pub fn code(self) -> &'static str {
        match self {
            KnockResult::Contacted => "contacted",
            KnockResult::NotHome => "not_home",
            KnockResult::ComeBack => "come_back",
            KnockResult::Refused => "refused",
            KnockResult::Hostile => "hostile",
            KnockResult::Moved => "moved",
            KnockResult::Deceased => "deceased",
            KnockResult::LanguageBarrier => "language_barrier",
            KnockResult::Inaccessible => "inaccessible",
            KnockResult::WrongAddress => "wrong_address",
        }
    }

    pub fn parse(code: &str) -> Option<KnockResult> {
        KnockResult::ALL.into_iter().find(|r| r.code() == code)
    }

    /// What a canvasser reads on the button.
    pub fn label(self) -> &'static str {
        match self {
            KnockResult::Contacted => "Spoke with someone",
            KnockResult::NotHome => "Nobody home",
            KnockResult::ComeBack => "Asked to come back",
            KnockResult::Refused => "Refused to talk",
            KnockResult::Hostile => "Hostile (do not return)",
            KnockResult::Moved => "Person moved away",
            KnockResult::Deceased => "Person deceased",
            KnockResult::LanguageBarrier => "Language barrier",
            KnockResult::Inaccessible => "Could not reach the door",
            KnockResult::WrongAddress => "Address does not exist",
        }
    }

    /// Whether it closes the door for its list (a `not_home`, `come_back` or
    /// `inaccessible` leaves the door to knock again).
    pub fn finishes_door(self) -> bool {
        !matches!(
            self,
            KnockResult::NotHome | KnockResult::ComeBack | KnockResult::Inaccessible
        )
    }

    /// Whether someone was spoken to (OSDI's `success`); answers come only with it.
    pub fn is_contact(self) -> bool {
        self == KnockResult::Contacted
    }

    /// Whether it concerns the people rather than the door: they are flagged.
    pub fn flags_people(self) -> bool {
        matches!(self, KnockResult::Moved | KnockResult::Deceased)
    }

    /// The name VAN gives the result.
    pub fn van_name(self) -> &'static str {
        match self {
            KnockResult::Contacted => "Canvassed",
            KnockResult::NotHome => "Not Home",
            KnockResult::ComeBack => "Come Back",
            KnockResult::Refused => "Refused",
            KnockResult::Hostile => "Hostile",
            KnockResult::Moved => "Moved",
            KnockResult::Deceased => "Deceased",
            KnockResult::LanguageBarrier => "Language Barrier",
            KnockResult::Inaccessible => "Inaccessible",
            KnockResult::WrongAddress => "Wrong Address",
        }
    }
}

impl std::fmt::Display for KnockResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_and_is_named_once() {
        let mut codes = std::collections::BTreeSet::new();
        for r in KnockResult::ALL {
            assert_eq!(KnockResult::parse(r.code()), Some(r));
            assert_eq!(
                serde_json::to_value(r).ok(),
                Some(serde_json::json!(r.code()))
            );
            assert!(codes.insert(r.code()));
            assert!(!r.label().is_empty() && !r.van_name().is_empty());
        }
        assert_eq!(KnockResult::parse("Contacted"), None);
        assert_eq!(KnockResult::parse(""), None);
    }

    #[test]
    fn only_a_few_results_leave_the_door_to_knock_again() {
        let again: Vec<&str> = KnockResult::ALL
            .into_iter()
            .filter(|r| !r.finishes_door())
            .map(KnockResult::code)
            .collect();
        assert_eq!(again, ["not_home", "come_back", "inaccessible"]);
        assert_eq!(KnockResult::Contacted.van_name(), "Canvassed");
        assert_eq!(KnockResult::NotHome.van_name(), "Not Home");
    }
}
