//! A fake Firebase Cloud Messaging server for tests and benchmarks: Google's OAuth2
//! token endpoint (`POST /token`) and the FCM HTTP v1 send endpoint
//! (`POST /v1/projects/{project}/messages:send`), on 127.0.0.1 with a random port.
//!
//! It runs in its own thread with its own actix System, so it works under
//! `#[tokio::test]`, `#[actix_web::test]` and criterion alike, and stops when the
//! [`FakeFcm`] handle is dropped.
//!
//! The registration token's prefix picks the answer:
//!
//! | prefix | answer |
//! |---|---|
//! | `ok-` | 200 `{"name": "projects/<p>/messages/<n>"}` (recorded in [`FakeFcm::delivered`]) |
//! | `dead-` | 404 `UNREGISTERED` |
//! | `invalid-` (and any unknown prefix) | 400 `INVALID_ARGUMENT`, "The registration token is not a valid FCM registration token" |
//! | `busy-` | 429 `QUOTA_EXCEEDED` with `Retry-After: 1` |
//! | `down-` | 503 `UNAVAILABLE` |
//! | `flaky<N>-` | 503 `UNAVAILABLE` for the first N authorised attempts with that token, then 200 |
//! | `mismatch-` | 403 `SENDER_ID_MISMATCH` |
//! | `internal-` | 500 `INTERNAL` |
//! | `thirdparty-` | 401 `THIRD_PARTY_AUTH_ERROR` (an FCM error, not an OAuth one) |
//! | `html-` | 502 with an HTML body (a proxy in the way) |
//! | `slow-` | 200 after two seconds |
//!
//! Before that: a missing, unknown or expired access token gives 401 `UNAUTHENTICATED`
//! without FCM details; another project id gives 403 `PERMISSION_DENIED`; a message
//! without a token, without notification title/body, or with a non-string data value
//! gives 400 `INVALID_ARGUMENT`.
//!
//! Self-contained on purpose (benches include it by path): it uses nothing from the other
//! test modules.

use std::collections::{BTreeMap, HashMap};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::json;

/// The project id in the service account [`FakeFcm::write_service_account`] writes.
pub const PROJECT_ID: &str = "groundswell-fake-fcm";
/// The service account's `client_email`: the assertion's `iss` must be this.
pub const CLIENT_EMAIL: &str = "push-sender@groundswell-fake-fcm.iam.gserviceaccount.com";
/// The service account's `private_key_id`: the assertion's `kid` must be this.
pub const PRIVATE_KEY_ID: &str = "fake-fcm-throwaway-key-1";
/// Throwaway RSA key (PKCS#8 PEM) whose public half the fake trusts. Valid nowhere else.
pub const PRIVATE_KEY_PEM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/fcm/test-service-account-key.pem"
));
const PUBLIC_KEY_PEM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/fcm/test-service-account-pub.pem"
));
const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const JWT_BEARER_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const FCM_ERROR_TYPE: &str = "type.googleapis.com/google.firebase.fcm.v1.FcmError";
const DEFAULT_TOKEN_TTL_SECS: u64 = 3600;

/// A message the fake accepted (HTTP 200).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The `name` the fake answered with.
    pub name: String,
    pub token: String,
    pub title: String,
    pub body: String,
    pub data: BTreeMap<String, String>,
}

/// Handle on a running fake; dropping it stops the server.
pub struct FakeFcm {
    addr: SocketAddr,
    state: Arc<State>,
    server: Option<ServerHandle>,
    thread: Option<JoinHandle<()>>,
}

struct State {
    token_uri: String,
    public_key: DecodingKey,
    token_ttl_secs: AtomicU64,
    token_requests: AtomicUsize,
    next_access_token: AtomicU64,
    next_message: AtomicU64,
    /// Access token → when it stops being accepted.
    issued: RwLock<HashMap<String, Instant>>,
    /// Registration token → attempts seen.
    attempts: Mutex<HashMap<String, Attempts>>,
    delivered: Mutex<Vec<Delivered>>,
}

#[derive(Default, Clone, Copy)]
struct Attempts {
    /// Every request naming the token.
    all: usize,
    /// Requests that got past authentication and validation.
    authorised: usize,
}

impl FakeFcm {
    /// Starts the fake on 127.0.0.1 with a random port and two workers. Panics if it
    /// cannot (a test that cannot set up should stop loudly).
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("fake FCM: cannot bind 127.0.0.1:0: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("fake FCM: no local address: {e}"));
        let public_key = DecodingKey::from_rsa_pem(PUBLIC_KEY_PEM.as_bytes())
            .unwrap_or_else(|e| panic!("fake FCM: bad public key fixture: {e}"));
        let state = Arc::new(State {
            token_uri: format!("http://{addr}/token"),
            public_key,
            token_ttl_secs: AtomicU64::new(DEFAULT_TOKEN_TTL_SECS),
            token_requests: AtomicUsize::new(0),
            next_access_token: AtomicU64::new(1),
            next_message: AtomicU64::new(1),
            issued: RwLock::new(HashMap::new()),
            attempts: Mutex::new(HashMap::new()),
            delivered: Mutex::new(Vec::new()),
        });

        let data = web::Data::from(Arc::clone(&state));
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("fake-fcm".to_owned())
            .spawn(move || {
                let system = actix_web::rt::System::new();
                system.block_on(async move {
                    let server = HttpServer::new(move || {
                        App::new()
                            .app_data(data.clone())
                            .route("/token", web::post().to(issue_token))
                            .route(
                                "/v1/projects/{project}/messages:send",
                                web::post().to(send_message),
                            )
                    })
                    .workers(2)
                    .disable_signals()
                    .keep_alive(Duration::from_secs(120))
                    .shutdown_timeout(1)
                    .listen(listener);
                    match server {
                        Ok(server) => {
                            let server = server.run();
                            // The receiver only goes away if `start` already panicked.
                            let _unused = started_tx.send(Ok(server.handle()));
                            if let Err(e) = server.await {
                                eprintln!("fake FCM stopped with an error: {e}");
                            }
                        }
                        Err(e) => {
                            let _unused = started_tx.send(Err(e));
                        }
                    }
                });
            })
            .unwrap_or_else(|e| panic!("fake FCM: cannot spawn its thread: {e}"));
        let server = match started_rx.recv() {
            Ok(Ok(handle)) => handle,
            Ok(Err(e)) => panic!("fake FCM: cannot start the server: {e}"),
            Err(_) => panic!("fake FCM: the server thread died while starting"),
        };
        Self {
            addr,
            state,
            server: Some(server),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`: the `send_base` to give the client.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:<port>/token`: the service account's `token_uri`.
    pub fn token_uri(&self) -> String {
        self.state.token_uri.clone()
    }

    /// Every message accepted so far, in order of acceptance.
    pub fn delivered(&self) -> Vec<Delivered> {
        lock(&self.state.delivered).clone()
    }

    /// How many send requests named this registration token (rejected ones included).
    pub fn attempts_for(&self, token: &str) -> usize {
        lock(&self.state.attempts).get(token).map_or(0, |a| a.all)
    }

    /// How many requests reached `POST /token`, refused ones included.
    pub fn token_requests(&self) -> usize {
        self.state.token_requests.load(Ordering::SeqCst)
    }

    /// Lifetime of the access tokens issued from now on (`expires_in`, and when the fake
    /// stops accepting them). Zero issues tokens that are already dead.
    pub fn set_token_ttl(&self, ttl: Duration) {
        self.state
            .token_ttl_secs
            .store(ttl.as_secs(), Ordering::SeqCst);
    }

    /// Forgets every access token issued so far: the next send with one gets a 401.
    pub fn revoke_access_tokens(&self) {
        self.state
            .issued
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// A service-account JSON key for this fake (token_uri pointing at it).
    pub fn service_account_json(&self) -> String {
        json!({
            "type": "service_account",
            "project_id": PROJECT_ID,
            "private_key_id": PRIVATE_KEY_ID,
            "private_key": PRIVATE_KEY_PEM,
            "client_email": CLIENT_EMAIL,
            "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri(),
            "universe_domain": "googleapis.com",
        })
        .to_string()
    }

    /// Writes [`FakeFcm::service_account_json`] to `dir/fake-fcm-service-account.json`
    /// and returns the path.
    pub fn write_service_account(&self, dir: &Path) -> PathBuf {
        let path = dir.join("fake-fcm-service-account.json");
        std::fs::write(&path, self.service_account_json()).unwrap_or_else(|e| {
            panic!(
                "fake FCM: cannot write the service account to {}: {e}",
                path.display()
            )
        });
        path
    }

    /// Stops the server now (dropping the handle does the same).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(server) = self.server.take() {
            // The stop command is sent at once; the returned future only reports completion,
            // and the thread join below waits for that.
            drop(server.stop(false));
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            eprintln!("fake FCM: the server thread panicked");
        }
    }
}

impl Drop for FakeFcm {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---- POST /token ---------------------------------------------------------------------

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    assertion: Option<String>,
}

#[derive(Deserialize)]
struct AssertionClaims {
    scope: String,
    iat: i64,
    exp: i64,
}

fn oauth_error(error: &str, description: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({
        "error": error,
        "error_description": description,
    }))
}

async fn issue_token(
    state: web::Data<State>,
    form: Result<web::Form<TokenForm>, actix_web::Error>,
) -> HttpResponse {
    state.token_requests.fetch_add(1, Ordering::SeqCst);
    let Ok(web::Form(form)) = form else {
        return oauth_error("invalid_request", "Expected a form-encoded body.");
    };
    if form.grant_type.as_deref() != Some(JWT_BEARER_GRANT_TYPE) {
        return oauth_error("unsupported_grant_type", "Invalid grant_type.");
    }
    let Some(assertion) = form.assertion else {
        return oauth_error("invalid_request", "Missing required parameter: assertion");
    };
    if let Err(reason) = verify_assertion(&state, &assertion) {
        return oauth_error("invalid_grant", &reason);
    }

    let ttl = state.token_ttl_secs.load(Ordering::SeqCst);
    let n = state.next_access_token.fetch_add(1, Ordering::SeqCst);
    let access_token = format!("ya29.fake-{n}-{:x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    state
        .issued
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(
            access_token.clone(),
            Instant::now() + Duration::from_secs(ttl),
        );
    HttpResponse::Ok().json(json!({
        "access_token": access_token,
        "expires_in": ttl,
        "token_type": "Bearer",
    }))
}

fn verify_assertion(state: &State, assertion: &str) -> Result<(), String> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|e| format!("Invalid JWT: {e}"))?;
    if header.alg != Algorithm::RS256 {
        return Err("Invalid JWT: the algorithm must be RS256.".to_owned());
    }
    if header.kid.as_deref() != Some(PRIVATE_KEY_ID) {
        return Err("Invalid JWT Signature: unknown key id.".to_owned());
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&state.token_uri]);
    validation.set_issuer(&[CLIENT_EMAIL]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
    validation.leeway = 5;
    let claims = jsonwebtoken::decode::<AssertionClaims>(assertion, &state.public_key, &validation)
        .map_err(|e| format!("Invalid JWT: {e}"))?
        .claims;
    if !claims.scope.split_whitespace().any(|s| s == FCM_SCOPE) {
        return Err(format!(
            "Invalid JWT: scope {:?} lacks {FCM_SCOPE}.",
            claims.scope
        ));
    }
    if claims.exp <= claims.iat || claims.exp - claims.iat > 3600 {
        return Err("Invalid JWT: Token must be a short-lived token (60 minutes).".to_owned());
    }
    Ok(())
}

// ---- POST /v1/projects/{project}/messages:send -----------------------------------------

#[derive(Deserialize)]
struct SendRequest {
    message: Option<WireMessage>,
}

#[derive(Deserialize)]
struct WireMessage {
    token: Option<String>,
    notification: Option<WireNotification>,
    data: Option<BTreeMap<String, serde_json::Value>>,
}

#[derive(Deserialize)]
struct WireNotification {
    title: Option<String>,
    body: Option<String>,
}

/// Google's error body; `fcm_error_code` adds the FcmError detail.
fn google_error(
    status: StatusCode,
    rpc_status: &str,
    message: &str,
    fcm_error_code: Option<&str>,
) -> HttpResponse {
    let mut error = json!({
        "code": status.as_u16(),
        "message": message,
        "status": rpc_status,
    });
    if let Some(code) = fcm_error_code {
        error["details"] = json!([{ "@type": FCM_ERROR_TYPE, "errorCode": code }]);
    }
    HttpResponse::build(status).json(json!({ "error": error }))
}

fn invalid_argument(message: &str) -> HttpResponse {
    google_error(
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        message,
        Some("INVALID_ARGUMENT"),
    )
}

fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

async fn send_message(
    state: web::Data<State>,
    req: HttpRequest,
    project: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let authenticated = bearer_token(&req).is_some_and(|token| {
        state
            .issued
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token)
            .is_some_and(|expires| Instant::now() < *expires)
    });
    let parsed = serde_json::from_slice::<SendRequest>(&body);
    let message = parsed.as_ref().ok().and_then(|r| r.message.as_ref());
    let token = message.and_then(|m| m.token.as_deref()).unwrap_or_default();
    if !token.is_empty() {
        lock(&state.attempts)
            .entry(token.to_owned())
            .or_default()
            .all += 1;
    }

    if !authenticated {
        let mut response = google_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, \
             login cookie or other valid authentication credential.",
            None,
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"https://accounts.google.com/\""),
        );
        return response;
    }
    if project.as_str() != PROJECT_ID {
        return google_error(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            &format!(
                "Permission 'cloudmessaging.messages.create' denied on resource \
                 '//cloudresourcemanager.googleapis.com/projects/{project}' (or it may not exist)."
            ),
            None,
        );
    }
    let message = match (&parsed, message) {
        (Err(e), _) => {
            return invalid_argument(&format!("Invalid JSON payload received. {e}"));
        }
        (Ok(_), None) => return invalid_argument("Request contains an invalid argument."),
        (Ok(_), Some(message)) => message,
    };
    if token.is_empty() {
        return invalid_argument("Request contains an invalid argument.");
    }
    let Some((title, text)) = message
        .notification
        .as_ref()
        .and_then(|n| Some((n.title.clone()?, n.body.clone()?)))
    else {
        return invalid_argument(
            "Invalid value at 'message.notification': title and body are required.",
        );
    };
    let mut data = BTreeMap::new();
    for (key, value) in message.data.iter().flatten() {
        let serde_json::Value::String(value) = value else {
            return invalid_argument(&format!(
                "Invalid value at 'message.data[{key}].value' (TYPE_STRING), {value}"
            ));
        };
        data.insert(key.clone(), value.clone());
    }
    let authorised = {
        let mut attempts = lock(&state.attempts);
        let entry = attempts.entry(token.to_owned()).or_default();
        entry.authorised += 1;
        entry.authorised
    };

    if let Some(rest) = token.strip_prefix("flaky") {
        let failures = rest
            .split_once('-')
            .and_then(|(n, _)| n.parse::<usize>().ok())
            .unwrap_or(1);
        if authorised <= failures {
            return unavailable();
        }
        return accept(&state, token, title, text, data);
    }
    let (prefix, _) = token.split_once('-').unwrap_or((token, ""));
    match prefix {
        "ok" => accept(&state, token, title, text, data),
        "slow" => {
            actix_web::rt::time::sleep(Duration::from_secs(2)).await;
            accept(&state, token, title, text, data)
        }
        "dead" => google_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "Requested entity was not found.",
            Some("UNREGISTERED"),
        ),
        "busy" => {
            let mut response = google_error(
                StatusCode::TOO_MANY_REQUESTS,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for quota metric 'Send requests' and limit 'Send requests per minute'.",
                Some("QUOTA_EXCEEDED"),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            response
        }
        "down" => unavailable(),
        "mismatch" => google_error(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "SenderId mismatch",
            Some("SENDER_ID_MISMATCH"),
        ),
        "internal" => google_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "Internal error encountered.",
            Some("INTERNAL"),
        ),
        "thirdparty" => google_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Auth error from APNS or Web Push Service",
            Some("THIRD_PARTY_AUTH_ERROR"),
        ),
        "html" => HttpResponse::BadGateway()
            .content_type("text/html; charset=UTF-8")
            .body(
                "<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>",
            ),
        _ => invalid_argument("The registration token is not a valid FCM registration token"),
    }
}

fn unavailable() -> HttpResponse {
    google_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "UNAVAILABLE",
        "The service is currently unavailable.",
        Some("UNAVAILABLE"),
    )
}

fn accept(
    state: &State,
    token: &str,
    title: String,
    body: String,
    data: BTreeMap<String, String>,
) -> HttpResponse {
    let n = state.next_message.fetch_add(1, Ordering::Relaxed);
    let name = format!("projects/{PROJECT_ID}/messages/0:{n}");
    lock(&state.delivered).push(Delivered {
        name: name.clone(),
        token: token.to_owned(),
        title,
        body,
        data,
    });
    HttpResponse::Ok().json(json!({ "name": name }))
}
