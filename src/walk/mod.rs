//! Walk lists as plain rules: who is in the universe, how a list's doors are cut from
//! one walking route, what status a list shows, and how a score reads to a canvasser.
//! No actix, no diesel: the store hands in rows, the handlers hand out views.

pub mod universe;

use std::collections::HashMap;

use chrono::NaiveDateTime;
use geo::{Centroid, ClosestPoint, MultiPolygon, Point};
use serde::Serialize;

use crate::routing::{self, RouteParams, Stop};

pub use universe::{AgeRange, Candidate, FIRST_PASS, ScoreRange, Universe};

/// What a list shows: derived from what is stored, so a lapsed claim or a passed
/// expiry shows at once, before any background sweep has run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nobody holds it: claimable.
    Open,
    /// Assigned to someone or claimed, no door knocked yet.
    Assigned,
    /// At least one door knocked.
    InProgress,
    /// Every door has a final result.
    Done,
    /// Past its expiry: its doors went back to the pool.
    Expired,
    /// Closed by an organizer before it was done: its doors went back to the pool.
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Assigned => "assigned",
            Status::InProgress => "in_progress",
            Status::Done => "done",
            Status::Expired => "expired",
            Status::Closed => "closed",
        }
    }
}

/// What a list row stores as its state (the status shown adds holders, claims, knocks
/// and the clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Live: its doors are held by it.
    Active,
    /// Every door has a final result.
    Done,
    /// Past its expiry, or closed: its doors went back to the pool.
    Expired,
}

impl Stored {
    pub const fn as_str(self) -> &'static str {
        match self {
            Stored::Active => "active",
            Stored::Done => "done",
            Stored::Expired => "expired",
        }
    }

    /// The stored text read back; anything unknown counts as active (the clock and the
    /// expiry still apply).
    pub fn parse(s: &str) -> Self {
        match s {
            "done" => Stored::Done,
            "expired" => Stored::Expired,
            _ => Stored::Active,
        }
    }
}

/// The stored facts a status is derived from.
#[derive(Debug, Clone, Copy)]
pub struct ListState {
    pub state: Stored,
    /// Whether an organizer closed it (stored as expired).
    pub closed: bool,
    pub expires_at: NaiveDateTime,
    pub assignee_count: i64,
    pub claimed_until: Option<NaiveDateTime>,
    pub knocked_doors: i64,
}

impl ListState {
    pub fn claim_active(&self, now: NaiveDateTime) -> bool {
        self.claimed_until.is_some_and(|until| until > now)
    }

    pub fn status(&self, now: NaiveDateTime) -> Status {
        match self.state {
            _ if self.closed => Status::Closed,
            Stored::Done => Status::Done,
            Stored::Expired => Status::Expired,
            _ if self.expires_at <= now => Status::Expired,
            _ if self.knocked_doors > 0 => Status::InProgress,
            _ if self.assignee_count > 0 || self.claim_active(now) => Status::Assigned,
            _ => Status::Open,
        }
    }
}

/// How a support score reads at the door (scores are 0–100, 100 = strongest support).
pub fn support_band(score: Option<f64>) -> &'static str {
    match score {
        None => "unknown",
        Some(s) if s >= 80.0 => "strong_support",
        Some(s) if s >= 60.0 => "lean_support",
        Some(s) if s > 40.0 => "undecided",
        Some(s) if s > 20.0 => "lean_oppose",
        Some(_) => "strong_oppose",
    }
}

/// Cells of "near me" are resolution 9 (about 0.1 km² each).
pub const NEARBY_RESOLUTION: h3o::Resolution = h3o::Resolution::Nine;

/// One candidate door for a list, with the universe's people living there.
#[derive(Debug, Clone)]
pub struct PlanDoor {
    pub door_id: i64,
    pub lat: f64,
    pub lng: f64,
    pub street: String,
    pub housenumber: String,
    /// The door's address without its unit: doors sharing it are one building.
    pub building: String,
    pub unit: String,
    pub people: Vec<i64>,
}

/// One list cut from the route: indexes into the planned doors, in walking order.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedList {
    pub doors: Vec<usize>,
    pub start: (f64, f64),
    pub distance_m: f64,
    pub walking_seconds: f64,
}

/// The floor a unit is on, when its name says so: `EG`, `ground` and `parterre` are 0,
/// `UG` and `basement` -1, `2 OG`, `OG 2`, `2. Stock`, `2nd floor`, `Floor 2` are 2, a
/// unit number of three or more digits counts hundreds (`Apt 312` is on 3) and a number
/// with a letter names its floor (`3B` is on 3). Anything else: unknown.
pub fn floor_of(unit: &str) -> Option<i32> {
    let lower = unit.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let number = |w: &str| -> Option<i32> {
        let digits = w.trim_end_matches(|c: char| c.is_alphabetic());
        let suffix = &w[digits.len()..];
        let ordinal = matches!(suffix, "" | "st" | "nd" | "rd" | "th" | "e" | "er");
        if digits.is_empty() || digits.len() > 4 || !ordinal {
            return None;
        }
        digits.parse().ok()
    };
    const FLOOR: [&str; 6] = ["og", "floor", "fl", "stock", "etage", "obergeschoss"];
    for (i, w) in words.iter().enumerate() {
        match *w {
            "eg" | "ground" | "parterre" | "erdgeschoss" | "gf" => return Some(0),
            "ug" | "basement" | "keller" | "untergeschoss" => return Some(-1),
            _ => {}
        }
        if FLOOR.contains(w) {
            let next = words.get(i + 1).and_then(|n| number(n));
            let before = i.checked_sub(1).and_then(|b| number(words[b]));
            if let Some(n) = before.or(next) {
                return Some(n);
            }
        }
    }
    // A unit number alone: hundreds (`312`), or a number with its unit letter (`3b`).
    let last = words.last()?;
    let digits: String = last.chars().take_while(char::is_ascii_digit).collect();
    let rest = &last[digits.len()..];
    match (digits.len(), rest.len()) {
        (3 | 4, 0) => digits.parse::<i32>().ok().map(|n| n / 100),
        (1 | 2, 1) if rest.chars().all(char::is_alphabetic) => digits.parse().ok(),
        _ => None,
    }
}

/// The order of units inside a building: by floor (unknown floors last), then by the
/// unit's number, then its name.
pub fn unit_order(unit: &str) -> (i32, u64, String) {
    let number = unit
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .take(18)
        .collect::<String>()
        .parse()
        .unwrap_or(u64::MAX);
    (
        floor_of(unit).unwrap_or(i32::MAX),
        number,
        unit.to_lowercase(),
    )
}

/// The doors grouped into stops: every building (doors sharing an address) is one
/// stop with its units in [`unit_order`]; stops in first-seen order.
fn stops_of(doors: &[PlanDoor]) -> Vec<Vec<usize>> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut stops: Vec<Vec<usize>> = Vec::new();
    for (i, d) in doors.iter().enumerate() {
        let slot = *index.entry(d.building.as_str()).or_insert_with(|| {
            stops.push(Vec::new());
            stops.len() - 1
        });
        stops[slot].push(i);
    }
    for units in &mut stops {
        units.sort_by_cached_key(|&i| unit_order(&doors[i].unit));
    }
    stops
}

/// Orders all doors as one walking route from `start`, a building being one stop with
/// its units inside, then cuts it into consecutive lists of at most `max_doors` doors,
/// as even as they come. A building is never cut across lists unless it alone holds
/// more doors than a list. Each later list starts at its own first door.
pub fn plan(
    doors: &[PlanDoor],
    start: (f64, f64),
    max_doors: usize,
    params: &RouteParams,
) -> Vec<PlannedList> {
    if doors.is_empty() {
        return Vec::new();
    }
    let max = max_doors.max(1);
    let groups = stops_of(doors);
    let stops: Vec<Stop> = groups
        .iter()
        .map(|units| {
            let d = &doors[units[0]];
            Stop {
                lat: d.lat,
                lng: d.lng,
                side: routing::side_of(&d.street, &d.housenumber),
            }
        })
        .collect();
    let route = routing::order_route(&stops, Some(start), params);
    // Pieces to cut between: each stop, or a building too big for one list in parts.
    let pieces: Vec<(usize, &[usize])> = route
        .order
        .iter()
        .flat_map(|&s| groups[s].chunks(max).map(move |part| (s, part)))
        .collect();
    let planned = doors.len().div_ceil(max);
    let mut remaining = doors.len();
    let mut lists = Vec::with_capacity(planned);
    let mut next = 0;
    while next < pieces.len() {
        let lists_left = planned
            .saturating_sub(lists.len())
            .max(remaining.div_ceil(max))
            .max(1);
        let target = remaining.div_ceil(lists_left);
        let mut list_doors: Vec<usize> = Vec::new();
        let mut list_stops: Vec<usize> = Vec::new();
        while let Some(&(stop, part)) = pieces.get(next) {
            let full = list_doors.len() >= target || list_doors.len() + part.len() > max;
            if !list_doors.is_empty() && full {
                break;
            }
            list_doors.extend_from_slice(part);
            if list_stops.last() != Some(&stop) {
                list_stops.push(stop);
            }
            next += 1;
        }
        remaining -= list_doors.len();
        let list_start = if lists.is_empty() {
            start
        } else {
            (stops[list_stops[0]].lat, stops[list_stops[0]].lng)
        };
        let distance_m = routing::path_length_m(&stops, Some(list_start), &list_stops);
        lists.push(PlannedList {
            walking_seconds: walking_seconds(distance_m, list_doors.len(), params),
            doors: list_doors,
            start: list_start,
            distance_m,
        });
    }
    lists
}

/// Walking time for a distance and a number of doors, by the route parameters.
pub fn walking_seconds(distance_m: f64, doors: usize, params: &RouteParams) -> f64 {
    let doors = u32::try_from(doors).unwrap_or(u32::MAX);
    distance_m / params.walking_speed_mps + f64::from(doors) * params.seconds_per_door
}

/// Where a route starts when the organizer gives no start: the point of the turf's
/// outline nearest the turf's centroid, where a canvasser would naturally walk in.
pub fn default_start(outline: &MultiPolygon) -> Option<(f64, f64)> {
    let centroid = outline.centroid()?;
    let mut best: Option<(f64, Point)> = None;
    for polygon in outline {
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            let candidate = match ring.closest_point(&centroid) {
                geo::Closest::Intersection(p) | geo::Closest::SinglePoint(p) => p,
                geo::Closest::Indeterminate => continue,
            };
            let d =
                routing::distance_m((centroid.y(), centroid.x()), (candidate.y(), candidate.x()));
            if best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, candidate));
            }
        }
    }
    best.map(|(_, p)| (p.y(), p.x()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(secs, 0)
            .map(|t| t.naive_utc())
            .unwrap_or_default()
    }

    #[test]
    fn status_follows_the_stored_facts_and_the_clock() {
        let base = ListState {
            state: Stored::Active,
            closed: false,
            expires_at: at(1000),
            assignee_count: 0,
            claimed_until: None,
            knocked_doors: 0,
        };
        assert_eq!(base.status(at(10)), Status::Open);
        let claimed = ListState {
            claimed_until: Some(at(100)),
            ..base
        };
        assert_eq!(claimed.status(at(10)), Status::Assigned);
        // A lapsed claim frees the list without any sweep.
        assert_eq!(claimed.status(at(101)), Status::Open);
        let assigned = ListState {
            assignee_count: 2,
            ..base
        };
        assert_eq!(assigned.status(at(10)), Status::Assigned);
        let knocked = ListState {
            knocked_doors: 1,
            ..assigned
        };
        assert_eq!(knocked.status(at(10)), Status::InProgress);
        assert_eq!(knocked.status(at(1000)), Status::Expired);
        let done = ListState {
            state: Stored::Done,
            ..knocked
        };
        assert_eq!(done.status(at(5000)), Status::Done);
        let closed = ListState {
            state: Stored::Expired,
            closed: true,
            ..knocked
        };
        assert_eq!(closed.status(at(10)), Status::Closed);
    }

    #[test]
    fn support_bands_cover_the_scale() {
        assert_eq!(support_band(None), "unknown");
        assert_eq!(support_band(Some(95.0)), "strong_support");
        assert_eq!(support_band(Some(60.0)), "lean_support");
        assert_eq!(support_band(Some(50.0)), "undecided");
        assert_eq!(support_band(Some(21.0)), "lean_oppose");
        assert_eq!(support_band(Some(0.0)), "strong_oppose");
    }

    #[test]
    fn plan_cuts_one_route_into_contiguous_lists() {
        // Twenty doors along a line: any sensible route walks them in line order, and
        // the cut lists are consecutive stretches of it.
        let doors: Vec<PlanDoor> = (0..20)
            .map(|i| PlanDoor {
                door_id: i,
                lat: 47.0,
                lng: 9.5 + f64::from(u8::try_from(i).unwrap_or(0)) * 0.0005,
                street: "Line".into(),
                housenumber: format!("{}", 2 * i + 2),
                building: format!("line {}", 2 * i + 2),
                unit: String::new(),
                people: vec![i],
            })
            .collect();
        let lists = plan(&doors, (47.0, 9.4999), 8, &RouteParams::default());
        // Three lists of at most 8, as even as they come.
        assert_eq!(
            lists.iter().map(|l| l.doors.len()).collect::<Vec<_>>(),
            vec![7, 7, 6]
        );
        let walked: Vec<usize> = lists.iter().flat_map(|l| l.doors.clone()).collect();
        assert_eq!(walked, (0..20).collect::<Vec<_>>());
        assert_eq!(lists[1].start, (doors[7].lat, doors[7].lng));
        assert!(lists.iter().all(|l| l.distance_m > 0.0));
        assert!(plan(&[], (47.0, 9.5), 8, &RouteParams::default()).is_empty());
    }

    #[test]
    fn a_building_is_one_stop_with_its_units_by_floor() {
        let door = |id: i64, lng: f64, building: &str, unit: &str| PlanDoor {
            door_id: id,
            lat: 47.0,
            lng,
            street: "Line".into(),
            housenumber: building.into(),
            building: building.into(),
            unit: unit.into(),
            people: vec![id],
        };
        // A house, a six-unit building given out of order, another house beyond it.
        let doors = vec![
            door(0, 9.5000, "2", ""),
            door(1, 9.5010, "4", "3 OG"),
            door(2, 9.5010, "4", "EG links"),
            door(3, 9.5010, "4", "1. OG"),
            door(4, 9.5010, "4", "EG rechts"),
            door(5, 9.5010, "4", "2 OG"),
            door(6, 9.5010, "4", "Dach"),
            door(7, 9.5020, "6", ""),
        ];
        let lists = plan(&doors, (47.0, 9.4999), 10, &RouteParams::default());
        assert_eq!(lists.len(), 1);
        let ids: Vec<i64> = lists[0].doors.iter().map(|&i| doors[i].door_id).collect();
        // Ground floor first (by name within it), up the stairs, the unknown floor last.
        assert_eq!(ids, vec![0, 2, 4, 3, 5, 1, 6, 7]);
        // One stop: the building's units add no walking between them.
        let apart = plan(
            &doors
                .iter()
                .map(|d| PlanDoor {
                    building: format!("{}/{}", d.building, d.unit),
                    ..d.clone()
                })
                .collect::<Vec<_>>(),
            (47.0, 9.4999),
            10,
            &RouteParams::default(),
        );
        assert!((lists[0].distance_m - apart[0].distance_m).abs() < 1e-6);
        // Lists of at most four never cut the building: 1 | 6 split as 4 + 2 only
        // because it alone is larger than a list | 1.
        let small = plan(&doors, (47.0, 9.4999), 4, &RouteParams::default());
        let sizes: Vec<usize> = small.iter().map(|l| l.doors.len()).collect();
        assert_eq!(sizes.iter().sum::<usize>(), 8);
        assert!(sizes.iter().all(|&n| n <= 4), "{sizes:?}");
        let buildings_per_list: Vec<Vec<&str>> = small
            .iter()
            .map(|l| {
                l.doors
                    .iter()
                    .map(|&i| doors[i].building.as_str())
                    .collect()
            })
            .collect();
        let lists_with_house_4 = buildings_per_list
            .iter()
            .filter(|b| b.contains(&"4"))
            .count();
        assert_eq!(lists_with_house_4, 2, "{buildings_per_list:?}");
    }

    #[test]
    fn floors_are_read_from_unit_names() {
        for (unit, floor) in [
            ("EG", Some(0)),
            ("Erdgeschoss links", Some(0)),
            ("Ground floor", Some(0)),
            ("UG", Some(-1)),
            ("2 OG", Some(2)),
            ("OG 2", Some(2)),
            ("2. Stock", Some(2)),
            ("3rd floor", Some(3)),
            ("Floor 12", Some(12)),
            ("Apt 312", Some(3)),
            ("1204", Some(12)),
            ("3B", Some(3)),
            ("Apt 7", None),
            ("Dach", None),
            ("", None),
        ] {
            assert_eq!(floor_of(unit), floor, "{unit:?}");
        }
    }

    #[test]
    fn default_start_lies_on_the_outline() {
        use geo::{LineString, Polygon};
        let square = Polygon::new(
            LineString::from(vec![(9.0, 47.0), (9.02, 47.0), (9.02, 47.01), (9.0, 47.01)]),
            vec![],
        );
        let start = default_start(&MultiPolygon(vec![square]));
        let Some((lat, lng)) = start else {
            panic!("a square has an outline")
        };
        // The square is wider than tall: the nearest edge to the centre is top or bottom.
        assert!((lng - 9.01).abs() < 1e-9);
        assert!((lat - 47.0).abs() < 1e-9 || (lat - 47.01).abs() < 1e-9);
    }
}
