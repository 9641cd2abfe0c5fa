//! Door-knock progress as running tallies. Pure: no actix, no diesel.
//!
//! Directors ask for doors knocked, attempts, contacts, support IDs and pace, grouped by
//! region, turf, volunteer, day or H3 cell, over any time window. Counting that from a
//! million knocks on every request is seconds of work, so the knock sync keeps a
//! [`Tally`] per [`TallyKey`]: one day, one turf, one volunteer and one
//! [`TALLY_RESOLUTION`] cell. A request adds up the tallies of its window instead.
//!
//! Days and hours are the campaign's own (its IANA time zone): an evening shift in New
//! York is one day's work, not two UTC days'. A tally's day is a day of campaign time,
//! and a time window is split at the campaign's midnights.
//!
//! Sums add up across tallies, but "distinct doors" and "distinct hours" do not: a door
//! knocked on Monday and again on Tuesday is one door knocked that week. So a tally keeps
//! the *set* of doors it saw (a compressed bitmap of door ids) and the *set* of hours (a
//! 24-bit mask of its day). Unions of sets are exact, so every figure of any group is
//! exactly what counting the knocks directly would give, whatever the window or order of
//! arrival.

use std::collections::BTreeMap;

use chrono::{LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike};
use chrono_tz::Tz;
use roaring::RoaringTreemap;

/// The campaign's wall-clock time of a UTC instant.
pub fn local(zone: Tz, utc: NaiveDateTime) -> NaiveDateTime {
    zone.from_utc_datetime(&utc).naive_local()
}

/// The UTC instant of a campaign wall-clock time: the first of two when the clocks go
/// back, and for a time the clocks skip, that time under the offset before the jump.
pub fn to_utc(zone: Tz, local: NaiveDateTime) -> NaiveDateTime {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.naive_utc(),
        LocalResult::None => {
            let before = zone.offset_from_utc_datetime(&(local - chrono::Duration::days(1)));
            local - chrono::Duration::seconds(i64::from(before.fix().local_minus_utc()))
        }
    }
}

/// The UTC instant the campaign's `day` begins.
pub fn day_start(zone: Tz, day: NaiveDate) -> NaiveDateTime {
    to_utc(zone, day.and_time(NaiveTime::MIN))
}

/// The H3 resolution of the cell in a tally key (about 0.1 km²). Coarser groupings are
/// parents of it; finer ones are counted from the knocks themselves.
pub const TALLY_RESOLUTION: u8 = 9;

/// Which knocks count: a time window `[from, to)` (UTC, either end open) and, when
/// given, one region, turf or volunteer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub region_id: Option<i64>,
    pub turf_id: Option<i64>,
    /// Only this volunteer's knocks (and lists).
    pub user_id: Option<i64>,
}

/// What one knock adds to progress.
#[derive(Debug, Clone, Default)]
pub struct CountedKnock {
    pub door_id: i64,
    /// When, in campaign time (the campaign's wall clock, see [`local`]).
    pub knocked_at: NaiveDateTime,
    pub contacted: bool,
    /// Support IDs given at the knock, by answer 1..=5.
    pub support_ids: [i64; 5],
    /// Answers to the campaign's choice questions: (question key, choice), one entry
    /// per person and choice.
    pub answers: Vec<(String, String)>,
}

/// Where a knock's figures are kept: its day (campaign time), walk list (and that
/// list's turf), volunteer and cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TallyKey {
    pub day: NaiveDate,
    pub walk_list_id: i64,
    pub turf_id: i64,
    pub user_id: i64,
    /// An H3 cell (as stored), the door's cell at [`TALLY_RESOLUTION`] in the store.
    pub cell: i64,
}

/// The figures of the knocks under one key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub attempts: i64,
    pub contacts: i64,
    pub support_ids: [i64; 5],
    /// Bit `h` set: a knock happened in hour `h` (campaign time) of the key's day.
    pub hours: u32,
    /// The doors knocked.
    pub doors: RoaringTreemap,
    /// Choice answers given: (question key, choice) → how often.
    pub answers: Answers,
}

/// Counts one stored answer into a knock's figures: a support ID (1–5) into its
/// support IDs, each choice of another choice question into its answers.
pub fn count_answer(knock: &mut CountedKnock, question: &str, stored: &str) {
    if question == crate::knock::SUPPORT_ID {
        let slot = stored
            .parse::<usize>()
            .ok()
            .and_then(|v| v.checked_sub(1))
            .and_then(|i| knock.support_ids.get_mut(i));
        if let Some(n) = slot {
            *n += 1;
        }
    } else {
        for choice in crate::export::answer_text(stored) {
            knock.answers.push((question.to_owned(), choice));
        }
    }
}

/// Counts of choice answers by (question key, choice).
pub type Answers = BTreeMap<(String, String), i64>;

/// Answers as stored: a JSON array of `[question, choice, count]`.
pub fn answers_to_text(answers: &Answers) -> String {
    let rows: Vec<(&str, &str, i64)> = answers
        .iter()
        .map(|((q, a), n)| (q.as_str(), a.as_str(), *n))
        .collect();
    serde_json::to_string(&rows).unwrap_or_else(|_| "[]".into())
}

/// Reads answers written by [`answers_to_text`] (empty text: none).
pub fn answers_from_text(text: &str) -> Result<Answers, serde_json::Error> {
    if text.is_empty() {
        return Ok(Answers::new());
    }
    let rows: Vec<(String, String, i64)> = serde_json::from_str(text)?;
    let mut out = Answers::new();
    for (q, a, n) in rows {
        *out.entry((q, a)).or_default() += n;
    }
    Ok(out)
}

fn add_answers(into: &mut Answers, from: &Answers) {
    for (k, n) in from {
        *into.entry(k.clone()).or_default() += n;
    }
}

/// Door ids are positive; anything else cannot be a door and is not counted.
fn door_bit(door_id: i64) -> Option<u64> {
    u64::try_from(door_id).ok()
}

impl Tally {
    pub fn add(&mut self, k: &CountedKnock) {
        self.attempts += 1;
        self.contacts += i64::from(k.contacted);
        for (sum, n) in self.support_ids.iter_mut().zip(k.support_ids) {
            *sum += n;
        }
        self.hours |= 1 << k.knocked_at.hour();
        if let Some(bit) = door_bit(k.door_id) {
            self.doors.insert(bit);
        }
        for (q, a) in &k.answers {
            *self.answers.entry((q.clone(), a.clone())).or_default() += 1;
        }
    }

    /// Adds another tally of the same key (or of the same day).
    pub fn merge(&mut self, other: &Tally) {
        self.attempts += other.attempts;
        self.contacts += other.contacts;
        for (sum, n) in self.support_ids.iter_mut().zip(other.support_ids) {
            *sum += n;
        }
        self.hours |= other.hours;
        self.doors |= &other.doors;
        add_answers(&mut self.answers, &other.answers);
    }

    /// The door set as stored: the portable Roaring format.
    pub fn doors_bytes(&self) -> Vec<u8> {
        doors_to_bytes(&self.doors)
    }

    /// Reads a door set written by [`Tally::doors_bytes`].
    pub fn doors_from_bytes(bytes: &[u8]) -> std::io::Result<RoaringTreemap> {
        RoaringTreemap::deserialize_from(bytes)
    }
}

/// A door set in the portable Roaring format, as stored.
pub fn doors_to_bytes(doors: &RoaringTreemap) -> Vec<u8> {
    let mut out = Vec::with_capacity(doors.serialized_size());
    // Writing into a Vec cannot fail.
    let _ = doors.serialize_into(&mut out);
    out
}

/// The tallies a set of knocks adds, by key. `key` places a knock (its day is taken
/// from `knocked_at` by the caller's key).
pub fn tally<'a, K: Ord>(
    knocks: impl IntoIterator<Item = (K, &'a CountedKnock)>,
) -> BTreeMap<K, Tally> {
    let mut out: BTreeMap<K, Tally> = BTreeMap::new();
    for (key, k) in knocks {
        out.entry(key).or_default().add(k);
    }
    out
}

/// What to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// Everything in scope as one group (key `campaign`).
    Campaign,
    Region,
    Turf,
    WalkList,
    Volunteer,
    /// Days of campaign time.
    Day,
    /// H3 cells of this resolution (0–15).
    Cell(u8),
}

/// The figures of one group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub attempts: i64,
    pub doors_knocked: i64,
    pub contacts: i64,
    /// Hours in which at least one knock happened.
    pub active_hours: i64,
    /// Support IDs by answer 1..=5.
    pub support_ids: [i64; 5],
    /// Choice answers to the campaign's questions: (question key, choice) → count.
    pub answers: crate::progress::Answers,
    /// Doors on live lists not finished yet (`None` where it has no meaning: by day).
    pub doors_remaining: Option<i64>,
}

/// The group of a knock or tally: its day, list, turf (with the turf's region),
/// volunteer and cell (any resolution from [`TALLY_RESOLUTION`] to 15; its parent is
/// taken).
pub fn group_key(
    group: GroupBy,
    day: NaiveDate,
    (walk_list_id, turf_id, region_id): (i64, i64, Option<i64>),
    user_id: i64,
    cell: i64,
) -> Option<String> {
    match group {
        GroupBy::Campaign => Some("campaign".to_owned()),
        GroupBy::Region => region_id.map(|r| r.to_string()),
        GroupBy::Turf => Some(turf_id.to_string()),
        GroupBy::WalkList => Some(walk_list_id.to_string()),
        GroupBy::Volunteer => Some(user_id.to_string()),
        GroupBy::Day => Some(day.format("%Y-%m-%d").to_string()),
        GroupBy::Cell(res) => crate::spatial::cells::parent_of(cell, res).map(|c| c.to_string()),
    }
}

/// The figures of each group's totals (the doors still to knock are the store's to
/// add).
pub fn figures_of(totals: BTreeMap<Option<String>, Totals>) -> BTreeMap<Option<String>, Figures> {
    totals
        .into_iter()
        .map(|(key, t)| {
            let figures = Figures {
                attempts: t.attempts,
                doors_knocked: t.doors_knocked(),
                contacts: t.contacts,
                active_hours: t.active_hours(),
                support_ids: t.support_ids,
                answers: t.answers.clone(),
                doors_remaining: None,
            };
            (key, figures)
        })
        .collect()
}

/// The figures of one group: tallies of any days added together, with the hours kept
/// per day so that distinct hours stay exact.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub attempts: i64,
    pub contacts: i64,
    pub support_ids: [i64; 5],
    pub answers: Answers,
    hours: BTreeMap<NaiveDate, u32>,
    doors: RoaringTreemap,
}

impl Totals {
    pub fn add(&mut self, day: NaiveDate, t: &Tally) {
        self.attempts += t.attempts;
        self.contacts += t.contacts;
        for (sum, n) in self.support_ids.iter_mut().zip(t.support_ids) {
            *sum += n;
        }
        *self.hours.entry(day).or_default() |= t.hours;
        self.doors |= &t.doors;
        add_answers(&mut self.answers, &t.answers);
    }

    /// Adds one knock counted from the knocks themselves (the ends of a window).
    pub fn add_knock(&mut self, k: &CountedKnock) {
        self.attempts += 1;
        self.contacts += i64::from(k.contacted);
        for (sum, n) in self.support_ids.iter_mut().zip(k.support_ids) {
            *sum += n;
        }
        *self.hours.entry(k.knocked_at.date()).or_default() |= 1 << k.knocked_at.hour();
        if let Some(bit) = door_bit(k.door_id) {
            self.doors.insert(bit);
        }
        for (q, a) in &k.answers {
            *self.answers.entry((q.clone(), a.clone())).or_default() += 1;
        }
    }

    /// Distinct doors knocked.
    pub fn doors_knocked(&self) -> i64 {
        i64::try_from(self.doors.len()).unwrap_or(i64::MAX)
    }

    /// Distinct hours in which a knock happened.
    pub fn active_hours(&self) -> i64 {
        self.hours.values().map(|m| i64::from(m.count_ones())).sum()
    }
}

/// A time window `[from, to)` (UTC, either end open) split for counting: the whole days
/// of campaign time inside it come from the tallies, and the pieces of a day at either
/// end, where the window starts or ends between the campaign's midnights, from the
/// knocks themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Whole days `[first, end)` (either end open), or `None` when the window holds no
    /// whole day.
    pub days: Option<(Option<NaiveDate>, Option<NaiveDate>)>,
    /// Windows `[from, to)` (UTC) to count from the knocks: at most two, each within one
    /// day or two.
    pub partial: Vec<(Option<NaiveDateTime>, Option<NaiveDateTime>)>,
}

/// Splits `[from, to)` into whole days of the campaign's `zone` and the pieces at its
/// ends; see [`Split`].
pub fn split(from: Option<NaiveDateTime>, to: Option<NaiveDateTime>, zone: Tz) -> Split {
    let whole_window = Split {
        days: None,
        partial: vec![(from, to)],
    };
    // The first whole day starts at `from`'s midnight, or the next one.
    let first = match from.map(|f| local(zone, f)) {
        None => None,
        Some(f) if f.time() == NaiveTime::MIN => Some(f.date()),
        Some(f) => match f.date().succ_opt() {
            Some(next) => Some(next),
            None => return whole_window,
        },
    };
    // Days before `to`'s own day end by `to`.
    let end = to.map(|t| local(zone, t).date());
    if let (Some(first), Some(end)) = (first, end)
        && first >= end
    {
        return whole_window;
    }
    let mut partial = Vec::new();
    if let (Some(f), Some(first)) = (from, first)
        && f < day_start(zone, first)
    {
        partial.push((Some(f), Some(day_start(zone, first))));
    }
    if let (Some(t), Some(end)) = (to, end)
        && t > day_start(zone, end)
    {
        partial.push((Some(day_start(zone, end)), Some(t)));
    }
    Split {
        days: Some((first, end)),
        partial,
    }
}

/// Whether `day` is one of the whole days `[first, end)` of a [`Split`].
pub fn day_in(day: NaiveDate, (first, end): (Option<NaiveDate>, Option<NaiveDate>)) -> bool {
    first.is_none_or(|f| day >= f) && end.is_none_or(|e| day < e)
}

/// How a goal stands: what was done against the target, and the pace achieved so far
/// against the pace still needed, both per day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    pub target: i64,
    pub done: i64,
    pub remaining: i64,
    /// Days of the goal's range that have passed (fractions count), and that are left.
    pub days_elapsed: f64,
    pub days_left: f64,
    /// Done per elapsed day; `None` before the range starts.
    pub achieved_per_day: Option<f64>,
    /// Still to do per day left; `None` once the range is over or the goal is met.
    pub needed_per_day: Option<f64>,
    /// Where the achieved pace ends by the end of the range.
    pub projected: Option<i64>,
    /// Met, or on course to be met at the pace achieved.
    pub on_track: bool,
}

/// The [`Pace`] of a goal of `target` over `[start, end)` (UTC instants: the campaign's
/// midnights), with `done` so far, at `now`.
pub fn pace(
    target: i64,
    done: i64,
    (start, end): (NaiveDateTime, NaiveDateTime),
    now: NaiveDateTime,
) -> Pace {
    let days = |d: chrono::Duration| d.num_seconds().max(0) as f64 / 86_400.0;
    let total = days(end - start);
    let elapsed = days(now - start).min(total);
    let left = days(end - now).min(total);
    let remaining = (target - done).max(0);
    let achieved = (elapsed > 0.0).then(|| done as f64 / elapsed);
    let needed = (left > 0.0 && remaining > 0).then(|| remaining as f64 / left);
    let projected = achieved.map(|a| done + (a * left).round() as i64);
    Pace {
        target,
        done,
        remaining,
        days_elapsed: elapsed,
        days_left: left,
        achieved_per_day: achieved,
        needed_per_day: needed,
        projected,
        on_track: remaining == 0 || projected.is_some_and(|p| p >= target),
    }
}

/// Attempts a volunteer needs before their contact rate is judged.
pub const MIN_ATTEMPTS_FOR_RATE: i64 = 20;
/// How many standard errors from the others' rate count as far outside it.
pub const RATE_Z: f64 = 3.0;

/// One volunteer's knocks in scope.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VolunteerRate {
    pub user_id: i64,
    pub attempts: i64,
    pub contacts: i64,
}

/// A volunteer whose contact rate is far from everyone else's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnusualRate {
    pub user_id: i64,
    pub attempts: i64,
    pub contact_rate: f64,
    /// The rate of every other volunteer's knocks together.
    pub others_rate: f64,
    /// The rate of all knocks in scope.
    pub campaign_rate: f64,
    pub z: f64,
}

/// Volunteers (with at least [`MIN_ATTEMPTS_FOR_RATE`] attempts) whose contact rate is
/// more than [`RATE_Z`] standard errors from the rate of all *other* volunteers' knocks.
///
/// Each volunteer is compared with the others, not with a norm they pull towards
/// themselves, and the yardstick is how much volunteers differ, not only coin-flip
/// noise: the standard error is the two-proportion one (from the pooled rate, for the
/// volunteer's attempts and the others'), plus the spread between the other volunteers'
/// rates beyond what their own noise explains (estimated once three or more others have
/// enough attempts). One volunteer at 94 % among ordinary ones at 32–39 % is flagged;
/// the ordinary ones are not.
pub fn unusual_contact_rates(volunteers: &[VolunteerRate]) -> Vec<UnusualRate> {
    let (attempts, contacts) = volunteers
        .iter()
        .fold((0, 0), |(a, c), v| (a + v.attempts, c + v.contacts));
    if attempts == 0 {
        return Vec::new();
    }
    let pooled = contacts as f64 / attempts as f64;
    let noise = |n: i64| pooled * (1.0 - pooled) / n as f64;
    let rate = |v: &VolunteerRate| v.contacts as f64 / v.attempts as f64;
    let judged: Vec<&VolunteerRate> = volunteers
        .iter()
        .filter(|v| v.attempts >= MIN_ATTEMPTS_FOR_RATE)
        .collect();
    // Sums over the judged volunteers, from which each one's is taken away in turn.
    let (sum, sum_sq, sum_noise) = judged.iter().fold((0.0, 0.0, 0.0), |(s, q, n), v| {
        let r = rate(v);
        (s + r, q + r * r, n + noise(v.attempts))
    });
    let mut unusual = Vec::new();
    for v in &judged {
        let (others_attempts, others_contacts) = (attempts - v.attempts, contacts - v.contacts);
        if others_attempts <= 0 {
            continue;
        }
        let own = rate(v);
        let others_rate = others_contacts as f64 / others_attempts as f64;
        let k = (judged.len() - 1) as f64;
        let between = if k >= 3.0 {
            let (s, q) = (sum - own, sum_sq - own * own);
            let spread = (q - s * s / k) / (k - 1.0);
            (spread - (sum_noise - noise(v.attempts)) / k).max(0.0)
        } else {
            0.0
        };
        let variance =
            pooled * (1.0 - pooled) * (1.0 / v.attempts as f64 + 1.0 / others_attempts as f64)
                + between;
        let z = if variance > 0.0 {
            (own - others_rate) / variance.sqrt()
        } else {
            0.0
        };
        if z.abs() > RATE_Z {
            unusual.push(UnusualRate {
                user_id: v.user_id,
                attempts: v.attempts,
                contact_rate: own,
                others_rate,
                campaign_rate: pooled,
                z,
            });
        }
    }
    unusual
}

#[cfg(test)]
mod rate_tests {
    use super::*;

    fn volunteer(user_id: i64, attempts: i64, contacts: i64) -> VolunteerRate {
        VolunteerRate {
            user_id,
            attempts,
            contacts,
        }
    }

    #[test]
    fn one_outlier_does_not_make_everyone_else_unusual() {
        // The case seen in the field: one volunteer at 94 % pulled the campaign's rate
        // to 0.467, and four ordinary volunteers (32-39 %) were flagged against it.
        let crew = [
            volunteer(1, 200, 188),
            volunteer(2, 200, 64),
            volunteer(3, 200, 70),
            volunteer(4, 200, 74),
            volunteer(5, 200, 78),
            volunteer(6, 200, 86),
        ];
        let flagged = unusual_contact_rates(&crew);
        let ids: Vec<i64> = flagged.iter().map(|f| f.user_id).collect();
        assert_eq!(ids, [1]);
        let f = flagged[0];
        assert!((f.campaign_rate - 0.4667).abs() < 1e-3, "{f:?}");
        assert!((f.others_rate - 0.372).abs() < 1e-9, "{f:?}");
        assert!(f.z > 3.0, "{f:?}");
    }

    #[test]
    fn two_volunteers_far_apart_are_told_apart_and_the_few_are_not_judged() {
        let flagged = unusual_contact_rates(&[
            volunteer(1, 40, 40),
            volunteer(2, 40, 0),
            volunteer(3, 19, 19),
        ]);
        let ids: Vec<i64> = flagged.iter().map(|f| f.user_id).collect();
        assert_eq!(ids, [1, 2]);
        assert!(flagged[1].z < -3.0);
    }

    #[test]
    fn an_ordinary_crew_raises_no_flag() {
        let crew: Vec<VolunteerRate> = (0..12)
            .map(|i| volunteer(i, 100 + 10 * i, 38 + 4 * i))
            .collect();
        assert!(unusual_contact_rates(&crew).is_empty());
        assert!(unusual_contact_rates(&[]).is_empty());
        assert!(unusual_contact_rates(&[volunteer(1, 50, 10)]).is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn a_knock_falls_in_its_day_region_and_parent_cell() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 3).expect("a date");
        let cell = h3o::LatLng::new(47.14, 9.52)
            .expect("a point")
            .to_cell(h3o::Resolution::Fifteen);
        let stored = crate::spatial::cells::to_db(cell);
        let key = |group| group_key(group, day, (3, 2, Some(1)), 9, stored);
        assert_eq!(key(GroupBy::Day).as_deref(), Some("2026-11-03"));
        assert_eq!(key(GroupBy::Region).as_deref(), Some("1"));
        assert_eq!(key(GroupBy::WalkList).as_deref(), Some("3"));
        assert_eq!(key(GroupBy::Volunteer).as_deref(), Some("9"));
        let parent = cell.parent(h3o::Resolution::Eight).expect("a coarser cell");
        let parent = crate::spatial::cells::to_db(parent).to_string();
        assert_eq!(key(GroupBy::Cell(8)), Some(parent));
        // A turf outside every region has no region group.
        assert_eq!(
            group_key(GroupBy::Region, day, (3, 2, None), 9, stored),
            None
        );
    }

    fn at(day: u32, hour: u32, minute: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, day)
            .and_then(|d| d.and_hms_opt(hour, minute, 0))
            .unwrap_or_default()
    }

    fn knock(door_id: i64, knocked_at: NaiveDateTime, contacted: bool, id: usize) -> CountedKnock {
        let mut support_ids = [0; 5];
        if contacted {
            support_ids[id % 5] = 1;
        }
        CountedKnock {
            door_id,
            knocked_at,
            contacted,
            support_ids,
            answers: if contacted {
                vec![("issue".into(), format!("topic {}", id % 2))]
            } else {
                Vec::new()
            },
        }
    }

    #[test]
    fn a_door_knocked_twice_is_one_door_and_two_attempts() {
        let knocks = [
            knock(7, at(3, 10, 5), false, 0),
            knock(7, at(3, 10, 50), true, 1),
            knock(8, at(3, 14, 0), false, 0),
        ];
        let tallies = tally(knocks.iter().map(|k| (k.knocked_at.date(), k)));
        let mut totals = Totals::default();
        for (day, t) in &tallies {
            totals.add(*day, t);
        }
        assert_eq!(totals.attempts, 3);
        assert_eq!(totals.doors_knocked(), 2);
        assert_eq!(totals.contacts, 1);
        assert_eq!(totals.active_hours(), 2, "10:00 and 14:00");
        assert_eq!(totals.support_ids, [0, 1, 0, 0, 0]);
    }

    #[test]
    fn the_same_hour_on_two_days_is_two_hours() {
        let knocks = [
            knock(1, at(3, 10, 0), false, 0),
            knock(1, at(4, 10, 0), false, 0),
        ];
        let mut totals = Totals::default();
        for (day, t) in &tally(knocks.iter().map(|k| (k.knocked_at.date(), k))) {
            totals.add(*day, t);
        }
        assert_eq!(totals.active_hours(), 2);
        assert_eq!(totals.doors_knocked(), 1);
    }

    #[test]
    fn an_evening_in_new_york_is_one_day_of_campaign_time() {
        let ny = Tz::America__New_York;
        // 22:30 and 23:45 on 3 November in New York are 03:30 and 04:45 UTC on the 4th.
        let evening = [at(4, 3, 30), at(4, 4, 45)].map(|t| local(ny, t));
        assert!(evening.iter().all(|t| t.date() == at(3, 0, 0).date()));
        assert_eq!(day_start(ny, at(3, 0, 0).date()), at(3, 5, 0));
        // The window "3 November" in New York: one whole day, no pieces.
        let s = split(Some(at(3, 5, 0)), Some(at(4, 5, 0)), ny);
        assert_eq!(
            s.days,
            Some((Some(at(3, 0, 0).date()), Some(at(4, 0, 0).date())))
        );
        assert!(s.partial.is_empty());
        // The night the clocks go back, 1 November 2026, lasts 25 hours.
        assert_eq!(
            day_start(ny, at(2, 0, 0).date()) - day_start(ny, at(1, 0, 0).date()),
            chrono::Duration::hours(25)
        );
        // A time the clocks skip (2:30 on 8 March 2026) is taken under the old offset.
        let skipped = NaiveDate::from_ymd_opt(2026, 3, 8)
            .and_then(|d| d.and_hms_opt(2, 30, 0))
            .unwrap_or_default();
        assert_eq!(to_utc(ny, skipped), skipped + chrono::Duration::hours(5));
    }

    #[test]
    fn pace_compares_what_is_needed_with_what_was_achieved() {
        let range = (at(2, 0, 0), at(12, 0, 0)); // ten days
        // Four days in, 300 of 1,000 doors: 75 a day achieved, 700 in 6 days needed.
        let p = pace(1000, 300, range, at(6, 0, 0));
        assert_eq!(p.remaining, 700);
        assert_eq!(p.achieved_per_day, Some(75.0));
        assert!((p.needed_per_day.unwrap_or(0.0) - 116.667).abs() < 1e-3);
        assert_eq!(p.projected, Some(750));
        assert!(!p.on_track);
        // Ahead of pace.
        assert!(pace(1000, 500, range, at(6, 0, 0)).on_track);
        // Before it starts nothing is achieved yet; after it ends nothing is needed.
        let early = pace(1000, 0, range, at(1, 0, 0));
        assert_eq!((early.achieved_per_day, early.days_left), (None, 10.0));
        let late = pace(1000, 900, range, at(20, 0, 0));
        assert_eq!(
            (late.needed_per_day, late.remaining, late.on_track),
            (None, 100, false)
        );
        assert!(pace(1000, 1200, range, at(20, 0, 0)).on_track);
    }

    #[test]
    fn answers_survive_the_store_format() {
        let mut t = Tally::default();
        for i in 0..5 {
            t.add(&knock(i, at(3, 9, 0), true, i as usize));
        }
        assert_eq!(t.answers.values().sum::<i64>(), 5);
        let back = answers_from_text(&answers_to_text(&t.answers)).ok();
        assert_eq!(back.as_ref(), Some(&t.answers));
        assert_eq!(answers_from_text("").ok(), Some(Answers::new()));
        assert!(answers_from_text("{").is_err());
    }

    #[test]
    fn door_sets_survive_the_store_format() {
        let mut t = Tally::default();
        for door in [1_i64, 2, 70_000, 5_000_000_000] {
            t.add(&knock(door, at(3, 9, 0), false, 0));
        }
        let back = Tally::doors_from_bytes(&t.doors_bytes()).ok();
        assert_eq!(back.as_ref(), Some(&t.doors));
        assert!(Tally::doors_from_bytes(b"not a bitmap").is_err());
    }

    proptest! {
        /// However knocks are split into tallies and tallies added up, the totals are
        /// what counting the knocks directly gives.
        #[test]
        fn totals_equal_direct_counts(
            raw in proptest::collection::vec((1_i64..40, 1_u32..6, 0_u32..24, any::<bool>(), 0_usize..5), 0..200),
            split in 1_usize..7,
        ) {
            let knocks: Vec<CountedKnock> = raw
                .iter()
                .enumerate()
                .map(|(i, &(door, day, hour, contacted, id))| knock(door, at(day, hour, (i % 60) as u32), contacted, id))
                .collect();
            // Tallies by (day, a made-up partition), merged in another order.
            let tallies = tally(knocks.iter().enumerate().map(|(i, k)| ((k.knocked_at.date(), i % split), k)));
            let mut totals = Totals::default();
            for ((day, _), t) in tallies.iter().rev() {
                totals.add(*day, t);
            }
            let doors: BTreeSet<i64> = knocks.iter().map(|k| k.door_id).collect();
            let hours: BTreeSet<(NaiveDate, u32)> =
                knocks.iter().map(|k| (k.knocked_at.date(), k.knocked_at.hour())).collect();
            prop_assert_eq!(totals.attempts, knocks.len() as i64);
            prop_assert_eq!(totals.doors_knocked(), doors.len() as i64);
            prop_assert_eq!(totals.active_hours(), hours.len() as i64);
            prop_assert_eq!(totals.contacts, knocks.iter().filter(|k| k.contacted).count() as i64);
            prop_assert_eq!(totals.support_ids.iter().sum::<i64>(), totals.contacts);
            prop_assert_eq!(totals.answers.values().sum::<i64>(), totals.contacts);
        }

        /// Merging tallies of one key is adding their knocks to one tally.
        #[test]
        fn merge_is_adding_the_knocks(
            raw in proptest::collection::vec((1_i64..40, 0_u32..24, any::<bool>()), 0..80),
            cut in 0_usize..80,
        ) {
            let knocks: Vec<CountedKnock> =
                raw.iter().map(|&(door, hour, c)| knock(door, at(3, hour, 0), c, door as usize)).collect();
            let cut = cut.min(knocks.len());
            let mut whole = Tally::default();
            knocks.iter().for_each(|k| whole.add(k));
            let (mut a, mut b) = (Tally::default(), Tally::default());
            knocks[..cut].iter().for_each(|k| a.add(k));
            knocks[cut..].iter().for_each(|k| b.add(k));
            b.merge(&a);
            prop_assert_eq!(b, whole);
        }
    }

    fn minutes(m: i64) -> NaiveDateTime {
        at(1, 0, 0) + chrono::Duration::minutes(m)
    }

    #[test]
    fn a_window_from_midnight_to_midnight_is_whole_days() {
        let s = split(Some(at(3, 0, 0)), Some(at(5, 0, 0)), Tz::UTC);
        assert_eq!(
            s.days,
            Some((Some(at(3, 0, 0).date()), Some(at(5, 0, 0).date())))
        );
        assert!(s.partial.is_empty());
        let open = split(None, None, Tz::UTC);
        assert_eq!(open.days, Some((None, None)));
        assert!(open.partial.is_empty());
    }

    #[test]
    fn a_window_within_one_day_is_counted_from_the_knocks() {
        let s = split(Some(at(3, 9, 30)), Some(at(3, 17, 0)), Tz::UTC);
        assert_eq!(s.days, None);
        assert_eq!(s.partial, vec![(Some(at(3, 9, 30)), Some(at(3, 17, 0)))]);
    }

    #[test]
    fn the_ends_of_a_window_are_counted_from_the_knocks() {
        let s = split(Some(at(3, 9, 30)), Some(at(6, 12, 0)), Tz::UTC);
        assert_eq!(
            s.days,
            Some((Some(at(4, 0, 0).date()), Some(at(6, 0, 0).date())))
        );
        assert_eq!(
            s.partial,
            vec![
                (Some(at(3, 9, 30)), Some(at(4, 0, 0))),
                (Some(at(6, 0, 0)), Some(at(6, 12, 0)))
            ]
        );
    }

    proptest! {
        /// Every moment of the window is counted exactly once, by a whole day or by
        /// one of the pieces, and no moment outside it is counted.
        #[test]
        fn a_split_covers_the_window_exactly_once(
            from in proptest::option::of(0_i64..6000),
            len in 0_i64..6000,
            to_open in any::<bool>(),
            probes in proptest::collection::vec(0_i64..12_000, 1..60),
            zone in proptest::sample::select(vec![
                Tz::UTC,
                Tz::America__New_York,
                Tz::Asia__Kolkata,
                Tz::Australia__Lord_Howe,
                Tz::Pacific__Kiritimati,
            ]),
        ) {
            // Minutes from 1 November 2026, when New York's clocks go back.
            let from_t = from.map(minutes);
            let to_t = if to_open { None } else { Some(minutes(from.unwrap_or(0) + len + 1)) };
            let s = split(from_t, to_t, zone);
            for m in probes {
                let t = minutes(m);
                let inside = from_t.is_none_or(|f| t >= f) && to_t.is_none_or(|e| t < e);
                let by_day = s.days.is_some_and(|d| day_in(local(zone, t).date(), d));
                let by_piece = s
                    .partial
                    .iter()
                    .filter(|(a, b)| a.is_none_or(|a| t >= a) && b.is_none_or(|b| t < b))
                    .count();
                prop_assert_eq!(usize::from(by_day) + by_piece, usize::from(inside), "{:?} at {}", s, t);
            }
        }
    }
}
