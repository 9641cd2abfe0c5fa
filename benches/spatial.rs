//! Polygon → cells on the 11 real municipalities of Liechtenstein at resolutions 9, 10
//! and 11, and their outlines back from the cells.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use groundswell::spatial::tiling::{AreaLimits, area_cells, outline, parse_area};
use h3o::Resolution;

fn bench_tiling(c: &mut Criterion) {
    let limits = AreaLimits {
        max_vertices: 100_000,
        max_cells: 10_000_000,
    };
    let Ok(towns) = groundswell::demo::municipalities() else {
        eprintln!("the shipped boundaries do not load");
        return;
    };
    let areas: Vec<_> = towns
        .iter()
        .filter_map(|t| parse_area(&t.geometry.value, &limits).ok())
        .collect();
    let mut group = c.benchmark_group("polygon to cells, 11 municipalities");
    for res in [Resolution::Nine, Resolution::Ten, Resolution::Eleven] {
        let cells: usize = areas
            .iter()
            .filter_map(|a| area_cells(a, res, &limits).ok())
            .map(|c| c.len())
            .sum();
        eprintln!("resolution {res}: {cells} cells in the 11 municipalities");
        group.throughput(Throughput::Elements(cells as u64));
        group.bench_function(format!("resolution {res}"), |b| {
            b.iter(|| {
                for area in &areas {
                    let _ = black_box(area_cells(black_box(area), res, &limits));
                }
            });
        });
    }
    group.finish();
    let vaduz: Vec<_> = towns
        .iter()
        .find(|t| t.name == "Vaduz")
        .and_then(|t| parse_area(&t.geometry.value, &limits).ok())
        .and_then(|a| area_cells(&a, Resolution::Ten, &limits).ok())
        .unwrap_or_default();
    c.bench_function("outline of Vaduz at resolution 10", |b| {
        b.iter(|| outline(black_box(&vaduz)))
    });
    c.bench_function("parse and check the 11 municipality geometries", |b| {
        b.iter(|| {
            for town in &towns {
                let _ = black_box(parse_area(black_box(&town.geometry.value), &limits));
            }
        });
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench_tiling
}
criterion_main!(benches);
