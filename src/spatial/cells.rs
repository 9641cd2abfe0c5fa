//! H3 cells as the store keeps them: a door's finest cell (resolution 15) is a 64-bit
//! integer, and every coarser cell covers one contiguous range of those integers.

use h3o::{CellIndex, LatLng, Resolution};

/// The resolution every door is indexed at (about 1 m²).
pub const DOOR_RESOLUTION: Resolution = Resolution::Fifteen;

/// Turf resolutions organizers may pick: 9 (~0.1 km² cells), 10 (~15,000 m²), 11 (~2,000 m²).
pub const TURF_RESOLUTIONS: std::ops::RangeInclusive<u8> = 9..=11;
pub const DEFAULT_TURF_RESOLUTION: Resolution = Resolution::Ten;

/// A cell as a database integer. H3 indexes keep the top bit clear, so the value is
/// always positive and the conversion loses nothing.
pub fn to_db(cell: CellIndex) -> i64 {
    i64::try_from(u64::from(cell)).unwrap_or(i64::MAX)
}

/// The cell behind a database integer, if it is one.
pub fn from_db(value: i64) -> Option<CellIndex> {
    u64::try_from(value)
        .ok()
        .and_then(|v| CellIndex::try_from(v).ok())
}

/// The parent at `resolution` (0–15) of a stored cell, as a stored cell: the one rule
/// behind the tallies' cells, the score model's pooling cells and the lists' nearby
/// cells. `None` for a value that is no cell or a resolution finer than the cell's.
pub fn parent_of(value: i64, resolution: u8) -> Option<i64> {
    let res = Resolution::try_from(resolution).ok()?;
    from_db(value).and_then(|c| c.parent(res)).map(to_db)
}

/// A door's cell from its coordinates, or why they are not usable.
pub fn door_cell(lat: f64, lng: f64) -> Result<CellIndex, &'static str> {
    if !lat.is_finite() || !lng.is_finite() {
        return Err("coordinates must be finite numbers");
    }
    if !(-90.0..=90.0).contains(&lat) {
        return Err("latitude must be between -90 and 90");
    }
    if !(-180.0..=180.0).contains(&lng) {
        return Err("longitude must be between -180 and 180");
    }
    LatLng::new(lat, lng)
        .map(|ll| ll.to_cell(DOOR_RESOLUTION))
        .map_err(|_| "coordinates are not a valid position")
}

/// A turf resolution from its number, when it is one organizers may use.
pub fn turf_resolution(value: u8) -> Option<Resolution> {
    if TURF_RESOLUTIONS.contains(&value) {
        Resolution::try_from(value).ok()
    } else {
        None
    }
}

/// The inclusive range of database integers that holds exactly the resolution-15
/// descendants of `cell` (among valid resolution-15 cells).
///
/// An H3 index stores one 3-bit digit per resolution below its own, with the unused
/// digits set to 7. Descendants share the cell's base cell and leading digits and differ
/// only in the digits after it, so the smallest has those digits all 0 and the largest all
/// 6 (7 is never a digit of a valid resolution-15 cell). A door therefore lies in a cell
/// exactly when `lo <= door.cell <= hi`: one index range scan, no geometry.
pub fn door_range(cell: CellIndex) -> (i64, i64) {
    const RES_SHIFT: u32 = 52;
    const RES_MASK: u64 = 0b1111 << RES_SHIFT;
    let value = u64::from(cell);
    let free_digits = 15 - u32::from(u8::from(cell.resolution()));
    let digit_bits = 3 * free_digits;
    let digits_mask = if digit_bits == 0 {
        0
    } else {
        (1u64 << digit_bits) - 1
    };
    let base = (value & !RES_MASK & !digits_mask) | (15u64 << RES_SHIFT);
    // Every free digit 6 (binary 110).
    let sixes = (0..free_digits).fold(0u64, |acc, i| acc | (6u64 << (3 * i)));
    let lo = base;
    let hi = base | sixes;
    (
        i64::try_from(lo).unwrap_or(i64::MAX),
        i64::try_from(hi).unwrap_or(i64::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vaduz() -> CellIndex {
        door_cell(47.1399905, 9.5228593).unwrap()
    }

    #[test]
    fn db_round_trip_keeps_the_cell() {
        let cell = vaduz();
        let stored = to_db(cell);
        assert!(stored > 0);
        assert_eq!(from_db(stored), Some(cell));
        assert_eq!(from_db(-1), None);
        assert_eq!(from_db(12345), None);
    }

    #[test]
    fn door_cells_reject_out_of_range_coordinates() {
        assert!(door_cell(91.0, 9.5).is_err());
        assert!(door_cell(47.0, 181.0).is_err());
        assert!(door_cell(f64::NAN, 9.5).is_err());
        assert_eq!(vaduz().resolution(), Resolution::Fifteen);
    }

    #[test]
    fn range_bounds_are_the_first_and_last_descendant() {
        for res in [
            Resolution::Twelve,
            Resolution::Thirteen,
            Resolution::Fifteen,
        ] {
            let cell = vaduz().parent(res).unwrap();
            let children: Vec<i64> = cell.children(Resolution::Fifteen).map(to_db).collect();
            let (lo, hi) = door_range(cell);
            assert_eq!(lo, *children.iter().min().unwrap(), "{res}");
            assert_eq!(hi, *children.iter().max().unwrap(), "{res}");
        }
    }

    #[test]
    fn a_door_is_in_a_range_exactly_when_its_parent_is_the_cell() {
        // Doors around Vaduz, checked against the ranges of nearby resolution-10 cells.
        let doors: Vec<CellIndex> = (0..400)
            .map(|i| {
                let f = f64::from(i);
                door_cell(
                    47.13 + (f * 0.37).sin() * 0.01,
                    9.52 + (f * 0.73).cos() * 0.01,
                )
                .unwrap()
            })
            .collect();
        let centre = vaduz().parent(Resolution::Ten).unwrap();
        for cell in centre.grid_disk::<Vec<_>>(6) {
            let (lo, hi) = door_range(cell);
            for door in &doors {
                let inside = (lo..=hi).contains(&to_db(*door));
                assert_eq!(inside, door.parent(Resolution::Ten) == Some(cell));
            }
        }
    }

    #[test]
    fn pentagon_ranges_hold_their_descendants() {
        let pentagon = CellIndex::base_cells()
            .find(|c| c.is_pentagon())
            .unwrap()
            .center_child(Resolution::Eleven)
            .unwrap();
        let (lo, hi) = door_range(pentagon);
        for child in pentagon.children(Resolution::Fifteen).take(2000) {
            assert!((lo..=hi).contains(&to_db(child)));
        }
    }

    #[test]
    fn only_nine_to_eleven_are_turf_resolutions() {
        assert_eq!(turf_resolution(10), Some(Resolution::Ten));
        assert_eq!(turf_resolution(8), None);
        assert_eq!(turf_resolution(12), None);
    }
}
