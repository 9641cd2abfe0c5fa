//! Editing turfs as sets of cells: parsing cells named by their H3 index, splitting a
//! turf along a drawn line, and checking that a merge or an edit leaves one piece.

use h3o::{CellIndex, LatLng};

/// Most cells one edit may add or remove.
pub const MAX_EDIT_CELLS: usize = 10_000;

/// Parses H3 indexes given as hexadecimal text (`"891f8e0c0b3ffff"`), sorted and
/// without duplicates; the error names the first that is no cell.
pub fn parse_cells(texts: &[String]) -> Result<Vec<CellIndex>, String> {
    let mut cells = Vec::with_capacity(texts.len());
    for t in texts {
        let cell = t
            .trim()
            .parse::<CellIndex>()
            .map_err(|_| format!("{t:?} is not an H3 cell index"))?;
        cells.push(cell);
    }
    cells.sort_unstable();
    cells.dedup();
    Ok(cells)
}

/// Which side of a line (points as (lng, lat), at least two) a point lies on: true
/// for the left, walking the line from its first point. The side is taken from the
/// nearest segment, so a line that bends cuts where it is drawn; beyond its ends the
/// end segments go on straight.
fn left_of(line: &[(f64, f64)], p: (f64, f64)) -> bool {
    // Longitude degrees shrink with latitude: measure in a local equirectangular frame.
    let k = p.1.to_radians().cos().max(1e-6);
    let (px, py) = (p.0 * k, p.1);
    let mut best = (f64::INFINITY, 0.0);
    for w in line.windows(2) {
        let (ax, ay, bx, by) = (w[0].0 * k, w[0].1, w[1].0 * k, w[1].1);
        let (dx, dy) = (bx - ax, by - ay);
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 {
            (((px - ax) * dx + (py - ay) * dy) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (cx, cy) = (ax + t * dx, ay + t * dy);
        let dist = (px - cx).powi(2) + (py - cy).powi(2);
        let cross = dx * (py - ay) - dy * (px - ax);
        if dist < best.0 {
            best = (dist, cross);
        }
    }
    best.1 > 0.0
}

/// Splits cells by the side of `line` their centres lie on: (left, right).
pub fn split_by_line(cells: &[CellIndex], line: &[(f64, f64)]) -> (Vec<CellIndex>, Vec<CellIndex>) {
    cells.iter().partition(|&&cell| {
        let centre = LatLng::from(cell);
        left_of(line, (centre.lng(), centre.lat()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use h3o::Resolution;

    fn block() -> Vec<CellIndex> {
        let centre = LatLng::new(47.14, 9.52)
            .map(|p| p.to_cell(Resolution::Ten))
            .ok();
        let Some(centre) = centre else {
            return Vec::new();
        };
        let mut cells: Vec<CellIndex> = centre.grid_disk::<Vec<_>>(4);
        cells.sort_unstable();
        cells
    }

    #[test]
    fn a_line_through_the_middle_splits_west_from_east() {
        let cells = block();
        assert_eq!(cells.len(), 61);
        // A line drawn south to north along 9.52: west is on its left.
        let (west, east) = split_by_line(&cells, &[(9.52, 47.13), (9.52, 47.15)]);
        assert!(!west.is_empty() && !east.is_empty());
        assert_eq!(west.len() + east.len(), cells.len());
        assert!(west.iter().all(|&c| LatLng::from(c).lng() < 9.52));
        assert!(east.iter().all(|&c| LatLng::from(c).lng() > 9.52));
        // The same line drawn north to south swaps the sides.
        let (left, _) = split_by_line(&cells, &[(9.52, 47.15), (9.52, 47.13)]);
        assert_eq!(left, east);
    }

    #[test]
    fn a_bent_line_cuts_where_it_is_drawn() {
        let cells = block();
        // East to the centre, then north: all but the north-west quarter is right of it.
        let line = [(9.50, 47.14), (9.52, 47.14), (9.52, 47.16)];
        let (_, right) = split_by_line(&cells, &line);
        assert!(!right.is_empty());
        for c in &right {
            let p = LatLng::from(*c);
            assert!(p.lat() < 47.14 || p.lng() > 9.52, "{c} at {p:?}");
        }
        assert!(right.len() > cells.len() / 2);
    }

    #[test]
    fn cells_are_parsed_sorted_and_named_when_wrong() {
        let cells = block();
        let texts: Vec<String> = cells.iter().rev().map(ToString::to_string).collect();
        assert_eq!(parse_cells(&texts), Ok(cells.clone()));
        let err = parse_cells(&["nonsense".into()]).map(|_| ()).unwrap_err();
        assert!(err.contains("nonsense"));
    }
}
