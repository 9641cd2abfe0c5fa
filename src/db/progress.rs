//! Door-knock progress. The figures come from the running tallies of
//! [`crate::progress`] (kept by the knock sync, see [`super::tallies`]), with the knocks
//! themselves counted only at the ends of a window that starts or ends between the
//! campaign's midnights, and for cells finer than the tallies'. [`figures_from_knocks`]
//! counts the same figures straight from the knocks (what the tallies must always agree
//! with), and one query counts the doors still to knock.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use super::DbConnection;
use super::people::on_backend;
use super::tallies;
use crate::progress::{TALLY_RESOLUTION, Totals};

/// Which knocks count, what to group by and a group's figures, defined with the rules
/// in [`crate::progress`].
pub use crate::progress::{Figures, Filter, GroupBy};

#[derive(QueryableByName)]
struct RemainingRow {
    #[diesel(sql_type = Nullable<Text>)]
    key: Option<String>,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The parent at `res` of a resolution-15 cell, as integer arithmetic both SQL
/// dialects evaluate: clear the resolution and the digits below `res`, then write the
/// resolution and mark those digits unused (7).
fn parent_expr(column: &str, res: u8) -> String {
    let below = 3 * (15 - u32::from(res));
    let lower: i64 = if below == 0 { 0 } else { (1_i64 << below) - 1 };
    let res_bits: i64 = 0xF << 52;
    let keep = !(res_bits | lower);
    let set = (i64::from(res) << 52) | lower;
    format!("(({column} & {keep}) | {set})")
}

fn key_expr(group: GroupBy, postgres: bool) -> String {
    match group {
        GroupBy::Campaign => "'campaign'".into(),
        GroupBy::Region => "CAST(t.region_id AS TEXT)".into(),
        GroupBy::Turf => "CAST(wl.turf_id AS TEXT)".into(),
        GroupBy::WalkList => "CAST(wl.id AS TEXT)".into(),
        GroupBy::Volunteer => "CAST(k.user_id AS TEXT)".into(),
        GroupBy::Day if postgres => "to_char(k.knocked_at, 'YYYY-MM-DD')".into(),
        GroupBy::Day => "date(k.knocked_at)".into(),
        GroupBy::Cell(res) => format!("CAST({} AS TEXT)", parent_expr("d.cell", res)),
    }
}

/// The filter clause; parameters are $1/?1 campaign, then from, to, region, turf, user.
fn where_clause(p: &[String; 6]) -> String {
    format!(
        "k.campaign_id = {0}
         AND ({1} IS NULL OR k.knocked_at >= {1})
         AND ({2} IS NULL OR k.knocked_at < {2})
         AND ({3} IS NULL OR t.region_id = {3})
         AND ({4} IS NULL OR wl.turf_id = {4})
         AND ({5} IS NULL OR k.user_id = {5})",
        p[0], p[1], p[2], p[3], p[4], p[5]
    )
}

const KNOCK_JOINS: &str = "FROM knocks k
      JOIN walk_lists wl ON wl.campaign_id = k.campaign_id AND wl.id = k.walk_list_id
      JOIN turfs t ON t.campaign_id = wl.campaign_id AND t.id = wl.turf_id
      JOIN doors d ON d.campaign_id = k.campaign_id AND d.id = k.door_id";

macro_rules! bind_filter {
    ($query:expr, $campaign_id:expr, $f:expr) => {
        $query
            .bind::<BigInt, _>($campaign_id)
            .bind::<Nullable<Timestamp>, _>($f.from)
            .bind::<Nullable<Timestamp>, _>($f.to)
            .bind::<Nullable<BigInt>, _>($f.region_id)
            .bind::<Nullable<BigInt>, _>($f.turf_id)
            .bind::<Nullable<BigInt>, _>($f.user_id)
    };
}

/// Progress figures per group key (the key as text: an id, a day of campaign time, or
/// a cell as integer): from the tallies, and from the knocks where the tallies cannot
/// tell (the ends of a window that starts or ends between the campaign's midnights;
/// cells finer than [`TALLY_RESOLUTION`]).
pub fn figures(
    conn: &mut DbConnection,
    campaign_id: i64,
    group: GroupBy,
    f: &Filter,
) -> QueryResult<BTreeMap<Option<String>, Figures>> {
    let zone = super::campaigns::time_zone(conn, campaign_id)?;
    let mut out = match group {
        GroupBy::Cell(res) if res > TALLY_RESOLUTION => {
            knock_figures(conn, campaign_id, zone, group, f)?
        }
        _ => tally_figures(conn, campaign_id, zone, group, f)?,
    };
    add_remaining(conn, campaign_id, group, f, &mut out)?;
    Ok(out)
}

/// The figures of [`figures`] counted straight from the knocks, reading every knock
/// of the window: what the tallies must always agree with.
pub fn figures_from_knocks(
    conn: &mut DbConnection,
    campaign_id: i64,
    group: GroupBy,
    f: &Filter,
) -> QueryResult<BTreeMap<Option<String>, Figures>> {
    let zone = super::campaigns::time_zone(conn, campaign_id)?;
    let mut out = knock_figures(conn, campaign_id, zone, group, f)?;
    add_remaining(conn, campaign_id, group, f, &mut out)?;
    Ok(out)
}

/// Adds the knocks of `window` (read a page at a time) to their groups' totals.
fn add_knocks(
    conn: &mut DbConnection,
    campaign_id: i64,
    zone: chrono_tz::Tz,
    group: GroupBy,
    window: &Filter,
    totals: &mut BTreeMap<Option<String>, Totals>,
) -> QueryResult<()> {
    let mut after = tallies::Keyset::Time(None);
    loop {
        let page = tallies::counted(conn, campaign_id, zone, window, after, tallies::PAGE)?;
        for c in &page {
            let day = c.knock.knocked_at.date();
            let place = (c.walk_list_id, c.turf_id, c.region_id);
            let key = crate::progress::group_key(group, day, place, c.user_id, c.door_cell);
            totals.entry(key).or_default().add_knock(&c.knock);
        }
        match page.last() {
            Some(last) if page.len() >= tallies::PAGE => {
                after = tallies::Keyset::Time(Some(last.id));
            }
            _ => return Ok(()),
        }
    }
}

/// The figures from the tallies of the window's whole days, plus the knocks of the
/// pieces of a day at its ends.
fn tally_figures(
    conn: &mut DbConnection,
    campaign_id: i64,
    zone: chrono_tz::Tz,
    group: GroupBy,
    f: &Filter,
) -> QueryResult<BTreeMap<Option<String>, Figures>> {
    let split = crate::progress::split(f.from, f.to, zone);
    let mut totals: BTreeMap<Option<String>, Totals> = BTreeMap::new();
    if let Some(days) = split.days {
        for row in tallies::read(conn, campaign_id, days, f)? {
            let k = row.key;
            let place = (k.walk_list_id, k.turf_id, row.region_id);
            let key = crate::progress::group_key(group, k.day, place, k.user_id, k.cell);
            totals.entry(key).or_default().add(k.day, &row.tally);
        }
    }
    for (from, to) in split.partial {
        let window = Filter { from, to, ..*f };
        add_knocks(conn, campaign_id, zone, group, &window, &mut totals)?;
    }
    Ok(crate::progress::figures_of(totals))
}

/// The figures counted from every knock of the window, in campaign time.
fn knock_figures(
    conn: &mut DbConnection,
    campaign_id: i64,
    zone: chrono_tz::Tz,
    group: GroupBy,
    f: &Filter,
) -> QueryResult<BTreeMap<Option<String>, Figures>> {
    let mut totals: BTreeMap<Option<String>, Totals> = BTreeMap::new();
    add_knocks(conn, campaign_id, zone, group, f, &mut totals)?;
    Ok(crate::progress::figures_of(totals))
}

/// Fills in the doors remaining of each group (none by day), adding the groups that
/// have doors to knock but no knock yet.
fn add_remaining(
    conn: &mut DbConnection,
    campaign_id: i64,
    group: GroupBy,
    f: &Filter,
    out: &mut BTreeMap<Option<String>, Figures>,
) -> QueryResult<()> {
    if group != GroupBy::Day {
        for (k, n) in remaining(conn, campaign_id, group, f)? {
            out.entry(k).or_default().doors_remaining = Some(n);
        }
        for fig in out.values_mut() {
            fig.doors_remaining.get_or_insert(0);
        }
    }
    Ok(())
}

/// Doors on live lists that are not finished, by group. Time bounds do not apply to
/// what is still to do.
fn remaining(
    conn: &mut DbConnection,
    campaign_id: i64,
    group: GroupBy,
    f: &Filter,
) -> QueryResult<Vec<(Option<String>, i64)>> {
    let postgres = matches!(conn, DbConnection::Postgresql(_));
    let p = super::typed_placeholders(conn, ["BIGINT"; 4]);
    let (key, assignments) = match group {
        // A volunteer's own scope names only them, never the other assignees.
        GroupBy::Volunteer => (
            "CAST(wa.user_id AS TEXT)".to_owned(),
            format!(
                "JOIN walk_list_assignments wa ON wa.campaign_id = wl.campaign_id
                   AND wa.walk_list_id = wl.id AND ({0} IS NULL OR wa.user_id = {0})",
                p[3]
            ),
        ),
        other => (key_expr(other, postgres), String::new()),
    };
    let sql = format!(
        "SELECT {key} AS key, COUNT(*) AS n
           FROM walk_list_stops s
           JOIN walk_lists wl ON wl.campaign_id = s.campaign_id AND wl.id = s.walk_list_id
           JOIN turfs t ON t.campaign_id = wl.campaign_id AND t.id = wl.turf_id
           JOIN doors d ON d.campaign_id = s.campaign_id AND d.id = s.door_id
           {assignments}
          WHERE s.campaign_id = {0} AND wl.state = 'active' AND s.live AND NOT s.finished
            AND ({1} IS NULL OR t.region_id = {1})
            AND ({2} IS NULL OR wl.turf_id = {2})
            AND ({3} IS NULL OR EXISTS (SELECT 1 FROM walk_list_assignments w2
                  WHERE w2.campaign_id = wl.campaign_id AND w2.walk_list_id = wl.id
                    AND w2.user_id = {3}))
          GROUP BY 1",
        p[0], p[1], p[2], p[3],
    );
    let rows: Vec<RemainingRow> = on_backend!(conn, |c| diesel::sql_query(sql.clone())
        .bind::<BigInt, _>(campaign_id)
        .bind::<Nullable<BigInt>, _>(f.region_id)
        .bind::<Nullable<BigInt>, _>(f.turf_id)
        .bind::<Nullable<BigInt>, _>(f.user_id)
        .load::<RemainingRow>(c))?;
    Ok(rows.into_iter().map(|r| (r.key, r.n)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sql_parent_is_h3s_parent() {
        // Evaluate the same arithmetic in Rust on real cells.
        let cell = h3o::LatLng::new(47.14, 9.52)
            .map(|ll| ll.to_cell(h3o::Resolution::Fifteen))
            .ok();
        let Some(cell) = cell else {
            panic!("a valid point")
        };
        for res in [7_u8, 8, 9, 10] {
            let below = 3 * (15 - u32::from(res));
            let lower: i64 = (1_i64 << below) - 1;
            let keep = !((0xF_i64 << 52) | lower);
            let set = (i64::from(res) << 52) | lower;
            let raw = crate::spatial::cells::to_db(cell);
            let ours = (raw & keep) | set;
            let theirs = h3o::Resolution::try_from(res)
                .ok()
                .and_then(|r| cell.parent(r))
                .map(crate::spatial::cells::to_db);
            assert_eq!(Some(ours), theirs, "resolution {res}");
            assert!(parent_expr("d.cell", res).contains(&keep.to_string()));
        }
    }
}

/// A knock whose phone was far from the door.
#[derive(Debug, Clone, QueryableByName)]
pub struct FarKnock {
    #[diesel(sql_type = BigInt)]
    pub knock_id: i64,
    #[diesel(sql_type = BigInt)]
    pub user_id: i64,
    #[diesel(sql_type = BigInt)]
    pub door_id: i64,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    pub distance_m: Option<f64>,
    #[diesel(sql_type = Text)]
    pub location_quality: String,
    #[diesel(sql_type = Timestamp)]
    pub knocked_at: NaiveDateTime,
}

/// Up to `limit` knocks graded doubtful or unverified, newest first.
pub fn far_knocks(
    conn: &mut DbConnection,
    campaign_id: i64,
    f: &Filter,
    limit: i64,
) -> QueryResult<Vec<FarKnock>> {
    let p = filter_placeholders(conn);
    let sql = format!(
        "SELECT k.id AS knock_id, k.user_id, k.door_id, k.distance_m, k.location_quality,
                k.knocked_at
           {KNOCK_JOINS}
          WHERE {} AND k.location_quality IN ('doubtful', 'unverified')
          ORDER BY k.knocked_at DESC, k.id DESC
          LIMIT {limit}",
        where_clause(&p)
    );
    on_backend!(conn, |c| bind_filter!(
        diesel::sql_query(sql.clone()),
        campaign_id,
        f
    )
    .load::<FarKnock>(c))
}

#[derive(Debug, Clone, QueryableByName)]
pub struct BusyHour {
    #[diesel(sql_type = BigInt)]
    pub user_id: i64,
    #[diesel(sql_type = Text)]
    pub hour: String,
    #[diesel(sql_type = BigInt)]
    pub doors: i64,
}

/// (volunteer, hour) pairs with more than `max_doors` distinct doors knocked.
pub fn busy_hours(
    conn: &mut DbConnection,
    campaign_id: i64,
    f: &Filter,
    max_doors: i64,
) -> QueryResult<Vec<BusyHour>> {
    let postgres = matches!(conn, DbConnection::Postgresql(_));
    let p = filter_placeholders(conn);
    let hour = if postgres {
        "to_char(k.knocked_at, 'YYYY-MM-DD HH24:00')"
    } else {
        "strftime('%Y-%m-%d %H:00', k.knocked_at)"
    };
    let sql = format!(
        "SELECT k.user_id, {hour} AS hour, COUNT(DISTINCT k.door_id) AS doors
           {KNOCK_JOINS}
          WHERE {}
          GROUP BY 1, 2
         HAVING COUNT(DISTINCT k.door_id) > {max_doors}
          ORDER BY 2, 1",
        where_clause(&p)
    );
    on_backend!(conn, |c| bind_filter!(
        diesel::sql_query(sql.clone()),
        campaign_id,
        f
    )
    .load::<BusyHour>(c))
}

/// The six placeholders of `bind_filter!`: campaign, from, to, region, turf, user.
fn filter_placeholders(conn: &DbConnection) -> [String; 6] {
    super::typed_placeholders(
        conn,
        [
            "BIGINT",
            "TIMESTAMP",
            "TIMESTAMP",
            "BIGINT",
            "BIGINT",
            "BIGINT",
        ],
    )
}

/// One knock as exported.
#[derive(Debug, Clone, QueryableByName)]
pub struct ExportRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub client_id: String,
    #[diesel(sql_type = Timestamp)]
    pub knocked_at: NaiveDateTime,
    #[diesel(sql_type = Timestamp)]
    pub received_at: NaiveDateTime,
    #[diesel(sql_type = BigInt)]
    pub user_id: i64,
    #[diesel(sql_type = BigInt)]
    pub walk_list_id: i64,
    #[diesel(sql_type = BigInt)]
    pub turf_id: i64,
    #[diesel(sql_type = BigInt)]
    pub door_id: i64,
    #[diesel(sql_type = Text)]
    pub street: String,
    #[diesel(sql_type = Text)]
    pub housenumber: String,
    #[diesel(sql_type = Text)]
    pub city: String,
    #[diesel(sql_type = Text)]
    pub result: String,
    #[diesel(sql_type = Text)]
    pub notes: String,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    pub distance_m: Option<f64>,
    #[diesel(sql_type = Text)]
    pub location_quality: String,
    /// The people named at the door, as a JSON array of person ids.
    #[diesel(sql_type = Text)]
    pub people: String,
}

/// A page of knocks by id for export, with the filters of progress.
pub fn export_page(
    conn: &mut DbConnection,
    campaign_id: i64,
    f: &Filter,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<ExportRow>> {
    let p = filter_placeholders(conn);
    let sql = format!(
        "SELECT k.id, k.client_id, k.knocked_at, k.received_at, k.user_id, k.walk_list_id,
                wl.turf_id, k.door_id, d.street, d.housenumber, d.city, k.result, k.notes,
                k.distance_m, k.location_quality, k.people
           {KNOCK_JOINS}
          WHERE {} AND k.id > {after}
          ORDER BY k.id
          LIMIT {limit}",
        where_clause(&p)
    );
    on_backend!(conn, |c| bind_filter!(
        diesel::sql_query(sql.clone()),
        campaign_id,
        f
    )
    .load::<ExportRow>(c))
}
