//! Outbox throughput: 10,000 queued push messages drained by the push worker into the
//! local fake FCM server (the same one the tests use), on SQLite and, when reachable,
//! PostgreSQL. Prints messages per second, end to end: lease, send over HTTP, record.
//!
//!   cargo bench --bench outbox
//!   OUTBOX_BENCH_MESSAGES=50000 cargo bench --bench outbox
//!   OUTBOX_BENCH_PG=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench outbox

#![expect(clippy::expect_used, reason = "a benchmark stops loudly")]

#[path = "../tests/api/fake_fcm.rs"]
#[expect(dead_code, reason = "the benchmark uses only part of the fake")]
mod fake_fcm;

use std::collections::BTreeMap;
use std::time::Instant;

use diesel::RunQueryDsl;
use groundswell::config::PushSettings;
use groundswell::db::{self, DbManager, outbox};
use groundswell::domain::Role;
use groundswell::push::{fcm, worker};

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(()); // `cargo test --benches` asks for a list; nothing to list here.
    }
    let messages: usize = std::env::var("OUTBOX_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let fake = fake_fcm::FakeFcm::start();
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}", dir.path().join("outbox.db").display());
    run_backend("sqlite", &sqlite, &fake, dir.path(), messages)?;

    let pg = std::env::var("OUTBOX_BENCH_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    match DbManager::new(&pg).establish() {
        Ok(mut admin) => {
            let name = format!("gs_outbox_bench_{}", std::process::id());
            diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin)?;
            let base = pg.rsplit_once('/').map_or(pg.as_str(), |(b, _)| b);
            let url = format!("{base}/{name}");
            let result = run_backend("postgres", &url, &fake, dir.path(), messages);
            diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)?;
            result?;
        }
        Err(e) => println!("postgres: skipped ({e})"),
    }
    Ok(())
}

fn run_backend(
    label: &str,
    url: &str,
    fake: &fake_fcm::FakeFcm,
    dir: &std::path::Path,
    messages: usize,
) -> anyhow::Result<()> {
    let pool = db::connect(url, Some(8))?;
    let mut conn = pool.get()?;
    let campaign = groundswell::admin::create_campaign(&mut conn, "Outbox bench")?;
    let user = groundswell::admin::create_user(
        &mut conn,
        groundswell::admin::NewAccount {
            campaign_id: campaign,
            email: "bench@example.org",
            name: None,
            role: Role::Volunteer,
            password: "a long enough password".into(),
        },
    )?;
    // One user with one device per message: the enqueue fans out to every device.
    db::write_transaction(&mut conn, |conn| -> anyhow::Result<()> {
        for n in 0..messages {
            db::devices::register(conn, campaign, user, &format!("ok-{label}-{n}"), "android")?;
        }
        let data = BTreeMap::from([("event".to_owned(), "assigned".to_owned())]);
        outbox::enqueue(
            conn,
            &outbox::NewPush {
                campaign_id: campaign,
                user_id: user,
                walk_list_id: None,
                event: "assigned",
                title: "New walk list",
                body: "Vaduz 1/4: 120 doors, about 95 min",
                data: &data,
            },
        )?;
        Ok(())
    })?;
    drop(conn);

    let credentials = fake.write_service_account(dir);
    let settings = PushSettings {
        credentials_file: Some(credentials.clone()),
        fcm_base_url: fake.base_url(),
        ..PushSettings::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let before = fake.delivered().len();
    let (elapsed, rounds) = runtime.block_on(async {
        let client = std::sync::Arc::new(
            worker::client_from_settings(&settings)
                .expect("client")
                .expect("configured"),
        );
        // Warm the OAuth token and the connection pool outside the timing.
        let _ = client
            .send(&fcm::PushMessage {
                token: "ok-warmup".into(),
                title: "w".into(),
                body: "w".into(),
                data: BTreeMap::new(),
            })
            .await;
        let start = Instant::now();
        let mut rounds = 0;
        while worker::drain_once(&pool, Some(&client), &settings)
            .await
            .expect("round")
            > 0
        {
            rounds += 1;
        }
        (start.elapsed(), rounds)
    });
    let delivered = fake.delivered().len() - before - 1;
    let mut conn = pool.get()?;
    let counts = outbox::state_counts(&mut conn)?;
    println!(
        "{label}: {delivered} messages in {:.2} s = {:.0} messages/s ({rounds} rounds of up to {}, {} concurrent); states {counts:?}",
        elapsed.as_secs_f64(),
        delivered as f64 / elapsed.as_secs_f64(),
        settings.batch_size,
        settings.concurrency,
    );
    Ok(())
}
