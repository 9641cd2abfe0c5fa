//! Voter-file import throughput, next to a raw batched insert of the same rows into the
//! same store, on SQLite and (when reachable) PostgreSQL.
//!
//!   cargo bench --bench import                      # 1,000,000 rows
//!   IMPORT_BENCH_ROWS=200000 cargo bench --bench import
//!   IMPORT_BENCH_PG=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench import
//!
//! The file is generated first (synthetic doors, two people per door), then imported
//! through `import::import_people` exactly as the CLI and the API do, then imported a
//! second time unchanged (every person is found again; PostgreSQL rewrites none of them,
//! SQLite rewrites all), then a third time from a copy of the file in which every
//! person's score differs (every person rewritten on both stores). The raw baseline
//! inserts the same people rows with plain multi-row INSERTs of 1,000 rows per
//! transaction, with no parsing, no address matching and no upsert. Prints rows/s for
//! each and the process's peak resident memory.

use std::io::{BufWriter, Write};
use std::time::Instant;

use diesel::connection::SimpleConnection;
use groundswell::db::{self, DbConnection, DbManager};
use groundswell::spatial::synthetic::synthetic_doors;

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(()); // `cargo test --benches` asks for a list; nothing to list here.
    }
    let rows: usize = std::env::var("IMPORT_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("people.csv");
    let changed = dir.path().join("people-changed.csv");
    let doors = synthetic_doors(rows.div_ceil(2), 7);
    // The second file differs from the first in every person's score only.
    for (path, score_shift) in [(&file, 0), (&changed, 1)] {
        let mut out = BufWriter::new(std::fs::File::create(path)?);
        writeln!(
            out,
            "external_id,first_name,last_name,street,housenumber,postcode,city,lat,lng,support_score"
        )?;
        for i in 0..rows {
            let door = &doors[i / 2];
            writeln!(
                out,
                "P{i},Anna,Beck,Street {},{},9490,Town {},{:.7},{:.7},{}",
                i / 2000,
                (i / 2) % 1000 + 1,
                i / 200_000,
                door.lat(),
                door.lng(),
                (i + score_shift) % 101
            )?;
        }
    }
    let size = std::fs::metadata(&file)?.len();
    println!("{rows} rows, {:.1} MB of CSV", size as f64 / 1e6);
    let files = [file.as_path(), changed.as_path()];

    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    run_backend("sqlite", &sqlite, files, rows)?;
    let pg = std::env::var("IMPORT_BENCH_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    match DbManager::new(&pg).establish() {
        Ok(mut admin) => {
            let name = format!("gs_bench_{}", std::process::id());
            admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
            let url = format!(
                "{}/{name}",
                pg.rsplit_once('/').map_or(pg.as_str(), |(base, _)| base)
            );
            let result = run_backend("postgres", &url, files, rows);
            admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
            result?;
        }
        Err(e) => println!("postgres: skipped ({e})"),
    }
    println!("peak resident memory of this process: {}", peak_rss());
    Ok(())
}

/// `files`: the voter file, and the same file with every person's score changed.
fn run_backend(
    name: &str,
    url: &str,
    [file, changed]: [&std::path::Path; 2],
    rows: usize,
) -> anyhow::Result<()> {
    let mut conn = DbManager::new(url).establish()?;
    db::migrate(&mut conn)?;
    let campaign = groundswell::admin::create_campaign(&mut conn, "Import bench")?;
    let import = |conn: &mut DbConnection,
                  file: &std::path::Path|
     -> anyhow::Result<(f64, (u64, u64))> {
        let started = Instant::now();
        let input = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(file)?);
        let report = groundswell::import::import_people(conn, campaign, input, &mut |_, _| Ok(()))?;
        assert_eq!(report.rejected, 0, "{:?}", report.errors);
        Ok((
            started.elapsed().as_secs_f64(),
            (report.created, report.updated),
        ))
    };
    let (import_secs, counts) = import(&mut conn, file)?;
    assert_eq!(counts, (rows as u64, 0));
    let (reimport_secs, counts) = import(&mut conn, file)?;
    assert_eq!(counts, (0, rows as u64));
    let (changed_secs, counts) = import(&mut conn, changed)?;
    assert_eq!(counts, (0, rows as u64));

    // The raw baseline: the same people rows, straight INSERTs, into a second campaign.
    let raw_campaign = groundswell::admin::create_campaign(&mut conn, "Raw bench")?;
    conn.batch_execute(&format!(
        "INSERT INTO doors (campaign_id, address_key, unit, street, housenumber, postcode, city, lat, lng, cell, do_not_walk, created_at, updated_at) \
         SELECT {raw_campaign}, address_key, unit, street, housenumber, postcode, city, lat, lng, cell, do_not_walk, created_at, updated_at FROM doors WHERE campaign_id = {campaign} ORDER BY id"
    ))?;
    let first_door = first_door(&mut conn, raw_campaign)?;
    let started = Instant::now();
    let mut sql = String::with_capacity(200_000);
    for chunk_start in (0..rows).step_by(1000) {
        sql.clear();
        sql.push_str("BEGIN; INSERT INTO people (campaign_id, external_id, door_id, first_name, last_name, do_not_walk, deceased, moved, support_score, created_at, updated_at) VALUES ");
        for i in chunk_start..(chunk_start + 1000).min(rows) {
            if i > chunk_start {
                sql.push(',');
            }
            let door = first_door + (i / 2) as i64;
            sql.push_str(&format!(
                "({raw_campaign}, 'P{i}', {door}, 'Anna', 'Beck', FALSE, FALSE, FALSE, {}, '2026-11-23 00:00:00', '2026-11-23 00:00:00')",
                i % 101
            ));
        }
        sql.push_str("; COMMIT;");
        conn.batch_execute(&sql)?;
    }
    let raw_secs = started.elapsed().as_secs_f64();
    let rate = |secs: f64| rows as f64 / secs;
    println!(
        "{name}: import {:.0} rows/s ({import_secs:.1} s); raw batched insert {:.0} rows/s ({raw_secs:.1} s); import / raw = {:.2}; re-import (unchanged) {:.0} rows/s ({reimport_secs:.1} s); re-import (every person changed) {:.0} rows/s ({changed_secs:.1} s)",
        rate(import_secs),
        rate(raw_secs),
        raw_secs / import_secs,
        rate(reimport_secs),
        rate(changed_secs)
    );
    Ok(())
}

fn first_door(conn: &mut DbConnection, campaign: i64) -> anyhow::Result<i64> {
    use diesel::prelude::*;
    use groundswell::db::schema::doors;
    Ok(doors::table
        .filter(doors::campaign_id.eq(campaign))
        .select(diesel::dsl::min(doors::id))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}
