use super::graph::{CellTable, neighbour_ring};
use super::*;
use crate::spatial::synthetic::{cell_loads, synthetic_doors};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn cell(hex: u64) -> CellIndex {
    CellIndex::try_from(hex).expect("valid cell")
}

/// A resolution 10 cell in the Rhine valley.
fn origin() -> CellIndex {
    LatLng::new(47.1, 9.5)
        .expect("valid")
        .to_cell(Resolution::Ten)
}

fn disk(centre: CellIndex, k: u32) -> Vec<CellIndex> {
    let mut cells: Vec<CellIndex> = centre.grid_disk(k);
    cells.sort_unstable();
    cells
}

fn loads(cells: &[CellIndex], doors: impl Fn(usize, CellIndex) -> u32) -> Vec<CellLoad> {
    cells
        .iter()
        .enumerate()
        .map(|(i, &cell)| CellLoad {
            cell,
            doors: doors(i, cell),
        })
        .collect()
}

/// Checks everything a cut promises about its input; returns the turf of
/// every cell.
fn check(input: &[CellLoad], cut: &Cut) -> BTreeMap<CellIndex, usize> {
    let doors: BTreeMap<CellIndex, u32> = input.iter().map(|l| (l.cell, l.doors)).collect();
    let mut owner = BTreeMap::new();
    for (i, turf) in cut.turfs.iter().enumerate() {
        assert!(!turf.cells.is_empty(), "turf {i} is empty");
        assert!(
            turf.cells.windows(2).all(|w| w[0] < w[1]),
            "turf {i} is not sorted"
        );
        assert!(is_contiguous(&turf.cells), "turf {i} is not contiguous");
        let mut sum = 0;
        for c in &turf.cells {
            let d = doors.get(c).expect("turf cell is in the input");
            sum += d;
            assert!(owner.insert(*c, i).is_none(), "{c} is in two turfs");
        }
        assert_eq!(sum, turf.doors, "door count of turf {i}");
        assert!(turf.doors > 0, "turf {i} has no doors");
    }
    for l in input {
        if l.doors > 0 {
            assert!(owner.contains_key(&l.cell), "{} is in no turf", l.cell);
        }
    }
    owner
}

#[test]
fn neighbours_follow_each_other_around_the_cell() {
    // The contiguity check relies on this: the destinations of a cell's
    // edges, in the order h3o lists them, each touch the next.
    let pentagon = CellIndex::base_cells()
        .find(|c| c.is_pentagon())
        .and_then(|c| c.center_child(Resolution::Ten))
        .expect("a pentagon");
    let mut cells = disk(origin(), 3);
    cells.extend(disk(pentagon, 3));
    let table = CellTable::new(&loads(&cells, |_, _| 0));
    for c in cells {
        let ring: Vec<CellIndex> = c.edges().map(|e| e.destination()).collect();
        assert_eq!(ring.len(), if c.is_pentagon() { 5 } else { 6 });
        for i in 0..ring.len() {
            let next = ring[(i + 1) % ring.len()];
            assert!(
                ring[i].is_neighbor_with(next).expect("same resolution"),
                "{c}"
            );
        }
        let mut slots = [NONE; 6];
        let ordered = neighbour_ring(c, &table, &mut slots);
        assert_eq!(
            ordered,
            !c.is_pentagon() && ring.iter().all(|x| !x.is_pentagon())
        );
    }
}

#[test]
fn contiguity_check() {
    let cells = disk(origin(), 2);
    assert!(is_contiguous(&cells));
    assert!(is_contiguous(&[]));
    let ring: Vec<CellIndex> = origin()
        .grid_ring_fast(2)
        .map(|c| c.expect("no pentagon"))
        .collect();
    assert!(is_contiguous(&ring));
    assert!(!is_contiguous(&[ring[0], ring[6]]));
    assert!(is_contiguous(&[ring[0], ring[1], ring[0]]));
}

#[test]
fn huge_door_counts_do_not_overflow() {
    let cells = disk(origin(), 2);
    let input = loads(&cells, |i, _| if i % 2 == 0 { u32::MAX } else { 7 });
    let cut = autocut(&input, &AutocutParams::new(u32::MAX / 2)).expect("valid");
    let mut covered: Vec<CellIndex> = cut.turfs.iter().flat_map(|t| t.cells.clone()).collect();
    covered.sort_unstable();
    let count = covered.len();
    covered.dedup();
    assert_eq!(covered.len(), count, "a cell is in two turfs");
    for l in input.iter().filter(|l| l.doors > 0) {
        assert!(covered.binary_search(&l.cell).is_ok());
    }
    assert!(cut.turfs.iter().all(|t| is_contiguous(&t.cells)));
}

#[test]
fn default_parameters() {
    assert_eq!(AutocutParams::default(), AutocutParams::new(100));
    assert_eq!(AutocutParams::new(80).tolerance_percent, 15);
}

#[test]
fn empty_input_gives_an_empty_cut() {
    let cut = autocut(&[], &AutocutParams::new(100)).expect("valid");
    assert_eq!(cut, Cut::default());
}

#[test]
fn bad_input_is_rejected() {
    let one = [CellLoad {
        cell: origin(),
        doors: 1,
    }];
    assert_eq!(
        autocut(&one, &AutocutParams::new(0)),
        Err(AutocutError::ZeroTarget)
    );
    let twice = [one[0], one[0]];
    assert_eq!(
        autocut(&twice, &AutocutParams::new(10)),
        Err(AutocutError::DuplicateCell(origin()))
    );
    let parent = origin().parent(Resolution::Nine).expect("parent");
    let mixed = [
        one[0],
        CellLoad {
            cell: parent,
            doors: 1,
        },
    ];
    assert!(matches!(
        autocut(&mixed, &AutocutParams::new(10)),
        Err(AutocutError::MixedResolutions { .. })
    ));
    assert!(AutocutError::ZeroTarget.to_string().contains("at least 1"));
}

#[test]
fn single_cell() {
    let input = [CellLoad {
        cell: origin(),
        doors: 90,
    }];
    let cut = autocut(&input, &AutocutParams::new(100)).expect("valid");
    assert_eq!(
        cut.turfs,
        vec![Turf {
            cells: vec![origin()],
            doors: 90
        }]
    );
    assert!(cut.unbalanced.is_empty());
}

#[test]
fn one_cell_above_the_target() {
    let cells = disk(origin(), 2);
    let input = loads(&cells, |_, c| if c == origin() { 140 } else { 5 });
    // 140 + 18 * 5 = 230 doors: two turfs of 100.
    let cut = autocut(&input, &AutocutParams::new(100)).expect("valid");
    check(&input, &cut);
    assert_eq!(cut.turfs.len(), 2);
    let heavy = cut
        .turfs
        .iter()
        .position(|t| t.cells.contains(&origin()))
        .expect("covered");
    let report = cut
        .unbalanced
        .iter()
        .find(|u| u.turf == heavy)
        .expect("the heavy turf is reported");
    assert_eq!(report.kind, Imbalance::Oversized);
    assert!(
        report.reason.contains("one cell holds 140 doors"),
        "{}",
        report.reason
    );

    // A single cell far above the target stays one turf.
    let alone = [CellLoad {
        cell: origin(),
        doors: 500,
    }];
    let cut = autocut(&alone, &AutocutParams::new(100)).expect("valid");
    assert_eq!(cut.turfs.len(), 1);
    assert_eq!(cut.unbalanced.len(), 1);
    assert!(cut.unbalanced[0].reason.contains("500 doors"));
}

#[test]
fn disconnected_groups_are_cut_separately() {
    let far = LatLng::new(47.2, 9.6)
        .expect("valid")
        .to_cell(Resolution::Ten);
    let near_cells = disk(origin(), 4); // 61 cells
    let far_cells = disk(far, 2); // 19 cells
    let mut input = loads(&near_cells, |_, _| 5); // 305 doors: 3 turfs
    input.extend(loads(&far_cells, |_, _| 2)); // 38 doors: 1 small turf
    let cut = autocut(&input, &AutocutParams::new(100)).expect("valid");
    let owner = check(&input, &cut);
    assert_eq!(cut.turfs.len(), 4);
    let far_turfs: Vec<usize> = far_cells.iter().map(|c| owner[c]).collect();
    assert!(far_turfs.iter().all(|&t| t == far_turfs[0]));
    assert!(near_cells.iter().all(|c| owner[c] != far_turfs[0]));
    assert_eq!(cut.turfs[far_turfs[0]].doors, 38);
    assert_eq!(cut.unbalanced.len(), 1);
    let report = &cut.unbalanced[0];
    assert_eq!(report.turf, far_turfs[0]);
    assert_eq!(report.kind, Imbalance::Undersized);
    assert!(
        report
            .reason
            .contains("isolated group of 19 cells holds only 38 doors"),
        "{}",
        report.reason
    );
    for t in &cut.turfs {
        if t.doors != 38 {
            assert!((95..=110).contains(&t.doors), "{}", t.doors);
        }
    }
}

#[test]
fn target_larger_than_all_doors() {
    let cells = disk(origin(), 3);
    let input = loads(&cells, |i, _| u32::from(i % 3 == 0));
    let cut = autocut(&input, &AutocutParams::new(1_000)).expect("valid");
    check(&input, &cut);
    assert_eq!(cut.turfs.len(), 1);
    assert_eq!(cut.unbalanced.len(), 1);
    assert_eq!(cut.unbalanced[0].kind, Imbalance::Undersized);
}

#[test]
fn groups_without_doors_get_no_turf() {
    let far = LatLng::new(47.2, 9.6)
        .expect("valid")
        .to_cell(Resolution::Ten);
    let mut input = loads(&disk(origin(), 1), |_, _| 10);
    input.extend(loads(&disk(far, 1), |_, _| 0));
    let cut = autocut(&input, &AutocutParams::new(70)).expect("valid");
    check(&input, &cut);
    assert_eq!(cut.turfs.len(), 1);
    assert_eq!(cut.turfs[0].cells, disk(origin(), 1));
}

#[test]
fn useless_empty_cells_are_left_out() {
    // Doors on two cells at the edge of a big empty disk: the turf keeps
    // the two door cells and the short empty path between them only.
    let cells = disk(origin(), 6);
    let ring: Vec<CellIndex> = origin()
        .grid_ring_fast(6)
        .map(|c| c.expect("no pentagon"))
        .collect();
    let (a, b) = (ring[0], ring[3]);
    let input = loads(&cells, |_, c| if c == a || c == b { 50 } else { 0 });
    let cut = autocut(&input, &AutocutParams::new(100)).expect("valid");
    check(&input, &cut);
    assert_eq!(cut.turfs.len(), 1);
    assert!(
        cut.turfs[0].cells.len() <= 4,
        "{:?}",
        cut.turfs[0].cells.len()
    );
}

#[test]
fn cells_around_a_pentagon() {
    let pentagon = CellIndex::base_cells()
        .find(|c| c.is_pentagon())
        .and_then(|c| c.center_child(Resolution::Nine))
        .expect("a pentagon");
    assert!(pentagon.is_pentagon());
    let cells = disk(pentagon, 6);
    let input = loads(&cells, |i, _| u32::try_from(i % 7).expect("small"));
    let cut = autocut(&input, &AutocutParams::new(20)).expect("valid");
    check(&input, &cut);
    assert!(cut.turfs.len() > 5);
}

#[test]
fn balanced_on_a_uniform_disk() {
    let cells = disk(origin(), 20); // 1261 cells
    let input = loads(&cells, |i, _| 1 + u32::try_from(i % 5).expect("small"));
    let total: u32 = input.iter().map(|l| l.doors).sum();
    let cut = autocut(&input, &AutocutParams::new(100)).expect("valid");
    check(&input, &cut);
    assert_eq!(
        cut.turfs.len(),
        usize::try_from((total + 50) / 100).expect("small")
    );
    for t in &cut.turfs {
        assert!((95..=105).contains(&t.doors), "{}", t.doors);
    }
    assert!(cut.unbalanced.is_empty());
}

#[test]
fn hundred_thousand_synthetic_doors() {
    let doors = synthetic_doors(100_000, 1);
    let input = cell_loads(&doors, Resolution::Eleven, 1);
    let cut = autocut(&input, &AutocutParams::new(100)).expect("valid");
    check(&input, &cut);
    assert_eq!(cut.turfs.len(), 1_000);
    let sizes: Vec<u32> = cut.turfs.iter().map(|t| t.doors).collect();
    let outside: Vec<u32> = sizes
        .iter()
        .copied()
        .filter(|d| !(90..=110).contains(d))
        .collect();
    assert!(outside.is_empty(), "turfs outside ±10 %: {outside:?}");
    assert!(cut.unbalanced.is_empty());
}

/// Small random areas: a random subset of a disk around one of a few
/// places (one next to a pentagon), with random door counts.
fn small_area() -> impl Strategy<Value = (Vec<CellLoad>, u32, u64)> {
    (0_usize..3, 1_u32..6, any::<u64>(), 1_u32..40, any::<u64>()).prop_map(
        |(place, k, seed, target, shuffle)| {
            let centre = match place {
                0 => origin(),
                1 => cell(0x08a1_fb46_622d_ffff),
                _ => CellIndex::base_cells()
                    .find(|c| c.is_pentagon())
                    .and_then(|c| c.center_child(Resolution::Ten))
                    .expect("a pentagon"),
            };
            let mut state = seed;
            let mut next = move || {
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^ (z >> 31)
            };
            let mut input = Vec::new();
            for c in disk(centre, k) {
                let r = next() % 10;
                if r < 8 {
                    let doors = if r < 3 {
                        0
                    } else {
                        u32::try_from(next() % 12).expect("small")
                    };
                    input.push(CellLoad { cell: c, doors });
                }
            }
            (input, target, shuffle)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn cuts_cover_doors_once_with_connected_turfs((input, target, shuffle) in small_area()) {
        let params = AutocutParams::new(target);
        let cut = autocut(&input, &params).expect("valid input");
        check(&input, &cut);

        // The same cells in another order give the same cut.
        let mut shuffled = input.clone();
        let mut state = shuffle;
        for i in (1..shuffled.len()).rev() {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let j = usize::try_from((state >> 33) % (i as u64 + 1)).expect("small");
            shuffled.swap(i, j);
        }
        prop_assert_eq!(autocut(&shuffled, &params).expect("valid input"), cut);
    }
}
