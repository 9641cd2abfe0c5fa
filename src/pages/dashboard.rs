//! The director's dashboard at `/`: a map drawn by the server (region boundaries, turf
//! outlines, hexagons coloured by doors knocked or contact rate) beside the progress
//! table of the chosen scope, goals and pace, quality flags and the leaderboard.
//!
//! Every figure is read through the functions `GET /api/v1/progress`, `/heatmap`,
//! `/goals`, `/quality-flags` and `/leaderboard` use, with the same scope rules, so
//! the page and the API agree. `?fragment=1` answers the live part alone: the page's
//! script (`/static/dashboard.js`) swaps it in every minute, without a reload.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use geo::{Contains, MultiPolygon, Point, Simplify};
use h3o::{CellIndex, LatLng, Resolution};
use serde_json::Value;

use super::map::{self, BBox, LegendClass, Projection};
use super::session::PageUser;
use super::{PageError, render, run};
use crate::app::progress::{self as figures, Leader, Row, Window};
use crate::app::{self, Actor, goals::Standing};
use crate::db::progress::{Figures, Filter, GroupBy};
use crate::db::{self, DbConnection, regions::Region, turfs::Turf};
use crate::domain::{PageRequest, When};
use crate::error::ApiError;
use crate::spatial::tiling;
use crate::state::AppState;

/// Most turfs whose outlines one map draws.
const MAX_DRAWN_TURFS: usize = 500;
/// Most regions whose boundaries one map draws.
const MAX_DRAWN_REGIONS: usize = 100;
/// Width of the map's view box.
const MAP_WIDTH: f64 = 640.0;

/// What the hexagons are coloured by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Colour {
    Doors,
    Rate,
}

/// The scope and view asked for in the query string (the form's fields; empty ones
/// are left out, so a form sent with blanks works).
#[derive(Debug, Clone)]
struct Scope {
    group: &'static str,
    region_id: Option<i64>,
    turf_id: Option<i64>,
    from: Option<(String, When)>,
    to: Option<(String, When)>,
    colour: Colour,
    fragment: bool,
}

const GROUPS: [(&str, &str); 4] = [
    ("region", "Region"),
    ("turf", "Turf"),
    ("volunteer", "Volunteer"),
    ("day", "Day"),
];

fn parse_scope(q: &HashMap<String, String>) -> Result<Scope, ApiError> {
    let given = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let id = |k: &str| -> Result<Option<i64>, ApiError> {
        given(k)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| ApiError::validation(k, format!("{k} must be a number")))
            })
            .transpose()
    };
    let when = |k: &str| -> Result<Option<(String, When)>, ApiError> {
        given(k)
            .map(|v| {
                When::parse(v)
                    .map(|w| (v.to_owned(), w))
                    .ok_or_else(|| ApiError::validation(k, format!("{k} must be a date")))
            })
            .transpose()
    };
    let group = match given("group_by") {
        None => "turf",
        Some(g) => GROUPS
            .iter()
            .map(|(k, _)| *k)
            .find(|k| *k == g)
            .ok_or_else(|| {
                ApiError::validation("group_by", "group_by is region, turf, volunteer or day")
            })?,
    };
    Ok(Scope {
        group,
        region_id: id("region_id")?,
        turf_id: id("turf_id")?,
        from: when("from")?,
        to: when("to")?,
        colour: if given("color") == Some("rate") {
            Colour::Rate
        } else {
            Colour::Doors
        },
        fragment: given("fragment") == Some("1"),
    })
}

impl Scope {
    fn filter(&self) -> (Filter, Window) {
        (
            Filter {
                region_id: self.region_id,
                turf_id: self.turf_id,
                ..Filter::default()
            },
            Window {
                from: self.from.as_ref().map(|(_, w)| *w),
                to: self.to.as_ref().map(|(_, w)| *w),
            },
        )
    }

    /// This scope's query string with some keys changed (a link in the table).
    fn link(&self, changes: &[(&str, Option<String>)]) -> String {
        let mut pairs: Vec<(&str, String)> = vec![("group_by", self.group.to_owned())];
        if let Some(r) = self.region_id {
            pairs.push(("region_id", r.to_string()));
        }
        if let Some(t) = self.turf_id {
            pairs.push(("turf_id", t.to_string()));
        }
        if let Some((text, _)) = &self.from {
            pairs.push(("from", text.clone()));
        }
        if let Some((text, _)) = &self.to {
            pairs.push(("to", text.clone()));
        }
        if self.colour == Colour::Rate {
            pairs.push(("color", "rate".into()));
        }
        for (key, value) in changes {
            pairs.retain(|(k, _)| k != key);
            if let Some(v) = value {
                pairs.push((key, v.clone()));
            }
        }
        let query: Vec<String> = pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={}", super::session::encode_component(&v)))
            .collect();
        format!("/?{}", query.join("&"))
    }
}

/// What the store gave for one dashboard.
struct Gathered {
    zone: String,
    rows: Vec<Row>,
    totals: Option<Row>,
    goals: Vec<Standing>,
    flags: Value,
    leaders: Vec<Leader>,
    regions: Vec<Region>,
    scoped_region: Option<i64>,
    areas: Vec<(i64, String, MultiPolygon)>,
    turfs: Vec<Turf>,
    too_many_turfs: bool,
    turf_cells: BTreeMap<i64, Vec<CellIndex>>,
    resolution: u8,
    cells: Vec<(CellIndex, Figures)>,
}

/// A region's stored area as polygons (none for a region without one).
fn area(
    conn: &mut DbConnection,
    campaign_id: i64,
    id: i64,
) -> Result<Option<MultiPolygon>, ApiError> {
    let Some(text) = db::regions::area_of(conn, campaign_id, id)?.flatten() else {
        return Ok(None);
    };
    let geometry: geojson::Geometry = serde_json::from_str(&text)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored region area: {e}")))?;
    let limits = tiling::AreaLimits {
        max_vertices: usize::MAX,
        max_cells: 0,
    };
    Ok(tiling::parse_area(&geometry.value, &limits).ok())
}

fn gather(conn: &mut DbConnection, user: &PageUser, scope: &Scope) -> Result<Gathered, ApiError> {
    let auth = &user.auth;
    let actor = Actor::from(auth);
    let (filter, window) = scope.filter();
    let group = figures::group_by(scope.group, 8)?;
    let (rows, zone) = figures::rows(conn, actor, group, filter, window)?;
    let (totals, _) = figures::rows(conn, actor, GroupBy::Campaign, filter, window)?;
    let goals = app::goals::list(conn, Actor::from(auth), None, 50)?;
    let flags = figures::flags(conn, actor, filter, window)?;
    let (leaders, _, _) = figures::leaders(conn, actor)?;

    // The map's extent: the scope's turfs and region boundaries.
    let scoped = figures::scoped_filter(conn, actor, filter)?;
    // Staff bound to a region choose only it.
    let own_region = figures::scoped_filter(conn, actor, Filter::default())?.region_id;
    let all_regions = db::regions::list(
        conn,
        auth.campaign_id,
        &PageRequest {
            limit: 1000,
            after: None,
        },
    )?;
    let mut areas = Vec::new();
    for region in all_regions
        .iter()
        .filter(|r| r.has_area && scoped.region_id.is_none_or(|id| id == r.id))
        .take(MAX_DRAWN_REGIONS)
    {
        if let Some(a) = area(conn, auth.campaign_id, region.id)? {
            areas.push((region.id, region.name.clone(), a));
        }
    }
    let mut turfs = match scope.turf_id {
        Some(id) => db::turfs::get(conn, auth.campaign_id, id)?
            .into_iter()
            .collect(),
        None => db::turfs::all(
            conn,
            auth.campaign_id,
            scoped.region_id,
            i64::try_from(MAX_DRAWN_TURFS).unwrap_or(500) + 1,
        )?,
    };
    // Staff bound to a region see only its turfs.
    if let Some(region) = scoped.region_id {
        turfs.retain(|t| t.region_id == Some(region));
    }
    let too_many_turfs = turfs.len() > MAX_DRAWN_TURFS;
    turfs.truncate(MAX_DRAWN_TURFS);
    let turf_ids: Vec<i64> = turfs.iter().map(|t| t.id).collect();
    let turf_cells = db::turfs::cells_of_turfs(conn, auth.campaign_id, &turf_ids)?;
    let regions_drawn: Vec<(i64, String, MultiPolygon)> = if scope.turf_id.is_some() {
        Vec::new()
    } else {
        areas
    };

    let extent = frame(&turfs, std::iter::empty(), &regions_drawn);
    // A single turf may be drawn finer, the tallies' resolution elsewhere.
    let finest = if scope.turf_id.is_some() { 10 } else { 9 };
    let mut resolution = extent.map_or(8, |b| map::choose_resolution(b, finest));
    let mut cells = figures::cell_figures(conn, actor, resolution, filter, window)?;
    while cells.len() > map::MAX_HEXAGONS && resolution > 5 {
        resolution -= 1;
        cells = figures::cell_figures(conn, actor, resolution, filter, window)?;
    }
    Ok(Gathered {
        zone: zone.name().to_owned(),
        rows,
        totals: totals.into_iter().next(),
        goals,
        flags,
        leaders,
        regions: all_regions
            .into_iter()
            .filter(|r| own_region.is_none_or(|id| id == r.id))
            .collect(),
        scoped_region: scoped.region_id,
        areas: regions_drawn,
        turfs,
        too_many_turfs,
        turf_cells,
        resolution,
        cells,
    })
}

/// What the map frames: the work (turfs and hexagons with knocks); region boundaries,
/// which may have far-off exclaves, only when there is no turf and no knock yet, and
/// are otherwise drawn as context, cut at the view's edges.
fn frame<'a>(
    turfs: &[Turf],
    hexagons: impl Iterator<Item = &'a MultiPolygon>,
    areas: &[(i64, String, MultiPolygon)],
) -> Option<BBox> {
    let mut extent: Option<BBox> = None;
    for t in turfs {
        extent = Some(map::union(
            extent,
            [t.min_lng, t.min_lat, t.max_lng, t.max_lat],
        ));
    }
    for p in hexagons {
        if let Some(b) = map::bbox_of(p) {
            extent = Some(map::union(extent, b));
        }
    }
    if extent.is_none() {
        for (_, _, a) in areas {
            if let Some(b) = map::bbox_of(a) {
                extent = Some(map::union(extent, b));
            }
        }
    }
    extent
}

/// A shape on the map: path data, its name for the title, where a click goes.
pub struct Shape {
    pub d: String,
    pub title: String,
    pub href: Option<String>,
}

/// A hexagon on the map.
pub struct Hex {
    pub d: String,
    pub fill: &'static str,
    pub title: String,
}

/// A row of the table under the map: the busiest hexagons, in words.
pub struct HexRow {
    pub place: String,
    pub doors: i64,
    pub contacts: i64,
    pub attempts: i64,
    pub rate: String,
}

/// The map, ready to draw.
pub struct MapView {
    pub view_box: String,
    pub regions: Vec<Shape>,
    pub turfs: Vec<Shape>,
    pub hexes: Vec<Hex>,
    pub legend: Vec<LegendClass>,
    pub legend_title: &'static str,
    pub resolution: u8,
    pub note: Option<String>,
    pub busiest: Vec<HexRow>,
    pub description: String,
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "–".to_owned(), |r| format!("{:.0} %", r * 100.0))
}

fn rate_of(f: &Figures) -> Option<f64> {
    (f.attempts > 0).then(|| f.contacts as f64 / f.attempts as f64)
}

/// Draws the map (on a compute lane: outlines are dissolved from cells).
fn draw(g: &Gathered, colour: Colour, link: &dyn Fn(i64) -> String) -> MapView {
    // Where each hexagon is: the turf holding its centre, else the region.
    let mut turf_of_cell: HashMap<CellIndex, usize> = HashMap::new();
    let mut turf_resolutions: Vec<Resolution> = Vec::new();
    for (i, t) in g.turfs.iter().enumerate() {
        for c in g.turf_cells.get(&t.id).into_iter().flatten() {
            turf_of_cell.insert(*c, i);
            if !turf_resolutions.contains(&c.resolution()) {
                turf_resolutions.push(c.resolution());
            }
        }
    }
    let place = |cell: CellIndex| -> String {
        let centre = LatLng::from(cell);
        let turf = turf_resolutions
            .iter()
            .find_map(|r| turf_of_cell.get(&centre.to_cell(*r)))
            .and_then(|i| g.turfs.get(*i));
        let point = Point::new(centre.lng(), centre.lat());
        let region = g
            .areas
            .iter()
            .find(|(_, _, a)| a.contains(&point))
            .map(|(_, name, _)| name.clone());
        match (turf, region) {
            (Some(t), Some(r)) => format!("{} ({r})", t.name),
            (Some(t), None) => t.name.clone(),
            (None, Some(r)) => r,
            (None, None) => "Outside the drawn turfs".to_owned(),
        }
    };

    let hex_polygons: Vec<(CellIndex, &Figures, MultiPolygon)> = g
        .cells
        .iter()
        .map(|(c, f)| (*c, f, tiling::cell_polygon(*c)))
        .collect();
    let extent = frame(&g.turfs, hex_polygons.iter().map(|(_, _, p)| p), &g.areas);
    let extent = extent.unwrap_or([9.47, 47.04, 9.64, 47.27]);
    let projection = Projection::fit(extent, MAP_WIDTH, 720.0, 12.0);
    // Boundaries are simplified to about half a unit of the view.
    let epsilon = projection.degrees_per_unit() * 0.5;

    let regions = g
        .areas
        .iter()
        .map(|(id, name, a)| Shape {
            d: projection.path(&a.simplify(epsilon)),
            title: format!("Region {name}"),
            href: Some(link(*id)),
        })
        .collect();
    let turfs = g
        .turfs
        .iter()
        .filter_map(|t| {
            let cells = g.turf_cells.get(&t.id)?;
            let outline = tiling::outline(cells);
            Some(Shape {
                d: projection.path(&outline.simplify(epsilon)),
                title: format!("Turf {}", t.name),
                href: Some(format!("/?group_by=day&turf_id={}", t.id)),
            })
        })
        .collect();
    let max_doors = g
        .cells
        .iter()
        .map(|(_, f)| f.doors_knocked)
        .max()
        .unwrap_or(0);
    let hexes = hex_polygons
        .iter()
        .map(|(cell, f, polygon)| {
            let class = match colour {
                Colour::Doors => map::count_class(f.doors_knocked, max_doors),
                Colour::Rate => map::rate_class(rate_of(f).unwrap_or(0.0)),
            };
            Hex {
                d: projection.path(polygon),
                fill: map::PALETTE[class],
                title: format!(
                    "{}: {} doors knocked, {} contacts in {} attempts (contact rate {})",
                    place(*cell),
                    f.doors_knocked,
                    f.contacts,
                    f.attempts,
                    percent(rate_of(f))
                ),
            }
        })
        .collect();
    let mut busiest: Vec<&(CellIndex, Figures)> = g.cells.iter().collect();
    busiest.sort_by_key(|(c, f)| (std::cmp::Reverse(f.doors_knocked), *c));
    let busiest = busiest
        .into_iter()
        .take(15)
        .map(|(c, f)| HexRow {
            place: place(*c),
            doors: f.doors_knocked,
            contacts: f.contacts,
            attempts: f.attempts,
            rate: percent(rate_of(f)),
        })
        .collect();
    let (legend, legend_title) = match colour {
        Colour::Doors => (map::count_legend(max_doors), "Doors knocked per hexagon"),
        Colour::Rate => (map::rate_legend(), "Contact rate per hexagon"),
    };
    let note = g.too_many_turfs.then(|| {
        format!("Only the first {MAX_DRAWN_TURFS} turfs are outlined; choose a region to see all of its turfs.")
    });
    MapView {
        view_box: projection.view_box(),
        description: format!(
            "{} hexagons with knocks, {} turf outlines, {} region boundaries.",
            g.cells.len(),
            g.turfs.len(),
            g.areas.len()
        ),
        regions,
        turfs,
        hexes,
        legend,
        legend_title,
        resolution: g.resolution,
        note,
        busiest,
    }
}

/// A row of the progress table, as shown.
pub struct TableRow {
    pub key: String,
    pub name: String,
    pub href: Option<String>,
    pub attempts: i64,
    pub doors: i64,
    pub contacts: i64,
    pub rate: String,
    pub remaining: String,
    pub pace: String,
}

fn table_row(r: &Row, scope: &Scope) -> TableRow {
    let key = match &r.key {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let id = r.key.as_i64();
    let href = match (scope.group, id) {
        ("region", Some(id)) => Some(scope.link(&[
            ("region_id", Some(id.to_string())),
            ("turf_id", None),
            ("group_by", Some("turf".into())),
        ])),
        ("turf", Some(id)) => Some(scope.link(&[
            ("turf_id", Some(id.to_string())),
            ("group_by", Some("day".into())),
        ])),
        _ => None,
    };
    let name = match (&r.name, scope.group) {
        (Some(n), _) => n.clone(),
        (None, "day") => key.clone(),
        (None, _) if key.is_empty() => "(none)".into(),
        (None, _) => format!("#{key}"),
    };
    TableRow {
        key,
        name,
        href,
        attempts: r.attempts,
        doors: r.doors_knocked,
        contacts: r.contacts,
        rate: percent(r.contact_rate),
        remaining: r
            .doors_remaining
            .map_or_else(|| "–".to_owned(), |n| n.to_string()),
        pace: r
            .pace_per_hour
            .map_or_else(|| "–".to_owned(), |p| format!("{p:.1}")),
    }
}

/// A goal, as shown.
pub struct GoalRow {
    pub what: String,
    pub dates: String,
    pub target: i64,
    pub done: i64,
    pub remaining: i64,
    pub achieved: String,
    pub needed: String,
    pub verdict: &'static str,
    pub on_track: bool,
}

fn goal_row(s: &Standing, region_names: &HashMap<i64, String>) -> GoalRow {
    let g = &s.goal;
    let p = &s.pace;
    let per_day = |x: Option<f64>| x.map_or_else(|| "–".to_owned(), |v| format!("{v:.1}"));
    let place = g.region_id.map_or_else(
        || "the campaign".to_owned(),
        |r| {
            region_names
                .get(&r)
                .cloned()
                .unwrap_or_else(|| format!("region {r}"))
        },
    );
    GoalRow {
        what: format!("{} in {place}", g.metric),
        dates: format!("{} to {}", g.starts_on, g.ends_on),
        target: g.target,
        done: p.done,
        remaining: p.remaining,
        achieved: per_day(p.achieved_per_day),
        needed: per_day(p.needed_per_day),
        verdict: if p.on_track { "On track" } else { "Behind" },
        on_track: p.on_track,
    }
}

/// One quality flag, in words.
pub struct FlagRow {
    pub kind: &'static str,
    pub who: String,
    pub what: String,
}

fn flag_rows(flags: &Value) -> Vec<FlagRow> {
    let name = |v: &Value| {
        v["user_name"]
            .as_str()
            .map_or_else(|| format!("user {}", v["user_id"]), str::to_owned)
    };
    let list = |k: &str| flags[k].as_array().cloned().unwrap_or_default();
    let mut out = Vec::new();
    for f in list("far_from_door") {
        out.push(FlagRow {
            kind: "Far from the door",
            who: name(&f),
            what: format!(
                "{} m from {} ({}), {}",
                f["distance_m"],
                f["address"].as_str().unwrap_or("a door"),
                f["location_quality"].as_str().unwrap_or(""),
                f["knocked_at"].as_str().unwrap_or("")
            ),
        });
    }
    for f in list("too_many_doors_per_hour") {
        out.push(FlagRow {
            kind: "Too many doors in an hour",
            who: name(&f),
            what: format!(
                "{} doors in the hour from {}",
                f["doors"],
                f["hour"].as_str().unwrap_or("")
            ),
        });
    }
    for f in list("unusual_contact_rates") {
        let pct = |k: &str| format!("{:.0} %", f[k].as_f64().unwrap_or(0.0) * 100.0);
        out.push(FlagRow {
            kind: "Unusual contact rate",
            who: name(&f),
            what: format!(
                "{} over {} attempts; the others {}",
                pct("contact_rate"),
                f["attempts"],
                pct("others_rate")
            ),
        });
    }
    out
}

/// The live part: swapped in every minute.
#[derive(Template)]
#[template(path = "dashboard_live.html")]
struct Live {
    group_label: &'static str,
    zone: String,
    updated: String,
    totals: Option<TableRow>,
    map: MapView,
    rows: Vec<TableRow>,
    goals: Vec<GoalRow>,
    flags: Vec<FlagRow>,
    leaders: Vec<Leader>,
    rate_link: String,
    doors_link: String,
    colour_rate: bool,
}

/// A choice in a select.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    title: &'static str,
    csrf: String,
    groups: Vec<Choice>,
    regions: Vec<Choice>,
    turfs: Vec<Choice>,
    from: String,
    to: String,
    colour_rate: bool,
    live: String,
}

/// `GET /`: the dashboard (organizers and up: the API lets them read progress and
/// goals too). `?fragment=1` is the live part alone.
pub async fn dashboard(
    state: web::Data<AppState>,
    user: PageUser,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    user.staff()?;
    let scope = parse_scope(&query)?;
    let (u, s) = (user.clone(), scope.clone());
    let gathered = run(&state.db, move |conn| gather(conn, &u, &s)).await?;
    let s = scope.clone();
    let (mut gathered, map) = crate::lanes::compute(move || {
        let link = |region: i64| {
            s.link(&[
                ("region_id", Some(region.to_string())),
                ("turf_id", None),
                ("group_by", Some("turf".into())),
            ])
        };
        let map = draw(&gathered, s.colour, &link);
        (gathered, map)
    })
    .await
    .map_err(ApiError::Internal)?;
    let live = live_part(&mut gathered, map, &scope);
    if scope.fragment {
        let mut response = render(StatusCode::OK, &live)?;
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("x-groundswell-fragment"),
            actix_web::http::header::HeaderValue::from_static("1"),
        );
        return Ok(response);
    }
    let live = live
        .render()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("rendering the dashboard: {e}")))?;
    render(StatusCode::OK, &whole_page(&user, &gathered, &scope, live))
}

/// The live part from what was gathered (it takes the leaderboard).
fn live_part(gathered: &mut Gathered, map: MapView, scope: &Scope) -> Live {
    let region_names: HashMap<i64, String> = gathered
        .regions
        .iter()
        .map(|r| (r.id, r.name.clone()))
        .collect();
    Live {
        group_label: GROUPS
            .iter()
            .find(|(k, _)| *k == scope.group)
            .map_or("Turf", |(_, l)| l),
        zone: gathered.zone.clone(),
        updated: chrono::Utc::now().format("%H:%M:%S UTC").to_string(),
        totals: gathered.totals.as_ref().map(|t| table_row(t, scope)),
        map,
        rows: gathered.rows.iter().map(|r| table_row(r, scope)).collect(),
        goals: gathered
            .goals
            .iter()
            .filter(|g| {
                gathered.scoped_region.is_none()
                    || g.goal.region_id.is_none()
                    || g.goal.region_id == gathered.scoped_region
            })
            .map(|g| goal_row(g, &region_names))
            .collect(),
        flags: flag_rows(&gathered.flags),
        leaders: std::mem::take(&mut gathered.leaders)
            .into_iter()
            .take(10)
            .collect(),
        rate_link: scope.link(&[("color", Some("rate".into()))]),
        doors_link: scope.link(&[("color", None)]),
        colour_rate: scope.colour == Colour::Rate,
    }
}

/// The whole page around the rendered live part: the scope's form and choices.
fn whole_page(user: &PageUser, gathered: &Gathered, scope: &Scope, live: String) -> Dashboard {
    let choice = |value: String, label: &str, selected: bool| Choice {
        value,
        label: label.to_owned(),
        selected,
    };
    Dashboard {
        title: "Dashboard",
        csrf: user.csrf.clone(),
        groups: GROUPS
            .iter()
            .map(|(k, l)| choice((*k).to_owned(), l, *k == scope.group))
            .collect(),
        regions: gathered
            .regions
            .iter()
            .map(|r| choice(r.id.to_string(), &r.name, scope.region_id == Some(r.id)))
            .collect(),
        turfs: gathered
            .turfs
            .iter()
            .map(|t| choice(t.id.to_string(), &t.name, scope.turf_id == Some(t.id)))
            .collect(),
        from: scope
            .from
            .as_ref()
            .map(|(t, _)| t.clone())
            .unwrap_or_default(),
        to: scope
            .to
            .as_ref()
            .map(|(t, _)| t.clone())
            .unwrap_or_default(),
        colour_rate: scope.colour == Colour::Rate,
        live,
    }
}
