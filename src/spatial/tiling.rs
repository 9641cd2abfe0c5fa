//! Drawn turf: a GeoJSON Polygon or MultiPolygon, checked, turned into H3 cells, and
//! cells turned back into an outline for maps.

use geo::{BoundingRect, Coord, Intersects, Line, LineString, MultiPolygon, Polygon};
use geojson::GeometryValue;
use h3o::geom::{ContainmentMode, SolventBuilder, TilerBuilder};
use h3o::{CellIndex, Resolution};

/// Caps on what one area may cost, so that no request can hang or exhaust memory.
#[derive(Debug, Clone, Copy)]
pub struct AreaLimits {
    /// Vertices over all rings of the geometry.
    pub max_vertices: usize,
    /// Cells the area may produce at the asked resolution.
    pub max_cells: usize,
}

impl Default for AreaLimits {
    fn default() -> Self {
        AreaLimits {
            max_vertices: 20_000,
            max_cells: 100_000,
        }
    }
}

/// Why an area was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AreaError {
    /// Not a usable polygon: wrong type, open or short ring, bad coordinate, self-intersection.
    #[error("{0}")]
    Invalid(String),
    #[error("the geometry has {count} vertices; the limit is {limit}")]
    TooManyVertices { count: usize, limit: usize },
    #[error(
        "the area would produce about {estimate} cells at resolution {resolution}; the limit is {limit}"
    )]
    TooManyCells {
        estimate: usize,
        resolution: u8,
        limit: usize,
    },
}

fn invalid(message: impl Into<String>) -> AreaError {
    AreaError::Invalid(message.into())
}

/// Checks a GeoJSON geometry and turns it into a polygon set (x = lng, y = lat, degrees).
///
/// RFC 7946 rules are enforced: positions are `[lng, lat]` within range, every ring is
/// closed and has at least four positions, and no ring crosses itself. Ring orientation
/// is not required (older tools get it wrong); holes are honoured either way.
pub fn parse_area(
    geometry: &GeometryValue,
    limits: &AreaLimits,
) -> Result<MultiPolygon, AreaError> {
    let polygons: Vec<&Vec<Vec<geojson::Position>>> = match geometry {
        GeometryValue::Polygon { coordinates } => vec![coordinates],
        GeometryValue::MultiPolygon { coordinates } => coordinates.iter().collect(),
        other => {
            return Err(invalid(format!(
                "geometry must be a Polygon or MultiPolygon, not a {}",
                other.type_name()
            )));
        }
    };
    if polygons.is_empty() {
        return Err(invalid("the MultiPolygon has no polygons"));
    }
    let count: usize = polygons.iter().flat_map(|p| p.iter()).map(Vec::len).sum();
    if count > limits.max_vertices {
        return Err(AreaError::TooManyVertices {
            count,
            limit: limits.max_vertices,
        });
    }
    let mut out = Vec::with_capacity(polygons.len());
    for (p, rings) in polygons.iter().enumerate() {
        let Some((exterior, holes)) = rings.split_first() else {
            return Err(invalid(format!("polygon {p} has no rings")));
        };
        let exterior = ring(exterior, p, 0)?;
        let holes = holes
            .iter()
            .enumerate()
            .map(|(r, h)| ring(h, p, r + 1))
            .collect::<Result<Vec<_>, _>>()?;
        out.push(Polygon::new(exterior, holes));
    }
    Ok(MultiPolygon(out))
}

fn ring(
    positions: &[geojson::Position],
    polygon: usize,
    index: usize,
) -> Result<LineString, AreaError> {
    let at = || format!("polygon {polygon}, ring {index}");
    if positions.len() < 4 {
        return Err(invalid(format!(
            "{}: a ring needs at least 4 positions",
            at()
        )));
    }
    let mut coords = Vec::with_capacity(positions.len());
    for (i, position) in positions.iter().enumerate() {
        let xy = position.as_slice();
        let (Some(&lng), Some(&lat)) = (xy.first(), xy.get(1)) else {
            return Err(invalid(format!("{}, position {i}: needs [lng, lat]", at())));
        };
        if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
            return Err(invalid(format!(
                "{}, position {i}: longitude {lng} is outside -180..180",
                at()
            )));
        }
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(invalid(format!(
                "{}, position {i}: latitude {lat} is outside -90..90",
                at()
            )));
        }
        coords.push(Coord { x: lng, y: lat });
    }
    if coords.first() != coords.last() {
        return Err(invalid(format!(
            "{}: the ring is not closed (first and last positions differ)",
            at()
        )));
    }
    let ring = LineString(coords);
    if let Some((a, b)) = self_intersection(&ring) {
        return Err(invalid(format!(
            "{}: the ring crosses itself (segments {a} and {b})",
            at()
        )));
    }
    Ok(ring)
}

/// The first two segments of a closed ring that touch other than where consecutive
/// segments meet, if any.
///
/// A sweep along x: segments are sorted by their left end and each is tested only
/// against the segments whose x-extent it overlaps, so ordinary outlines cost
/// O(n log n) rather than the O(n²) of testing every pair.
fn self_intersection(ring: &LineString) -> Option<(usize, usize)> {
    let lines: Vec<Line> = ring.lines().collect();
    let n = lines.len();
    let mut order: Vec<usize> = (0..n).collect();
    let min_x = |l: &Line| l.start.x.min(l.end.x);
    let max_x = |l: &Line| l.start.x.max(l.end.x);
    order.sort_by(|&a, &b| min_x(&lines[a]).total_cmp(&min_x(&lines[b])));
    let mut active: Vec<usize> = Vec::new();
    for &i in &order {
        let line = &lines[i];
        let left = min_x(line);
        active.retain(|&j| max_x(&lines[j]) >= left);
        for &j in &active {
            let adjacent = i.abs_diff(j) == 1 || i.abs_diff(j) == n - 1;
            let other = &lines[j];
            if adjacent {
                // Consecutive segments share one end; they may only overlap there.
                if collinear_overlap(line, other) {
                    return Some((i.min(j), i.max(j)));
                }
            } else if line.intersects(other) {
                return Some((i.min(j), i.max(j)));
            }
        }
        active.push(i);
    }
    None
}

/// Two consecutive segments folding back over each other (a spike).
fn collinear_overlap(a: &Line, b: &Line) -> bool {
    let cross =
        |o: Coord, p: Coord, q: Coord| (p.x - o.x) * (q.y - o.y) - (p.y - o.y) * (q.x - o.x);
    let (shared, a_far, b_far) = if a.end == b.start {
        (a.end, a.start, b.end)
    } else if b.end == a.start {
        (a.start, a.end, b.start)
    } else {
        return a.intersects(b) && (a.start == b.start || a.end == b.end);
    };
    if cross(shared, a_far, b_far) != 0.0 {
        return false;
    }
    // Collinear: they overlap when both far ends lie on the same side of the shared point.
    let dot =
        (a_far.x - shared.x) * (b_far.x - shared.x) + (a_far.y - shared.y) * (b_far.y - shared.y);
    dot > 0.0
}

/// The cells of an area at a resolution: every cell whose centre lies inside (holes
/// excluded), sorted and without duplicates. Because a centre lies in at most one of two
/// polygons that do not overlap, adjacent areas never share a cell.
///
/// The count is estimated before any cell is produced, and an area above the limit is
/// refused without doing the work.
pub fn area_cells(
    area: &MultiPolygon,
    resolution: Resolution,
    limits: &AreaLimits,
) -> Result<Vec<CellIndex>, AreaError> {
    let mut tiler = TilerBuilder::new(resolution)
        .containment_mode(ContainmentMode::ContainsCentroid)
        .build();
    for polygon in &area.0 {
        tiler
            .add(polygon.clone())
            .map_err(|e| invalid(format!("the polygon cannot be tiled: {e}")))?;
    }
    let estimate = tiler.coverage_size_hint();
    // The hint is an upper estimate from bounding boxes; refuse only well past the limit
    // here and check the exact count below.
    if estimate > limits.max_cells.saturating_mul(4) {
        return Err(AreaError::TooManyCells {
            estimate,
            resolution: u8::from(resolution),
            limit: limits.max_cells,
        });
    }
    let mut cells: Vec<CellIndex> = tiler.into_coverage().collect();
    cells.sort_unstable();
    cells.dedup();
    if cells.len() > limits.max_cells {
        return Err(AreaError::TooManyCells {
            estimate: cells.len(),
            resolution: u8::from(resolution),
            limit: limits.max_cells,
        });
    }
    Ok(cells)
}

/// The outline of a set of cells of one resolution: holes and separate pieces kept.
pub fn outline(cells: &[CellIndex]) -> MultiPolygon {
    let mut unique = cells.to_vec();
    unique.sort_unstable();
    unique.dedup();
    SolventBuilder::new()
        .build()
        .dissolve(unique)
        .unwrap_or_else(|_| MultiPolygon(Vec::new()))
}

/// One cell's hexagon (or pentagon) as a polygon.
pub fn cell_polygon(cell: CellIndex) -> MultiPolygon {
    MultiPolygon::from(cell)
}

/// `[min_lng, min_lat, max_lng, max_lat]` of a set of cells, as GeoJSON `bbox` orders it.
pub fn cells_bbox(cells: &[CellIndex]) -> Option<[f64; 4]> {
    let mut bbox: Option<[f64; 4]> = None;
    for cell in cells {
        for vertex in cell.boundary().iter() {
            let (x, y) = (vertex.lng(), vertex.lat());
            bbox = Some(match bbox {
                None => [x, y, x, y],
                Some([a, b, c, d]) => [a.min(x), b.min(y), c.max(x), d.max(y)],
            });
        }
    }
    bbox
}

/// `[min_lng, min_lat, max_lng, max_lat]` of an area.
pub fn area_bbox(area: &MultiPolygon) -> Option<[f64; 4]> {
    area.bounding_rect()
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
}

/// Why an area drawn for a campaign holds none of its doors, given one of the
/// campaign's doors (`None`: it has none yet). The usual mistake is GeoJSON written as
/// `[lat, lng]`: the area then lies where latitude and longitude trade places, so it is
/// told by the area, mirrored, lying near the campaign's doors (within `NEAR_DEGREES`)
/// while the area itself does not.
pub fn why_no_doors(bbox: [f64; 4], door: Option<(f64, f64)>) -> NoDoors {
    const NEAR_DEGREES: f64 = 2.0;
    let Some((lat, lng)) = door else {
        return NoDoors::CampaignHasNone;
    };
    let near = |[min_lng, min_lat, max_lng, max_lat]: [f64; 4]| {
        (min_lng - NEAR_DEGREES..=max_lng + NEAR_DEGREES).contains(&lng)
            && (min_lat - NEAR_DEGREES..=max_lat + NEAR_DEGREES).contains(&lat)
    };
    let [min_x, min_y, max_x, max_y] = bbox;
    if !near(bbox) && near([min_y, min_x, max_y, max_x]) {
        NoDoors::Swapped
    } else {
        NoDoors::Elsewhere
    }
}

/// See [`why_no_doors`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoDoors {
    CampaignHasNone,
    Swapped,
    Elsewhere,
}

impl NoDoors {
    /// What to tell whoever drew the area.
    pub fn message(self) -> &'static str {
        match self {
            NoDoors::CampaignHasNone => {
                "the turf holds no doors: the campaign has none yet; import a voter file and the turf will hold the doors inside it"
            }
            NoDoors::Swapped => {
                "the turf holds none of the campaign's doors, which lie where this area would be with longitude and latitude swapped: GeoJSON lists each position as [longitude, latitude]"
            }
            NoDoors::Elsewhere => {
                "the turf holds none of the campaign's doors: check that the area is drawn where the campaign's voters live"
            }
        }
    }
}

/// Picks the resolution from an optional request value, defaulting to 10.
pub fn resolution_or_default(value: Option<u8>) -> Result<Resolution, AreaError> {
    match value {
        None => Ok(super::cells::DEFAULT_TURF_RESOLUTION),
        Some(v) => super::cells::turf_resolution(v)
            .ok_or_else(|| invalid(format!("resolution must be 9, 10 or 11, not {v}"))),
    }
}

#[cfg(test)]
mod no_door_tests {
    use super::*;

    #[test]
    fn a_swapped_polygon_is_recognised() {
        // Vaduz is near 9.52° E, 47.14° N; the area drawn as [lat, lng] lies near
        // 47.1° E, 9.5° N.
        let vaduz = Some((47.14, 9.52));
        assert_eq!(
            why_no_doors([47.13, 9.51, 47.15, 9.53], vaduz),
            NoDoors::Swapped
        );
        assert_eq!(
            why_no_doors([9.6, 47.3, 9.65, 47.35], vaduz),
            NoDoors::Elsewhere
        );
        assert_eq!(
            why_no_doors([-74.0, 40.7, -73.9, 40.8], vaduz),
            NoDoors::Elsewhere
        );
        assert_eq!(
            why_no_doors([47.13, 9.51, 47.15, 9.53], None),
            NoDoors::CampaignHasNone
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Contains;

    fn geometry(json: &str) -> GeometryValue {
        serde_json::from_str::<geojson::Geometry>(json)
            .unwrap()
            .value
    }

    fn square(lng: f64, lat: f64, size: f64) -> String {
        format!(
            r#"{{"type":"Polygon","coordinates":[[[{lng},{lat}],[{x},{lat}],[{x},{y}],[{lng},{y}],[{lng},{lat}]]]}}"#,
            x = lng + size,
            y = lat + size
        )
    }

    #[test]
    fn a_square_becomes_cells_whose_centres_are_inside() {
        let area = parse_area(
            &geometry(&square(9.50, 47.10, 0.02)),
            &AreaLimits::default(),
        )
        .unwrap();
        let cells = area_cells(&area, Resolution::Ten, &AreaLimits::default()).unwrap();
        assert!(cells.len() > 100, "{}", cells.len());
        for cell in &cells {
            let centre = h3o::LatLng::from(*cell);
            assert!(area.contains(&geo::Point::new(centre.lng(), centre.lat())));
        }
    }

    #[test]
    fn holes_are_left_out() {
        let with_hole = r#"{"type":"Polygon","coordinates":[
            [[9.50,47.10],[9.54,47.10],[9.54,47.14],[9.50,47.14],[9.50,47.10]],
            [[9.51,47.11],[9.53,47.11],[9.53,47.13],[9.51,47.13],[9.51,47.11]]]}"#;
        let limits = AreaLimits::default();
        let holed = area_cells(
            &parse_area(&geometry(with_hole), &limits).unwrap(),
            Resolution::Ten,
            &limits,
        )
        .unwrap();
        let full = area_cells(
            &parse_area(&geometry(&square(9.50, 47.10, 0.04)), &limits).unwrap(),
            Resolution::Ten,
            &limits,
        )
        .unwrap();
        let hole = area_cells(
            &parse_area(&geometry(&square(9.51, 47.11, 0.02)), &limits).unwrap(),
            Resolution::Ten,
            &limits,
        )
        .unwrap();
        assert!(hole.len() > 50);
        assert_eq!(holed.len() + hole.len(), full.len());
        assert!(hole.iter().all(|c| holed.binary_search(c).is_err()));
    }

    #[test]
    fn neighbouring_squares_share_no_cell() {
        let limits = AreaLimits::default();
        let a = area_cells(
            &parse_area(&geometry(&square(9.50, 47.10, 0.02)), &limits).unwrap(),
            Resolution::Eleven,
            &limits,
        )
        .unwrap();
        let b = area_cells(
            &parse_area(&geometry(&square(9.52, 47.10, 0.02)), &limits).unwrap(),
            Resolution::Eleven,
            &limits,
        )
        .unwrap();
        assert!(a.iter().all(|c| b.binary_search(c).is_err()));
    }

    #[test]
    fn bad_geometries_say_what_is_wrong() {
        let limits = AreaLimits::default();
        let cases = [
            (
                r#"{"type":"Point","coordinates":[9.5,47.1]}"#,
                "Polygon or MultiPolygon",
            ),
            (
                r#"{"type":"Polygon","coordinates":[[[9.5,47.1],[9.6,47.1],[9.5,47.1]]]}"#,
                "at least 4",
            ),
            (
                r#"{"type":"Polygon","coordinates":[[[9.5,47.1],[9.6,47.1],[9.6,47.2],[9.5,47.2]]]}"#,
                "not closed",
            ),
            (
                r#"{"type":"Polygon","coordinates":[[[9.5,97.1],[9.6,47.1],[9.6,47.2],[9.5,97.1]]]}"#,
                "latitude",
            ),
            (
                r#"{"type":"Polygon","coordinates":[[[190,47.1],[9.6,47.1],[9.6,47.2],[190,47.1]]]}"#,
                "longitude",
            ),
            // A bow tie: the ring crosses itself.
            (
                r#"{"type":"Polygon","coordinates":[[[9.5,47.1],[9.6,47.2],[9.6,47.1],[9.5,47.2],[9.5,47.1]]]}"#,
                "crosses itself",
            ),
            (r#"{"type":"MultiPolygon","coordinates":[]}"#, "no polygons"),
        ];
        for (json, expected) in cases {
            let err = parse_area(&geometry(json), &limits).unwrap_err();
            assert!(err.to_string().contains(expected), "{json}: {err}");
        }
    }

    #[test]
    fn a_spike_folding_back_is_a_self_intersection() {
        let spike = r#"{"type":"Polygon","coordinates":[[[9.5,47.1],[9.6,47.1],[9.7,47.1],[9.6,47.1],[9.6,47.2],[9.5,47.1]]]}"#;
        assert!(parse_area(&geometry(spike), &AreaLimits::default()).is_err());
    }

    #[test]
    fn limits_refuse_big_inputs_before_the_work() {
        let tight = AreaLimits {
            max_vertices: 4,
            max_cells: 10,
        };
        let err = parse_area(&geometry(&square(9.5, 47.1, 0.02)), &tight).unwrap_err();
        assert_eq!(err, AreaError::TooManyVertices { count: 5, limit: 4 });
        // A whole country at resolution 11 would be millions of cells.
        let country =
            parse_area(&geometry(&square(5.0, 45.0, 5.0)), &AreaLimits::default()).unwrap();
        let err = area_cells(&country, Resolution::Eleven, &AreaLimits::default()).unwrap_err();
        assert!(
            matches!(err, AreaError::TooManyCells { limit: 100_000, .. }),
            "{err}"
        );
    }

    #[test]
    fn the_outline_of_cells_covers_their_centres() {
        let limits = AreaLimits::default();
        let area = parse_area(&geometry(&square(9.50, 47.10, 0.02)), &limits).unwrap();
        let cells = area_cells(&area, Resolution::Ten, &limits).unwrap();
        let shape = outline(&cells);
        assert_eq!(shape.0.len(), 1);
        for cell in &cells {
            let centre = h3o::LatLng::from(*cell);
            assert!(shape.contains(&geo::Point::new(centre.lng(), centre.lat())));
        }
        let bbox = cells_bbox(&cells).unwrap();
        assert!(
            bbox[0] < 9.501 && bbox[2] > 9.519 && bbox[1] < 47.101 && bbox[3] > 47.119,
            "{bbox:?}"
        );
    }
}
