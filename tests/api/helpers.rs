//! Spawning the app for a test, and one method per endpoint family.

use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use groundswell::config::Settings;
use groundswell::db::{DbConnection, DbManager};
use groundswell::domain::Role;
use groundswell::startup::Application;
use reqwest::{Method, Response};
use serde_json::{Value, json};

/// The secret test apps sign with, so tests can forge tokens like an attacker would.
pub const JWT_SECRET: &str = "test-secret-that-is-long-enough-for-hs256";
pub const PASSWORD: &str = "correct horse battery";

/// A fresh database for one test, removed when the test ends.
pub struct TestDb {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteFile(std::path::PathBuf),
    PgDatabase { admin_url: String, name: String },
}

impl TestDb {
    pub fn new() -> Self {
        match std::env::var("GROUNDSWELL_TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let name = format!("gs_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::establish(&admin_url)
                    .unwrap_or_else(|e| panic!("cannot reach {admin_url}: {e}"));
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .expect("create test database");
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_owned())
                    .expect("database URL with a path");
                TestDb {
                    url: format!("{base}/{name}"),
                    cleanup: Cleanup::PgDatabase { admin_url, name },
                }
            }
            _ => Self::sqlite_at(
                std::env::temp_dir().join(format!("gs-test-{}.db", uuid::Uuid::new_v4())),
            ),
        }
    }

    /// A SQLite database at `path`, whatever the suite's backend.
    pub fn sqlite_at(path: std::path::PathBuf) -> Self {
        TestDb {
            url: format!("sqlite://{}", path.display()),
            cleanup: Cleanup::SqliteFile(path),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.cleanup, Cleanup::PgDatabase { .. })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm", ".jwt-secret"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::PgDatabase { admin_url, name } => {
                if let Ok(mut admin) = PgConnection::establish(admin_url) {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut admin);
                }
            }
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub campaign_id: i64,
    pub admin_id: i64,
    pub db: TestDb,
}

pub fn test_settings(db: &TestDb) -> Settings {
    Settings {
        addr: "127.0.0.1:0".into(),
        database_url: db.url.clone(),
        jwt_secret: Some(JWT_SECRET.into()),
        db_pool_size: Some(4),
        workers: Some(1),
        ..Settings::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the app with adjusted settings, a campaign and an admin who can sign in.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDb::new();
    let mut settings = test_settings(&db);
    adjust(&mut settings);
    let app = Application::build(settings).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    // Idle connections are dropped well before the server's 5 s keep-alive closes them:
    // otherwise a request sent after a slow setup step (seeding thousands of people) can
    // race the server's close and fail with "connection closed before message completed".
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(1))
        .build()
        .expect("client");
    let mut test = TestApp {
        address,
        client,
        campaign_id: 0,
        admin_id: 0,
        db,
    };
    test.campaign_id = test.create_campaign("Test Campaign");
    test.admin_id = test.create_user(test.campaign_id, "admin@test.org", Role::Admin);
    test
}

impl TestApp {
    /// Starts a second server on this test's database, as a deployment runs several
    /// behind a load balancer; returns its base address.
    pub async fn another_server(&self, adjust: impl FnOnce(&mut Settings)) -> String {
        let mut settings = test_settings(&self.db);
        adjust(&mut settings);
        let app = Application::build(settings).await.expect("app builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        address
    }

    pub fn conn(&self) -> DbConnection {
        DbManager::new(&self.db.url)
            .establish()
            .expect("db connection")
    }

    pub fn create_campaign(&self, name: &str) -> i64 {
        groundswell::admin::create_campaign(&mut self.conn(), name).expect("campaign")
    }

    /// A user with [`PASSWORD`], created the way the CLI does it.
    pub fn create_user(&self, campaign_id: i64, email: &str, role: Role) -> i64 {
        groundswell::admin::create_user(
            &mut self.conn(),
            groundswell::admin::NewAccount {
                campaign_id,
                email,
                name: None,
                role,
                password: PASSWORD.into(),
            },
        )
        .expect("user")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.request(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post(
            "/api/v1/auth/login",
            None,
            json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Signs in and returns the whole token response.
    pub async fn session(&self, email: &str) -> Value {
        let res = self.login(email, PASSWORD).await;
        assert_eq!(res.status(), 200, "login of {email} failed");
        res.json().await.expect("token json")
    }

    /// An access token for a user.
    pub async fn token(&self, email: &str) -> String {
        self.session(email).await["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.token("admin@test.org").await
    }

    /// A new user of the test campaign with `role`, and their access token.
    pub async fn user_with_role(&self, role: Role) -> (i64, String) {
        let email = format!("{}-{}@test.org", role, uuid::Uuid::new_v4().simple());
        let id = self.create_user(self.campaign_id, &email, role);
        (id, self.token(&email).await)
    }
}

/// Reads a JSON body and checks the status first, showing the body when it differs.
pub async fn json_with(res: Response, status: u16) -> Value {
    let got = res.status().as_u16();
    let text = res.text().await.expect("body");
    assert_eq!(got, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Checks an error answer: status, our shape, and the code.
pub async fn assert_error(res: Response, status: u16, code: &str) -> Value {
    let body = json_with(res, status).await;
    assert_eq!(body["error"]["code"], code, "body: {body}");
    assert!(body["error"]["message"].is_string(), "body: {body}");
    assert!(body["error"].get("details").is_some(), "body: {body}");
    body
}

/// Today's date in a time zone.
pub fn ny_today(zone: chrono_tz::Tz) -> chrono::NaiveDate {
    chrono::Utc::now().with_timezone(&zone).date_naive()
}
