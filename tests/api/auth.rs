//! Signing in, tokens, refresh rotation, sign-out and brute-force protection.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use groundswell::domain::Role;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use std::time::Duration;

use crate::helpers::{JWT_SECRET, PASSWORD, assert_error, json_with, spawn_app, spawn_app_with};

#[tokio::test]
async fn login_gives_a_token_that_me_accepts() {
    let app = spawn_app().await;
    let body = json_with(app.login("admin@test.org", PASSWORD).await, 200).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["user"]["role"], "admin");
    assert!(body["refresh_token"].as_str().is_some_and(|t| t.len() > 60));
    let me = json_with(
        app.get("/api/v1/me", body["access_token"].as_str().unwrap())
            .await,
        200,
    )
    .await;
    assert_eq!(me["email"], "admin@test.org");
    assert_eq!(me["campaign_id"], app.campaign_id);
    // Emails are matched case-insensitively.
    assert_eq!(app.login("  ADMIN@Test.org", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn the_access_token_is_a_standard_jwt_checked_by_independent_code() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    // Verify the HS256 signature with a plain HMAC, not with the server's JWT library.
    let mut mac = Hmac::<Sha256>::new_from_slice(JWT_SECRET.as_bytes()).unwrap();
    mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    assert!(
        mac.verify_slice(&signature).is_ok(),
        "signature does not verify"
    );
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "HS256");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["sub"], app.admin_id.to_string());
    assert_eq!(claims["campaign_id"], app.campaign_id);
    assert_eq!(claims["role"], "admin");
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 900);
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_401() {
    let app = spawn_app().await;
    let wrong = assert_error(
        app.login("admin@test.org", "not the password").await,
        401,
        "unauthorized",
    )
    .await;
    let unknown = assert_error(
        app.login("nobody@test.org", PASSWORD).await,
        401,
        "unauthorized",
    )
    .await;
    assert_eq!(wrong["error"]["message"], unknown["error"]["message"]);
}

#[tokio::test]
async fn repeated_failures_for_an_account_are_refused_with_429() {
    let app = spawn_app().await;
    let other = app.create_user(app.campaign_id, "other@test.org", Role::Volunteer);
    assert!(other > 0);
    for _ in 0..5 {
        assert_eq!(app.login("admin@test.org", "guess").await.status(), 401);
    }
    // Even the right password is refused now: guessing cannot continue.
    let res = app.login("admin@test.org", PASSWORD).await;
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0 && retry_after <= 900);
    assert_error(res, 429, "too_many_requests").await;
    // Another account from the same address is not locked by it.
    assert_eq!(app.login("other@test.org", PASSWORD).await.status(), 200);
}

fn forge(claims: &Value, secret: &[u8], alg: jsonwebtoken::Algorithm) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

#[tokio::test]
async fn bad_tokens_are_401() {
    let app = spawn_app().await;
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| {
        json!({ "sub": app.admin_id.to_string(), "campaign_id": app.campaign_id, "role": "admin",
                "iat": now - 10, "exp": exp, "jti": "x", "iss": "groundswell", "aud": "groundswell-api" })
    };
    // Sanity: a token forged with the right key and claims is accepted, so the
    // refusals below are about what each one changes.
    let good = forge(
        &claims(now + 600),
        JWT_SECRET.as_bytes(),
        jsonwebtoken::Algorithm::HS256,
    );
    assert_eq!(app.get("/api/v1/me", &good).await.status(), 200);

    let expired = forge(
        &claims(now - 120),
        JWT_SECRET.as_bytes(),
        jsonwebtoken::Algorithm::HS256,
    );
    let body = assert_error(app.get("/api/v1/me", &expired).await, 401, "unauthorized").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );

    let other_key = forge(
        &claims(now + 600),
        b"another-secret-another-secret-another",
        jsonwebtoken::Algorithm::HS256,
    );
    let other_alg = forge(
        &claims(now + 600),
        JWT_SECRET.as_bytes(),
        jsonwebtoken::Algorithm::HS512,
    );
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(now + 600).to_string());
    let unsigned = format!("{header}.{payload}.");
    let mut not_yet = claims(now + 600);
    not_yet["nbf"] = json!(now + 300);
    let not_yet = forge(
        &not_yet,
        JWT_SECRET.as_bytes(),
        jsonwebtoken::Algorithm::HS256,
    );
    let mut tampered = good.clone();
    tampered.insert(good.rfind('.').unwrap() + 1, 'A');
    for token in [
        other_key,
        other_alg,
        unsigned,
        tampered,
        not_yet,
        "garbage".to_owned(),
    ] {
        let res = app.get("/api/v1/me", &token).await;
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
        assert_error(res, 401, "unauthorized").await;
    }
    let res = app
        .request(reqwest::Method::GET, "/api/v1/me", None, None)
        .await;
    assert_error(res, 401, "unauthorized").await;
}

async fn refresh(app: &crate::helpers::TestApp, token: &str) -> reqwest::Response {
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({ "refresh_token": token }),
    )
    .await
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_session() {
    let app = spawn_app().await;
    let first = app.session("admin@test.org").await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let second = json_with(refresh(&app, &r1).await, 200).await;
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    assert_eq!(
        app.get("/api/v1/me", second["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );

    // r1 was rotated: presenting it again means it leaked. Both r1 and r2 die.
    assert_error(refresh(&app, &r1).await, 401, "unauthorized").await;
    assert_error(refresh(&app, &r2).await, 401, "unauthorized").await;

    // Another sign-in is a separate session and still works.
    let third = app.session("admin@test.org").await;
    assert_eq!(
        refresh(&app, third["refresh_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = spawn_app().await;
    let session = app.session("admin@test.org").await;
    let r = session["refresh_token"].as_str().unwrap();
    let res = app
        .post("/api/v1/auth/logout", None, json!({ "refresh_token": r }))
        .await;
    assert_eq!(res.status(), 204);
    assert_error(refresh(&app, r).await, 401, "unauthorized").await;
    // Logging out twice, or with nonsense, is not an error.
    let res = app
        .post("/api/v1/auth/logout", None, json!({ "refresh_token": r }))
        .await;
    assert_eq!(res.status(), 204);
    let res = app
        .post(
            "/api/v1/auth/logout",
            None,
            json!({ "refresh_token": "junk" }),
        )
        .await;
    assert_eq!(res.status(), 204);
}

#[tokio::test]
async fn a_refresh_token_cannot_be_moved_to_another_campaign() {
    let app = spawn_app().await;
    let session = app.session("admin@test.org").await;
    let r = session["refresh_token"].as_str().unwrap();
    let other = app.create_campaign("Other");
    let (_, secret) = r.split_once('.').unwrap();
    let moved = format!("{other}.{secret}");
    assert_error(refresh(&app, &moved).await, 401, "unauthorized").await;
}

#[tokio::test]
async fn a_deactivated_user_can_neither_sign_in_nor_refresh() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (id, _) = app.user_with_role(Role::Volunteer).await;
    let me = json_with(app.get(&format!("/api/v1/users/{id}"), &admin).await, 200).await;
    let email = me["email"].as_str().unwrap().to_owned();
    let session = app.session(&email).await;
    // Read once before, so the server holds the profile in memory: the deactivation
    // must still show at once.
    let token = session["access_token"].as_str().unwrap();
    json_with(app.get("/api/v1/me", token).await, 200).await;
    assert_eq!(
        app.delete(&format!("/api/v1/users/{id}"), &admin)
            .await
            .status(),
        204
    );
    assert_error(
        refresh(&app, session["refresh_token"].as_str().unwrap()).await,
        401,
        "unauthorized",
    )
    .await;
    assert_error(app.login(&email, PASSWORD).await, 401, "unauthorized").await;
    assert_error(app.get("/api/v1/me", token).await, 401, "unauthorized").await;
}

#[tokio::test]
async fn simultaneous_guesses_on_two_servers_are_all_counted() {
    let app = spawn_app().await;
    let second = app.another_server(|_| {}).await;
    // Forty wrong passwords at once, half through each server: the limit is 5 per
    // account, so 5 are checked (401) and the rest refused unchecked (429).
    let guesses = (0..40).map(|i| {
        let base = if i % 2 == 0 { &app.address } else { &second };
        app.client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({ "email": "admin@test.org", "password": format!("guess {i}") }))
            .send()
    });
    let statuses: Vec<u16> = futures_util::future::join_all(guesses)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!((checked, refused), (5, 35), "{statuses:?}");
}

#[tokio::test]
async fn a_deactivated_or_demoted_user_loses_their_powers_at_once() {
    let app = spawn_app_with(|s| s.profile_cache_ttl = Duration::from_millis(300)).await;
    let second = app
        .another_server(|s| s.profile_cache_ttl = Duration::from_millis(300))
        .await;
    let admin = app.admin_token().await;
    let (organizer_id, organizer) = app.user_with_role(Role::Organizer).await;
    let (demoted_id, demoted) = app.user_with_role(Role::Organizer).await;
    let invite =
        |email: &str| json!({ "email": email, "name": "New Organizer", "role": "organizer" });
    // The second server has seen the organizer act as an organizer.
    let on_second = |token: &str| {
        app.client
            .get(format!("{second}/api/v1/people?limit=1"))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(on_second(&organizer).await.unwrap().status(), 200);

    assert_eq!(
        app.delete(&format!("/api/v1/users/{organizer_id}"), &admin)
            .await
            .status(),
        204
    );
    json_with(
        app.patch(
            &format!("/api/v1/users/{demoted_id}"),
            &admin,
            json!({ "role": "volunteer" }),
        )
        .await,
        200,
    )
    .await;
    // Through the server that made the change: at once.
    assert_error(
        app.post("/api/v1/users", Some(&organizer), invite("a@test.org"))
            .await,
        401,
        "unauthorized",
    )
    .await;
    assert_error(
        app.post(
            "/api/v1/me/devices",
            Some(&organizer),
            json!({ "token": "t-1", "platform": "web" }),
        )
        .await,
        401,
        "unauthorized",
    )
    .await;
    assert_error(
        app.post("/api/v1/users", Some(&demoted), invite("b@test.org"))
            .await,
        403,
        "forbidden",
    )
    .await;
    // Through another server: once its moment of memory has passed.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(on_second(&organizer).await.unwrap().status(), 401);
}

#[tokio::test]
async fn a_hall_of_volunteers_signs_in_at_once_but_a_spraying_address_is_stopped() {
    let app = spawn_app().await;
    let emails: Vec<String> = (0..60).map(|i| format!("hall-{i}@test.org")).collect();
    for email in &emails {
        app.create_user(app.campaign_id, email, Role::Volunteer);
    }
    // Sixty people behind one address sign in at the same moment: nobody is refused.
    let logins = emails.iter().map(|e| app.login(e, PASSWORD));
    let statuses: Vec<u16> = futures_util::future::join_all(logins)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    // One wrong guess at each of fifty accounts spends the address's budget of failures.
    for i in 0..50 {
        let res = app.login(&format!("nobody-{i}@test.org"), "guess").await;
        assert_eq!(res.status(), 401, "guess {i}");
    }
    assert_error(
        app.login("hall-0@test.org", PASSWORD).await,
        429,
        "too_many_requests",
    )
    .await;
}
