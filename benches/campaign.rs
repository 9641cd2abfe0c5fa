//! Campaign rehearsal: one campaign grown to election size through the real server
//! binary, with every user-facing operation timed as it grows, on SQLite and (when
//! reachable) PostgreSQL. Prints p50/p99 per endpoint at 10 %, 50 % and 100 % of the
//! size and again after a second campaign of the same size was loaded into the same
//! database, the ratio of each endpoint's p50 at the largest size to the smallest, the
//! import rate, the knock rate and the server's peak memory per stage.
//!
//!   cargo bench --bench campaign                                  # full size, both stores
//!   CAMPAIGN_SCALE=0.01 CAMPAIGN_BACKENDS=sqlite cargo bench --bench campaign   # quick
//!   CAMPAIGN_SCALE=0.1 CAMPAIGN_TOTAL_SECS=900 cargo bench --bench campaign
//!   CAMPAIGN_PG=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench campaign
//!   CAMPAIGN_SERVERS=3 CAMPAIGN_BACKENDS=postgres cargo bench --bench campaign  # HAProxy
//!
//! Knobs (environment): `CAMPAIGN_SCALE` (1.0; everything below scales with it except
//! the 10,000-cell turf, the 150-door list and the batch of 50), `CAMPAIGN_BACKENDS`
//! (`sqlite`, `postgres` or both; PostgreSQL is skipped with a message when nothing
//! answers), `CAMPAIGN_PG` (the server to create and drop a fresh database on),
//! `CAMPAIGN_PHASE_SECS` (300: the time limit of each phase; a phase that runs out says
//! so and the rehearsal goes on with what it has), `CAMPAIGN_TOTAL_SECS` (420: the time
//! for one store; when it is up, the phase under way is cut short and the stages left
//! are skipped, with a message, and what was measured is printed),
//! `CAMPAIGN_KEEP` (1 keeps both databases, to look into afterwards),
//! `CAMPAIGN_CONCURRENCY` (4 organizer requests at once), `CAMPAIGN_INFLIGHT` (8 knock
//! batches in flight at once, over all phones), `CAMPAIGN_POLL_ROUNDS` (5 rounds of
//! director polls on a quiet server per stage) and `CAMPAIGN_SERVERS` (1; on PostgreSQL,
//! more starts that many server processes on the database behind an HAProxy on a free
//! port, generated config; needs `haproxy`, e.g. `apt-get install -y haproxy`). The
//! server inherits the environment (e.g. `GROUNDSWELL_DB_POOL_SIZE`), except that the
//! bench gives it its own JWT secret and 24-hour access tokens.
//!
//! Time on the 2-core development machine (another engineer building at the same time,
//! load average 2-6): scale 0.01 takes 11 s on SQLite and 17 s on PostgreSQL; scale 0.1
//! takes 381-424 s on SQLite and 141-212 s on PostgreSQL (with `CAMPAIGN_TOTAL_SECS=900`);
//! scale 0.3 takes 541 s on PostgreSQL (auto-cut of 9,600 doors: 0.17 s at 10 %, 10.5 s
//! at 100 %).
//! On SQLite, building walk lists, reading a list and syncing knocks slow down steeply
//! as the campaign grows (lists for one 100-door turf: 54-68 ms at 4,000 doors,
//! 3.8-5.2 s at 40,000; the same requests took 10-27 ms once `ANALYZE` had run on the
//! kept database). The full size therefore cannot finish in 15 minutes here: with the
//! default 420 s per store a full-size run measures the first stage or two and says
//! where it stopped; give it `CAMPAIGN_TOTAL_SECS=7200` (or more) for all of it.
//!
//! At scale 1.0 the campaign has 1,000,000 people (1 to 4 per door) on 400,000
//! synthetic doors over a 40 km metro area (`spatial::synthetic`), and a second campaign
//! the same size on other synthetic doors over the same area. The doors are grouped
//! into resolution-9 H3 cells sorted west to east, so the campaign grows eastwards: each
//! area the bench draws or cuts is the dissolved outline of a run of such cells.
//!
//! Setup per store: a fresh database with both campaigns, each with an admin, campaign 1
//! with a director and 500 volunteers (one phone each), made with the admin functions
//! before the server starts. Then, through the API only, three growth stages (10 %,
//! 50 %, 100 % of the people), each:
//!
//! 1. import the stage's new people (`POST /api/v1/imports/people`, CSV) and poll
//!    `GET /api/v1/imports/{id}` until done: rows/s;
//! 2. a region for the stage; a turf of about 10,000 resolution-11 cells
//!    (`POST /api/v1/turfs?overlap=trim`, 21 km², a compact blob of free cells around
//!    the densest new one), three times, deleted each time;
//! 3. count the live walk lists (`GET /api/v1/walk-lists`, pages of 200); set a small
//!    area aside for step 4; auto-cut fresh areas of about 32,000 doors each (3,200 at
//!    scale 0.1; the endpoint's label says which) into turfs of about 100 doors until
//!    there are enough doors for the lists; build lists of at most 50 doors on those
//!    turfs until 27.5 % of the campaign's doors are on live lists (110,000 doors on
//!    about 2,200 lists at full size; earlier stages' lists are mostly done by then);
//! 4. with all that live, auto-cut the small area into turfs of about 150 doors and
//!    build one list on each of those nearest 150 doors (up to 20, one at a time): the
//!    ~150-door list;
//! 5. assign every new list to a phone, round robin; every phone with new lists reads
//!    `GET /api/v1/me/walk-lists` and each of its lists;
//! 6. the phones sync knocks for the doors of their new lists in batches of 50
//!    (`POST /api/v1/knocks/batch`), at most `CAMPAIGN_INFLIGHT` batches in flight, until
//!    the campaign has 10 %, 50 %, 100 % of its 1,000,000 knocks; meanwhile the director
//!    polls progress by region, turf, volunteer, day and resolution-8 cell, the heatmap,
//!    the leaderboard and the quality flags, one after the other ("during knocks");
//! 7. on the quiet server, `CAMPAIGN_POLL_ROUNDS` rounds of the same polls, and a few
//!    volunteers read their lists again.
//!
//! Then the second campaign's people are imported through the API in one file, and
//! campaign 1 goes through one more stage ("after 2nd") without an import: the turf,
//! one auto-cut area, lists on all its turfs, the ~150-door lists, assignment, reads,
//! another 10 % of the knocks and the polls.
//!
//! Knocks are `not_home` (55 %), `contacted` with a support ID (33 %), `refused` (8 %) or
//! `come_back`, each with a fresh `client_id`, a time in the last 20 hours (the server
//! refuses knocks more than a day older than their list) and a location near the door
//! (3 % are 150-250 m away, for the quality flags). A batch latency counts from when
//! its slot came free, so it is the server's answer time at that concurrency.
//!
//! The server's peak resident memory per stage is read from `/proc/<pid>/status`
//! (VmHWM), reset through `/proc/<pid>/clear_refs` at the start of each stage. Every
//! answer the bench did not expect (4xx, 5xx, no answer) is counted per endpoint and
//! status, and listed at the end with its first message.
//!
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use chrono::{DateTime, SubsecRound, Utc};
use diesel::connection::SimpleConnection;
use groundswell::admin::{self, NewAccount};
use groundswell::db::{self, DbManager};
use groundswell::domain::Role;
use groundswell::spatial::synthetic::synthetic_doors;
use groundswell::spatial::tiling;
use h3o::{CellIndex, LatLng, Resolution};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

const JWT_SECRET: &str = "campaign-rehearsal-benchmark-secret-32-bytes";
const PASSWORD: &str = "campaign password 1234";

/// Sizes at scale 1.0.
const FULL_DOORS: f64 = 400_000.0;
const FULL_PHONES: f64 = 500.0;
const FULL_KNOCKS: f64 = 1_000_000.0;
const FULL_AREA_DOORS: f64 = 32_000.0;
/// The growth stages, as shares of the people.
const STEPS: [(&str, f64); 3] = [("10%", 0.1), ("50%", 0.5), ("100%", 1.0)];
const AFTER: &str = "after 2nd";
/// Knocks of the stage after the second campaign, as a share of the full count.
const AFTER_KNOCKS: f64 = 0.1;
/// Share of the campaign's doors to have on live lists before the ~150-door list.
const LIVE_SHARE: f64 = 0.275;
const TURF_DOORS: u32 = 100;
const LIST_DOORS: u32 = 50;
const PROBE_DOORS: u32 = 150;
const PROBES: usize = 20;
/// The drawn turf: resolution-11 cells, about 49 in each resolution-9 cell.
const TURF_CELLS: usize = 10_000;
const TURF_TRIES: usize = 3;
const BATCH: usize = 50;
/// Areas are built from cells of this resolution.
const UNIT: Resolution = Resolution::Nine;
/// Keeps an area's outline under the server's 20,000 vertices (7 per lone hexagon).
const MAX_AREA_UNITS: usize = 2_500;
/// Knocks are spread over this many hours before the stage.
const SPREAD_HOURS: i64 = 20;
const LIVE: [&str; 3] = ["open", "assigned", "in_progress"];

/// The director's polls: (label, path).
const POLLS: [(&str, &str); 8] = [
    (
        "GET progress?group_by=region",
        "/api/v1/progress?group_by=region",
    ),
    (
        "GET progress?group_by=turf",
        "/api/v1/progress?group_by=turf",
    ),
    (
        "GET progress?group_by=volunteer",
        "/api/v1/progress?group_by=volunteer",
    ),
    ("GET progress?group_by=day", "/api/v1/progress?group_by=day"),
    (
        "GET progress?group_by=cell&resolution=8",
        "/api/v1/progress?group_by=cell&resolution=8",
    ),
    (
        "GET progress/heatmap?resolution=8",
        "/api/v1/progress/heatmap?resolution=8",
    ),
    ("GET leaderboard", "/api/v1/leaderboard"),
    ("GET quality-flags", "/api/v1/quality-flags"),
];

#[derive(Debug, Clone)]
struct Knobs {
    scale: f64,
    sqlite: bool,
    postgres: bool,
    pg: String,
    phase: Duration,
    concurrency: usize,
    inflight: usize,
    poll_rounds: usize,
    /// Time for one store, from its seeding to its last stage.
    total: Duration,
    /// When this store's time is up (set per store).
    budget: Instant,
    servers: usize,
    keep: bool,
}

impl Knobs {
    fn from_env() -> Knobs {
        let var = |name: &str| std::env::var(name).unwrap_or_default();
        let backends = var("CAMPAIGN_BACKENDS").to_ascii_lowercase();
        let all = backends.is_empty() || backends == "both" || backends == "all";
        Knobs {
            scale: var("CAMPAIGN_SCALE")
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0)
                .unwrap_or(1.0),
            sqlite: all || backends.contains("sqlite"),
            postgres: all || backends.contains("postgres"),
            pg: std::env::var("CAMPAIGN_PG")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
            phase: Duration::from_secs(knob("CAMPAIGN_PHASE_SECS", 300).max(1) as u64),
            concurrency: knob("CAMPAIGN_CONCURRENCY", 4).max(1),
            inflight: knob("CAMPAIGN_INFLIGHT", 8).max(1),
            poll_rounds: knob("CAMPAIGN_POLL_ROUNDS", 5).max(1),
            total: Duration::from_secs(knob("CAMPAIGN_TOTAL_SECS", 420).max(1) as u64),
            budget: Instant::now(),
            servers: knob("CAMPAIGN_SERVERS", 1).clamp(1, 16),
            keep: !matches!(var("CAMPAIGN_KEEP").as_str(), "" | "0"),
        }
    }

    /// The deadline of a phase starting now: the phase limit, cut to the store's time
    /// (but never under 5 s, so a late phase can still finish what it started).
    fn phase_end(&self) -> Instant {
        let now = Instant::now();
        (now + self.phase).min(self.budget.max(now + Duration::from_secs(5)))
    }

    fn out_of_time(&self) -> bool {
        Instant::now() >= self.budget
    }
}

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The sizes at the chosen scale.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    doors: usize,
    phones: usize,
    knocks: usize,
    area_doors: usize,
}

impl Sizes {
    fn new(scale: f64) -> Sizes {
        let at = |full: f64, min: usize| ((full * scale).round() as usize).max(min);
        Sizes {
            doors: at(FULL_DOORS, 400),
            phones: at(FULL_PHONES, 2),
            knocks: at(FULL_KNOCKS, 1_000),
            area_doors: at(FULL_AREA_DOORS, 100),
        }
    }
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(()); // `cargo test --benches` asks for a list; nothing to list here.
    }
    let knobs = Knobs::from_env();
    let sizes = Sizes::new(knobs.scale);
    let started = Instant::now();
    let geo1 = Arc::new(Geography::new(sizes.doors, 1));
    let geo2 = Arc::new(Geography::new(sizes.doors, 2));
    println!(
        "campaign rehearsal at scale {}: {} people on {} doors ({} resolution-9 cells), {} phones, {} knocks, auto-cut areas of ~{} doors; second campaign {} people on {} doors; generated in {:.1} s",
        knobs.scale,
        geo1.people,
        geo1.doors.len(),
        geo1.units.len(),
        sizes.phones,
        sizes.knocks,
        sizes.area_doors,
        geo2.people,
        geo2.doors.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "phase limit {} s, {} organizer requests at once, {} knock batches in flight",
        knobs.phase.as_secs(),
        knobs.concurrency,
        knobs.inflight
    );
    let dir = tempfile::tempdir()?;
    let mut reports = Vec::new();
    if knobs.sqlite {
        let path = if knobs.keep {
            std::env::temp_dir().join(format!("gs_campaign_bench_{}.db", std::process::id()))
        } else {
            dir.path().join("campaign.db")
        };
        let url = format!("sqlite://{}", path.display());
        match run_backend("sqlite", &url, &knobs, sizes, &geo1, &geo2) {
            Ok(r) => reports.push(r),
            Err(e) => println!("sqlite: stopped: {e:#}"),
        }
        if knobs.keep {
            println!("kept {url}");
        }
    }
    if knobs.postgres {
        let pg = &knobs.pg;
        match DbManager::new(pg).establish() {
            Ok(mut admin) => {
                let name = format!("gs_campaign_bench_{}", std::process::id());
                admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
                let url = format!(
                    "{}/{name}",
                    pg.rsplit_once('/').map_or(pg.as_str(), |(base, _)| base)
                );
                match run_backend("postgres", &url, &knobs, sizes, &geo1, &geo2) {
                    Ok(r) => reports.push(r),
                    Err(e) => println!("postgres: stopped: {e:#}"),
                }
                if knobs.keep {
                    println!("kept {url}");
                } else {
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
                }
            }
            Err(e) => println!("postgres: skipped ({e})"),
        }
    }
    if reports.len() > 1 {
        println!("\n===== all stores =====");
        for r in &reports {
            r.print();
        }
    }
    println!("total {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Synthetic campaign data

struct Door {
    lat: f64,
    lng: f64,
    people: usize,
}

/// A resolution-9 cell holding doors `first..end` of the ordered doors.
struct Unit {
    cell: CellIndex,
    first: usize,
    end: usize,
    people: usize,
}

/// Synthetic doors ordered by resolution-9 cell, the cells west to east.
struct Geography {
    doors: Vec<Door>,
    units: Vec<Unit>,
    people: usize,
}

impl Geography {
    fn new(n: usize, seed: u64) -> Geography {
        let mut keyed: Vec<(CellIndex, LatLng)> = synthetic_doors(n, seed)
            .into_iter()
            .map(|d| (d.to_cell(UNIT), d))
            .collect();
        keyed.sort_unstable_by_key(|(c, _)| *c);
        let mut groups: Vec<(CellIndex, Vec<LatLng>)> = Vec::new();
        for (cell, door) in keyed {
            match groups.last_mut() {
                Some((last, doors)) if *last == cell => doors.push(door),
                _ => groups.push((cell, vec![door])),
            }
        }
        groups.sort_by(|a, b| {
            let (la, lb) = (LatLng::from(a.0), LatLng::from(b.0));
            la.lng()
                .total_cmp(&lb.lng())
                .then(la.lat().total_cmp(&lb.lat()))
        });
        let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
        let mut doors = Vec::with_capacity(n);
        let mut units = Vec::with_capacity(groups.len());
        let mut people = 0;
        for (cell, group) in groups {
            let first = doors.len();
            let before = people;
            for d in group {
                let count = 1 + rng.below(4);
                people += count;
                doors.push(Door {
                    lat: d.lat(),
                    lng: d.lng(),
                    people: count,
                });
            }
            units.push(Unit {
                cell,
                first,
                end: doors.len(),
                people: people - before,
            });
        }
        Geography {
            doors,
            units,
            people,
        }
    }

    /// The end of the first units that hold `share` of the people.
    fn units_for(&self, share: f64) -> usize {
        let want = (self.people as f64 * share).round() as usize;
        let mut sum = 0;
        for (i, u) in self.units.iter().enumerate() {
            sum += u.people;
            if sum >= want {
                return i + 1;
            }
        }
        self.units.len()
    }

    /// The voter file of the people in `units`, and its row count.
    fn people_csv(&self, tag: &str, units: std::ops::Range<usize>) -> (String, usize) {
        const FIRST: [&str; 12] = [
            "Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hans", "Ida", "Jonas",
            "Lena", "Max",
        ];
        const LAST: [&str; 12] = [
            "Beck", "Frick", "Marxer", "Vogt", "Kaiser", "Hasler", "Meier", "Risch", "Nigg",
            "Walser", "Matt", "Ritter",
        ];
        const PARTIES: [&str; 5] = ["FBP", "VU", "FL", "DPL", ""];
        let mut out = String::from(
            "external_id,first_name,last_name,party,birth_year,street,housenumber,postcode,city,lat,lng,flags,support_score,turnout_score\n",
        );
        let mut rows = 0;
        for unit in &self.units[units] {
            for d in unit.first..unit.end {
                let door = &self.doors[d];
                let mut rng = Rng(0x5eed_0000_0000 ^ (d as u64).wrapping_mul(0x9e37_79b9));
                let family = LAST[rng.below(LAST.len())];
                for n in 0..door.people {
                    let last = if rng.below(5) == 0 {
                        LAST[rng.below(LAST.len())]
                    } else {
                        family
                    };
                    let flags = if rng.below(100) == 0 {
                        "do_not_walk"
                    } else {
                        ""
                    };
                    let _ = writeln!(
                        out,
                        "{tag}-{d}-{n},{},{last},{},{},Street {},{},9{:03},Metro,{:.7},{:.7},{flags},{},{}",
                        FIRST[rng.below(FIRST.len())],
                        PARTIES[rng.below(PARTIES.len())],
                        1940 + rng.below(66),
                        d / 400,
                        d % 400 + 1,
                        d / 40_000,
                        door.lat,
                        door.lng,
                        rng.below(101),
                        rng.below(101),
                    );
                    rows += 1;
                }
            }
        }
        (out, rows)
    }
}

/// The dissolved outline of resolution-9 cells as a GeoJSON geometry.
fn area_geometry(cells: &[CellIndex]) -> anyhow::Result<Value> {
    let outline = tiling::outline(cells);
    ensure!(
        !outline.0.is_empty(),
        "no outline for {} cells",
        cells.len()
    );
    Ok(serde_json::to_value(geojson::Geometry::new(
        geojson::GeometryValue::from(&outline),
    ))?)
}

/// SplitMix64.
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

// ---------------------------------------------------------------------------------------
// Store setup, server, client

struct Seeded {
    campaign: i64,
    phones: Vec<(i64, String)>,
}

fn email(campaign: usize, who: &str) -> String {
    format!("{who}@c{campaign}.campaign.bench.test")
}

fn account(campaign_id: i64, email: &str, role: Role) -> NewAccount<'_> {
    NewAccount {
        campaign_id,
        email,
        name: None,
        role,
        password: PASSWORD.into(),
    }
}

fn seed(url: &str, phones: usize) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let pool = db::connect(url, Some(1))?;
    let mut conn = pool.get()?;
    let campaign1 = admin::create_campaign(&mut conn, "Campaign rehearsal")?;
    let campaign2 = admin::create_campaign(&mut conn, "Campaign rehearsal, second")?;
    admin::create_user(
        &mut conn,
        account(campaign1, &email(1, "admin"), Role::Admin),
    )?;
    admin::create_user(
        &mut conn,
        account(campaign1, &email(1, "director"), Role::Director),
    )?;
    admin::create_user(
        &mut conn,
        account(campaign2, &email(2, "admin"), Role::Admin),
    )?;
    // The volunteers share one Argon2 hash: hashing 500 passwords would take most of a
    // minute and measure nothing.
    let hash = groundswell::auth::password::hash(PASSWORD)?;
    let now = db::now();
    let mut out = Vec::with_capacity(phones);
    for n in 0..phones {
        let address = email(1, &format!("phone{n}"));
        let id = db::users::insert(
            &mut conn,
            &db::users::NewUser {
                campaign_id: campaign1,
                email: &address,
                name: &format!("Phone {n}"),
                role: Role::Volunteer.as_str(),
                region_id: None,
                password_hash: Some(&hash),
                active: true,
                created_at: now,
                updated_at: now,
            },
        )?;
        out.push((id, address));
    }
    println!(
        "  seeded campaigns {campaign1} and {campaign2}, their admins, a director and {phones} volunteers in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(Seeded {
        campaign: campaign1,
        phones: out,
    })
}

/// The real server binary, killed when dropped.
struct Server {
    child: Child,
    port: u16,
    warnings: Arc<AtomicUsize>,
    errors: Arc<AtomicUsize>,
    first_error: Arc<Mutex<Option<String>>>,
    first_warning: Arc<Mutex<Option<String>>>,
}

impl Server {
    fn start(url: &str) -> anyhow::Result<Server> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_groundswell"))
            .args(["serve", "--addr", "127.0.0.1:0"])
            .env("DATABASE_URL", url)
            .env("GROUNDSWELL_JWT_SECRET", JWT_SECRET)
            // The rehearsal outlasts the default 15 minutes of an access token.
            .env("GROUNDSWELL_ACCESS_TOKEN_TTL_SECS", "86400")
            // Warnings and errors, and the one startup line that names the port.
            .env("RUST_LOG", "warn,groundswell::cli=info")
            .env_remove("GROUNDSWELL_CONFIG")
            .env_remove("GROUNDSWELL_ADDR")
            .env_remove("GROUNDSWELL_LOG_FORMAT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting the server binary")?;
        let stderr = child.stderr.take().context("the server's stderr")?;
        let warnings = Arc::new(AtomicUsize::new(0));
        let errors = Arc::new(AtomicUsize::new(0));
        let first_error = Arc::new(Mutex::new(None));
        let first_warning = Arc::new(Mutex::new(None));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let (warnings, errors, first_error, first_warning) = (
                warnings.clone(),
                errors.clone(),
                first_error.clone(),
                first_warning.clone(),
            );
            // Reads every line for the whole run, so the pipe never fills up.
            std::thread::spawn(move || {
                let mut tx = Some(tx);
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let event: Value = serde_json::from_str(&line).unwrap_or_default();
                    if event["message"] == "listening"
                        && let Some(tx) = tx.take()
                    {
                        let _ = tx.send(event["port"].as_u64());
                        continue;
                    }
                    match event["level"].as_str() {
                        Some("WARN") => {
                            warnings.fetch_add(1, Ordering::Relaxed);
                            if let Ok(mut first) = first_warning.lock() {
                                first.get_or_insert(line);
                            }
                        }
                        Some("ERROR") => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            if let Ok(mut first) = first_error.lock() {
                                first.get_or_insert(line);
                            }
                        }
                        _ => {}
                    }
                }
            });
        }
        let mut server = Server {
            child,
            port: 0,
            warnings,
            errors,
            first_error,
            first_warning,
        };
        let port = rx
            .recv_timeout(Duration::from_secs(300))
            .context("the server did not log \"listening\"")?
            .context("no port in the \"listening\" line")?;
        server.port = u16::try_from(port)?;
        Ok(server)
    }

    fn status_kb(&self, key: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    fn peak_kb(&self) -> Option<u64> {
        self.status_kb("VmHWM")
    }

    /// Resets the peak to the current resident size; false where the kernel refuses.
    fn reset_peak(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5").is_ok()
    }

    fn log_counts(&self) -> ServerLog {
        ServerLog {
            warnings: self.warnings.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            first_error: self.first_error.lock().ok().and_then(|f| f.clone()),
            first_warning: self.first_warning.lock().ok().and_then(|f| f.clone()),
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One server, or several on the same database behind HAProxy.
struct Fleet {
    servers: Vec<Server>,
    proxy: Option<Child>,
    _config: Option<tempfile::TempDir>,
    port: u16,
}

impl Fleet {
    fn start(url: &str, n: usize) -> anyhow::Result<Fleet> {
        // The first server migrates the database; the others find it ready.
        let mut servers = vec![Server::start(url)?];
        if n == 1 {
            let port = servers[0].port;
            return Ok(Fleet {
                servers,
                proxy: None,
                _config: None,
                port,
            });
        }
        for _ in 1..n {
            servers.push(Server::start(url)?);
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("haproxy.cfg");
        let mut text = format!(
            "global\n    maxconn 4096\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 300s\n    timeout server 300s\nfrontend campaign\n    bind 127.0.0.1:{port}\n    default_backend servers\nbackend servers\n    balance roundrobin\n"
        );
        for (i, s) in servers.iter().enumerate() {
            writeln!(text, "    server s{i} 127.0.0.1:{}", s.port)?;
        }
        std::fs::write(&config, text)?;
        let proxy = Command::new("haproxy")
            .arg("-f")
            .arg(&config)
            .arg("-db")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting haproxy (apt-get install -y haproxy)")?;
        let mut fleet = Fleet {
            servers,
            proxy: Some(proxy),
            _config: Some(dir),
            port,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            ensure!(
                started.elapsed() < Duration::from_secs(20),
                "haproxy did not listen on port {port} within 20 s"
            );
            if let Some(proxy) = fleet.proxy.as_mut()
                && let Ok(Some(status)) = proxy.try_wait()
            {
                anyhow::bail!("haproxy exited: {status}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(fleet)
    }

    /// The largest peak of the servers.
    fn peak_kb(&self) -> Option<u64> {
        self.servers.iter().filter_map(Server::peak_kb).max()
    }

    /// The largest value of the servers.
    fn status_kb(&self, key: &str) -> Option<u64> {
        self.servers.iter().filter_map(|s| s.status_kb(key)).max()
    }

    fn reset_peak(&self) -> bool {
        // Every server, even after one refuses.
        let refused = self.servers.iter().filter(|s| !s.reset_peak()).count();
        refused == 0
    }

    fn log_counts(&self) -> ServerLog {
        let mut log = ServerLog {
            warnings: 0,
            errors: 0,
            first_error: None,
            first_warning: None,
        };
        for s in &self.servers {
            let one = s.log_counts();
            log.warnings += one.warnings;
            log.errors += one.errors;
            log.first_error = log.first_error.or(one.first_error);
            log.first_warning = log.first_warning.or(one.first_warning);
        }
        log
    }

    fn stop(&mut self) {
        if let Some(mut proxy) = self.proxy.take() {
            let _ = proxy.kill();
            let _ = proxy.wait();
        }
        for s in &mut self.servers {
            s.stop();
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the server logged at WARN and ERROR.
struct ServerLog {
    warnings: usize,
    errors: usize,
    first_error: Option<String>,
    first_warning: Option<String>,
}

/// An answer the bench did not expect.
struct Problem {
    stage: String,
    label: String,
    status: String,
    message: String,
    ms: f64,
}

/// Every request's latency, by stage and endpoint, and every unexpected answer.
#[derive(Default)]
struct Recorder {
    stage: Mutex<String>,
    samples: Mutex<Vec<(String, String, f64)>>,
    problems: Mutex<Vec<Problem>>,
}

impl Recorder {
    fn set_stage(&self, stage: &str) {
        if let Ok(mut s) = self.stage.lock() {
            stage.clone_into(&mut s);
        }
    }

    fn stage(&self) -> String {
        self.stage.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn sample(&self, label: &str, ms: f64) {
        let stage = self.stage();
        if let Ok(mut s) = self.samples.lock() {
            s.push((stage, label.to_owned(), ms));
        }
    }

    /// "p50 / p99 ms (n)" of one endpoint in one stage.
    fn summary(&self, stage: &str, label: &str) -> String {
        let mut v: Vec<f64> = self
            .samples
            .lock()
            .map(|s| {
                s.iter()
                    .filter(|(st, l, _)| st == stage && l == label)
                    .map(|x| x.2)
                    .collect()
            })
            .unwrap_or_default();
        v.sort_by(f64::total_cmp);
        format!(
            "p50 {} / p99 {} ms ({})",
            ms(percentile(&v, 50.0)),
            ms(percentile(&v, 99.0)),
            v.len()
        )
    }

    fn problem(&self, label: &str, status: String, message: String, ms: f64) {
        let stage = self.stage();
        if let Ok(mut p) = self.problems.lock() {
            p.push(Problem {
                stage,
                label: label.to_owned(),
                status,
                message,
                ms,
            });
        }
    }
}

enum Body<'a> {
    Empty,
    Json(&'a Value),
    Csv(String),
}

#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    base: String,
    rec: Arc<Recorder>,
}

impl Api {
    /// Sends a request, records its latency under `label`, and records a problem when
    /// the status is not one of `ok`.
    async fn send(
        &self,
        label: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Body<'_>,
        ok: &[u16],
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request = match body {
            Body::Empty => request,
            Body::Json(v) => request.json(v),
            Body::Csv(s) => request.header("content-type", "text/csv").body(s),
        };
        let started = Instant::now();
        let answer = async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let bytes = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, bytes))
        }
        .await;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        match answer {
            Ok((status, bytes)) => {
                self.rec.sample(label, ms);
                let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                if !ok.contains(&status) {
                    let message = value["error"]["message"].as_str().map_or_else(
                        || String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned(),
                        str::to_owned,
                    );
                    self.rec.problem(label, status.to_string(), message, ms);
                }
                Ok((status, value))
            }
            Err(e) => {
                self.rec
                    .problem(label, "no answer".into(), format!("{e}"), ms);
                Err(e.into())
            }
        }
    }

    async fn expect(
        &self,
        label: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Body<'_>,
        want: u16,
    ) -> anyhow::Result<Value> {
        let (status, value) = self
            .send(label, method.clone(), path, token, body, &[want])
            .await?;
        ensure!(
            status == want,
            "{method} {path} answered {status}: {}",
            short(&value)
        );
        Ok(value)
    }

    async fn login(&self, label: &str, email: &str) -> anyhow::Result<String> {
        let body = json!({ "email": email, "password": PASSWORD });
        let answer = self
            .expect(
                label,
                Method::POST,
                "/api/v1/auth/login",
                None,
                Body::Json(&body),
                200,
            )
            .await?;
        answer["access_token"]
            .as_str()
            .map(str::to_owned)
            .context("no access_token in the login answer")
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    text.chars().take(300).collect()
}

/// Runs `work` on every item, at most `concurrency` at once, while `more` (given the
/// results so far) holds and the deadline has not passed. Returns the results in the
/// order they came and whether the deadline cut the work short (unfinished work is
/// dropped).
async fn pool<T, R, Fut>(
    items: Vec<T>,
    concurrency: usize,
    deadline: Instant,
    work: impl Fn(T) -> Fut,
    more: impl Fn(&[R]) -> bool,
) -> (Vec<R>, bool)
where
    Fut: Future<Output = R> + Send + 'static,
    R: Send + 'static,
{
    let mut items = items.into_iter();
    let mut tasks = JoinSet::new();
    let mut results = Vec::new();
    loop {
        while tasks.len() < concurrency
            && more(&results)
            && let Some(item) = items.next()
        {
            tasks.spawn(work(item));
        }
        if tasks.is_empty() {
            return (results, false);
        }
        match tokio::time::timeout_at(deadline.into(), tasks.join_next()).await {
            Ok(Some(Ok(r))) => results.push(r),
            Ok(Some(Err(e))) => println!("  a task failed: {e}"),
            Ok(None) => return (results, false),
            Err(_) => return (results, true),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The rehearsal

/// A phone: its volunteer, and the stops of the lists it got in this stage.
struct Phone {
    user_id: i64,
    token: String,
    lists: Vec<i64>,
}

#[derive(Clone)]
struct Stop {
    list_id: i64,
    door_id: i64,
    lat: f64,
    lng: f64,
    people: Vec<i64>,
}

/// One campaign as the bench drives it.
struct Campaign {
    tag: &'static str,
    geo: Arc<Geography>,
    admin: String,
    director: String,
    phones: Vec<Phone>,
    /// The next unit no area has taken.
    cursor: usize,
    /// The units whose people are imported.
    imported: usize,
    next_phone: usize,
}

impl Campaign {
    fn doors_imported(&self) -> usize {
        self.geo.units[..self.imported]
            .iter()
            .map(|u| u.end - u.first)
            .sum()
    }

    /// The next free units of the imported ones, up to about `doors` doors.
    fn take_area(&mut self, doors: usize) -> Option<(Vec<CellIndex>, usize)> {
        let mut cells = Vec::new();
        let mut count = 0;
        while self.cursor < self.imported && count < doors && cells.len() < MAX_AREA_UNITS {
            let u = &self.geo.units[self.cursor];
            cells.push(u.cell);
            count += u.end - u.first;
            self.cursor += 1;
        }
        (!cells.is_empty()).then_some((cells, count))
    }

    /// Units for a turf of about `TURF_CELLS` resolution-11 cells: a compact blob of
    /// units no area has taken yet (empty ones too), grown ring by ring around the free
    /// imported unit with the most doors.
    fn turf_units(&self) -> Vec<CellIndex> {
        let want = TURF_CELLS.div_ceil(49);
        let used: HashSet<CellIndex> = self.geo.units[..self.cursor]
            .iter()
            .map(|u| u.cell)
            .collect();
        let start = self.geo.units[self.cursor..self.imported.max(self.cursor)]
            .iter()
            .max_by_key(|u| u.end - u.first)
            .or_else(|| self.geo.units.get(self.cursor))
            .or_else(|| self.geo.units.last());
        let Some(start) = start else {
            return Vec::new();
        };
        let mut set = vec![start.cell];
        let mut seen: HashSet<CellIndex> = set.iter().copied().collect();
        let mut frontier = set.clone();
        while set.len() < want && !frontier.is_empty() {
            let mut next = Vec::new();
            for cell in &frontier {
                for n in cell.grid_disk::<Vec<_>>(1) {
                    if set.len() < want && !used.contains(&n) && seen.insert(n) {
                        set.push(n);
                        next.push(n);
                    }
                }
            }
            frontier = next;
        }
        set
    }
}

/// What a stage does.
struct StageSpec {
    label: &'static str,
    /// Import the people up to this share.
    import_share: Option<f64>,
    /// Build lists until this share of the doors is on live lists; `None`: one auto-cut
    /// area and lists on all its turfs.
    live_share: Option<f64>,
    knocks: usize,
}

/// What a stage measured besides latencies.
#[derive(Default)]
struct StageReport {
    label: String,
    people: usize,
    doors: usize,
    import_rows: usize,
    import_secs: f64,
    import_outcome: String,
    turf_cells: Vec<i64>,
    turf_doors: Vec<i64>,
    autocut_doors: Vec<i64>,
    autocut_turfs: usize,
    autocut_unbalanced: usize,
    lists_built: usize,
    list_doors: i64,
    live_lists: usize,
    live_doors: i64,
    probe_doors: Vec<i64>,
    knocks_created: usize,
    knocks_not_created: usize,
    knocks_failed_batches: usize,
    first_knock_problem: Option<String>,
    knock_secs: f64,
    peak_kb: Option<u64>,
    rss_kb: Option<u64>,
    wall_secs: f64,
    notes: Vec<String>,
}

impl StageReport {
    fn note(&mut self, text: String) {
        println!("    ! {text}");
        self.notes.push(text);
    }
}

/// Awaits `fut` within the phase limit, the hard cap on top of a phase's own deadline.
async fn within<T>(
    report: &mut StageReport,
    name: &str,
    limit: Duration,
    fut: impl Future<Output = anyhow::Result<T>>,
) -> Option<T> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            report.note(format!("phase {name} failed: {e:#}"));
            None
        }
        Err(_) => {
            report.note(format!("phase {name} ran out after {} s", limit.as_secs()));
            None
        }
    }
}

struct BackendReport {
    label: String,
    stages: Vec<StageReport>,
    samples: Vec<(String, String, f64)>,
    problems: Vec<Problem>,
    log: ServerLog,
    wall_secs: f64,
}

fn run_backend(
    label: &str,
    url: &str,
    knobs: &Knobs,
    sizes: Sizes,
    geo1: &Arc<Geography>,
    geo2: &Arc<Geography>,
) -> anyhow::Result<BackendReport> {
    println!("\n{label}: (load average {})", load_average());
    let started = Instant::now();
    let knobs = &Knobs {
        budget: started + knobs.total,
        ..knobs.clone()
    };
    let seeded = seed(url, sizes.phones)?;
    let servers = if label == "postgres" {
        knobs.servers
    } else {
        if knobs.servers > 1 {
            println!("  CAMPAIGN_SERVERS applies to PostgreSQL only; one server on SQLite");
        }
        1
    };
    let mut server = Fleet::start(url, servers)?;
    if servers > 1 {
        println!(
            "  {servers} servers on ports {:?} behind HAProxy on port {} (memory: the largest server)",
            server.servers.iter().map(|s| s.port).collect::<Vec<_>>(),
            server.port
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let rec = Arc::new(Recorder::default());
    let api = Api {
        client: reqwest::Client::builder()
            .timeout(knobs.phase.min(Duration::from_secs(120)))
            .build()?,
        base: format!("http://127.0.0.1:{}", server.port),
        rec: rec.clone(),
    };
    let stages = runtime.block_on(rehearse(&api, &server, &seeded, knobs, sizes, geo1, geo2));
    let log = server.log_counts();
    server.stop();
    drop(runtime);
    let samples = rec
        .samples
        .lock()
        .map(|mut s| std::mem::take(&mut *s))
        .unwrap_or_default();
    let problems = rec
        .problems
        .lock()
        .map(|mut p| std::mem::take(&mut *p))
        .unwrap_or_default();
    let report = BackendReport {
        label: label.to_owned(),
        stages,
        samples,
        problems,
        log,
        wall_secs: started.elapsed().as_secs_f64(),
    };
    report.print();
    if let Err(e) = scores_rebuild_check(url, seeded.campaign) {
        println!("  scores: the rebuild check failed: {e}");
    }
    Ok(report)
}

/// Checks that the scores learned batch by batch as the phones synced equal a rebuild
/// from every stored knock (`groundswell scores recompute`), on the grown campaign.
fn scores_rebuild_check(url: &str, campaign_id: i64) -> anyhow::Result<()> {
    let pool = db::connect(url, Some(1))?;
    let mut conn = pool.get()?;
    let incremental = db::scores::snapshot(&mut conn, campaign_id)?;
    let started = Instant::now();
    let (people, cells) =
        db::write_transaction(&mut conn, |c| db::scores::recompute(c, campaign_id))?;
    let rebuilt = db::scores::snapshot(&mut conn, campaign_id)?;
    println!(
        "  scores: a rebuild from every knock took {:.1} s ({people} people and {cells} cells with evidence) and {}",
        started.elapsed().as_secs_f64(),
        if rebuilt == incremental {
            "equals, row for row, what the syncs built batch by batch"
        } else {
            "DIFFERS from what the syncs built batch by batch"
        }
    );
    Ok(())
}

async fn rehearse(
    api: &Api,
    server: &Fleet,
    seeded: &Seeded,
    knobs: &Knobs,
    sizes: Sizes,
    geo1: &Arc<Geography>,
    geo2: &Arc<Geography>,
) -> Vec<StageReport> {
    let mut stages = Vec::new();
    let mut setup = StageReport {
        label: "sign-in".into(),
        ..StageReport::default()
    };
    api.rec.set_stage("sign-in");
    let started = Instant::now();
    let Some(mut c1) = within(
        &mut setup,
        "sign-in",
        knobs.phase,
        sign_in(api, seeded, knobs, geo1),
    )
    .await
    else {
        stages.push(setup);
        return stages;
    };
    setup.wall_secs = started.elapsed().as_secs_f64();
    setup.peak_kb = server.peak_kb();
    println!(
        "  {} phones, the admin and the director signed in in {:.1} s (volunteer login {})",
        c1.phones.len(),
        setup.wall_secs,
        api.rec.summary("sign-in", "POST auth/login (volunteer)")
    );
    stages.push(setup);

    let mut knocks_done = 0;
    for (label, share) in STEPS {
        if knobs.out_of_time() {
            println!(
                "  out of time (CAMPAIGN_TOTAL_SECS={}): stage {label} and the rest skipped",
                knobs.total.as_secs()
            );
            return stages;
        }
        let want = ((sizes.knocks as f64) * share).round() as usize;
        let spec = StageSpec {
            label,
            import_share: Some(share),
            live_share: Some(LIVE_SHARE),
            knocks: want.saturating_sub(knocks_done),
        };
        knocks_done = want;
        stages.push(run_stage(api, server, &mut c1, &spec, knobs, sizes).await);
    }

    // The second campaign, the same size, into the same database.
    if knobs.out_of_time() {
        println!(
            "  out of time (CAMPAIGN_TOTAL_SECS={}): the second campaign and the stage after it skipped",
            knobs.total.as_secs()
        );
        return stages;
    }
    let mut second = StageReport {
        label: "2nd import".into(),
        ..StageReport::default()
    };
    api.rec.set_stage("2nd import");
    println!("  second campaign (load average {}):", load_average());
    server.reset_peak();
    let started = Instant::now();
    let admin2 = within(
        &mut second,
        "2nd sign-in",
        knobs.phase,
        api.login("POST auth/login (admin)", &email(2, "admin")),
    )
    .await;
    if let Some(admin2) = admin2 {
        let (csv, rows) = geo2.people_csv("c2", 0..geo2.units.len());
        second.people = geo2.people;
        second.doors = geo2.doors.len();
        import_people(api, &admin2, csv, rows, knobs, &mut second).await;
    }
    second.wall_secs = started.elapsed().as_secs_f64();
    second.peak_kb = server.peak_kb();
    second.rss_kb = server.status_kb("VmRSS");
    stages.push(second);

    if knobs.out_of_time() {
        println!(
            "  out of time (CAMPAIGN_TOTAL_SECS={}): stage {AFTER} skipped",
            knobs.total.as_secs()
        );
        return stages;
    }
    let spec = StageSpec {
        label: AFTER,
        import_share: None,
        live_share: None,
        knocks: ((sizes.knocks as f64) * AFTER_KNOCKS).round() as usize,
    };
    stages.push(run_stage(api, server, &mut c1, &spec, knobs, sizes).await);
    stages
}

/// Signs in the admin, the director and every phone of campaign 1.
async fn sign_in(
    api: &Api,
    seeded: &Seeded,
    knobs: &Knobs,
    geo: &Arc<Geography>,
) -> anyhow::Result<Campaign> {
    let admin = api
        .login("POST auth/login (admin)", &email(1, "admin"))
        .await?;
    let director = api
        .login("POST auth/login (director)", &email(1, "director"))
        .await?;
    let deadline = knobs.phase_end();
    let (signed, ran_out) = pool(
        seeded.phones.clone(),
        knobs.concurrency,
        deadline,
        |(user_id, address)| {
            let api = api.clone();
            async move {
                let token = api.login("POST auth/login (volunteer)", &address).await;
                (user_id, address, token)
            }
        },
        |_| true,
    )
    .await;
    ensure!(!ran_out, "the phones did not all sign in within the phase");
    let mut phones = Vec::with_capacity(signed.len());
    for (user_id, address, token) in signed {
        phones.push(Phone {
            user_id,
            token: token.with_context(|| format!("{address} signing in"))?,
            lists: Vec::new(),
        });
    }
    phones.sort_by_key(|p| p.user_id);
    Ok(Campaign {
        tag: "c1",
        geo: geo.clone(),
        admin,
        director,
        phones,
        cursor: 0,
        imported: 0,
        next_phone: 0,
    })
}

/// Uploads a voter file and follows the import to its end.
async fn import_people(
    api: &Api,
    token: &str,
    csv: String,
    rows: usize,
    knobs: &Knobs,
    report: &mut StageReport,
) {
    let started = Instant::now();
    let deadline = knobs.phase_end();
    let run = async {
        let answer = api
            .expect(
                "POST imports/people (upload)",
                Method::POST,
                "/api/v1/imports/people",
                Some(token),
                Body::Csv(csv),
                202,
            )
            .await?;
        let id = answer["id"].as_i64().context("import id")?;
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let run = api
                .expect(
                    "GET imports/{id}",
                    Method::GET,
                    &format!("/api/v1/imports/{id}"),
                    Some(token),
                    Body::Empty,
                    200,
                )
                .await?;
            match run["status"].as_str() {
                Some("done") | Some("failed") => return Ok(run),
                _ if Instant::now() > deadline => {
                    anyhow::bail!("still {} after {} rows", run["status"], run["rows_read"])
                }
                _ => {}
            }
        }
    };
    let limit = knobs.phase + Duration::from_secs(5);
    if let Some(run) = within(report, "import", limit, run).await {
        report.import_secs = started.elapsed().as_secs_f64();
        report.import_rows = rows;
        report.import_outcome = format!(
            "{}: {} created, {} updated, {} rejected",
            run["status"].as_str().unwrap_or("?"),
            run["created"],
            run["updated"],
            run["rejected"]
        );
        if run["status"] != "done" || run["rejected"].as_u64().unwrap_or(0) > 0 {
            report.note(format!(
                "import {}; message {}; first errors {}",
                report.import_outcome,
                run["message"],
                short(&run["errors"])
            ));
        }
        println!(
            "    import: {rows} rows in {:.1} s = {:.0} rows/s ({})",
            report.import_secs,
            rows as f64 / report.import_secs,
            report.import_outcome
        );
    }
}

/// The live lists of the campaign and the doors on them, read a page at a time.
async fn live_lists(api: &Api, token: &str, deadline: Instant) -> anyhow::Result<(usize, i64)> {
    let mut after: Option<i64> = None;
    let (mut lists, mut doors) = (0, 0);
    loop {
        ensure!(Instant::now() < deadline, "ran out while paging");
        let path = match after {
            Some(a) => format!("/api/v1/walk-lists?limit=200&after={a}"),
            None => "/api/v1/walk-lists?limit=200".to_owned(),
        };
        let page = api
            .expect(
                "GET walk-lists (page of 200)",
                Method::GET,
                &path,
                Some(token),
                Body::Empty,
                200,
            )
            .await?;
        for item in page["items"].as_array().into_iter().flatten() {
            if LIVE.iter().any(|s| item["status"] == *s) {
                lists += 1;
                doors += item["door_count"].as_i64().unwrap_or(0);
            }
        }
        match page["next_after"].as_i64() {
            Some(next) => after = Some(next),
            None => return Ok((lists, doors)),
        }
    }
}

/// Cuts an area into turfs; returns (turf id, doors) of each, the doors cut and the
/// unbalanced count.
async fn autocut(
    api: &Api,
    label: &str,
    token: &str,
    cells: &[CellIndex],
    target: u32,
    region: Option<i64>,
    prefix: &str,
) -> anyhow::Result<(Vec<(i64, i64)>, i64, usize)> {
    let body = json!({
        "area": area_geometry(cells)?,
        "target_doors": target,
        "resolution": 10,
        "region_id": region,
        "name_prefix": prefix,
    });
    let answer = api
        .expect(
            label,
            Method::POST,
            "/api/v1/turfs/autocut",
            Some(token),
            Body::Json(&body),
            201,
        )
        .await?;
    let turfs = answer["turfs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| Some((t["id"].as_i64()?, t["door_count"].as_i64().unwrap_or(0))))
        .collect();
    Ok((
        turfs,
        answer["doors"].as_i64().unwrap_or(0),
        answer["unbalanced"].as_array().map_or(0, Vec::len),
    ))
}

/// One `POST /api/v1/walk-lists`: the new lists with their doors (none on a 422).
async fn build_lists(
    api: Api,
    label: &'static str,
    token: String,
    turf: i64,
    max_doors: u32,
) -> Vec<(i64, i64)> {
    let body = json!({ "turf_id": turf, "max_doors": max_doors });
    let answer = api
        .send(
            label,
            Method::POST,
            "/api/v1/walk-lists",
            Some(&token),
            Body::Json(&body),
            &[201],
        )
        .await;
    match answer {
        Ok((201, answer)) => answer["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| Some((l["id"].as_i64()?, l["door_count"].as_i64().unwrap_or(0))))
            .collect(),
        _ => Vec::new(),
    }
}

async fn run_stage(
    api: &Api,
    server: &Fleet,
    camp: &mut Campaign,
    spec: &StageSpec,
    knobs: &Knobs,
    sizes: Sizes,
) -> StageReport {
    let started = Instant::now();
    let mut report = StageReport {
        label: spec.label.to_owned(),
        ..StageReport::default()
    };
    api.rec.set_stage(spec.label);
    println!("  stage {} (load average {}):", spec.label, load_average());
    if !server.reset_peak() {
        report.note("cannot reset the server's peak RSS: peaks include earlier stages".into());
    }
    let limit = knobs.phase;
    let hard = limit + Duration::from_secs(130);

    let admin = camp.admin.clone();

    // 1. Import.
    if let Some(share) = spec.import_share {
        let end = camp.geo.units_for(share);
        let (csv, rows) = camp.geo.people_csv(camp.tag, camp.imported..end);
        camp.imported = end;
        import_people(api, &admin, csv, rows, knobs, &mut report).await;
    }
    report.doors = camp.doors_imported();
    report.people = camp.geo.units[..camp.imported]
        .iter()
        .map(|u| u.people)
        .sum();

    // 2. A region, and the drawn turf of about 10,000 cells, created and deleted.
    let body = json!({ "name": format!("Stage {}", spec.label) });
    let region = within(
        &mut report,
        "region",
        hard,
        api.expect(
            "POST regions",
            Method::POST,
            "/api/v1/regions",
            Some(&admin),
            Body::Json(&body),
            201,
        ),
    )
    .await
    .and_then(|r| r["id"].as_i64());
    let turf_cells = camp.turf_units();
    let drawn = async {
        let geometry = area_geometry(&turf_cells)?;
        let deadline = knobs.phase_end();
        let mut out = Vec::new();
        for n in 0..TURF_TRIES {
            if Instant::now() > deadline {
                break;
            }
            let body = json!({
                "name": format!("Drawn {} {n}", spec.label),
                "resolution": 11,
                "geometry": geometry,
            });
            let turf = api
                .expect(
                    "POST turfs (~10,000 cells, res 11)",
                    Method::POST,
                    "/api/v1/turfs?overlap=trim",
                    Some(&admin),
                    Body::Json(&body),
                    201,
                )
                .await?;
            let id = turf["id"].as_i64().context("turf id")?;
            out.push((
                turf["cell_count"].as_i64().unwrap_or(0),
                turf["door_count"].as_i64().unwrap_or(0),
            ));
            api.expect(
                "DELETE turfs/{id} (~10,000 cells)",
                Method::DELETE,
                &format!("/api/v1/turfs/{id}"),
                Some(&admin),
                Body::Empty,
                204,
            )
            .await?;
        }
        Ok(out)
    };
    if let Some(drawn) = within(&mut report, "turf-10k", hard, drawn).await {
        report.turf_cells = drawn.iter().map(|d| d.0).collect();
        report.turf_doors = drawn.iter().map(|d| d.1).collect();
    }

    // 3. Auto-cut fresh areas and build lists on their turfs. The small area for the
    // ~150-door lists is set aside first, so it has its doors even at small scales.
    let probes = PROBES.min((camp.doors_imported() / 20 / PROBE_DOORS as usize).max(1));
    let probe_area = camp.take_area(probes * PROBE_DOORS as usize);
    let deadline = knobs.phase_end();
    let live_before = within(
        &mut report,
        "count-live",
        hard,
        live_lists(api, &admin, deadline),
    )
    .await
    .unwrap_or((0, 0));
    let needed: Option<i64> = spec
        .live_share
        .map(|share| ((report.doors as f64 * share).round() as i64 - live_before.1).max(0));
    let deadline = knobs.phase_end();
    let area_label = format!(
        "POST turfs/autocut (~{}k doors, 100/turf)",
        sizes.area_doors as f64 / 1000.0
    );
    let mut turfs: Vec<(i64, i64)> = Vec::new();
    let mut cut_doors: i64 = 0;
    let mut areas = 0;
    loop {
        let enough = match needed {
            Some(n) => cut_doors as f64 >= n as f64 * 1.05,
            None => areas >= 1,
        };
        if enough || Instant::now() > deadline {
            if !enough {
                report.note(format!(
                    "phase autocut ran out of time (phase limit {} s or the store's time)",
                    limit.as_secs()
                ));
            }
            break;
        }
        let Some((cells, _)) = camp.take_area(sizes.area_doors) else {
            report.note(format!(
                "no free area left to cut ({cut_doors} doors cut, {} needed)",
                needed.unwrap_or(0)
            ));
            break;
        };
        areas += 1;
        let prefix = format!("{} a{areas}", spec.label);
        let cut = autocut(
            api,
            &area_label,
            &admin,
            &cells,
            TURF_DOORS,
            region,
            &prefix,
        );
        if let Some((new, doors, unbalanced)) = within(&mut report, "autocut", hard, cut).await {
            report.autocut_doors.push(doors);
            report.autocut_turfs += new.len();
            report.autocut_unbalanced += unbalanced;
            cut_doors += doors;
            turfs.extend(new);
        }
    }
    let deadline = knobs.phase_end();
    let wanted = needed.unwrap_or(i64::MAX);
    let (built, ran_out) = pool(
        turfs.iter().map(|t| t.0).collect(),
        knobs.concurrency,
        deadline,
        |turf| {
            build_lists(
                api.clone(),
                "POST walk-lists (~100-door turf, lists of <=50)",
                admin.clone(),
                turf,
                LIST_DOORS,
            )
        },
        |done: &[Vec<(i64, i64)>]| done.iter().flatten().map(|l| l.1).sum::<i64>() < wanted,
    )
    .await;
    if ran_out {
        report.note(format!(
            "phase walk-lists ran out of time (phase limit {} s or the store's time)",
            limit.as_secs()
        ));
    }
    let mut new_lists: Vec<i64> = Vec::new();
    for l in built.iter().flatten() {
        new_lists.push(l.0);
        report.list_doors += l.1;
    }
    report.lists_built = new_lists.len();

    // 4. The ~150-door list, one at a time, with all that live.
    if let Some((cells, _)) = probe_area {
        let prefix = format!("{} probe", spec.label);
        let cut = autocut(
            api,
            "POST turfs/autocut (~150/turf, small area)",
            &admin,
            &cells,
            PROBE_DOORS,
            region,
            &prefix,
        );
        if let Some((mut probe_turfs, _, _)) = within(&mut report, "probe-autocut", hard, cut).await
        {
            // The turfs nearest 150 doors (an area's last turf may be a small rest).
            probe_turfs.sort_by_key(|t| (t.1 - i64::from(PROBE_DOORS)).abs());
            let deadline = knobs.phase_end();
            for (turf, _) in probe_turfs.into_iter().take(probes) {
                if Instant::now() > deadline {
                    report.note(format!(
                        "phase probe ran out of time (phase limit {} s or the store's time)",
                        limit.as_secs()
                    ));
                    break;
                }
                let lists = build_lists(
                    api.clone(),
                    "POST walk-lists (one ~150-door list)",
                    admin.clone(),
                    turf,
                    500,
                )
                .await;
                for (id, doors) in lists {
                    report.probe_doors.push(doors);
                    new_lists.push(id);
                }
            }
        }
    } else {
        report.note("no free area left for the ~150-door lists".into());
    }
    let deadline = knobs.phase_end();
    if let Some((lists, doors)) = within(
        &mut report,
        "count-live",
        hard,
        live_lists(api, &admin, deadline),
    )
    .await
    {
        report.live_lists = lists;
        report.live_doors = doors;
    }
    println!(
        "    {} doors of {} on {} live lists (was {} on {}); {} turfs cut from {} areas ({} doors, {} unbalanced); {} lists built; ~150-door lists: {:?} doors",
        report.live_doors,
        report.doors,
        report.live_lists,
        live_before.1,
        live_before.0,
        report.autocut_turfs,
        report.autocut_doors.len(),
        cut_doors,
        report.autocut_unbalanced,
        report.lists_built,
        report.probe_doors
    );

    // 5. Assign the new lists, round robin; the phones read them.
    let mut assignments = Vec::with_capacity(new_lists.len());
    for phone in &mut camp.phones {
        phone.lists.clear();
    }
    let phone_count = camp.phones.len();
    for &list in &new_lists {
        let p = camp.next_phone % phone_count;
        camp.next_phone += 1;
        assignments.push((list, camp.phones[p].user_id));
        camp.phones[p].lists.push(list);
    }
    let deadline = knobs.phase_end();
    let (assigned, ran_out) = pool(
        assignments,
        knobs.concurrency,
        deadline,
        |(list, user)| {
            let (api, admin) = (api.clone(), admin.clone());
            async move {
                let body = json!({ "user_id": user });
                api.send(
                    "POST walk-lists/{id}/assignments",
                    Method::POST,
                    &format!("/api/v1/walk-lists/{list}/assignments"),
                    Some(&admin),
                    Body::Json(&body),
                    &[201],
                )
                .await
                .is_ok_and(|(s, _)| s == 201)
            }
        },
        |_| true,
    )
    .await;
    if ran_out {
        report.note(format!(
            "phase assign ran out of time (phase limit {} s or the store's time)",
            limit.as_secs()
        ));
    }
    let failed = assigned.iter().filter(|ok| !**ok).count();
    if failed > 0 {
        report.note(format!("{failed} assignments failed"));
    }
    let readers: Vec<(usize, String, Vec<i64>)> = camp
        .phones
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.lists.is_empty())
        .map(|(i, p)| (i, p.token.clone(), p.lists.clone()))
        .collect();
    let deadline = knobs.phase_end();
    let (read, ran_out) = pool(
        readers,
        knobs.concurrency * 2,
        deadline,
        |(i, token, lists)| {
            let api = api.clone();
            async move { (i, read_lists(&api, &token, &lists).await) }
        },
        |_| true,
    )
    .await;
    if ran_out {
        report.note(format!(
            "phase volunteer-read ran out of time (phase limit {} s or the store's time)",
            limit.as_secs()
        ));
    }
    let mut phone_stops: Vec<(usize, Vec<Stop>)> = read
        .into_iter()
        .filter_map(|(i, stops)| match stops {
            Ok(s) if !s.is_empty() => Some((i, s)),
            _ => None,
        })
        .collect();
    phone_stops.sort_by_key(|p| p.0);

    // 6. Knocks, with the director polling.
    if !phone_stops.is_empty() && spec.knocks > 0 {
        knock_phase(api, camp, phone_stops, spec.knocks, knobs, &mut report).await;
    }

    // 7. Quiet polls and reads.
    let director = camp.director.clone();
    let deadline = knobs.phase_end();
    let polls = async {
        for _ in 0..knobs.poll_rounds {
            for (label, path) in POLLS {
                if Instant::now() > deadline {
                    anyhow::bail!("ran out of time");
                }
                let _ = api
                    .send(
                        label,
                        Method::GET,
                        path,
                        Some(&director),
                        Body::Empty,
                        &[200],
                    )
                    .await;
            }
        }
        for phone in camp.phones.iter().filter(|p| !p.lists.is_empty()).take(10) {
            let _ = read_lists(api, &phone.token, &phone.lists[..1]).await;
        }
        Ok(())
    };
    within(&mut report, "polls", hard, polls).await;

    report.peak_kb = server.peak_kb();
    report.rss_kb = server.status_kb("VmRSS");
    report.wall_secs = started.elapsed().as_secs_f64();
    println!(
        "    stage {} done in {:.0} s; server peak {} (RSS now {})",
        spec.label,
        report.wall_secs,
        mb(report.peak_kb),
        mb(report.rss_kb)
    );
    report
}

/// A phone reads its lists as the volunteer: `GET /me/walk-lists`, then each list.
async fn read_lists(api: &Api, token: &str, lists: &[i64]) -> anyhow::Result<Vec<Stop>> {
    api.expect(
        "GET me/walk-lists (volunteer)",
        Method::GET,
        "/api/v1/me/walk-lists",
        Some(token),
        Body::Empty,
        200,
    )
    .await?;
    let mut stops = Vec::new();
    for &list_id in lists {
        let list = api
            .expect(
                "GET walk-lists/{id} (volunteer)",
                Method::GET,
                &format!("/api/v1/walk-lists/{list_id}"),
                Some(token),
                Body::Empty,
                200,
            )
            .await?;
        for s in list["stops"].as_array().into_iter().flatten() {
            stops.push(Stop {
                list_id,
                door_id: s["door_id"].as_i64().context("stop door_id")?,
                lat: s["location"]["lat"].as_f64().context("stop lat")?,
                lng: s["location"]["lng"].as_f64().context("stop lng")?,
                people: s["people"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["id"].as_i64())
                    .collect(),
            });
        }
    }
    Ok(stops)
}

/// What one phone saw while syncing.
#[derive(Default)]
struct Synced {
    created: usize,
    not_created: usize,
    failed_batches: usize,
    first_problem: Option<String>,
}

async fn knock_phase(
    api: &Api,
    camp: &Campaign,
    phone_stops: Vec<(usize, Vec<Stop>)>,
    knocks: usize,
    knobs: &Knobs,
    report: &mut StageReport,
) {
    let per_phone = knocks.div_ceil(phone_stops.len()).div_ceil(BATCH) * BATCH;
    let started = Instant::now();
    let deadline = knobs.phase_end();
    let first_at =
        Utc::now() - chrono::Duration::hours(SPREAD_HOURS) + chrono::Duration::minutes(1);
    let step =
        chrono::Duration::hours(SPREAD_HOURS) / i32::try_from(per_phone).unwrap_or(i32::MAX).max(1);
    let slots = Arc::new(Semaphore::new(knobs.inflight));
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (api, director, stop) = (api.clone(), camp.director.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                for (label, path) in POLLS {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let label = format!("{label} [during knocks]");
                    let _ = api
                        .send(
                            &label,
                            Method::GET,
                            path,
                            Some(&director),
                            Body::Empty,
                            &[200],
                        )
                        .await;
                }
            }
        })
    };
    let mut tasks = JoinSet::new();
    let mut left = knocks;
    for (i, stops) in phone_stops {
        let quota = per_phone.min(left);
        left -= quota;
        if quota == 0 {
            break;
        }
        let phone = &camp.phones[i];
        let (api, token, slots) = (api.clone(), phone.token.clone(), slots.clone());
        let user = phone.user_id;
        tasks.spawn(async move {
            let mut rng = Rng(0x6b6e_6f63_6b00 ^ user as u64 ^ (first_at.timestamp() as u64));
            let mut out = Synced::default();
            for b in 0..quota.div_ceil(BATCH) {
                if Instant::now() > deadline {
                    break;
                }
                let knocks: Vec<Value> = (b * BATCH..((b + 1) * BATCH).min(quota))
                    .map(|k| knock(&stops, &mut rng, k, first_at + step * k as i32))
                    .collect();
                let body = json!({ "knocks": knocks });
                let Ok(_slot) = slots.acquire().await else {
                    break;
                };
                match api
                    .send(
                        "POST knocks/batch (50 knocks)",
                        Method::POST,
                        "/api/v1/knocks/batch",
                        Some(&token),
                        Body::Json(&body),
                        &[200],
                    )
                    .await
                {
                    Ok((200, answer)) => {
                        let created = answer["created"].as_u64().unwrap_or(0) as usize;
                        out.created += created;
                        out.not_created += knocks.len().saturating_sub(created);
                        if created < knocks.len() && out.first_problem.is_none() {
                            out.first_problem = answer["results"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .find(|r| r["status"] != "created")
                                .map(|r| {
                                    format!("knock {}: {} {}", r["index"], r["status"], r["reason"])
                                });
                        }
                    }
                    Ok((status, answer)) => {
                        out.failed_batches += 1;
                        out.first_problem.get_or_insert_with(|| {
                            format!("batch answered {status}: {}", short(&answer))
                        });
                    }
                    Err(e) => {
                        out.failed_batches += 1;
                        out.first_problem
                            .get_or_insert_with(|| format!("batch failed: {e:#}"));
                    }
                }
            }
            out
        });
    }
    let hard = tokio::time::Instant::from_std(deadline) + Duration::from_secs(130);
    loop {
        match tokio::time::timeout_at(hard, tasks.join_next()).await {
            Ok(Some(Ok(synced))) => {
                report.knocks_created += synced.created;
                report.knocks_not_created += synced.not_created;
                report.knocks_failed_batches += synced.failed_batches;
                if report.first_knock_problem.is_none() {
                    report.first_knock_problem = synced.first_problem;
                }
            }
            Ok(Some(Err(e))) => println!("    a phone failed: {e}"),
            Ok(None) => break,
            Err(_) => {
                tasks.abort_all();
                break;
            }
        }
    }
    report.knock_secs = started.elapsed().as_secs_f64();
    if Instant::now() > deadline {
        report.note(format!(
            "phase knocks ran out after {:.0} s ({} of {knocks} created)",
            report.knock_secs, report.knocks_created
        ));
    }
    stop.store(true, Ordering::Relaxed);
    let mut poller = poller;
    if tokio::time::timeout(Duration::from_secs(130), &mut poller)
        .await
        .is_err()
    {
        poller.abort();
        report.note("the director's polls did not stop within 130 s".into());
    }
    println!(
        "    knocks: {} created in {:.1} s = {:.0} knocks/s; {} not created, {} batches failed{}",
        report.knocks_created,
        report.knock_secs,
        report.knocks_created as f64 / report.knock_secs.max(1e-9),
        report.knocks_not_created,
        report.knocks_failed_batches,
        report
            .first_knock_problem
            .as_ref()
            .map_or(String::new(), |p| format!("; first: {p}"))
    );
}

/// Knock number `k` of a phone: its stops in route order, round and round.
fn knock(stops: &[Stop], rng: &mut Rng, k: usize, at: DateTime<Utc>) -> Value {
    let stop = &stops[k % stops.len()];
    let roll = rng.below(100);
    let (result, answer) = match roll {
        0..55 => ("not_home", None),
        55..88 if !stop.people.is_empty() => {
            let person = stop.people[rng.below(stop.people.len())];
            ("contacted", Some((person, 1 + rng.below(5))))
        }
        55..88 => ("not_home", None),
        88..96 => ("refused", None),
        _ => ("come_back", None),
    };
    // Within about 25 m of the door; 3 % of them 150-250 m off.
    let off = if rng.below(100) < 3 { 0.0018 } else { 0.0002 };
    let lat = stop.lat + rng.signed() * off;
    let lng = stop.lng + rng.signed() * off * 1.5;
    let mut knock = json!({
        "client_id": uuid::Uuid::new_v4().to_string(),
        "walk_list_id": stop.list_id,
        "door_id": stop.door_id,
        "result": result,
        "knocked_at": at.trunc_subsecs(6).to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "location": { "lat": lat, "lng": lng, "accuracy_m": 4 + rng.below(20) },
    });
    if let Some((person, support)) = answer {
        knock["people"] = json!([{ "person_id": person, "answers": { "support_id": support } }]);
    }
    knock
}

// ---------------------------------------------------------------------------------------
// Reporting

const COLUMNS: [&str; 4] = ["10%", "50%", "100%", AFTER];

impl BackendReport {
    fn print(&self) {
        println!(
            "\n== {}: latency per endpoint, p50 / p99 ms (samples), by campaign size ==",
            self.label
        );
        let mut by: BTreeMap<(&str, &str), Vec<f64>> = BTreeMap::new();
        let mut order: Vec<&str> = Vec::new();
        for (stage, label, ms) in &self.samples {
            if !COLUMNS.contains(&stage.as_str()) {
                continue;
            }
            if !order.contains(&label.as_str()) {
                order.push(label);
            }
            by.entry((label, stage)).or_default().push(*ms);
        }
        for v in by.values_mut() {
            v.sort_by(f64::total_cmp);
        }
        let width = order.iter().map(|l| l.len()).max().unwrap_or(10).max(10);
        let mut head = format!("{:width$}", "endpoint");
        for c in COLUMNS {
            let _ = write!(head, " | {c:>21}");
        }
        let _ = write!(head, " | 100%/10% | 2nd/100%");
        println!("{head}");
        println!("{}", "-".repeat(head.chars().count()));
        for label in &order {
            let mut line = format!("{label:width$}");
            let mut p50s = Vec::new();
            for c in COLUMNS {
                match by.get(&(*label, c)) {
                    Some(v) if !v.is_empty() => {
                        let cell = format!(
                            "{} / {} ({})",
                            ms(percentile(v, 50.0)),
                            ms(percentile(v, 99.0)),
                            v.len()
                        );
                        let _ = write!(line, " | {cell:>21}");
                        p50s.push(Some(percentile(v, 50.0)));
                    }
                    _ => {
                        let _ = write!(line, " | {:>21}", "-");
                        p50s.push(None);
                    }
                }
            }
            let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
                _ => "-".into(),
            };
            let _ = write!(
                line,
                " | {:>8} | {:>8}",
                ratio(p50s[2], p50s[0]),
                ratio(p50s[3], p50s[2])
            );
            println!("{line}");
        }

        println!("\n== {}: stages ==", self.label);
        println!(
            "{:10} | {:>9} | {:>8} | {:>12} | {:>14} | {:>15} | {:>16} | {:>13} | {:>22} | {:>9} | {:>6}",
            "stage",
            "people",
            "doors",
            "import row/s",
            "auto-cut",
            "lists built",
            "live lists",
            "150-door list",
            "knocks (knocks/s)",
            "peak RSS",
            "wall s"
        );
        for s in &self.stages {
            let import = if s.import_rows > 0 && s.import_secs > 0.0 {
                format!("{:.0}", s.import_rows as f64 / s.import_secs)
            } else {
                "-".into()
            };
            let cut: i64 = s.autocut_doors.iter().sum();
            let autocut = if s.autocut_turfs > 0 {
                format!("{cut}→{}", s.autocut_turfs)
            } else {
                "-".into()
            };
            let lists = if s.lists_built > 0 {
                format!("{} ({} d)", s.lists_built, s.list_doors)
            } else {
                "-".into()
            };
            let live = if s.live_lists > 0 {
                format!("{} ({} d)", s.live_lists, s.live_doors)
            } else {
                "-".into()
            };
            let probe = if s.probe_doors.is_empty() {
                "-".into()
            } else {
                format!(
                    "{}× ~{:.0} d",
                    s.probe_doors.len(),
                    s.probe_doors.iter().sum::<i64>() as f64 / s.probe_doors.len() as f64
                )
            };
            let knocks = if s.knock_secs > 0.0 {
                format!(
                    "{} ({:.0})",
                    s.knocks_created,
                    s.knocks_created as f64 / s.knock_secs
                )
            } else {
                "-".into()
            };
            println!(
                "{:10} | {:>9} | {:>8} | {:>12} | {:>14} | {:>15} | {:>16} | {:>13} | {:>22} | {:>9} | {:>6.0}",
                s.label,
                s.people,
                s.doors,
                import,
                autocut,
                lists,
                live,
                probe,
                knocks,
                mb(s.peak_kb),
                s.wall_secs
            );
        }
        for s in &self.stages {
            if !s.turf_cells.is_empty() {
                println!(
                    "  {}: drawn turf {:?} cells, {:?} doors",
                    s.label, s.turf_cells, s.turf_doors
                );
            }
            for n in &s.notes {
                println!("  {}: {n}", s.label);
            }
            if s.knocks_not_created + s.knocks_failed_batches > 0 {
                println!(
                    "  {}: {} knocks not created, {} batches failed; first: {}",
                    s.label,
                    s.knocks_not_created,
                    s.knocks_failed_batches,
                    s.first_knock_problem.as_deref().unwrap_or("-")
                );
            }
        }

        let mut grouped: BTreeMap<(&str, &str), (usize, &Problem)> = BTreeMap::new();
        for p in &self.problems {
            grouped
                .entry((p.label.as_str(), p.status.as_str()))
                .and_modify(|e| e.0 += 1)
                .or_insert((1, p));
        }
        if grouped.is_empty() {
            println!("  unexpected answers: none");
        } else {
            println!("  unexpected answers (endpoint, status: count; first stage, time, message):");
            for ((label, status), (count, first)) in &grouped {
                println!(
                    "    {label}, {status}: {count}; first in {} after {:.0} ms: {}",
                    first.stage, first.ms, first.message
                );
            }
        }
        let log = &self.log;
        println!(
            "  server log: {} WARN and {} ERROR lines; total {:.0} s",
            log.warnings, log.errors, self.wall_secs
        );
        for (kind, line) in [("WARN", &log.first_warning), ("ERROR", &log.first_error)] {
            if let Some(line) = line {
                println!(
                    "    first {kind}: {}",
                    line.chars().take(600).collect::<String>()
                );
            }
        }
    }
}

fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

fn mb(kb: Option<u64>) -> String {
    kb.map_or("unknown".to_owned(), |k| {
        format!("{:.0} MB", k as f64 / 1024.0)
    })
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The machine's 1/5/15-minute load averages: other work on the machine slows the run.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}
