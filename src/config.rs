//! Settings: flags override environment variables, which override an optional TOML
//! file, which overrides the defaults. Loaded once in `main` and passed in.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Everything the server needs to know at start.
#[derive(Clone)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port (tests).
    pub addr: String,
    pub database_url: String,
    /// HMAC secret for access tokens. Required on PostgreSQL; on SQLite one is generated
    /// on first start and kept in a file beside the database.
    pub jwt_secret: Option<String>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub invite_ttl: Duration,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    pub db_pool_size: Option<u32>,
    /// HTTP worker threads; `None` means one per core.
    pub workers: Option<usize>,
    /// Sign-in attempts allowed per account, and per client address, within the window
    /// (counted before the password is checked; a success gives its attempt back).
    pub login_max_failures_per_account: usize,
    pub login_max_failures_per_address: usize,
    pub login_failure_window: Duration,
    /// Largest voter file accepted over HTTP, in bytes (it is spooled to disk, not memory).
    pub max_import_bytes: u64,
    /// Most vertices one turf geometry may have.
    pub max_area_vertices: usize,
    /// Most cells one turf or auto-cut area may produce.
    pub max_area_cells: usize,
    /// How long a walk list lives before it expires and its doors return to the pool.
    pub walk_list_ttl: Duration,
    /// How long a volunteer's claim on a nearby list holds.
    pub claim_ttl: Duration,
    /// How often the server looks for lists past their expiry.
    pub expiry_sweep_interval: Duration,
    /// Whether this server runs queued voter-file imports (any server may; an API-only
    /// server can leave them to the others).
    pub import_jobs: bool,
    /// How often the server looks for imports queued on other servers or left by a
    /// stopped one (an upload to this server starts at once).
    pub import_poll_interval: Duration,
    /// How long `GET /api/v1/me` may answer from memory (zero: never).
    pub profile_cache_ttl: Duration,
    /// PostgreSQL: the longest one statement of a request may run before the database
    /// stops it and the request answers 503 (zero: no limit).
    pub statement_timeout: Duration,
    /// The push settings (FCM HTTP v1 and the outbox worker).
    pub push: PushSettings,
    /// Where people reach this server (scheme, host, port; no trailing slash): the QR
    /// codes of walk packets point here, and sign-in cookies are `Secure` when it is
    /// https.
    pub public_url: String,
}

/// Push over FCM HTTP v1. Without `credentials_file`, messages are still written to the
/// outbox and marked `skipped: push not configured`.
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// The Firebase service-account JSON key file.
    pub credentials_file: Option<PathBuf>,
    /// Where messages are sent; the token URI comes from the key file.
    pub fcm_base_url: String,
    /// Messages leased per round, and sent concurrently at most.
    pub batch_size: i64,
    pub concurrency: usize,
    /// How often an idle worker looks for due messages.
    pub poll_interval: Duration,
    /// Attempts before a message that keeps failing temporarily is given up.
    pub max_attempts: i64,
    /// Per-request timeout towards FCM.
    pub request_timeout: Duration,
}

impl Default for PushSettings {
    fn default() -> Self {
        PushSettings {
            credentials_file: None,
            fcm_base_url: "https://fcm.googleapis.com".into(),
            batch_size: 500,
            concurrency: 128,
            poll_interval: Duration::from_millis(500),
            max_attempts: 12,
            request_timeout: Duration::from_secs(10),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            addr: "127.0.0.1:8080".into(),
            database_url: "sqlite://groundswell.db".into(),
            jwt_secret: None,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            invite_ttl: Duration::from_secs(7 * 24 * 3600),
            max_body_bytes: 1024 * 1024,
            db_pool_size: None,
            workers: None,
            login_max_failures_per_account: 5,
            login_max_failures_per_address: 50,
            login_failure_window: Duration::from_secs(15 * 60),
            max_import_bytes: 1024 * 1024 * 1024,
            max_area_vertices: 20_000,
            max_area_cells: 100_000,
            walk_list_ttl: Duration::from_secs(30 * 24 * 3600),
            claim_ttl: Duration::from_secs(12 * 3600),
            expiry_sweep_interval: Duration::from_secs(60),
            import_jobs: true,
            import_poll_interval: Duration::from_secs(10),
            profile_cache_ttl: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(30),
            push: PushSettings::default(),
            public_url: "http://localhost:8080".into(),
        }
    }
}

impl Settings {
    /// The public URL without a trailing slash.
    pub fn public_base(&self) -> &str {
        self.public_url.trim_end_matches('/')
    }

    /// The caps on one turf area.
    pub fn area_limits(&self) -> crate::spatial::tiling::AreaLimits {
        crate::spatial::tiling::AreaLimits {
            max_vertices: self.max_area_vertices,
            max_cells: self.max_area_cells,
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("addr", &self.addr)
            .field("database_url", &crate::db::redact(&self.database_url))
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "***"))
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

/// The optional TOML file: every key may be left out.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub addr: Option<String>,
    pub database_url: Option<String>,
    pub jwt_secret: Option<String>,
    pub access_token_ttl_secs: Option<u64>,
    pub refresh_token_ttl_secs: Option<u64>,
    pub invite_ttl_secs: Option<u64>,
    pub max_body_bytes: Option<usize>,
    pub db_pool_size: Option<u32>,
    pub workers: Option<usize>,
    pub login_max_failures_per_account: Option<usize>,
    pub login_max_failures_per_address: Option<usize>,
    pub login_failure_window_secs: Option<u64>,
    pub max_import_bytes: Option<u64>,
    pub max_area_vertices: Option<usize>,
    pub max_area_cells: Option<usize>,
    pub walk_list_ttl_secs: Option<u64>,
    pub claim_ttl_secs: Option<u64>,
    pub profile_cache_secs: Option<u64>,
    pub statement_timeout_ms: Option<u64>,
    pub import_jobs: Option<bool>,
    pub fcm_credentials_file: Option<PathBuf>,
    pub fcm_base_url: Option<String>,
    pub public_url: Option<String>,
}

impl FileSettings {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
        toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("config file {} is invalid: {e}", path.display()))
    }

    /// Fills the settings from the file where it says something.
    pub fn apply(self, s: &mut Settings) {
        let secs = Duration::from_secs;
        if let Some(v) = self.addr {
            s.addr = v;
        }
        if let Some(v) = self.database_url {
            s.database_url = v;
        }
        if let Some(v) = self.jwt_secret {
            s.jwt_secret = Some(v);
        }
        if let Some(v) = self.access_token_ttl_secs {
            s.access_token_ttl = secs(v);
        }
        if let Some(v) = self.refresh_token_ttl_secs {
            s.refresh_token_ttl = secs(v);
        }
        if let Some(v) = self.invite_ttl_secs {
            s.invite_ttl = secs(v);
        }
        if let Some(v) = self.max_body_bytes {
            s.max_body_bytes = v;
        }
        if let Some(v) = self.db_pool_size {
            s.db_pool_size = Some(v);
        }
        if let Some(v) = self.workers {
            s.workers = Some(v);
        }
        if let Some(v) = self.login_max_failures_per_account {
            s.login_max_failures_per_account = v;
        }
        if let Some(v) = self.login_max_failures_per_address {
            s.login_max_failures_per_address = v;
        }
        if let Some(v) = self.login_failure_window_secs {
            s.login_failure_window = secs(v);
        }
        if let Some(v) = self.max_import_bytes {
            s.max_import_bytes = v;
        }
        if let Some(v) = self.max_area_vertices {
            s.max_area_vertices = v;
        }
        if let Some(v) = self.max_area_cells {
            s.max_area_cells = v;
        }
        if let Some(v) = self.walk_list_ttl_secs {
            s.walk_list_ttl = secs(v);
        }
        if let Some(v) = self.claim_ttl_secs {
            s.claim_ttl = secs(v);
        }
        if let Some(v) = self.profile_cache_secs {
            s.profile_cache_ttl = Duration::from_secs(v);
        }
        if let Some(v) = self.import_jobs {
            s.import_jobs = v;
        }
        if let Some(v) = self.statement_timeout_ms {
            s.statement_timeout = Duration::from_millis(v);
        }
        if let Some(v) = self.fcm_credentials_file {
            s.push.credentials_file = Some(v);
        }
        if let Some(v) = self.fcm_base_url {
            s.push.fcm_base_url = v;
        }
        if let Some(v) = self.public_url {
            s.public_url = v;
        }
    }
}

/// Where the generated JWT secret of a SQLite database lives: beside the database file.
pub fn secret_file_for(sqlite_path: &str) -> PathBuf {
    PathBuf::from(format!("{sqlite_path}.jwt-secret"))
}

/// Reads the secret kept beside a SQLite database, creating it (mode 0600) on first start.
pub fn load_or_create_secret(path: &Path) -> anyhow::Result<String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= 32 {
            return Ok(existing);
        }
        anyhow::bail!(
            "the JWT secret in {} is shorter than 32 bytes",
            path.display()
        );
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let secret = hex::encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot create JWT secret file {}: {e}", path.display()))?;
    std::io::Write::write_all(&mut file, secret.as_bytes())?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_values_override_defaults_only_where_given() {
        let file: FileSettings =
            toml::from_str("addr = \"0.0.0.0:9000\"\nmax_body_bytes = 10").unwrap_or_default();
        let mut s = Settings::default();
        file.apply(&mut s);
        assert_eq!(s.addr, "0.0.0.0:9000");
        assert_eq!(s.max_body_bytes, 10);
        assert_eq!(s.database_url, "sqlite://groundswell.db");
    }

    #[test]
    fn unknown_keys_in_the_file_are_an_error() {
        assert!(toml::from_str::<FileSettings>("adress = \"typo\"").is_err());
    }

    #[test]
    fn the_generated_secret_is_kept_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("gs-secret-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).ok();
        let path = dir.join("db.jwt-secret");
        let first = load_or_create_secret(&path).ok();
        let second = load_or_create_secret(&path).ok();
        assert!(first.is_some());
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .map(|m| m.permissions().mode() & 0o777)
                .ok();
            assert_eq!(mode, Some(0o600));
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
