//! Multi-row statements over `VALUES` lists: many rows' changes in one round trip, in
//! one statement per [`super::ROWS_PER_STATEMENT`] rows.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{BigInt, Binary, Bool, Date, Integer, Nullable, Text, Timestamp};

use super::DbConnection;
use super::people::on_backend;

/// A value bound into a `VALUES` row.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Param<'a> {
    Int(i64),
    Int32(i32),
    Bool(bool),
    Text(&'a str),
    Time(Option<NaiveDateTime>),
    Date(NaiveDate),
    Bytes(&'a [u8]),
}

/// `sql` with `{values}` replaced by the rows' placeholders and `{campaign}` and `{now}`
/// by the first two, which [`bind_all`] binds to the campaign id and the time. The rows'
/// columns are `v.column1`, `v.column2`, … on both backends when the values are named
/// `AS v`.
fn expand(conn: &DbConnection, sql: &str, rows: &[Vec<Param>]) -> String {
    let mut param = super::placeholders(conn);
    let (campaign, at) = (param(), param());
    let values: Vec<String> = rows
        .iter()
        .map(|row| {
            let row: Vec<String> = row.iter().map(|_| param()).collect();
            format!("({})", row.join(", "))
        })
        .collect();
    sql.replace("{values}", &values.join(", "))
        .replace("{campaign}", &campaign)
        .replace("{now}", &at)
}

/// The bounds [`bind`] needs of a backend.
pub(crate) trait Binds:
    diesel::backend::Backend
    + diesel::sql_types::HasSqlType<BigInt>
    + diesel::sql_types::HasSqlType<Integer>
    + diesel::sql_types::HasSqlType<Bool>
    + diesel::sql_types::HasSqlType<Text>
    + diesel::sql_types::HasSqlType<Timestamp>
    + diesel::sql_types::HasSqlType<Date>
    + diesel::sql_types::HasSqlType<Binary>
{
}

impl Binds for diesel::pg::Pg {}
impl Binds for diesel::sqlite::Sqlite {}

/// Binds `params` in order.
fn bind<'a, DB: Binds>(
    mut query: BoxedSqlQuery<'a, DB, diesel::query_builder::SqlQuery>,
    params: impl Iterator<Item = &'a Param<'a>>,
) -> BoxedSqlQuery<'a, DB, diesel::query_builder::SqlQuery>
where
    i64: diesel::serialize::ToSql<BigInt, DB>,
    i32: diesel::serialize::ToSql<Integer, DB>,
    bool: diesel::serialize::ToSql<Bool, DB>,
    str: diesel::serialize::ToSql<Text, DB>,
    NaiveDateTime: diesel::serialize::ToSql<Timestamp, DB>,
    NaiveDate: diesel::serialize::ToSql<Date, DB>,
    [u8]: diesel::serialize::ToSql<Binary, DB>,
{
    for param in params {
        query = match *param {
            Param::Int(v) => query.bind::<BigInt, _>(v),
            Param::Int32(v) => query.bind::<Integer, _>(v),
            Param::Text(v) => query.bind::<Text, _>(v),
            Param::Bool(v) => query.bind::<Bool, _>(v),
            Param::Time(v) => query.bind::<Nullable<Timestamp>, _>(v),
            Param::Date(v) => query.bind::<Date, _>(v),
            Param::Bytes(v) => query.bind::<Binary, _>(v),
        };
    }
    query
}

/// The campaign id and the time, then the rows' values.
fn bind_all<'a, DB: Binds>(
    query: BoxedSqlQuery<'a, DB, diesel::query_builder::SqlQuery>,
    (campaign_id, now): (i64, NaiveDateTime),
    rows: &'a [Vec<Param<'a>>],
) -> BoxedSqlQuery<'a, DB, diesel::query_builder::SqlQuery>
where
    i64: diesel::serialize::ToSql<BigInt, DB>,
    i32: diesel::serialize::ToSql<Integer, DB>,
    bool: diesel::serialize::ToSql<Bool, DB>,
    str: diesel::serialize::ToSql<Text, DB>,
    NaiveDateTime: diesel::serialize::ToSql<Timestamp, DB>,
    NaiveDate: diesel::serialize::ToSql<Date, DB>,
    [u8]: diesel::serialize::ToSql<Binary, DB>,
{
    let query = query
        .bind::<BigInt, _>(campaign_id)
        .bind::<Timestamp, _>(now);
    bind(query, rows.iter().flatten())
}

/// `sql` with each `{?}` replaced by the backend's next placeholder.
fn numbered(conn: &DbConnection, sql: &str) -> String {
    let mut param = super::placeholders(conn);
    let mut pieces = sql.split("{?}");
    let mut out = pieces.next().unwrap_or_default().to_owned();
    for piece in pieces {
        out.push_str(&param());
        out.push_str(piece);
    }
    out
}

/// Loads the rows of `sql`, whose placeholders are written `{?}`, with `params` bound
/// in order. For queries whose conditions depend on which filters are given.
pub(crate) fn load_bound<T>(
    conn: &mut DbConnection,
    sql: &str,
    params: &[Param],
) -> QueryResult<Vec<T>>
where
    T: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static,
{
    let sql = numbered(conn, sql);
    on_backend!(conn, |c| bind(
        diesel::sql_query(sql).into_boxed(),
        params.iter()
    )
    .load::<T>(c))
}

/// As [`load_bound`] for a statement that returns no rows; the answer is how many rows
/// it touched.
pub(crate) fn execute_bound(
    conn: &mut DbConnection,
    sql: &str,
    params: &[Param],
) -> QueryResult<usize> {
    let sql = numbered(conn, sql);
    on_backend!(conn, |c| bind(
        diesel::sql_query(sql).into_boxed(),
        params.iter()
    )
    .execute(c))
}

/// Runs `sql` (an `UPDATE … FROM (VALUES {values}) AS v`, say) for all `rows`, in one
/// statement per [`super::ROWS_PER_STATEMENT`] rows; none when there are no rows.
pub(crate) fn update_from_values<'a>(
    conn: &mut DbConnection,
    sql: &str,
    (campaign_id, now): (i64, NaiveDateTime),
    rows: impl Iterator<Item = Vec<Param<'a>>>,
) -> QueryResult<()> {
    let rows: Vec<Vec<Param>> = rows.collect();
    for chunk in rows.chunks(super::ROWS_PER_STATEMENT) {
        let sql = expand(conn, sql, chunk);
        on_backend!(conn, |c| bind_all(
            diesel::sql_query(sql).into_boxed(),
            (campaign_id, now),
            chunk
        )
        .execute(c))?;
    }
    Ok(())
}

/// As [`update_from_values`] for a statement that returns rows (`… RETURNING …`).
pub(crate) fn load_from_values<'a, T>(
    conn: &mut DbConnection,
    sql: &str,
    (campaign_id, now): (i64, NaiveDateTime),
    rows: impl Iterator<Item = Vec<Param<'a>>>,
) -> QueryResult<Vec<T>>
where
    T: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static,
{
    let rows: Vec<Vec<Param>> = rows.collect();
    let mut out = Vec::new();
    for chunk in rows.chunks(super::ROWS_PER_STATEMENT) {
        let sql = expand(conn, sql, chunk);
        out.extend(on_backend!(conn, |c| bind_all(
            diesel::sql_query(sql).into_boxed(),
            (campaign_id, now),
            chunk
        )
        .load::<T>(c))?);
    }
    Ok(out)
}
