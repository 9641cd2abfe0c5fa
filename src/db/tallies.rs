//! The progress tallies of [`crate::progress`]: kept by the knock sync inside the
//! knock's transaction, rebuilt from the knocks themselves (after the migration that
//! made the table, or on demand), and read by the progress figures.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Date, Integer, Nullable, Text, Timestamp};

use super::DbConnection;
use super::values::{Param, execute_bound, load_bound, load_from_values, update_from_values};
use crate::progress::{self as core, CountedKnock, Filter, TALLY_RESOLUTION, Tally, TallyKey};

/// Knocks read per query when counting from the knocks themselves.
pub const PAGE: usize = 10_000;

/// The tally cell of a door's resolution-15 cell: its parent at [`TALLY_RESOLUTION`]
/// (0 for a value that is no cell, which no group by cell shows).
pub fn tally_cell(door_cell: i64) -> i64 {
    crate::spatial::cells::parent_of(door_cell, TALLY_RESOLUTION).unwrap_or(0)
}

fn corrupt(e: std::io::Error) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(Box::new(e))
}

/// The columns of a tally row after its key, as bound.
fn tally_params<'a>(
    campaign_id: i64,
    key: &TallyKey,
    t: &Tally,
    doors: &'a [u8],
) -> Vec<Param<'a>> {
    let mut row = vec![
        Param::Int(campaign_id),
        Param::Date(key.day),
        Param::Int(key.walk_list_id),
        Param::Int(key.turf_id),
        Param::Int(key.user_id),
        Param::Int(key.cell),
        Param::Int(t.attempts),
        Param::Int(t.contacts),
    ];
    row.extend(t.support_ids.iter().map(|&n| Param::Int(n)));
    // 24 bits of hours fit an INTEGER on both backends.
    row.push(Param::Int32(i32::try_from(t.hours).unwrap_or(i32::MAX)));
    row.push(Param::Bytes(doors));
    row
}

const COLUMNS: &str = "campaign_id, day, walk_list_id, turf_id, user_id, cell, attempts, \
     contacts, support_1, support_2, support_3, support_4, support_5, hours, doors";

/// The answer counts of tallies, one row per (key, question, choice), as bound.
fn answer_params<'a>(
    campaign_id: i64,
    tallies: impl Iterator<Item = (&'a TallyKey, &'a Tally)>,
) -> Vec<Vec<Param<'a>>> {
    let mut rows = Vec::new();
    for (key, t) in tallies {
        for ((question, answer), n) in &t.answers {
            rows.push(vec![
                Param::Int(campaign_id),
                Param::Date(key.day),
                Param::Int(key.walk_list_id),
                Param::Int(key.user_id),
                Param::Int(key.cell),
                Param::Text(question),
                Param::Text(answer),
                Param::Int(*n),
            ]);
        }
    }
    rows
}

const ANSWER_COLUMNS: &str =
    "campaign_id, day, walk_list_id, user_id, cell, question_key, answer, n";

#[derive(QueryableByName)]
struct StoredDoors {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    walk_list_id: i64,
    #[diesel(sql_type = BigInt)]
    turf_id: i64,
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = BigInt)]
    cell: i64,
    #[diesel(sql_type = Binary)]
    doors: Vec<u8>,
}

/// Adds knocks just stored to their tallies, inside the caller's transaction. One
/// upsert (rows in key order, so concurrent batches lock them in the same order) adds
/// the sums and hours and writes the door sets of new keys; it returns every key's door
/// set as stored, and one update writes back those that gained doors.
pub fn record(
    conn: &mut DbConnection,
    campaign_id: i64,
    now: NaiveDateTime,
    knocks: &[(TallyKey, CountedKnock)],
) -> QueryResult<()> {
    let added = core::tally(knocks.iter().map(|(key, k)| (*key, k)));
    if added.is_empty() {
        return Ok(());
    }
    let bytes: Vec<Vec<u8>> = added.values().map(Tally::doors_bytes).collect();
    let stored: Vec<StoredDoors> = load_from_values(
        conn,
        &format!(
            "INSERT INTO progress_tallies ({COLUMNS}) VALUES {{values}}
             ON CONFLICT (campaign_id, day, walk_list_id, user_id, cell) DO UPDATE SET
                attempts = progress_tallies.attempts + excluded.attempts,
                contacts = progress_tallies.contacts + excluded.contacts,
                support_1 = progress_tallies.support_1 + excluded.support_1,
                support_2 = progress_tallies.support_2 + excluded.support_2,
                support_3 = progress_tallies.support_3 + excluded.support_3,
                support_4 = progress_tallies.support_4 + excluded.support_4,
                support_5 = progress_tallies.support_5 + excluded.support_5,
                hours = progress_tallies.hours | excluded.hours
             RETURNING day, walk_list_id, turf_id, user_id, cell, doors"
        ),
        (campaign_id, now),
        added
            .iter()
            .zip(&bytes)
            .map(|((key, t), b)| tally_params(campaign_id, key, t, b)),
    )?;
    let mut grown: Vec<(TallyKey, Vec<u8>)> = Vec::new();
    for row in stored {
        let key = TallyKey {
            day: row.day,
            walk_list_id: row.walk_list_id,
            turf_id: row.turf_id,
            user_id: row.user_id,
            cell: row.cell,
        };
        let Some(t) = added.get(&key) else { continue };
        let mut doors = Tally::doors_from_bytes(&row.doors).map_err(corrupt)?;
        let before = doors.len();
        doors |= &t.doors;
        if doors.len() != before {
            grown.push((key, core::doors_to_bytes(&doors)));
        }
    }
    grown.sort_by_key(|(key, _)| *key);
    update_from_values(
        conn,
        "UPDATE progress_tallies SET doors = v.column5
           FROM (VALUES {values}) AS v
          WHERE progress_tallies.campaign_id = {campaign} AND progress_tallies.day = v.column1
            AND progress_tallies.walk_list_id = v.column2
            AND progress_tallies.user_id = v.column3 AND progress_tallies.cell = v.column4",
        (campaign_id, now),
        grown.iter().map(|(key, doors)| {
            vec![
                Param::Date(key.day),
                Param::Int(key.walk_list_id),
                Param::Int(key.user_id),
                Param::Int(key.cell),
                Param::Bytes(doors),
            ]
        }),
    )?;
    update_from_values(
        conn,
        &format!(
            "INSERT INTO progress_answers ({ANSWER_COLUMNS}) VALUES {{values}}
             ON CONFLICT (campaign_id, day, walk_list_id, user_id, cell, question_key, answer)
             DO UPDATE SET n = progress_answers.n + excluded.n"
        ),
        (campaign_id, now),
        answer_params(campaign_id, added.iter()).into_iter(),
    )
}

/// Rebuilds the campaign's tallies from all its knocks, inside the caller's
/// transaction; returns how many tallies it wrote. Gives exactly what the knock sync
/// kept, as long as no re-import has moved a knocked door to another cell since.
///
/// The knocks are read in id order (the primary key, so each page is a range read
/// whatever the time stamps look like) and summed in memory: a campaign has far fewer
/// tallies than knocks, so the sums fit where the knocks would not.
pub fn rebuild(conn: &mut DbConnection, campaign_id: i64) -> QueryResult<usize> {
    rebuild_in_pages(conn, campaign_id, PAGE)
}

/// [`rebuild`], reading `page` knocks at a time.
pub fn rebuild_in_pages(
    conn: &mut DbConnection,
    campaign_id: i64,
    page: usize,
) -> QueryResult<usize> {
    let page_size = page.max(1);
    // Knocks written in bulk since the last analysis (a restore, a load) would be read
    // with plans for an empty table: 500 s instead of seconds for a million on
    // PostgreSQL.
    super::refresh_statistics(conn, &["knocks", "knock_answers", "walk_lists", "doors"])?;
    for table in ["progress_tallies", "progress_answers"] {
        execute_bound(
            conn,
            &format!("DELETE FROM {table} WHERE campaign_id = {{?}}"),
            &[Param::Int(campaign_id)],
        )?;
    }
    let zone = super::campaigns::time_zone(conn, campaign_id)?;
    let everything = Filter::default();
    let mut tallies: BTreeMap<TallyKey, Tally> = BTreeMap::new();
    let mut after = Keyset::Id(None);
    loop {
        let page = counted(conn, campaign_id, zone, &everything, after, page_size)?;
        for c in &page {
            let key = TallyKey {
                day: c.knock.knocked_at.date(),
                walk_list_id: c.walk_list_id,
                turf_id: c.turf_id,
                user_id: c.user_id,
                cell: tally_cell(c.door_cell),
            };
            tallies.entry(key).or_default().add(&c.knock);
        }
        match page.last() {
            Some(last) if page.len() >= page_size => after = Keyset::Id(Some(last.id)),
            _ => break,
        }
    }
    let tallies: Vec<(TallyKey, Tally)> = tallies.into_iter().collect();
    insert(conn, campaign_id, &tallies)
}

fn insert(
    conn: &mut DbConnection,
    campaign_id: i64,
    tallies: &[(TallyKey, Tally)],
) -> QueryResult<usize> {
    let bytes: Vec<Vec<u8>> = tallies.iter().map(|(_, t)| t.doors_bytes()).collect();
    update_from_values(
        conn,
        &format!("INSERT INTO progress_tallies ({COLUMNS}) VALUES {{values}}"),
        (campaign_id, super::now()),
        tallies
            .iter()
            .zip(&bytes)
            .map(|((key, t), b)| tally_params(campaign_id, key, t, b)),
    )?;
    update_from_values(
        conn,
        &format!("INSERT INTO progress_answers ({ANSWER_COLUMNS}) VALUES {{values}}"),
        (campaign_id, super::now()),
        answer_params(campaign_id, tallies.iter().map(|(k, t)| (k, t))).into_iter(),
    )?;
    Ok(tallies.len())
}

/// Rebuilds the tallies of every campaign that has knocks; returns how many it wrote.
pub fn rebuild_all(conn: &mut DbConnection) -> QueryResult<usize> {
    #[derive(QueryableByName)]
    struct Campaign {
        #[diesel(sql_type = BigInt)]
        campaign_id: i64,
    }
    let campaigns: Vec<Campaign> = load_bound(
        conn,
        "SELECT DISTINCT campaign_id FROM knocks ORDER BY campaign_id",
        &[],
    )?;
    let mut written = 0;
    for c in campaigns {
        written += rebuild(conn, c.campaign_id)?;
    }
    Ok(written)
}

/// One tally as a progress request reads it, with the region of its turf.
pub struct TallyRow {
    pub key: TallyKey,
    pub region_id: Option<i64>,
    pub tally: Tally,
}

#[derive(QueryableByName)]
struct RawTally {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    walk_list_id: i64,
    #[diesel(sql_type = BigInt)]
    turf_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    region_id: Option<i64>,
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = BigInt)]
    cell: i64,
    #[diesel(sql_type = BigInt)]
    attempts: i64,
    #[diesel(sql_type = BigInt)]
    contacts: i64,
    #[diesel(sql_type = BigInt)]
    support_1: i64,
    #[diesel(sql_type = BigInt)]
    support_2: i64,
    #[diesel(sql_type = BigInt)]
    support_3: i64,
    #[diesel(sql_type = BigInt)]
    support_4: i64,
    #[diesel(sql_type = BigInt)]
    support_5: i64,
    #[diesel(sql_type = Integer)]
    hours: i32,
    #[diesel(sql_type = Binary)]
    doors: Vec<u8>,
}

/// The conditions of `f`'s region, turf and volunteer (never its times), on the columns
/// `t.region_id`, `{turf}` and `{user}`, with their values.
fn scope_conditions<'a>(f: &Filter, turf: &str, user: &str, params: &mut Vec<Param<'a>>) -> String {
    let mut sql = String::new();
    for (value, column) in [
        (f.region_id, "t.region_id"),
        (f.turf_id, turf),
        (f.user_id, user),
    ] {
        if let Some(v) = value {
            sql.push_str(&format!(" AND {column} = {{?}}"));
            params.push(Param::Int(v));
        }
    }
    sql
}

/// The tallies of the whole days `[first, end)` within `f`'s region, turf and volunteer.
pub fn read(
    conn: &mut DbConnection,
    campaign_id: i64,
    (first, end): (Option<NaiveDate>, Option<NaiveDate>),
    f: &Filter,
) -> QueryResult<Vec<TallyRow>> {
    let mut params = vec![Param::Int(campaign_id)];
    let mut conditions = String::new();
    if let Some(first) = first {
        conditions.push_str(" AND pt.day >= {?}");
        params.push(Param::Date(first));
    }
    if let Some(end) = end {
        conditions.push_str(" AND pt.day < {?}");
        params.push(Param::Date(end));
    }
    conditions.push_str(&scope_conditions(
        f,
        "pt.turf_id",
        "pt.user_id",
        &mut params,
    ));
    let rows: Vec<RawTally> = load_bound(
        conn,
        &format!(
            "SELECT pt.day, pt.walk_list_id, pt.turf_id, t.region_id, pt.user_id, pt.cell,
                    pt.attempts,
                    pt.contacts, pt.support_1, pt.support_2, pt.support_3, pt.support_4,
                    pt.support_5, pt.hours, pt.doors
               FROM progress_tallies pt
               JOIN turfs t ON t.campaign_id = pt.campaign_id AND t.id = pt.turf_id
              WHERE pt.campaign_id = {{?}}{conditions}"
        ),
        &params,
    )?;
    let answers: Vec<RawAnswer> = load_bound(
        conn,
        &format!(
            "SELECT pa.day, pa.walk_list_id, pa.user_id, pa.cell, pa.question_key, pa.answer,
                    pa.n
               FROM progress_answers pa
               JOIN progress_tallies pt ON pt.campaign_id = pa.campaign_id
                AND pt.day = pa.day AND pt.walk_list_id = pa.walk_list_id
                AND pt.user_id = pa.user_id AND pt.cell = pa.cell
               JOIN turfs t ON t.campaign_id = pt.campaign_id AND t.id = pt.turf_id
              WHERE pt.campaign_id = {{?}}{conditions}"
        ),
        &params,
    )?;
    let mut by_key: BTreeMap<(NaiveDate, i64, i64, i64), core::Answers> = BTreeMap::new();
    for a in answers {
        *by_key
            .entry((a.day, a.walk_list_id, a.user_id, a.cell))
            .or_default()
            .entry((a.question_key, a.answer))
            .or_default() += a.n;
    }
    rows.into_iter()
        .map(|r| {
            Ok(TallyRow {
                key: TallyKey {
                    day: r.day,
                    walk_list_id: r.walk_list_id,
                    turf_id: r.turf_id,
                    user_id: r.user_id,
                    cell: r.cell,
                },
                region_id: r.region_id,
                tally: Tally {
                    attempts: r.attempts,
                    contacts: r.contacts,
                    support_ids: [
                        r.support_1,
                        r.support_2,
                        r.support_3,
                        r.support_4,
                        r.support_5,
                    ],
                    hours: u32::try_from(r.hours).unwrap_or(0),
                    doors: Tally::doors_from_bytes(&r.doors).map_err(corrupt)?,
                    answers: by_key
                        .remove(&(r.day, r.walk_list_id, r.user_id, r.cell))
                        .unwrap_or_default(),
                },
            })
        })
        .collect()
}

#[derive(QueryableByName)]
struct RawAnswer {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    walk_list_id: i64,
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = BigInt)]
    cell: i64,
    #[diesel(sql_type = Text)]
    question_key: String,
    #[diesel(sql_type = Text)]
    answer: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// One knock as progress counts it, with where it falls; its time in campaign time.
#[derive(Debug, Clone)]
pub struct Counted {
    pub id: i64,
    pub walk_list_id: i64,
    pub turf_id: i64,
    pub region_id: Option<i64>,
    pub user_id: i64,
    /// The door's resolution-15 cell.
    pub door_cell: i64,
    pub knock: CountedKnock,
}

#[derive(QueryableByName)]
struct CountedRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Timestamp)]
    knocked_at: NaiveDateTime,
    #[diesel(sql_type = BigInt)]
    walk_list_id: i64,
    #[diesel(sql_type = BigInt)]
    turf_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    region_id: Option<i64>,
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = BigInt)]
    cell: i64,
    #[diesel(sql_type = BigInt)]
    door_id: i64,
    #[diesel(sql_type = Integer)]
    contacted: i32,
    #[diesel(sql_type = Nullable<Text>)]
    question_key: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    answer: Option<String>,
}

/// The order [`counted`] reads knocks in, and the last knock of the page before (by id),
/// or `None` for the first page.
#[derive(Debug, Clone, Copy)]
pub enum Keyset {
    /// (knocked_at, id) order, for reading a stretch of time through `knocks_time`.
    Time(Option<i64>),
    /// Id order, for reading everything through the primary key.
    Id(Option<i64>),
}

/// Up to `limit` knocks within `f` (times included), in the order of `after` and after
/// it, each with its support IDs and choice answers, its time in the campaign's `zone`.
///
/// A time page starts after the stored time of the previous page's last knock, read
/// by the query itself, never after a time bound from here: SQLite keeps times as text,
/// and a time written in another form ("10:00:00.500000" beside "10:00:00.500") would
/// compare as later than itself, returning the same knock forever.
pub fn counted(
    conn: &mut DbConnection,
    campaign_id: i64,
    zone: chrono_tz::Tz,
    f: &Filter,
    after: Keyset,
    limit: usize,
) -> QueryResult<Vec<Counted>> {
    let mut params = vec![Param::Int(campaign_id)];
    let mut conditions = String::new();
    if let Some(from) = f.from {
        conditions.push_str(" AND k.knocked_at >= {?}");
        params.push(Param::Time(Some(from)));
    }
    if let Some(to) = f.to {
        conditions.push_str(" AND k.knocked_at < {?}");
        params.push(Param::Time(Some(to)));
    }
    let (order_k, order_p) = match after {
        Keyset::Time(after) => {
            if let Some(id) = after {
                let last = "(SELECT l.knocked_at FROM knocks l \
                             WHERE l.campaign_id = {?} AND l.id = {?})";
                conditions.push_str(&format!(
                    " AND k.knocked_at >= {last} AND (k.knocked_at > {last} OR k.id > {{?}})"
                ));
                params.extend([
                    Param::Int(campaign_id),
                    Param::Int(id),
                    Param::Int(campaign_id),
                    Param::Int(id),
                    Param::Int(id),
                ]);
            }
            ("k.knocked_at, k.id", "p.knocked_at, p.id")
        }
        Keyset::Id(after) => {
            if let Some(id) = after {
                conditions.push_str(" AND k.id > {?}");
                params.push(Param::Int(id));
            }
            ("k.id", "p.id")
        }
    };
    conditions.push_str(&scope_conditions(f, "wl.turf_id", "k.user_id", &mut params));
    params.extend([Param::Int(campaign_id), Param::Int(campaign_id)]);
    let rows: Vec<CountedRow> = load_bound(
        conn,
        &format!(
            "SELECT p.id, p.knocked_at, p.walk_list_id, p.turf_id, p.region_id, p.user_id,
                    p.cell, p.door_id, p.contacted, a.question_key, a.answer
               FROM (SELECT k.id, k.knocked_at, k.walk_list_id, wl.turf_id, t.region_id,
                            k.user_id, d.cell,
                            k.door_id,
                            CAST(CASE WHEN k.result = 'contacted' THEN 1 ELSE 0 END AS INTEGER)
                              AS contacted
                       FROM knocks k
                       JOIN walk_lists wl ON wl.campaign_id = k.campaign_id AND wl.id = k.walk_list_id
                       JOIN turfs t ON t.campaign_id = wl.campaign_id AND t.id = wl.turf_id
                       JOIN doors d ON d.campaign_id = k.campaign_id AND d.id = k.door_id
                      WHERE k.campaign_id = {{?}}{conditions}
                      ORDER BY {order_k}
                      LIMIT {limit}) p
               LEFT JOIN knock_answers a ON a.campaign_id = {{?}} AND a.knock_id = p.id
                     AND (a.question_key = 'support_id' OR a.question_key IN
                          (SELECT q.key FROM questions q WHERE q.campaign_id = {{?}}
                              AND q.kind IN ('single_choice', 'multiple_choice')))
              ORDER BY {order_p}, a.person_id, a.question_key"
        ),
        &params,
    )?;
    let mut out: Vec<Counted> = Vec::new();
    for r in rows {
        if out.last().is_none_or(|c| c.id != r.id) {
            out.push(Counted {
                id: r.id,
                walk_list_id: r.walk_list_id,
                turf_id: r.turf_id,
                region_id: r.region_id,
                user_id: r.user_id,
                door_cell: r.cell,
                knock: CountedKnock {
                    door_id: r.door_id,
                    knocked_at: core::local(zone, r.knocked_at),
                    contacted: r.contacted != 0,
                    ..CountedKnock::default()
                },
            });
        }
        if let (Some(question), Some(answer), Some(c)) = (r.question_key, r.answer, out.last_mut())
        {
            core::count_answer(&mut c.knock, &question, &answer);
        }
    }
    Ok(out)
}
