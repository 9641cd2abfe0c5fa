//! Walk lists as plain rules: who is in the universe, how a list's doors are cut from
//! one walking route, what status a list shows, and how a score reads to a canvasser.
//! No actix, no diesel: the store hands in rows, the handlers hand out views.

pub mod universe;

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

/// The stored facts a status is derived from.
#[derive(Debug, Clone, Copy)]
pub struct ListState<'a> {
    /// `active`, `done` or `expired` as stored.
    pub state: &'a str,
    /// Whether an organizer closed it (stored as expired).
    pub closed: bool,
    pub expires_at: NaiveDateTime,
    pub assignee_count: i64,
    pub claimed_until: Option<NaiveDateTime>,
    pub knocked_doors: i64,
}

impl ListState<'_> {
    pub fn claim_active(&self, now: NaiveDateTime) -> bool {
        self.claimed_until.is_some_and(|until| until > now)
    }

    pub fn status(&self, now: NaiveDateTime) -> Status {
        match self.state {
            _ if self.closed => Status::Closed,
            "done" => Status::Done,
            "expired" => Status::Expired,
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

/// Orders all doors as one walking route from `start`, then cuts it into consecutive
/// lists of at most `max_doors`. Each later list starts at its own first door.
pub fn plan(
    doors: &[PlanDoor],
    start: (f64, f64),
    max_doors: usize,
    params: &RouteParams,
) -> Vec<PlannedList> {
    if doors.is_empty() {
        return Vec::new();
    }
    let stops: Vec<Stop> = doors
        .iter()
        .map(|d| Stop {
            lat: d.lat,
            lng: d.lng,
            side: routing::side_of(&d.street, &d.housenumber),
        })
        .collect();
    let route = routing::order_route(&stops, Some(start), params);
    routing::split_route(route.order.len(), max_doors.max(1))
        .into_iter()
        .map(|range| {
            let order = &route.order[range.clone()];
            let chunk_start = if range.start == 0 {
                start
            } else {
                order
                    .first()
                    .map(|&i| (stops[i].lat, stops[i].lng))
                    .unwrap_or(start)
            };
            let distance_m = routing::path_length_m(&stops, Some(chunk_start), order);
            PlannedList {
                doors: order.to_vec(),
                start: chunk_start,
                distance_m,
                walking_seconds: walking_seconds(distance_m, order.len(), params),
            }
        })
        .collect()
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
            state: "active",
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
            state: "done",
            ..knocked
        };
        assert_eq!(done.status(at(5000)), Status::Done);
        let closed = ListState {
            state: "expired",
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
