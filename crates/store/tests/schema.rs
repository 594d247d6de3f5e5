//! The PostgreSQL and SQLite migrations must describe the same tables, columns,
//! nullability, column kinds and indexes, so the same code behaves the same on both.

mod support;

use sqlx::{Connection, PgConnection, Row, SqliteConnection};
use support::Database;
use textgate_store::{BackendKind, Store};

/// One line per column: `table.column kind null|not null`, sorted; then one per index.
async fn postgres_schema(url: &str) -> Vec<String> {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let mut lines: Vec<String> = sqlx::query(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text
         FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    .iter()
    .map(|row| {
        let kind = match row.get::<String, _>(2).as_str() {
            "bigint" | "integer" | "smallint" => "integer".to_string(),
            "text" => "text".to_string(),
            "boolean" => "boolean".to_string(),
            "timestamp with time zone" => "timestamp".to_string(),
            other => format!("unmapped {other}"),
        };
        let null = if row.get::<String, _>(3) == "YES" {
            "null"
        } else {
            "not null"
        };
        format!(
            "{}.{} {kind} {null}",
            row.get::<String, _>(0),
            row.get::<String, _>(1)
        )
    })
    .collect();
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT 'index ' || indexname::text FROM pg_indexes
         WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations'
           AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    lines.extend(indexes);
    lines.sort();
    lines
}

async fn sqlite_schema(url: &str) -> Vec<String> {
    let mut conn = SqliteConnection::connect(url).await.unwrap();
    let mut lines: Vec<String> = sqlx::query(
        "SELECT m.name, p.name, p.type, p.\"notnull\", p.pk FROM sqlite_master m
         JOIN pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    .iter()
    .map(|row| {
        let kind = match row.get::<String, _>(2).as_str() {
            "INTEGER" => "integer".to_string(),
            "TEXT" => "text".to_string(),
            "BOOLEAN" => "boolean".to_string(),
            "DATETIME" => "timestamp".to_string(),
            other => format!("unmapped {other}"),
        };
        // SQLite reports an INTEGER PRIMARY KEY as nullable; it never is.
        let not_null = row.get::<i64, _>(3) == 1 || row.get::<i64, _>(4) > 0;
        let null = if not_null { "not null" } else { "null" };
        format!(
            "{}.{} {kind} {null}",
            row.get::<String, _>(0),
            row.get::<String, _>(1)
        )
    })
    .collect();
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT 'index ' || name FROM sqlite_master
         WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    lines.extend(indexes);
    lines.sort();
    lines
}

#[tokio::test]
async fn postgres_and_sqlite_schemas_are_equivalent() {
    let pg = Database::create(BackendKind::Postgres).await;
    let lite = Database::create(BackendKind::Sqlite).await;
    for database in [&pg, &lite] {
        let store = Store::open(database.url()).await.unwrap();
        store.close().await;
    }
    let pg_schema = postgres_schema(pg.url()).await;
    let sqlite_schema = sqlite_schema(lite.url()).await;
    pg.drop_database().await;
    lite.drop_database().await;

    assert!(pg_schema.len() > 60, "schema read back: {pg_schema:#?}");
    assert!(
        !pg_schema.iter().any(|l| l.contains("unmapped")),
        "{pg_schema:#?}"
    );
    let only_pg: Vec<_> = pg_schema
        .iter()
        .filter(|l| !sqlite_schema.contains(l))
        .collect();
    let only_sqlite: Vec<_> = sqlite_schema
        .iter()
        .filter(|l| !pg_schema.contains(l))
        .collect();
    assert!(
        only_pg.is_empty() && only_sqlite.is_empty(),
        "only in PostgreSQL: {only_pg:#?}\nonly in SQLite: {only_sqlite:#?}"
    );
}

#[tokio::test]
async fn unsupported_urls_are_named() {
    let error = Store::open("mysql://localhost/textgate").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "store URL \"mysql\" is not supported: use postgres://… or sqlite://PATH"
    );
}
