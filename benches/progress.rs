//! The progress query over 1,000,000 knocks (goal: under 200 ms), on SQLite and, when
//! reachable, PostgreSQL.
//!
//!   cargo bench --bench progress                    # 1,000,000 knocks
//!   PROGRESS_KNOCKS=200000 PROGRESS_RUNS=3 cargo bench --bench progress
//!   PROGRESS_PG=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench progress
//!   PROGRESS_KEEP=1 cargo bench --bench progress    # keep both databases to EXPLAIN
//!
//! Setup per backend: a fresh database with the demo people on the 3,215 real doors of
//! Liechtenstein, 40 volunteers, a turf per municipality (resolution 10) and walk lists
//! of 60 doors over them, each assigned to a volunteer, all through the store functions.
//! Then the knocks are written straight into the tables with multi-row INSERTs: every
//! knock on a stop of a list by the list's volunteer, over 60 days between 9:00 and
//! 21:00, half `not_home`, a third `contacted` (each with a `support_id` answer from a
//! person at the door) and the rest the other results; half the stops are finished.
//!
//! The knocks bypass the sync, so the progress tallies are then rebuilt from them
//! (`db::tallies::rebuild`, what the server does once after the migration that made
//! them); that rebuild is timed too.
//!
//! Then `db::progress::figures` is timed, grouped by region, turf, volunteer, day and
//! resolution-8 cell over all time, and by turf and by day over a two-week window that
//! starts and ends between midnights (its ends are counted from the knocks): the first
//! call, and the minimum and median of `PROGRESS_RUNS` more. Each answer is checked
//! against `db::progress::figures_from_knocks`, the grouped SQL over every knock, whose
//! time is printed beside it. SQLite is measured as the server leaves it (no ANALYZE
//! ever runs) and again after ANALYZE; PostgreSQL after VACUUM ANALYZE, which
//! autovacuum would do soon after such an insert.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::connection::SimpleConnection;
use groundswell::db::progress::{self, Filter, GroupBy};
use groundswell::db::{self, DbConnection, DbManager};
use groundswell::domain::Role;
use groundswell::knock::LocationQuality;
use groundswell::spatial::{cells, tiling};

const GOAL_MS: f64 = 200.0;
const VOLUNTEERS: usize = 40;
const DOORS_PER_LIST: usize = 60;
const DAYS: i64 = 60;
/// Rows per INSERT statement, and statements per transaction.
const ROWS_PER_INSERT: usize = 1000;
const INSERTS_PER_TRANSACTION: usize = 50;

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(()); // `cargo test --benches` asks for a list; nothing to list here.
    }
    let knocks = knob("PROGRESS_KNOCKS", 1_000_000).max(1);
    let runs = knob("PROGRESS_RUNS", 5).max(1);
    let keep = std::env::var("PROGRESS_KEEP").is_ok_and(|v| !v.is_empty() && v != "0");
    println!(
        "progress figures over {knocks} knocks; first call, then min/median of {runs} runs; goal < {GOAL_MS} ms"
    );
    let dir = tempfile::tempdir()?;
    let sqlite_path = if keep {
        std::env::temp_dir().join(format!("gs_progress_bench_{}.db", std::process::id()))
    } else {
        dir.path().join("progress.db")
    };
    let sqlite = format!("sqlite://{}", sqlite_path.display());
    run_backend("sqlite", &sqlite, knocks, runs)?;
    if keep {
        println!("kept {sqlite}");
    }

    let pg = std::env::var("PROGRESS_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    match DbManager::new(&pg).establish() {
        Ok(mut admin) => {
            let name = format!("gs_progress_bench_{}", std::process::id());
            admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
            let url = format!(
                "{}/{name}",
                pg.rsplit_once('/').map_or(pg.as_str(), |(base, _)| base)
            );
            let result = run_backend("postgres", &url, knocks, runs);
            if keep {
                println!("kept {url}");
            } else {
                admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
            }
            result?;
        }
        Err(e) => println!("postgres: skipped ({e})"),
    }
    Ok(())
}

/// A stop knocks can land on.
struct Stop {
    list_id: i64,
    door_id: i64,
    user_id: i64,
    lat: f64,
    lng: f64,
    /// Someone living at the door, to give the support ID.
    person: Option<i64>,
}

fn run_backend(label: &str, url: &str, knocks: usize, runs: usize) -> anyhow::Result<()> {
    println!("{label}: (load average {})", load_average());
    let started = Instant::now();
    let mut conn = DbManager::new(url).establish()?;
    db::migrate(&mut conn)?;
    let campaign = groundswell::admin::create_campaign(&mut conn, "Progress bench")?;
    let (stops, lists) = seed_campaign(&mut conn, campaign)?;
    println!(
        "  seeded the demo campaign, {lists} lists with {} stops, in {:.1} s",
        stops.len(),
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let answers = insert_knocks(&mut conn, campaign, &stops, knocks)?;
    println!(
        "  inserted {knocks} knocks and {answers} support IDs in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let tallies = db::write_transaction(&mut conn, |c| db::tallies::rebuild(c, campaign))?;
    println!(
        "  rebuilt {tallies} progress tallies from the knocks in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if matches!(conn, DbConnection::Postgresql(_)) {
        let started = Instant::now();
        conn.batch_execute("VACUUM ANALYZE")?;
        println!(
            "  VACUUM ANALYZE took {:.1} s",
            started.elapsed().as_secs_f64()
        );
        measure("after VACUUM ANALYZE", &mut conn, campaign, runs)?;
    } else {
        measure(
            "as left by the server, no ANALYZE",
            &mut conn,
            campaign,
            runs,
        )?;
        let started = Instant::now();
        conn.batch_execute("ANALYZE")?;
        println!("  ANALYZE took {:.1} s", started.elapsed().as_secs_f64());
        measure("after ANALYZE", &mut conn, campaign, runs)?;
    }
    Ok(())
}

/// Demo people, volunteers, a turf per municipality and lists of 60 doors, each list
/// assigned to a volunteer. Returns every stop and the number of lists.
fn seed_campaign(conn: &mut DbConnection, campaign: i64) -> anyhow::Result<(Vec<Stop>, usize)> {
    let doors = groundswell::demo::doors()?;
    let towns = groundswell::demo::municipalities()?;
    let csv = groundswell::demo::people_csv(&doors, &towns, 2026);
    let report =
        groundswell::import::import_people(conn, campaign, csv.as_bytes(), &mut |_, _| Ok(()))?;
    anyhow::ensure!(report.rejected == 0, "demo import: {:?}", report.errors);
    let organizer = groundswell::admin::create_user(
        conn,
        account(campaign, "organizer@progress.bench.test", Role::Organizer),
    )?;
    let mut volunteers = Vec::with_capacity(VOLUNTEERS);
    for n in 0..VOLUNTEERS {
        let email = format!("volunteer{n}@progress.bench.test");
        volunteers.push(groundswell::admin::create_user(
            conn,
            account(campaign, &email, Role::Volunteer),
        )?);
    }
    let limits = tiling::AreaLimits {
        max_vertices: 1_000_000,
        max_cells: 1_000_000,
    };
    let expires = db::now() + chrono::Duration::days(30);
    let mut stops = Vec::new();
    let mut lists = 0;
    db::write_transaction(conn, |conn| -> anyhow::Result<()> {
        for town in &towns {
            let cells = tiling::area_cells(&town.area, cells::DEFAULT_TURF_RESOLUTION, &limits)
                .map_err(|e| anyhow::anyhow!("{}: {e}", town.name))?;
            let bbox = tiling::cells_bbox(&cells).unwrap_or([0.0; 4]);
            let turf = db::turfs::create(
                conn,
                campaign,
                &db::turfs::NewTurf {
                    name: &town.name,
                    region_id: None,
                    cells: &cells,
                    bbox,
                    created_by: Some(organizer),
                },
            )?;
            let mut turf_doors = Vec::new();
            let mut after = None;
            loop {
                let page = db::turfs::doors_in(conn, campaign, turf.id, after, 1000)?;
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                turf_doors.extend(page);
            }
            let mut residents: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
            let mut after = None;
            loop {
                let page = db::turfs::people_in(conn, campaign, turf.id, after, 1000)?;
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                for p in page {
                    residents.entry(p.door_id).or_default().push(p.id);
                }
            }
            for (n, chunk) in turf_doors.chunks(DOORS_PER_LIST).enumerate() {
                let user = volunteers[lists % volunteers.len()];
                let list = db::walk_lists::create(
                    conn,
                    campaign,
                    &db::walk_lists::NewList {
                        turf_id: turf.id,
                        name: &format!("{} {}", town.name, n + 1),
                        universe: "{}",
                        start: (chunk[0].lat, chunk[0].lng),
                        distance_m: 1000.0,
                        walking_seconds: 900.0,
                        expires_at: expires,
                        created_by: Some(organizer),
                        stops: chunk
                            .iter()
                            .map(|d| db::walk_lists::NewStop {
                                door_id: d.id,
                                people: residents.get(&d.id).cloned().unwrap_or_default(),
                                cell9: cells::from_db(d.cell)
                                    .and_then(|c| c.parent(h3o::Resolution::Nine))
                                    .map_or(0, cells::to_db),
                            })
                            .collect(),
                    },
                )?;
                db::walk_lists::assign(conn, campaign, list.id, user, organizer)?;
                lists += 1;
                for d in chunk {
                    stops.push(Stop {
                        list_id: list.id,
                        door_id: d.id,
                        user_id: user,
                        lat: d.lat,
                        lng: d.lng,
                        person: residents.get(&d.id).and_then(|p| p.first().copied()),
                    });
                }
            }
        }
        Ok(())
    })?;
    anyhow::ensure!(!stops.is_empty(), "no door is in any municipality's turf");
    // Half the stops are done (a final result came in).
    conn.batch_execute("UPDATE walk_list_stops SET finished = TRUE WHERE door_id % 2 = 0")?;
    Ok((stops, lists))
}

fn account(campaign_id: i64, email: &str, role: Role) -> groundswell::admin::NewAccount<'_> {
    groundswell::admin::NewAccount {
        campaign_id,
        email,
        name: None,
        role,
        password: "progress bench password".into(),
    }
}

/// SplitMix64: the same knocks on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }

    /// Uniform in [-1, 1).
    fn signed(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1_u64 << 52) as f64 - 1.0
    }
}

const TIMESTAMP: &str = "%Y-%m-%d %H:%M:%S%.6f";

/// Writes `n` knocks (ids 1..=n, the store being fresh) and the support IDs of the
/// contacted ones. Returns the number of answers.
fn insert_knocks(
    conn: &mut DbConnection,
    campaign: i64,
    stops: &[Stop],
    n: usize,
) -> anyhow::Result<usize> {
    let mut rng = Rng(0x9e0_9e55);
    let last_day = NaiveDate::from_ymd_opt(2026, 11, 20)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .context("a valid date")?;
    let mut knocks_sql = String::with_capacity(ROWS_PER_INSERT * 400);
    let mut answers_sql = String::with_capacity(ROWS_PER_INSERT * 80);
    let mut answers = 0;
    let mut statements = 0;
    conn.batch_execute("BEGIN")?;
    for start in (0..n).step_by(ROWS_PER_INSERT) {
        knocks_sql.clear();
        answers_sql.clear();
        knocks_sql.push_str(
            "INSERT INTO knocks (id, campaign_id, client_id, user_id, walk_list_id, door_id, result, notes, people, knocked_at, received_at, lat, lng, accuracy_m, distance_m, location_quality, content_hash) VALUES ",
        );
        for i in start..(start + ROWS_PER_INSERT).min(n) {
            let id = i + 1;
            let stop = &stops[rng.below(stops.len())];
            let result = match rng.below(100) {
                0..50 => "not_home",
                50..83 => "contacted",
                83..91 => "refused",
                91..95 => "come_back",
                95..97 => "inaccessible",
                97 => "moved",
                98 => "wrong_address",
                _ => "hostile",
            };
            let answer = match (result, stop.person) {
                ("contacted", Some(person)) => Some((person, 1 + rng.below(5))),
                _ => None,
            };
            let knocked_at: NaiveDateTime = last_day
                - chrono::Duration::days(i64::try_from(rng.below(DAYS as usize))?)
                + chrono::Duration::seconds(i64::try_from(rng.below(12 * 3600))?);
            let received_at =
                knocked_at + chrono::Duration::seconds(i64::try_from(30 + rng.below(7200))?);
            let (location, quality) = if rng.below(10) == 0 {
                ("NULL, NULL, NULL, NULL".to_owned(), "none")
            } else {
                let lat = stop.lat + rng.signed() * 0.000_5;
                let lng = stop.lng + rng.signed() * 0.000_7;
                let accuracy = 3.0 + rng.below(40) as f64;
                let distance =
                    groundswell::routing::distance_m((lat, lng), (stop.lat, stop.lng)).round();
                (
                    format!("{lat}, {lng}, {accuracy}, {distance}"),
                    LocationQuality::grade(Some(distance), Some(accuracy)).as_str(),
                )
            };
            if i > start {
                knocks_sql.push(',');
            }
            let people = answer.map_or_else(|| "[]".to_owned(), |(p, _)| format!("[{p}]"));
            write!(
                knocks_sql,
                "({id}, {campaign}, '00000000-0000-4000-8000-{id:012x}', {}, {}, {}, '{result}', '', '{people}', '{}', '{}', {location}, '{quality}', '{:064x}')",
                stop.user_id,
                stop.list_id,
                stop.door_id,
                knocked_at.format(TIMESTAMP),
                received_at.format(TIMESTAMP),
                u128::try_from(id)?.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835),
            )?;
            if let Some((person, support)) = answer {
                answers_sql.push_str(if answers_sql.is_empty() {
                    "INSERT INTO knock_answers (campaign_id, knock_id, person_id, question_key, answer) VALUES "
                } else {
                    ","
                });
                write!(
                    answers_sql,
                    "({campaign}, {id}, {person}, 'support_id', '{support}')"
                )?;
                answers += 1;
            }
        }
        conn.batch_execute(&knocks_sql)?;
        if !answers_sql.is_empty() {
            conn.batch_execute(&answers_sql)?;
        }
        statements += 1;
        if statements % INSERTS_PER_TRANSACTION == 0 {
            conn.batch_execute("COMMIT; BEGIN")?;
        }
    }
    conn.batch_execute("COMMIT")?;
    if matches!(conn, DbConnection::Postgresql(_)) {
        // The ids were given, so move the sequence past them.
        conn.batch_execute(
            "SELECT setval(pg_get_serial_sequence('knocks', 'id'), (SELECT MAX(id) FROM knocks))",
        )?;
    }
    Ok(answers)
}

/// Times the figures for each grouping: the first call, then `runs` more; checks them
/// against counting every knock, and times that once.
fn measure(title: &str, conn: &mut DbConnection, campaign: i64, runs: usize) -> anyhow::Result<()> {
    println!("  {title} (load average {}):", load_average());
    let at = |day: u32, h: u32, m: u32| {
        NaiveDate::from_ymd_opt(2026, 11, day).and_then(|d| d.and_hms_opt(h, m, 0))
    };
    let fortnight = Filter {
        from: at(5, 10, 17),
        to: at(19, 15, 43),
        ..Filter::default()
    };
    let all = Filter::default();
    for (name, group, filter) in [
        ("region", GroupBy::Region, &all),
        ("turf", GroupBy::Turf, &all),
        ("volunteer", GroupBy::Volunteer, &all),
        ("day", GroupBy::Day, &all),
        ("cell(8)", GroupBy::Cell(8), &all),
        ("turf, 2 weeks", GroupBy::Turf, &fortnight),
        ("day, 2 weeks", GroupBy::Day, &fortnight),
    ] {
        let timed = |conn: &mut DbConnection| -> anyhow::Result<(Duration, _)> {
            let started = Instant::now();
            let figures = progress::figures(conn, campaign, group, filter)?;
            Ok((started.elapsed(), figures))
        };
        let (first, figures) = timed(conn)?;
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            times.push(timed(conn)?.0);
        }
        times.sort();
        let started = Instant::now();
        let direct = progress::figures_from_knocks(conn, campaign, group, filter)?;
        let direct_time = started.elapsed();
        anyhow::ensure!(
            figures == direct,
            "by {name}: the tallies disagree with counting the knocks"
        );
        let attempts: i64 = figures.values().map(|f| f.attempts).sum();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let min = ms(times[0]);
        let median = ms(times[times.len() / 2]);
        println!(
            "    by {name:<14} {:>4} groups, {attempts:>7} attempts: first {:>7.1} ms, min {min:>7.1} ms, median {median:>7.1} ms [goal < {GOAL_MS} ms: {}]; counting every knock {:>7.1} ms",
            figures.len(),
            ms(first),
            if median < GOAL_MS { "met" } else { "MISSED" },
            ms(direct_time),
        );
    }
    Ok(())
}

/// The machine's 1/5/15-minute load averages: other work on the machine slows the run.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}
