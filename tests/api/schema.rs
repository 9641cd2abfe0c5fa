//! Both migration folders build the same schema, and the schema is ready to be
//! distributed by campaign.

use std::collections::BTreeSet;

use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};

use crate::helpers::TestDb;

#[derive(QueryableByName, Debug)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = BigInt)]
    not_null: i64,
}

type Shape = BTreeSet<(String, String, &'static str, bool)>;

fn type_class(t: &str) -> &'static str {
    let t = t.to_lowercase();
    if t.contains("int") {
        "integer"
    } else if t.starts_with("timestamp") {
        "timestamp"
    } else if t.starts_with("bool") {
        "boolean"
    } else if t.starts_with("double") {
        "double"
    } else if t == "text" {
        "text"
    } else {
        "other"
    }
}

fn shape(columns: Vec<Column>) -> Shape {
    columns
        .into_iter()
        .map(|c| {
            (
                c.table_name,
                c.column_name,
                type_class(&c.data_type),
                c.not_null != 0,
            )
        })
        .collect()
}

fn migrated(db: &TestDb) {
    let mut conn = groundswell::db::DbManager::new(&db.url)
        .establish()
        .expect("connect");
    groundswell::db::migrate(&mut conn).expect("migrate");
}

fn sqlite_shape(db: &TestDb) -> Shape {
    migrated(db);
    let mut conn =
        SqliteConnection::establish(groundswell::db::sqlite_path(&db.url)).expect("sqlite");
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, \
         (p.\"notnull\" OR p.pk > 0) AS not_null \
         FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'",
    )
    .load(&mut conn)
    .expect("sqlite columns");
    shape(columns)
}

fn sqlite_test_db() -> TestDb {
    // Always SQLite here, whatever the suite's backend.
    let path = std::env::temp_dir().join(format!("gs-schema-{}.db", uuid::Uuid::new_v4()));
    let db = TestDb::sqlite_at(path);
    assert!(!db.is_postgres());
    db
}

#[test]
fn both_migration_folders_have_the_same_migrations() {
    let names = |backend: &str| -> BTreeSet<String> {
        std::fs::read_dir(format!(
            "{}/migrations/{backend}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("migrations folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
    };
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, names("postgres"));
}

#[test]
fn both_backends_build_the_same_tables_and_columns() {
    let sqlite = sqlite_shape(&sqlite_test_db());
    assert!(
        sqlite
            .iter()
            .any(|(t, c, _, _)| t == "users" && c == "campaign_id")
    );
    let db = TestDb::new();
    if !db.is_postgres() {
        eprintln!(
            "GROUNDSWELL_TEST_DATABASE_URL is not set: the PostgreSQL half of this check runs in .ci/run"
        );
        return;
    }
    migrated(&db);
    let mut conn = PgConnection::establish(&db.url).expect("postgres");
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name, \
         data_type::text AS data_type, (CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END)::bigint AS not_null \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load(&mut conn)
    .expect("postgres columns");
    let postgres = shape(columns);
    let only_sqlite: Vec<_> = sqlite.difference(&postgres).collect();
    let only_postgres: Vec<_> = postgres.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "sqlite only: {only_sqlite:?}\npostgres only: {only_postgres:?}"
    );
}

#[derive(QueryableByName, Debug)]
struct UniqueIndex {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    columns: String,
}

/// Tables that belong to no campaign: the tenants themselves, and the sign-in throttle
/// (an attempt names an email and an address, not yet a campaign).
const GLOBAL_TABLES: [&str; 2] = ["campaigns", "login_throttle"];

#[test]
fn every_tenant_table_is_keyed_by_campaign() {
    let db = sqlite_test_db();
    let columns = sqlite_shape(&db);
    let tables: BTreeSet<&String> = columns.iter().map(|(t, _, _, _)| t).collect();
    for table in tables
        .iter()
        .filter(|t| !GLOBAL_TABLES.contains(&t.as_str()))
    {
        assert!(
            columns.contains(&((*table).clone(), "campaign_id".to_owned(), "integer", true)),
            "{table} has no NOT NULL campaign_id"
        );
    }
    let mut conn =
        SqliteConnection::establish(groundswell::db::sqlite_path(&db.url)).expect("sqlite");
    let uniques: Vec<UniqueIndex> = diesel::sql_query(
        "SELECT m.name AS table_name, group_concat(ii.name) AS columns \
         FROM sqlite_master m JOIN pragma_index_list(m.name) il JOIN pragma_index_info(il.name) ii \
         WHERE m.type = 'table' AND il.\"unique\" = 1 AND il.origin <> 'pk' AND m.name <> 'campaigns' \
         AND m.name <> '__diesel_schema_migrations' GROUP BY m.name, il.name",
    )
    .load(&mut conn)
    .expect("unique indexes");
    assert!(!uniques.is_empty());
    for u in uniques
        .into_iter()
        .filter(|u| !GLOBAL_TABLES.contains(&u.table_name.as_str()))
    {
        assert!(
            u.columns.split(',').any(|c| c == "campaign_id"),
            "unique key ({}) on {} lacks campaign_id",
            u.columns,
            u.table_name
        );
    }
}

#[derive(QueryableByName, Debug)]
struct Constraint {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    first_column: String,
}

#[test]
fn every_postgres_key_of_a_tenant_table_begins_with_campaign_id() {
    let db = TestDb::new();
    if !db.is_postgres() {
        eprintln!(
            "GROUNDSWELL_TEST_DATABASE_URL is not set: this PostgreSQL check runs in .ci/run"
        );
        return;
    }
    migrated(&db);
    let mut conn = PgConnection::establish(&db.url).expect("postgres");
    // Primary, unique and foreign keys, and unique indexes, with their first column: a
    // table distributed by campaign_id (Citus) needs each of them to start with it.
    let keys: Vec<Constraint> = diesel::sql_query(
        "SELECT c.conrelid::regclass::text AS table_name, c.contype::text AS kind, \
                c.conname::text AS name, a.attname::text AS first_column \
           FROM pg_constraint c \
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
          WHERE c.contype IN ('p', 'u', 'f') \
            AND c.connamespace = to_regnamespace(current_schema()) \
         UNION ALL \
         SELECT i.indrelid::regclass::text, 'index', i.indexrelid::regclass::text, a.attname::text \
           FROM pg_index i \
           JOIN pg_class t ON t.oid = i.indrelid \
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
          WHERE i.indisunique AND t.relnamespace = to_regnamespace(current_schema())",
    )
    .load(&mut conn)
    .expect("postgres keys");
    let tenant_keys: Vec<&Constraint> = keys
        .iter()
        .filter(|k| {
            !GLOBAL_TABLES.contains(&k.table_name.as_str())
                && k.table_name != "__diesel_schema_migrations"
        })
        .collect();
    assert!(tenant_keys.len() > 20, "{} keys", tenant_keys.len());
    let wrong: Vec<String> = tenant_keys
        .iter()
        .filter(|k| k.first_column != "campaign_id")
        .map(|k| {
            format!(
                "{} {} {} starts with {}",
                k.table_name, k.kind, k.name, k.first_column
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "keys not led by campaign_id:\n{}",
        wrong.join("\n")
    );
}
