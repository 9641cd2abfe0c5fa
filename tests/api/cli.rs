//! The binary as an operator uses it: create a campaign and an admin, sign in, and stop
//! gracefully on SIGTERM.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use groundswell::startup::Application;

use crate::helpers::{JWT_SECRET, TestDb, json_with, test_settings};

const BIN: &str = env!("CARGO_BIN_EXE_groundswell");

fn groundswell(db: &TestDb) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("DATABASE_URL", &db.url)
        .env("GROUNDSWELL_JWT_SECRET", JWT_SECRET)
        .env_remove("GROUNDSWELL_PASSWORD")
        .env_remove("GROUNDSWELL_CONFIG");
    cmd
}

fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run groundswell");
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

#[tokio::test]
async fn an_admin_created_on_the_command_line_can_sign_in() {
    let db = TestDb::new();
    assert!(stdout_of(groundswell(&db).arg("migrate")).contains("migrations applied"));
    let campaign =
        stdout_of(groundswell(&db).args(["campaign", "create", "--name", "CLI Campaign"]));
    let campaign: i64 = campaign.parse().expect("campaign id on stdout");

    let admin = stdout_of(
        groundswell(&db)
            .args([
                "user",
                "create",
                "--campaign",
                &campaign.to_string(),
                "--email",
                "cli@test.org",
                "--role",
                "admin",
            ])
            .env("GROUNDSWELL_PASSWORD", "admin password 1"),
    );
    assert!(
        admin.parse::<i64>().is_ok(),
        "user id on stdout, got {admin:?}"
    );

    // The password may also come on standard input.
    let mut child = groundswell(&db)
        .args([
            "user",
            "create",
            "--campaign",
            &campaign.to_string(),
            "--email",
            "stdin@test.org",
            "--role",
            "volunteer",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"stdin password 1\n")
        .expect("write");
    assert!(child.wait_with_output().expect("wait").status.success());

    // Never as a flag, and never a weak one.
    let flag = groundswell(&db)
        .args([
            "user",
            "create",
            "--campaign",
            "1",
            "--email",
            "f@test.org",
            "--role",
            "admin",
            "--password",
            "x",
        ])
        .output()
        .expect("run");
    assert!(!flag.status.success());
    let weak = groundswell(&db)
        .args([
            "user",
            "create",
            "--campaign",
            &campaign.to_string(),
            "--email",
            "w@test.org",
            "--role",
            "admin",
        ])
        .env("GROUNDSWELL_PASSWORD", "short")
        .output()
        .expect("run");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 10"));

    let app = Application::build(test_settings(&db)).await.expect("app");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    for (email, password) in [
        ("cli@test.org", "admin password 1"),
        ("stdin@test.org", "stdin password 1"),
    ] {
        let res = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("login");
        let tokens = json_with(res, 200).await;
        let me = client
            .get(format!("{base}/api/v1/me"))
            .bearer_auth(tokens["access_token"].as_str().expect("token"))
            .send()
            .await
            .expect("me");
        assert_eq!(json_with(me, 200).await["email"], email);
    }
}

#[tokio::test]
async fn the_server_stops_gracefully_on_sigterm() {
    let db = TestDb::new();
    let mut child = groundswell(&db)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("GROUNDSWELL_WORKERS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn server");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let started = Instant::now();
    let port = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server log line");
        let event: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if event["message"] == "listening" {
            break event["port"].as_u64().expect("port in log");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "server did not start"
        );
    };
    let health = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "server ignored SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status:?}");
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(
        rest.iter().any(|l| l.contains("\"stopped\"")),
        "no shutdown log line in {rest:?}"
    );
}

#[tokio::test]
async fn every_request_leaves_an_access_log_line_without_secrets() {
    let db = TestDb::new();
    assert!(stdout_of(groundswell(&db).arg("migrate")).contains("migrations applied"));
    let campaign = stdout_of(groundswell(&db).args(["campaign", "create", "--name", "Logged"]));
    let admin = stdout_of(
        groundswell(&db)
            .args([
                "user",
                "create",
                "--campaign",
                &campaign,
                "--email",
                "log@test.org",
                "--role",
                "admin",
            ])
            .env("GROUNDSWELL_PASSWORD", "admin password 1"),
    );
    let mut child = groundswell(&db)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("GROUNDSWELL_WORKERS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn server");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let port = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server log line");
        let event: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if event["message"] == "listening" {
            break event["port"].as_u64().expect("port in log");
        }
    };
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let login = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "log@test.org", "password": "admin password 1"}))
        .send()
        .await
        .expect("login");
    let token = json_with(login, 200).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let user = client
        .get(format!("{base}/api/v1/leaderboard?secret=1"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("user");
    assert_eq!(user.status(), 422);
    let missing = client
        .get(format!("{base}/api/v1/users/999999"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("user");
    assert_eq!(missing.status(), 404);

    // Lines arrive a little after the answers.
    let mut access = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while access.len() < 3 && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            assert!(!line.contains(&token), "a token was logged: {line}");
            assert!(
                !line.contains("admin password"),
                "a password was logged: {line}"
            );
            let event: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if event["target"] == "access" {
                access.push(event);
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(access.len(), 3, "{access:?}");
    assert_eq!(access[0]["method"], "POST");
    assert_eq!(access[0]["route"], "/api/v1/auth/login");
    assert_eq!(access[0]["status"], 200);
    assert!(access[0]["user_id"].is_null());
    assert_eq!(access[1]["route"], "/api/v1/leaderboard");
    assert_eq!(access[2]["route"], "/api/v1/users/{id}");
    for event in &access[1..] {
        assert_eq!(event["user_id"].to_string(), admin, "{event}");
        assert!(event["duration_ms"].as_f64().is_some_and(|d| d >= 0.0));
        assert!(
            !event.to_string().contains("secret"),
            "the query was logged: {event}"
        );
    }
    assert_eq!(access[1]["status"], 422);
    assert_eq!(access[2]["status"], 404);
}

#[tokio::test]
async fn the_cli_imports_a_voter_file_and_builds_the_demo() {
    let db = TestDb::new();
    let campaign = stdout_of(groundswell(&db).args(["campaign", "create", "--name", "CLI import"]));
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("people.csv");
    std::fs::write(
        &file,
        "external_id,street,housenumber,lat,lng,flags\n\
         A1,Städtle,1,47.14,9.52,\n\
         A2,Städtle,1,47.14,9.52,moved\n\
         A3,Städtle,2,47.14,9.52,vip\n",
    )
    .expect("write csv");
    let out = stdout_of(
        groundswell(&db)
            .args(["import", "people"])
            .arg(&file)
            .args(["--campaign", &campaign]),
    );
    assert!(out.contains("3 rows read"), "{out}");
    assert!(out.contains("2 created, 0 updated, 1 rejected"), "{out}");
    assert!(out.contains("line 4: unknown flag `vip`"), "{out}");
    // Again: the same people are updated, not duplicated.
    let out = stdout_of(
        groundswell(&db)
            .args(["import", "people"])
            .arg(&file)
            .args(["--campaign", &campaign]),
    );
    assert!(out.contains("0 created, 2 updated, 1 rejected"), "{out}");
    // An unknown campaign is refused before reading the file.
    let failed = groundswell(&db)
        .args(["import", "people"])
        .arg(&file)
        .args(["--campaign", "999"])
        .output()
        .expect("run");
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("campaign 999 does not exist"));

    let demo = stdout_of(groundswell(&db).arg("demo"));
    assert!(demo.contains("OpenStreetMap contributors, ODbL"), "{demo}");
    for role in ["admin", "director", "organizer", "volunteer"] {
        assert!(
            demo.lines()
                .any(|l| l.trim_start().starts_with(role) && l.contains("@demo.groundswell.test")),
            "{demo}"
        );
    }
    assert!(demo.contains("rejected rows: 0"), "{demo}");
}
