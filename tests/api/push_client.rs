//! The FCM HTTP v1 client against the fake FCM server.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use groundswell::push::fcm::{self, FcmClient, FcmError, PushMessage, SendOutcome, ServiceAccount};

use super::fake_fcm::{self, FakeFcm};

const TIMEOUT: Duration = Duration::from_secs(5);

fn account(fake: &FakeFcm) -> ServiceAccount {
    let dir = tempfile::tempdir().unwrap();
    let path = fake.write_service_account(dir.path());
    ServiceAccount::from_file(&path).unwrap()
}

fn client(fake: &FakeFcm) -> FcmClient {
    FcmClient::new(account(fake), &fake.base_url(), TIMEOUT).unwrap()
}

fn message(token: &str) -> PushMessage {
    PushMessage {
        token: token.to_owned(),
        title: "Your turf is ready".to_owned(),
        body: "42 doors on Rue Oberkampf".to_owned(),
        data: BTreeMap::from([
            ("kind".to_owned(), "turf_assigned".to_owned()),
            ("turf_id".to_owned(), "42".to_owned()),
        ]),
    }
}

fn retry(code: &str, retry_after: Option<Duration>) -> SendOutcome {
    SendOutcome::Retry {
        code: code.to_owned(),
        retry_after,
    }
}

fn delete(code: &str) -> SendOutcome {
    SendOutcome::DeleteToken {
        code: code.to_owned(),
    }
}

#[tokio::test]
async fn a_good_send_is_delivered() {
    let fake = FakeFcm::start();
    let client = client(&fake);
    assert_eq!(client.project_id(), fake_fcm::PROJECT_ID);

    let outcome = client.send(&message("ok-phone-1")).await;

    let SendOutcome::Sent { name } = outcome else {
        panic!("expected Sent, got {outcome:?}");
    };
    assert!(
        name.starts_with(&format!("projects/{}/messages/", fake_fcm::PROJECT_ID)),
        "{name}"
    );
    let delivered = fake.delivered();
    assert_eq!(delivered.len(), 1);
    let first = &delivered[0];
    assert_eq!(first.name, name);
    assert_eq!(first.token, "ok-phone-1");
    assert_eq!(first.title, "Your turf is ready");
    assert_eq!(first.body, "42 doors on Rue Oberkampf");
    assert_eq!(first.data, message("ok-phone-1").data);
    assert_eq!(fake.attempts_for("ok-phone-1"), 1);
    assert_eq!(fake.token_requests(), 1);
}

#[tokio::test]
async fn dead_and_invalid_tokens_are_to_be_deleted() {
    let fake = FakeFcm::start();
    let client = client(&fake);

    assert_eq!(
        client.send(&message("dead-phone")).await,
        delete("UNREGISTERED")
    );
    assert_eq!(
        client.send(&message("invalid-phone")).await,
        delete("INVALID_ARGUMENT")
    );
    assert!(fake.delivered().is_empty());
}

#[tokio::test]
async fn overload_and_server_errors_are_retried() {
    let fake = FakeFcm::start();
    let client = client(&fake);

    assert_eq!(
        client.send(&message("busy-phone")).await,
        retry("QUOTA_EXCEEDED", Some(Duration::from_secs(1)))
    );
    assert_eq!(
        client.send(&message("down-phone")).await,
        retry("UNAVAILABLE", None)
    );
    assert_eq!(
        client.send(&message("internal-phone")).await,
        retry("INTERNAL", None)
    );
    // A proxy answering with HTML instead of FCM.
    assert_eq!(
        client.send(&message("html-phone")).await,
        retry("HTTP_502", None)
    );
    // The client itself never retries: one request each.
    for token in ["busy-phone", "down-phone", "internal-phone", "html-phone"] {
        assert_eq!(fake.attempts_for(token), 1, "{token}");
    }
}

#[tokio::test]
async fn configuration_errors_are_fatal() {
    let fake = FakeFcm::start();
    let client = client(&fake);

    let outcome = client.send(&message("mismatch-phone")).await;
    assert!(
        matches!(&outcome, SendOutcome::Fatal { status: 403, code, .. } if code == "SENDER_ID_MISMATCH"),
        "{outcome:?}"
    );

    // A 401 carrying an FCM error is about APNs / web push, not about our token:
    // no token refresh, no second attempt.
    let outcome = client.send(&message("thirdparty-phone")).await;
    assert!(
        matches!(&outcome, SendOutcome::Fatal { status: 401, code, .. } if code == "THIRD_PARTY_AUTH_ERROR"),
        "{outcome:?}"
    );
    assert_eq!(fake.attempts_for("thirdparty-phone"), 1);
    assert_eq!(fake.token_requests(), 1);

    // A payload the server rejects (here: no registration token at all).
    let outcome = client.send(&message("")).await;
    assert!(
        matches!(&outcome, SendOutcome::Fatal { status: 400, code, .. } if code == "INVALID_ARGUMENT"),
        "{outcome:?}"
    );

    // Sending for a project the service account may not use.
    let mut other = account(&fake);
    other.project_id = "someone-elses-project".to_owned();
    let other = FcmClient::new(other, &fake.base_url(), TIMEOUT).unwrap();
    let outcome = other.send(&message("ok-phone")).await;
    assert!(
        matches!(&outcome, SendOutcome::Fatal { status: 403, code, .. } if code == "PERMISSION_DENIED"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_flaky_token_succeeds_after_backing_off() {
    let fake = FakeFcm::start();
    let client = client(&fake);
    let msg = message("flaky2-phone");

    let mut attempt = 0;
    let name = loop {
        match client.send(&msg).await {
            SendOutcome::Sent { name } => break name,
            SendOutcome::Retry { code, retry_after } => {
                assert_eq!(code, "UNAVAILABLE");
                let delay = fcm::backoff(attempt, retry_after);
                assert!(delay >= fcm::BACKOFF_BASE && delay <= fcm::BACKOFF_CAP);
                attempt += 1;
                assert!(attempt < 5, "still failing after {attempt} retries");
                // A real sender sleeps `delay`; the fake does not need it.
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(!name.is_empty());
    assert_eq!(attempt, 2);
    assert_eq!(fake.attempts_for("flaky2-phone"), 3);
    assert_eq!(fake.delivered().len(), 1);
}

#[tokio::test]
async fn the_access_token_is_cached() {
    let fake = FakeFcm::start();
    let client = client(&fake);

    for i in 0..100 {
        let outcome = client.send(&message(&format!("ok-{i}"))).await;
        assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
    }
    assert_eq!(fake.token_requests(), 1);
    assert_eq!(fake.delivered().len(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_sends_share_one_token_request() {
    let fake = FakeFcm::start();
    let client = client(&fake);

    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.send(&message(&format!("ok-burst-{i}"))).await })
        })
        .collect();
    for task in tasks {
        let outcome = task.await.unwrap();
        assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
    }
    assert_eq!(fake.token_requests(), 1);
    assert_eq!(fake.delivered().len(), 200);
}

#[tokio::test]
async fn an_expiring_access_token_is_refreshed_before_it_dies() {
    let fake = FakeFcm::start();
    // Four-second tokens: the client keeps each for half its life, then fetches another.
    fake.set_token_ttl(Duration::from_secs(4));
    let client = client(&fake);

    assert!(matches!(
        client.send(&message("ok-before")).await,
        SendOutcome::Sent { .. }
    ));
    assert!(matches!(
        client.send(&message("ok-still-cached")).await,
        SendOutcome::Sent { .. }
    ));
    assert_eq!(fake.token_requests(), 1);

    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(matches!(
        client.send(&message("ok-after")).await,
        SendOutcome::Sent { .. }
    ));
    assert_eq!(fake.token_requests(), 2);
    // Refreshed up front, not after a refused attempt.
    assert_eq!(fake.attempts_for("ok-after"), 1);
}

#[tokio::test]
async fn a_refused_access_token_is_refreshed_once() {
    let fake = FakeFcm::start();
    let client = client(&fake);
    assert!(matches!(
        client.send(&message("ok-first")).await,
        SendOutcome::Sent { .. }
    ));

    fake.revoke_access_tokens();
    let outcome = client.send(&message("ok-second")).await;

    assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
    assert_eq!(fake.attempts_for("ok-second"), 2);
    assert_eq!(fake.token_requests(), 2);
}

#[tokio::test]
async fn a_token_refused_twice_is_fatal() {
    let fake = FakeFcm::start();
    // Tokens that are dead on arrival: every send is refused with a plain 401.
    fake.set_token_ttl(Duration::ZERO);
    let client = client(&fake);

    let outcome = client.send(&message("ok-never")).await;

    assert!(
        matches!(&outcome, SendOutcome::Fatal { status: 401, code, .. } if code == "UNAUTHENTICATED"),
        "{outcome:?}"
    );
    assert_eq!(fake.attempts_for("ok-never"), 2);
    assert_eq!(fake.token_requests(), 2);
}

#[tokio::test]
async fn a_token_endpoint_refusing_the_assertion_is_fatal() {
    let fake = FakeFcm::start();
    let mut impostor = account(&fake);
    impostor.client_email = "someone@else.iam.gserviceaccount.com".to_owned();
    let client = FcmClient::new(impostor, &fake.base_url(), TIMEOUT).unwrap();

    let outcome = client.send(&message("ok-phone")).await;

    assert!(
        matches!(&outcome, SendOutcome::Fatal { status: 400, code, .. } if code == "invalid_grant"),
        "{outcome:?}"
    );
    assert_eq!(fake.attempts_for("ok-phone"), 0);
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_retried_later() {
    let fake = FakeFcm::start();
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut account = account(&fake);
    account.token_uri = format!("http://127.0.0.1:{closed_port}/token");
    let client = FcmClient::new(account, &fake.base_url(), TIMEOUT).unwrap();

    assert_eq!(
        client.send(&message("ok-phone")).await,
        retry("CONNECT_ERROR", None)
    );
    assert!(fake.delivered().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_token_endpoint_is_asked_once_by_concurrent_senders() {
    let fake = FakeFcm::start();
    // Accepts TCP connections (the kernel does) but never answers.
    let black_hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut account = account(&fake);
    account.token_uri = format!("http://{}/token", black_hole.local_addr().unwrap());
    let timeout = Duration::from_millis(500);
    let client = FcmClient::new(account, &fake.base_url(), timeout).unwrap();

    let started = Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.send(&message(&format!("ok-{i}"))).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), retry("TIMEOUT", None));
    }

    // One shared refresh that timed out, not fifty queued one after the other.
    assert!(started.elapsed() < timeout * 4, "{:?}", started.elapsed());
    black_hole.set_nonblocking(true).unwrap();
    let connections = std::iter::from_fn(|| black_hole.accept().ok()).count();
    assert_eq!(connections, 1);
    assert!(fake.delivered().is_empty());
}

#[tokio::test]
async fn a_slow_server_times_out_into_a_retry() {
    let fake = FakeFcm::start();
    let client =
        FcmClient::new(account(&fake), &fake.base_url(), Duration::from_millis(500)).unwrap();

    assert_eq!(
        client.send(&message("slow-phone")).await,
        retry("TIMEOUT", None)
    );
}

#[tokio::test]
async fn the_fake_stops_when_asked() {
    let fake = FakeFcm::start();
    let client = client(&fake);
    assert!(matches!(
        client.send(&message("ok-1")).await,
        SendOutcome::Sent { .. }
    ));

    fake.stop();

    // A kept-alive connection may still be answered by a worker that is shutting down
    // (seen once on a loaded machine); within two seconds every send must fail.
    let mut outcome = client.send(&message("ok-2")).await;
    for _ in 0..20 {
        if matches!(&outcome, SendOutcome::Retry { .. }) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        outcome = client.send(&message("ok-2")).await;
    }
    assert!(matches!(&outcome, SendOutcome::Retry { .. }), "{outcome:?}");
}

#[test]
fn bad_service_account_files_are_refused_clearly() {
    let fake = FakeFcm::start();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let good: serde_json::Value = serde_json::from_str(&fake.service_account_json()).unwrap();
    let with = |key: &str, value: serde_json::Value| {
        let mut v = good.clone();
        v[key] = value;
        v.to_string()
    };
    let without = |key: &str| {
        let mut v = good.clone();
        v.as_object_mut().unwrap().remove(key);
        v.to_string()
    };

    let missing = dir.path().join("nope.json");
    let err = ServiceAccount::from_file(&missing).unwrap_err();
    assert!(matches!(err, FcmError::ReadKeyFile { .. }), "{err:?}");
    assert!(err.to_string().contains("nope.json"), "{err}");

    let err = ServiceAccount::from_file(write("html.json", "<html>")).unwrap_err();
    assert!(matches!(err, FcmError::NotJson { .. }), "{err:?}");
    assert!(err.to_string().contains("not JSON"), "{err}");

    let err =
        ServiceAccount::from_file(write("partial.json", &without("private_key"))).unwrap_err();
    assert!(matches!(err, FcmError::NotServiceAccount { .. }), "{err:?}");
    assert!(
        err.to_string().contains("missing field `private_key`"),
        "{err}"
    );

    let err = ServiceAccount::from_json(&with("type", "authorized_user".into())).unwrap_err();
    assert!(err.to_string().contains("authorized_user"), "{err}");

    let err = ServiceAccount::from_json(&with("client_email", "  ".into())).unwrap_err();
    assert!(
        matches!(
            err,
            FcmError::EmptyField {
                field: "client_email",
                ..
            }
        ),
        "{err:?}"
    );

    let not_pem = with("private_key", "not a key".into());
    let err = ServiceAccount::from_file(write("not-pem.json", &not_pem)).unwrap_err();
    assert!(matches!(err, FcmError::InvalidPrivateKey { .. }), "{err:?}");
    assert!(err.to_string().contains("private_key"), "{err}");

    // PEM armour around garbage: parses as PEM, fails as a key.
    let garbage = "-----BEGIN PRIVATE KEY-----\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END PRIVATE KEY-----\n";
    let err = ServiceAccount::from_json(&with("private_key", garbage.into())).unwrap_err();
    assert!(matches!(err, FcmError::InvalidPrivateKey { .. }), "{err:?}");

    let err = ServiceAccount::from_json(&with("token_uri", "oauth2.googleapis.com/token".into()))
        .unwrap_err();
    assert!(matches!(err, FcmError::InvalidUrl { .. }), "{err:?}");

    // The good one loads, and its Debug output keeps the key secret.
    let account = ServiceAccount::from_file(fake.write_service_account(dir.path())).unwrap();
    assert_eq!(account.token_uri, fake.token_uri());
    assert!(!format!("{account:?}").contains("PRIVATE KEY"));

    // The client validates what it is given, too.
    let err = FcmClient::new(account.clone(), "not a url", TIMEOUT).unwrap_err();
    assert!(matches!(err, FcmError::InvalidUrl { .. }), "{err:?}");
    let mut broken = account;
    broken.private_key = "garbage".to_owned();
    let err = FcmClient::new(broken, &fake.base_url(), TIMEOUT).unwrap_err();
    assert!(matches!(err, FcmError::InvalidPrivateKey { .. }), "{err:?}");
}

/// The fake's own checks, driven by hand: they are what makes the client tests mean something.
#[tokio::test]
async fn the_fake_checks_assertions_and_message_shape() {
    #[derive(serde::Serialize)]
    struct Claims<'a> {
        iss: &'a str,
        scope: &'a str,
        aud: &'a str,
        iat: i64,
        exp: i64,
    }
    let fake = FakeFcm::start();
    let http = reqwest::Client::new();
    let key =
        jsonwebtoken::EncodingKey::from_rsa_pem(fake_fcm::PRIVATE_KEY_PEM.as_bytes()).unwrap();
    let now = chrono::Utc::now().timestamp();
    let token_uri = fake.token_uri();
    let assertion = |kid: &str, scope: &str, aud: &str| {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        let claims = Claims {
            iss: fake_fcm::CLIENT_EMAIL,
            scope,
            aud,
            iat: now,
            exp: now + 3600,
        };
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    };
    let exchange = |assertion: String, grant_type: &'static str| {
        http.post(&token_uri)
            .form(&[("grant_type", grant_type), ("assertion", &assertion)])
            .send()
    };
    let grant = "urn:ietf:params:oauth:grant-type:jwt-bearer";
    let scope = "https://www.googleapis.com/auth/firebase.messaging";

    for (bad, grant_type) in [
        (assertion("other-kid", scope, &token_uri), grant),
        (
            assertion(
                fake_fcm::PRIVATE_KEY_ID,
                "https://www.googleapis.com/auth/cloud-platform.read-only",
                &token_uri,
            ),
            grant,
        ),
        (
            assertion(
                fake_fcm::PRIVATE_KEY_ID,
                scope,
                "https://oauth2.googleapis.com/token",
            ),
            grant,
        ),
        (
            assertion(fake_fcm::PRIVATE_KEY_ID, scope, &token_uri),
            "client_credentials",
        ),
    ] {
        let response = exchange(bad, grant_type).await.unwrap();
        assert_eq!(response.status(), 400);
    }
    let response = exchange(
        assertion(fake_fcm::PRIVATE_KEY_ID, scope, &token_uri),
        grant,
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let issued: serde_json::Value = response.json().await.unwrap();
    assert_eq!(issued["token_type"], "Bearer");
    assert_eq!(issued["expires_in"], 3600);
    let access_token = issued["access_token"].as_str().unwrap().to_owned();
    assert_eq!(fake.token_requests(), 5);

    let send_url = format!(
        "{}/v1/projects/{}/messages:send",
        fake.base_url(),
        fake_fcm::PROJECT_ID
    );
    let send = |bearer: Option<&str>, body: serde_json::Value| {
        let mut request = http.post(&send_url).json(&body);
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        request.send()
    };
    let good = serde_json::json!({"message": {
        "token": "ok-raw", "notification": {"title": "t", "body": "b"}, "data": {"k": "v"}
    }});

    let response = send(None, good.clone()).await.unwrap();
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
    assert!(body["error"].get("details").is_none());
    let response = send(Some("ya29.made-up"), good.clone()).await.unwrap();
    assert_eq!(response.status(), 401);

    for bad in [
        serde_json::json!({"message": {"token": "ok-raw", "notification": {"title": "t", "body": "b"}, "data": {"k": 1}}}),
        serde_json::json!({"message": {"token": "ok-raw", "notification": {"title": "t"}}}),
        serde_json::json!({"message": {"token": "ok-raw"}}),
        serde_json::json!({"message": {"notification": {"title": "t", "body": "b"}}}),
        serde_json::json!({"nothing": true}),
    ] {
        let response = send(Some(&access_token), bad.clone()).await.unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["status"], "INVALID_ARGUMENT", "{bad}");
        assert_eq!(
            body["error"]["details"][0]["@type"],
            "type.googleapis.com/google.firebase.fcm.v1.FcmError"
        );
    }
    let response = send(Some(&access_token), good).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(fake.delivered().len(), 1);
    // Every request naming the token counts as an attempt, refused or not.
    assert_eq!(fake.attempts_for("ok-raw"), 6);
}
