//! Knock-sync load: N simulated phones each sign in, read their walk list and upload
//! batches of knocks, all at once, against the real server binary, on SQLite and (when
//! reachable) PostgreSQL. Prints knocks/s, batch latency percentiles, errors and the
//! server's peak memory; then inserts the same rows straight into the same database with
//! plain batched INSERTs and prints the ratio of the two rates beside the targets.
//!
//!   cargo bench --bench sync_load            # 200 phones × 10 batches of 50 knocks
//!   LOAD_PHONES=50 LOAD_BATCH=100 LOAD_BATCHES_PER_PHONE=4 cargo bench --bench sync_load
//!   LOAD_PG=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench sync_load
//!   LOAD_RATE=7000 LOAD_BACKENDS=sqlite cargo bench --bench sync_load   # paced, SQLite only
//!
//! Flat out (the default), every phone sends its next batch as soon as the last one is
//! answered: that finds the most knocks/s the server sustains, and the latency is then
//! mostly queueing (200 phones waiting on one another). With `LOAD_RATE` the phones
//! take turns at that many knocks/s in all, as phones syncing through the day would,
//! and latency counts from when each batch was due: that shows how fast a batch is
//! answered while the server carries that load.
//!
//! Setup per backend: a fresh database with the demo people on the 3,215 real doors of
//! Liechtenstein, one volunteer per phone and an admin; then the server is started and,
//! through the API, the admin draws a turf per municipality, builds walk lists small
//! enough that there is one per phone, and assigns one to each phone. The load has two
//! phases: every phone signs in and reads its list; then every phone sends its batches
//! one after the other, each knock for a door of its own list (mostly `not_home` and
//! `contacted` with a support ID, some `refused` and `come_back`), with a fresh
//! `client_id`, a time in the last six hours and a location near the door. A batch that
//! does not answer 200, and a knock that is not `created`, count as errors.
//!
//! The server inherits the environment, so its settings can be changed the usual way
//! (e.g. `GROUNDSWELL_DB_POOL_SIZE=4 GROUNDSWELL_WORKERS=1 cargo bench --bench sync_load`).
//! Its peak resident memory is read from `/proc/<pid>/status` (VmHWM), reset through
//! `/proc/<pid>/clear_refs` between phases so each phase shows its own peak.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use groundswell::admin::{self, NewAccount};
use groundswell::db::{self, DbManager};
use groundswell::domain::Role;
use groundswell::knock::LocationQuality;
use reqwest::Method;
use serde_json::{Value, json};

const JWT_SECRET: &str = "sync-load-benchmark-secret-at-least-32-bytes";
const PASSWORD: &str = "phone password 1234";
const ADMIN_EMAIL: &str = "admin@sync-load.bench.test";
/// How the stores write a timestamp as text (UTC, microseconds).
const TIMESTAMP: &str = "%Y-%m-%d %H:%M:%S%.6f";
/// The phones' knocks are spread over this many hours before the load starts.
const SPREAD_HOURS: i64 = 6;

/// The targets the issue sets.
const TARGET_RATIO: f64 = 0.5;
const TARGET_P99_MS: f64 = 100.0;
const TARGET_MEMORY_MB: f64 = 150.0;

#[derive(Debug, Clone, Copy)]
struct Knobs {
    phones: usize,
    batch: usize,
    batches: usize,
    /// Knocks per second offered by all phones together; 0 sends flat out.
    rate: usize,
    /// Which phone this is, when paced.
    phone: usize,
}

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
    let knobs = Knobs {
        phones: knob("LOAD_PHONES", 200).max(1),
        batch: knob("LOAD_BATCH", 50).clamp(1, groundswell::knock::MAX_BATCH),
        batches: knob("LOAD_BATCHES_PER_PHONE", 10).max(1),
        rate: knob("LOAD_RATE", 0),
        phone: 0,
    };
    println!(
        "{} phones × {} batches of {} knocks = {} knocks per backend",
        knobs.phones,
        knobs.batches,
        knobs.batch,
        knobs.phones * knobs.batches * knobs.batch
    );
    if knobs.rate > 0 {
        println!(
            "paced: {} knocks/s offered by all phones together",
            knobs.rate
        );
    } else {
        println!("flat out: each phone sends its next batch as soon as the last is answered");
    }
    // LOAD_BACKENDS=sqlite or =postgres runs one of the two.
    let only = std::env::var("LOAD_BACKENDS").unwrap_or_default();
    let dir = tempfile::tempdir()?;
    if only != "postgres" {
        let sqlite = format!("sqlite://{}", dir.path().join("sync_load.db").display());
        run_backend("sqlite", &sqlite, knobs)?;
    }
    if only == "sqlite" {
        return Ok(());
    }

    let pg = std::env::var("LOAD_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    match DbManager::new(&pg).establish() {
        Ok(mut admin) => {
            let name = format!("gs_sync_load_bench_{}", std::process::id());
            admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
            let url = format!(
                "{}/{name}",
                pg.rsplit_once('/').map_or(pg.as_str(), |(base, _)| base)
            );
            let result = run_backend("postgres", &url, knobs);
            admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
            result?;
        }
        Err(e) => println!("postgres: skipped ({e})"),
    }
    Ok(())
}

/// The accounts made before the server starts.
struct Accounts {
    campaign: i64,
    volunteers: Vec<i64>,
}

fn seed(url: &str, phones: usize) -> anyhow::Result<Accounts> {
    let started = Instant::now();
    let pool = db::connect(url, Some(1))?;
    let mut conn = pool.get()?;
    let campaign = admin::create_campaign(&mut conn, "Sync load bench")?;
    let doors = groundswell::demo::doors()?;
    let towns = groundswell::demo::municipalities()?;
    let csv = groundswell::demo::people_csv(&doors, &towns, 2026);
    let report = groundswell::import::import_people(
        &mut conn,
        campaign,
        csv.as_bytes(),
        &mut |_, _| Ok(()),
    )?;
    ensure!(report.rejected == 0, "demo import: {:?}", report.errors);
    admin::create_user(&mut conn, account(campaign, ADMIN_EMAIL, Role::Admin))?;
    let mut volunteers = Vec::with_capacity(phones);
    for n in 0..phones {
        let email = phone_email(n);
        volunteers.push(admin::create_user(
            &mut conn,
            account(campaign, &email, Role::Volunteer),
        )?);
    }
    println!(
        "  seeded {} doors, {} people, {phones} volunteers and an admin in {:.1} s",
        doors.len(),
        report.created,
        started.elapsed().as_secs_f64()
    );
    Ok(Accounts {
        campaign,
        volunteers,
    })
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

fn phone_email(n: usize) -> String {
    format!("phone{n}@sync-load.bench.test")
}

fn run_backend(label: &str, url: &str, knobs: Knobs) -> anyhow::Result<()> {
    println!("{label}: (load average {})", load_average());
    let accounts = seed(url, knobs.phones)?;
    let mut server = Server::start(url)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let api = Api {
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()?,
        base: format!("http://127.0.0.1:{}", server.port),
    };
    let outcome = runtime.block_on(load(&api, &server, &accounts, knobs))?;
    let sync_peak = server.peak_kb();
    let rss_after = server.status_kb("VmRSS");
    let (warnings, errors, first_error) = server.log_counts();
    server.stop();
    drop(runtime);

    // What reached the store, read directly once the server is gone.
    let mut conn = DbManager::new(url).establish()?;
    let stored: i64 = {
        use diesel::QueryDsl;
        groundswell::db::schema::knocks::table
            .count()
            .get_result(&mut conn)?
    };
    let raw_rate = raw_insert(&mut conn, accounts.campaign, &outcome.knocks, knobs.batch)?;

    let mut latencies = outcome.latencies_ms.clone();
    latencies.sort_by(f64::total_cmp);
    let p = |q| percentile(&latencies, q);
    let secs = outcome.wall.as_secs_f64();
    let rate = outcome.created as f64 / secs;
    let errors_total = outcome.failed_knocks + outcome.not_created;
    let ratio = rate / raw_rate;
    // The highest resident size while the phones were at it (signing in or syncing).
    let peak_mb = outcome
        .sign_in_peak_kb
        .max(sync_peak)
        .map(|k| k as f64 / 1024.0);
    let mark = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "  sign-in: {} phones logged in and read their lists in {:.2} s (login p50 {:.0} ms, p99 {:.0} ms; server threads after: {})",
        knobs.phones,
        outcome.sign_in_wall.as_secs_f64(),
        percentile(&outcome.login_ms, 50.0),
        percentile(&outcome.login_ms, 99.0),
        outcome
            .sign_in_threads
            .map_or("unknown".to_owned(), |n| n.to_string()),
    );
    println!(
        "  sync: {} knocks created in {:.2} s = {rate:.0} knocks/s ({} batches; {stored} knocks stored)",
        outcome.created,
        secs,
        latencies.len(),
    );
    println!(
        "  batch latency: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms   [target p99 < {TARGET_P99_MS} ms: {}]",
        p(50.0),
        p(95.0),
        p(99.0),
        latencies.last().copied().unwrap_or(0.0),
        mark(p(99.0) < TARGET_P99_MS),
    );
    println!(
        "  errors: {errors_total} ({} batches failed, {} knocks not created)   [target 0: {}]{}",
        outcome.failed_batches,
        outcome.not_created,
        mark(errors_total == 0),
        outcome
            .first_error
            .as_ref()
            .map_or(String::new(), |e| format!("; first: {e}")),
    );
    println!(
        "  server memory: after setup RSS {} (setup peak {}); sign-in peak {} (RSS after {}); sync peak {} (RSS after {})   [target < {TARGET_MEMORY_MB} MB under load: {}]",
        mb(outcome.setup_rss_kb),
        mb(outcome.setup_peak_kb),
        mb(outcome.sign_in_peak_kb),
        mb(outcome.sign_in_rss_kb),
        mb(sync_peak),
        mb(rss_after),
        match peak_mb {
            Some(m) => mark(m < TARGET_MEMORY_MB),
            None => "unknown",
        },
    );
    println!(
        "  server log: {warnings} WARN and {errors} ERROR lines{}",
        first_error.map_or(String::new(), |e| format!("; first ERROR: {e}")),
    );
    println!(
        "  raw batched insert of the same {} rows ({} per transaction): {raw_rate:.0} rows/s; load / raw = {ratio:.3}   [target ≥ {TARGET_RATIO}: {}]",
        outcome.knocks.len(),
        knobs.batch,
        mark(ratio >= TARGET_RATIO),
    );
    println!("  load average at the end: {}", load_average());
    Ok(())
}

/// The real server binary, killed when dropped.
struct Server {
    child: Child,
    port: u16,
    warnings: Arc<AtomicUsize>,
    errors: Arc<AtomicUsize>,
    first_error: Arc<Mutex<Option<String>>>,
}

impl Server {
    fn start(url: &str) -> anyhow::Result<Server> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_groundswell"))
            .args(["serve", "--addr", "127.0.0.1:0"])
            .env("DATABASE_URL", url)
            .env("GROUNDSWELL_JWT_SECRET", JWT_SECRET)
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
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let (warnings, errors, first_error) =
                (warnings.clone(), errors.clone(), first_error.clone());
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
        };
        let port = rx
            .recv_timeout(Duration::from_secs(120))
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

    fn log_counts(&self) -> (usize, usize, Option<String>) {
        (
            self.warnings.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
            self.first_error.lock().ok().and_then(|f| f.clone()),
        )
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

#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    async fn expect(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        want: u16,
    ) -> anyhow::Result<Value> {
        let (status, value) = self.call(method.clone(), path, token, body).await?;
        ensure!(status == want, "{method} {path} answered {status}: {value}");
        Ok(value)
    }

    async fn login(&self, email: &str) -> anyhow::Result<String> {
        let body = json!({ "email": email, "password": PASSWORD });
        let answer = self
            .expect(Method::POST, "/api/v1/auth/login", None, Some(&body), 200)
            .await?;
        answer["access_token"]
            .as_str()
            .map(str::to_owned)
            .context("no access_token in the login answer")
    }
}

/// Through the API as admin: a turf per municipality, lists small enough for one per
/// phone, one list assigned to each phone. Returns the phones' lists in phone order.
async fn build_lists(api: &Api, volunteers: &[i64]) -> anyhow::Result<Vec<i64>> {
    let started = Instant::now();
    let admin = api.login(ADMIN_EMAIL).await?;
    let towns = groundswell::demo::municipalities()?;
    let door_total = groundswell::demo::doors()?.len();
    let phones = volunteers.len();
    // 90 % of an even share: some doors are in no municipality's cells or have nobody
    // to ask, and every phone still needs a list.
    let max_doors = (door_total * 9 / 10 / phones).clamp(1, 500);
    let mut turfs = Vec::new();
    for town in &towns {
        let body = json!({ "name": town.name, "geometry": town.geometry });
        let (status, answer) = api
            .call(Method::POST, "/api/v1/turfs", Some(&admin), Some(&body))
            .await?;
        let answer = match status {
            201 => answer,
            409 => {
                api.expect(
                    Method::POST,
                    "/api/v1/turfs?overlap=trim",
                    Some(&admin),
                    Some(&body),
                    201,
                )
                .await?
            }
            _ => bail!("drawing the turf {}: {status} {answer}", town.name),
        };
        turfs.push(answer["id"].as_i64().context("turf id")?);
    }
    let mut lists = Vec::new();
    let mut doors_on_lists = 0;
    for turf in &turfs {
        let body = json!({ "turf_id": turf, "max_doors": max_doors });
        let (status, answer) = api
            .call(
                Method::POST,
                "/api/v1/walk-lists",
                Some(&admin),
                Some(&body),
            )
            .await?;
        match status {
            201 => {
                doors_on_lists += answer["door_count"].as_i64().unwrap_or(0);
                for item in answer["items"].as_array().into_iter().flatten() {
                    lists.push(item["id"].as_i64().context("walk list id")?);
                }
            }
            422 => {} // no door of this turf has anyone to ask
            _ => bail!("building lists for turf {turf}: {status} {answer}"),
        }
    }
    ensure!(
        lists.len() >= phones,
        "only {} lists of at most {max_doors} doors for {phones} phones",
        lists.len()
    );
    lists.truncate(phones);
    for (list, user) in lists.iter().zip(volunteers) {
        api.expect(
            Method::POST,
            &format!("/api/v1/walk-lists/{list}/assignments"),
            Some(&admin),
            Some(&json!({ "user_id": user })),
            201,
        )
        .await?;
    }
    println!(
        "  through the API: {} turfs, lists of at most {max_doors} doors ({doors_on_lists} doors), {phones} assigned, in {:.1} s",
        turfs.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(lists)
}

/// One stop of a phone's list, as the phone reads it.
struct Stop {
    door_id: i64,
    lat: f64,
    lng: f64,
    people: Vec<i64>,
}

/// A signed-in phone with its list.
struct Phone {
    user_id: i64,
    list_id: i64,
    token: String,
    stops: Vec<Stop>,
}

/// A knock as sent, kept for the raw baseline.
#[derive(Debug, Clone)]
struct Knock {
    user_id: i64,
    list_id: i64,
    door_id: i64,
    result: &'static str,
    /// The person who answered and their support ID, for `contacted`.
    answer: Option<(i64, i64)>,
    knocked_at: DateTime<Utc>,
    lat: f64,
    lng: f64,
    accuracy_m: f64,
    distance_m: f64,
}

impl Knock {
    fn to_json(&self) -> Value {
        let mut knock = json!({
            "client_id": uuid::Uuid::new_v4().to_string(),
            "walk_list_id": self.list_id,
            "door_id": self.door_id,
            "result": self.result,
            "knocked_at": self.knocked_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "location": { "lat": self.lat, "lng": self.lng, "accuracy_m": self.accuracy_m },
        });
        if let Some((person, support)) = self.answer {
            knock["people"] =
                json!([{ "person_id": person, "answers": { "support_id": support } }]);
        }
        knock
    }
}

/// SplitMix64: a deterministic stream per phone.
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

/// Knock number `k` of a phone: the stops in route order, round and round.
fn make_knock(
    phone: &Phone,
    rng: &mut Rng,
    k: usize,
    first_at: DateTime<Utc>,
    step: chrono::Duration,
) -> Knock {
    let stop = &phone.stops[k % phone.stops.len()];
    let roll = rng.below(100);
    let (result, answer) = match roll {
        0..55 => ("not_home", None),
        55..88 if !stop.people.is_empty() => {
            let person = stop.people[rng.below(stop.people.len())];
            ("contacted", Some((person, 1 + rng.below(5) as i64)))
        }
        55..88 => ("not_home", None),
        88..96 => ("refused", None),
        _ => ("come_back", None),
    };
    // Within about 25 m of the door.
    let lat = stop.lat + rng.signed() * 0.000_2;
    let lng = stop.lng + rng.signed() * 0.000_3;
    let knocked_at = (first_at + step * i32::try_from(k).unwrap_or(i32::MAX)).trunc_subsecs(6);
    Knock {
        user_id: phone.user_id,
        list_id: phone.list_id,
        door_id: stop.door_id,
        result,
        answer,
        knocked_at,
        lat,
        lng,
        accuracy_m: 4.0 + rng.below(20) as f64,
        distance_m: groundswell::routing::distance_m((lat, lng), (stop.lat, stop.lng)).round(),
    }
}

/// What one phone saw while syncing.
#[derive(Default)]
struct PhoneReport {
    latencies_ms: Vec<f64>,
    created: usize,
    failed_batches: usize,
    failed_knocks: usize,
    not_created: usize,
    first_error: Option<String>,
    knocks: Vec<Knock>,
}

async fn sync_phone(
    api: Api,
    phone: Phone,
    knobs: Knobs,
    seed: u64,
    first_at: DateTime<Utc>,
) -> PhoneReport {
    let mut rng = Rng(seed);
    let total = knobs.batches * knobs.batch;
    let step =
        chrono::Duration::hours(SPREAD_HOURS) / i32::try_from(total).unwrap_or(i32::MAX).max(1);
    let mut report = PhoneReport {
        knocks: Vec::with_capacity(total),
        ..PhoneReport::default()
    };
    // Paced: the phones take turns, batch after batch, at the offered rate; a batch's
    // latency counts from when it was due, so a slow answer also counts against the
    // batches it held up (no coordinated omission).
    let began = Instant::now();
    let due = |b: usize| {
        let slot = (b * knobs.phones + knobs.phone) as f64;
        began + Duration::from_secs_f64(slot * knobs.batch as f64 / knobs.rate as f64)
    };
    for b in 0..knobs.batches {
        let knocks: Vec<Knock> = (b * knobs.batch..(b + 1) * knobs.batch)
            .map(|k| make_knock(&phone, &mut rng, k, first_at, step))
            .collect();
        let body = json!({ "knocks": knocks.iter().map(Knock::to_json).collect::<Vec<_>>() });
        let started = if knobs.rate > 0 {
            tokio::time::sleep_until(due(b).into()).await;
            due(b)
        } else {
            Instant::now()
        };
        let answer = api
            .call(
                Method::POST,
                "/api/v1/knocks/batch",
                Some(&phone.token),
                Some(&body),
            )
            .await;
        report
            .latencies_ms
            .push(started.elapsed().as_secs_f64() * 1e3);
        match answer {
            Ok((200, answer)) => {
                let created = answer["created"].as_u64().unwrap_or(0) as usize;
                report.created += created;
                report.not_created += knocks.len().saturating_sub(created);
                if created < knocks.len() && report.first_error.is_none() {
                    report.first_error = answer["results"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|r| r["status"] != "created")
                        .map(|r| format!("knock {}: {} {}", r["index"], r["status"], r["reason"]));
                }
            }
            Ok((status, answer)) => {
                report.failed_batches += 1;
                report.failed_knocks += knocks.len();
                report
                    .first_error
                    .get_or_insert_with(|| format!("batch answered {status}: {answer}"));
            }
            Err(e) => {
                report.failed_batches += 1;
                report.failed_knocks += knocks.len();
                report
                    .first_error
                    .get_or_insert_with(|| format!("batch failed: {e:#}"));
            }
        }
        report.knocks.extend(knocks);
    }
    report
}

/// Signs a phone in and reads its list.
async fn sign_in(api: Api, n: usize, user_id: i64, list_id: i64) -> anyhow::Result<(Phone, f64)> {
    let started = Instant::now();
    let token = api.login(&phone_email(n)).await?;
    let login_ms = started.elapsed().as_secs_f64() * 1e3;
    let list = api
        .expect(
            Method::GET,
            &format!("/api/v1/walk-lists/{list_id}"),
            Some(&token),
            None,
            200,
        )
        .await?;
    let mut stops = Vec::new();
    for s in list["stops"].as_array().into_iter().flatten() {
        stops.push(Stop {
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
    ensure!(!stops.is_empty(), "walk list {list_id} has no stops");
    Ok((
        Phone {
            user_id,
            list_id,
            token,
            stops,
        },
        login_ms,
    ))
}

/// Everything the load measured.
struct Outcome {
    sign_in_wall: Duration,
    login_ms: Vec<f64>,
    setup_peak_kb: Option<u64>,
    setup_rss_kb: Option<u64>,
    sign_in_peak_kb: Option<u64>,
    sign_in_rss_kb: Option<u64>,
    sign_in_threads: Option<u64>,
    wall: Duration,
    latencies_ms: Vec<f64>,
    created: usize,
    failed_batches: usize,
    failed_knocks: usize,
    not_created: usize,
    first_error: Option<String>,
    knocks: Vec<Knock>,
}

async fn load(
    api: &Api,
    server: &Server,
    accounts: &Accounts,
    knobs: Knobs,
) -> anyhow::Result<Outcome> {
    let lists = build_lists(api, &accounts.volunteers).await?;
    let setup_peak_kb = server.peak_kb();
    let setup_rss_kb = server.status_kb("VmRSS");
    if !server.reset_peak() {
        println!("  (cannot reset the server's peak RSS: every peak includes the setup)");
    }

    // Phase 1: every phone signs in and reads its list, all at once.
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (n, (&user, &list)) in accounts.volunteers.iter().zip(&lists).enumerate() {
        let api = api.clone();
        tasks.spawn(async move { (n, sign_in(api, n, user, list).await) });
    }
    let mut phones: Vec<Option<Phone>> = (0..lists.len()).map(|_| None).collect();
    let mut login_ms = Vec::with_capacity(lists.len());
    while let Some(joined) = tasks.join_next().await {
        let (n, signed_in) = joined?;
        let (phone, ms) = signed_in.with_context(|| format!("phone {n} signing in"))?;
        phones[n] = Some(phone);
        login_ms.push(ms);
    }
    let sign_in_wall = started.elapsed();
    login_ms.sort_by(f64::total_cmp);
    let sign_in_peak_kb = server.peak_kb();
    let sign_in_rss_kb = server.status_kb("VmRSS");
    let sign_in_threads = server.status_kb("Threads");
    server.reset_peak();

    // Phase 2: every phone sends its batches, one after the other, all phones at once.
    let first_at =
        Utc::now() - chrono::Duration::hours(SPREAD_HOURS) - chrono::Duration::minutes(1);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (n, phone) in phones.into_iter().enumerate() {
        let phone = phone.context("a phone did not sign in")?;
        tasks.spawn(sync_phone(
            api.clone(),
            phone,
            Knobs { phone: n, ..knobs },
            0x5eed_0000 + n as u64,
            first_at,
        ));
    }
    let mut outcome = Outcome {
        sign_in_wall,
        login_ms,
        setup_peak_kb,
        setup_rss_kb,
        sign_in_peak_kb,
        sign_in_rss_kb,
        sign_in_threads,
        wall: Duration::ZERO,
        latencies_ms: Vec::new(),
        created: 0,
        failed_batches: 0,
        failed_knocks: 0,
        not_created: 0,
        first_error: None,
        knocks: Vec::new(),
    };
    while let Some(joined) = tasks.join_next().await {
        let report = joined?;
        outcome.latencies_ms.extend(report.latencies_ms);
        outcome.created += report.created;
        outcome.failed_batches += report.failed_batches;
        outcome.failed_knocks += report.failed_knocks;
        outcome.not_created += report.not_created;
        if outcome.first_error.is_none() {
            outcome.first_error = report.first_error;
        }
        outcome.knocks.extend(report.knocks);
    }
    outcome.wall = started.elapsed();
    Ok(outcome)
}

/// The same rows straight into `knocks`: one multi-row INSERT of `batch` rows per
/// transaction, fresh client ids, no checks and no effects. Returns rows/s.
fn raw_insert(
    conn: &mut db::DbConnection,
    campaign: i64,
    knocks: &[Knock],
    batch: usize,
) -> anyhow::Result<f64> {
    let received: NaiveDateTime = db::now();
    let received = received.format(TIMESTAMP).to_string();
    let mut sql = String::with_capacity(batch * 512);
    let started = Instant::now();
    for chunk in knocks.chunks(batch.max(1)) {
        sql.clear();
        sql.push_str(
            "BEGIN; INSERT INTO knocks (campaign_id, client_id, user_id, walk_list_id, door_id, result, notes, people, knocked_at, received_at, lat, lng, accuracy_m, distance_m, location_quality, content_hash) VALUES ",
        );
        for (i, k) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            let people = k
                .answer
                .map_or_else(|| "[]".to_owned(), |(p, _)| format!("[{p}]"));
            let quality = LocationQuality::grade(Some(k.distance_m), Some(k.accuracy_m)).as_str();
            write!(
                sql,
                "({campaign}, '{}', {}, {}, {}, '{}', '', '{people}', '{}', '{received}', {}, {}, {}, {}, '{quality}', '{}{}')",
                uuid::Uuid::new_v4(),
                k.user_id,
                k.list_id,
                k.door_id,
                k.result,
                k.knocked_at.naive_utc().format(TIMESTAMP),
                k.lat,
                k.lng,
                k.accuracy_m,
                k.distance_m,
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple(),
            )?;
        }
        sql.push_str("; COMMIT;");
        conn.batch_execute(&sql)?;
    }
    Ok(knocks.len() as f64 / started.elapsed().as_secs_f64())
}

fn mb(kb: Option<u64>) -> String {
    kb.map_or("unknown".to_owned(), |k| {
        format!("{:.1} MB", k as f64 / 1024.0)
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
