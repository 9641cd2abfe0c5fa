//! Benchmark of the auto-cut: 100,000 synthetic doors at H3 resolution 11
//! into turfs of 100 doors (1,000 turfs).
//!
//! Besides criterion's timing it prints the quality of one cut once: the
//! number of turfs, how many are not contiguous, the smallest and largest
//! door counts and the share of turfs within ±10 % of the target.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use groundswell::spatial::autocut::{AutocutParams, autocut, is_contiguous};
use groundswell::spatial::synthetic::{cell_loads, synthetic_doors};
use h3o::Resolution;

const DOORS: usize = 100_000;
const TARGET: u32 = 100;

fn bench_autocut(c: &mut Criterion) {
    let doors = synthetic_doors(DOORS, 1);
    let cells = cell_loads(&doors, Resolution::Eleven, 1);
    let params = AutocutParams::new(TARGET);

    let started = Instant::now();
    let Ok(cut) = autocut(&cells, &params) else {
        eprintln!("autocut rejected the synthetic input");
        return;
    };
    let elapsed = started.elapsed();
    let turfs = cut.turfs.len();
    let broken = cut
        .turfs
        .iter()
        .filter(|t| !is_contiguous(&t.cells))
        .count();
    let min = cut.turfs.iter().map(|t| t.doors).min().unwrap_or(0);
    let max = cut.turfs.iter().map(|t| t.doors).max().unwrap_or(0);
    let low = TARGET - TARGET / 10;
    let high = TARGET + TARGET / 10;
    let within = cut
        .turfs
        .iter()
        .filter(|t| (low..=high).contains(&t.doors))
        .count();
    let within3 = cut
        .turfs
        .iter()
        .filter(|t| (TARGET - 3..=TARGET + 3).contains(&t.doors))
        .count();
    let share = |n: usize| 100.0 * n as f64 / turfs.max(1) as f64;
    eprintln!(
        "autocut quality: {} cells ({} with doors), {DOORS} doors, target {TARGET}",
        cells.len(),
        cells.iter().filter(|l| l.doors > 0).count()
    );
    eprintln!(
        "autocut quality: {turfs} turfs, {broken} not contiguous, doors min {min} max {max}, \
         {:.1} % within ±10 %, {:.1} % within ±3 %, {} reported unbalanced, first cut took {elapsed:.2?}",
        share(within),
        share(within3),
        cut.unbalanced.len(),
    );

    c.bench_function("autocut 100k doors into 1000 turfs", |b| {
        b.iter(|| autocut(black_box(&cells), black_box(&params)));
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench_autocut
}
criterion_main!(benches);
