//! The fresh databases against the real PostgreSQL server at `DATABASE_URL`.

use expect_test::{expect, Expect};
use sqlx::{Connection, PgConnection};
use textgate_testkit::{admin_url, with_database, FreshPostgres, FreshSqlite};

fn check(base: &str, expect: Expect) {
    expect.assert_eq(&with_database(base, "t1"));
}

#[test]
fn with_database_replaces_only_the_database_name() {
    check(
        "postgres://postgres@127.0.0.1:5432/postgres",
        expect![["postgres://postgres@127.0.0.1:5432/t1"]],
    );
    check(
        "postgres://u:p@db.example:5432/main?sslmode=disable",
        expect![["postgres://u:p@db.example:5432/t1?sslmode=disable"]],
    );
    check("postgres://localhost", expect![["postgres://localhost/t1"]]);
    check(
        "postgres://localhost?sslmode=disable",
        expect![["postgres://localhost/t1?sslmode=disable"]],
    );
}

async fn exists(name: &str) -> bool {
    let mut admin = PgConnection::connect(&admin_url()).await.expect("connect");
    let found: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut admin)
            .await
            .expect("look up database");
    admin.close().await.expect("close");
    found
}

#[tokio::test]
async fn postgres_database_is_new_usable_and_dropped_even_while_connected() {
    let a = FreshPostgres::create("textgate_testkit")
        .await
        .expect("create a");
    let b = FreshPostgres::create("textgate_testkit")
        .await
        .expect("create b");
    assert_ne!(a.name(), b.name());
    assert!(a.url().ends_with(a.name()), "{}", a.url());

    // The URL reaches the new database, and the connection is left open on purpose: a
    // test that panicked leaves its pools behind too.
    let mut conn = PgConnection::connect(a.url()).await.expect("connect to a");
    let current: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&mut conn)
        .await
        .expect("current database");
    assert_eq!(current, a.name());

    let (a_name, b_name) = (a.name().to_string(), b.name().to_string());
    assert!(exists(&a_name).await);
    a.cleanup().await.expect("drop a with a connection open");
    b.cleanup().await.expect("drop b");
    assert!(!exists(&a_name).await);
    assert!(!exists(&b_name).await);
    drop(conn);
}

#[test]
fn sqlite_file_lives_in_a_directory_removed_on_drop() {
    let db = FreshSqlite::create("test.db").expect("create");
    let dir = db.dir().to_path_buf();
    assert!(dir.is_dir());
    assert_eq!(
        db.url(),
        format!("sqlite://{}?mode=rwc", dir.join("test.db").display())
    );
    drop(db);
    assert!(!dir.exists());
}
