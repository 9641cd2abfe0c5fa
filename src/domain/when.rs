//! A moment as a director writes it in a query: with an offset (`2026-11-03T18:00:00Z`,
//! `…-05:00`), or without one (`2026-11-03T18:00`, `2026-11-03`), which means the
//! campaign's wall clock.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};

/// A moment from a query string; see the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// An instant: the text had an offset.
    Instant(DateTime<Utc>),
    /// A wall-clock time of the campaign: the text had none (a bare date is its
    /// midnight).
    Local(NaiveDateTime),
}

impl When {
    pub fn parse(text: &str) -> Option<When> {
        let text = text.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            return Some(When::Instant(t.with_timezone(&Utc)));
        }
        for format in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
                return Some(When::Local(t));
            }
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .map(|d| When::Local(d.and_time(NaiveTime::MIN)))
    }

    /// The UTC instant, reading a wall-clock time in the campaign's `zone`.
    pub fn utc(self, zone: Tz) -> NaiveDateTime {
        match self {
            When::Instant(t) => t.naive_utc(),
            When::Local(t) => crate::progress::to_utc(zone, t),
        }
    }
}

impl<'de> Deserialize<'de> for When {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        When::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{text:?} is not a time: write 2026-11-03T18:00:00Z, 2026-11-03T18:00 (campaign time) or 2026-11-03"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_an_offset_it_is_an_instant_without_one_campaign_time() {
        let ny = Tz::America__New_York;
        let at = |s: &str| When::parse(s).map(|w| w.utc(ny).to_string());
        assert_eq!(
            at("2026-11-03T18:00:00Z").as_deref(),
            Some("2026-11-03 18:00:00")
        );
        assert_eq!(
            at("2026-11-03T18:00:00-05:00").as_deref(),
            Some("2026-11-03 23:00:00")
        );
        assert_eq!(
            at("2026-11-03T18:00").as_deref(),
            Some("2026-11-03 23:00:00")
        );
        assert_eq!(
            at("2026-11-03T18:00:30.5").as_deref(),
            Some("2026-11-03 23:00:30.500")
        );
        assert_eq!(at("2026-11-03").as_deref(), Some("2026-11-03 05:00:00"));
        assert_eq!(at("yesterday"), None);
        assert_eq!(at("2026-13-03"), None);
    }
}
