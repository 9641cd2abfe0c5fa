//! The command line: `serve` (the default), `migrate`, `campaign create`, `user create`,
//! `import people`, `demo`.

use std::io::BufRead;
use std::path::PathBuf;
use std::str::FromStr;

use clap::{Parser, Subcommand};

use crate::admin;
use crate::config::{FileSettings, Settings};
use crate::db::{self, DbManager};
use crate::domain::Role;
use crate::startup::Application;

#[derive(Debug, Parser)]
#[command(
    name = "groundswell",
    version,
    about = "Backend for door-to-door canvassing"
)]
pub struct Cli {
    /// Optional TOML settings file (flags and environment variables win over it).
    #[arg(long, env = "GROUNDSWELL_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// `sqlite://path`, a plain path (SQLite) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (the default command).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "GROUNDSWELL_ADDR")]
        addr: Option<String>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage campaigns.
    Campaign {
        #[command(subcommand)]
        command: CampaignCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Load data files.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Create a demo campaign on the real doors of Liechtenstein and print its logins.
    Demo,
    /// Supporter scores.
    Scores {
        #[command(subcommand)]
        command: ScoresCommand,
    },
    /// Door-knock progress.
    Progress {
        #[command(subcommand)]
        command: ProgressCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ProgressCommand {
    /// Rebuild a campaign's progress tallies from all its knocks (after a re-import
    /// moved doors that had knocks to other cells, say).
    Rebuild {
        #[arg(long)]
        campaign: i64,
    },
}

#[derive(Debug, Subcommand)]
enum ScoresCommand {
    /// Rebuild every score of a campaign from the imported scores and all its knocks
    /// (gives exactly what the incremental updates gave).
    Recompute {
        #[arg(long)]
        campaign: i64,
    },
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// Import a voter file (CSV; columns in the README). Re-importing updates people by
    /// external_id and never duplicates a person or a door.
    People {
        /// The CSV file.
        file: PathBuf,
        #[arg(long)]
        campaign: i64,
    },
}

#[derive(Debug, Subcommand)]
enum CampaignCommand {
    /// Create a campaign and print its id.
    Create {
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user who can sign in at once. The password comes from
    /// GROUNDSWELL_PASSWORD or the first line of standard input, never from a flag.
    Create {
        #[arg(long)]
        campaign: i64,
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        name: Option<String>,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::from_str(s).map_err(|e| e.message)
}

fn env_parse<T: FromStr>(name: &str) -> anyhow::Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map(Some)
            .map_err(|e| anyhow::anyhow!("{name}={v:?} is invalid: {e}")),
        Err(_) => Ok(None),
    }
}

/// Defaults, then the file, then the environment, then flags.
fn load_settings(cli: &Cli, addr: Option<String>) -> anyhow::Result<Settings> {
    let mut s = Settings::default();
    if let Some(path) = &cli.config {
        FileSettings::load(path)?.apply(&mut s);
    }
    let secs = std::time::Duration::from_secs;
    if let Some(v) = env_parse::<String>("GROUNDSWELL_JWT_SECRET")? {
        s.jwt_secret = Some(v);
    }
    if let Some(v) = env_parse::<usize>("GROUNDSWELL_MAX_BODY_BYTES")? {
        s.max_body_bytes = v;
    }
    if let Some(v) = env_parse::<u64>("GROUNDSWELL_MAX_IMPORT_BYTES")? {
        s.max_import_bytes = v;
    }
    if let Some(v) = env_parse::<usize>("GROUNDSWELL_MAX_AREA_CELLS")? {
        s.max_area_cells = v;
    }
    if let Some(v) = env_parse::<u64>("GROUNDSWELL_WALK_LIST_TTL_SECS")? {
        s.walk_list_ttl = secs(v);
    }
    if let Some(v) = env_parse::<u64>("GROUNDSWELL_CLAIM_TTL_SECS")? {
        s.claim_ttl = secs(v);
    }
    if let Some(v) = env_parse::<u64>("GROUNDSWELL_PROFILE_CACHE_SECS")? {
        s.profile_cache_ttl = std::time::Duration::from_secs(v);
    }
    if let Some(v) = env_parse::<bool>("GROUNDSWELL_IMPORT_JOBS")? {
        s.import_jobs = v;
    }
    if let Some(v) = env_parse::<u64>("GROUNDSWELL_STATEMENT_TIMEOUT_MS")? {
        s.statement_timeout = std::time::Duration::from_millis(v);
    }
    if let Some(v) = env_parse::<std::path::PathBuf>("GROUNDSWELL_FCM_CREDENTIALS_FILE")? {
        s.push.credentials_file = Some(v);
    }
    if let Some(v) = env_parse::<String>("GROUNDSWELL_FCM_BASE_URL")? {
        s.push.fcm_base_url = v;
    }
    if let Some(v) = env_parse::<i64>("GROUNDSWELL_PUSH_BATCH_SIZE")? {
        s.push.batch_size = v.max(1);
    }
    if let Some(v) = env_parse::<u32>("GROUNDSWELL_DB_POOL_SIZE")? {
        s.db_pool_size = Some(v);
    }
    if let Some(v) = env_parse::<usize>("GROUNDSWELL_WORKERS")? {
        s.workers = Some(v);
    }
    if let Some(v) = env_parse::<u64>("GROUNDSWELL_ACCESS_TOKEN_TTL_SECS")? {
        s.access_token_ttl = secs(v);
    }
    if let Some(v) = env_parse::<u64>("GROUNDSWELL_REFRESH_TOKEN_TTL_SECS")? {
        s.refresh_token_ttl = secs(v);
    }
    if let Some(v) = env_parse::<String>("GROUNDSWELL_PUBLIC_URL")? {
        s.public_url = v;
    }
    if let Some(v) = cli.database_url.clone() {
        s.database_url = v;
    }
    if let Some(v) = addr {
        s.addr = v;
    }
    if s.workers == Some(0) {
        anyhow::bail!("workers must be at least 1");
    }
    if !(s.public_url.starts_with("http://") || s.public_url.starts_with("https://")) {
        anyhow::bail!("public_url must start with http:// or https://");
    }
    Ok(s)
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("GROUNDSWELL_PASSWORD") {
        return Ok(p);
    }
    eprintln!("password (one line on standard input):");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn connect_and_migrate(settings: &Settings) -> anyhow::Result<db::DbConnection> {
    let mut conn = DbManager::new(&settings.database_url)
        .establish()
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot open database {}: {e}",
                db::redact(&settings.database_url)
            )
        })?;
    db::migrate(&mut conn)?;
    Ok(conn)
}

/// Parses the command line and runs the command.
pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        None => serve(load_settings(&cli, std::env::var("GROUNDSWELL_ADDR").ok())?).await,
        Some(Command::Serve { addr }) => serve(load_settings(&cli, addr.clone())?).await,
        Some(Command::Migrate) => {
            let settings = load_settings(&cli, None)?;
            connect_and_migrate(&settings)?;
            println!(
                "migrations applied to {}",
                db::redact(&settings.database_url)
            );
            Ok(())
        }
        Some(Command::Campaign {
            command: CampaignCommand::Create { name },
        }) => {
            let mut conn = connect_and_migrate(&load_settings(&cli, None)?)?;
            println!("{}", admin::create_campaign(&mut conn, name)?);
            Ok(())
        }
        Some(Command::User {
            command:
                UserCommand::Create {
                    campaign,
                    email,
                    role,
                    name,
                },
        }) => {
            let mut conn = connect_and_migrate(&load_settings(&cli, None)?)?;
            let password = read_password()?;
            let id = admin::create_user(
                &mut conn,
                admin::NewAccount {
                    campaign_id: *campaign,
                    email,
                    name: name.as_deref(),
                    role: *role,
                    password,
                },
            )?;
            println!("{id}");
            Ok(())
        }
        Some(Command::Import {
            command: ImportCommand::People { file, campaign },
        }) => {
            let mut conn = connect_and_migrate(&load_settings(&cli, None)?)?;
            import_people_file(&mut conn, *campaign, file)
        }
        Some(Command::Scores {
            command: ScoresCommand::Recompute { campaign },
        }) => {
            let mut conn = connect_and_migrate(&load_settings(&cli, None)?)?;
            let (people, cells) =
                db::write_transaction(&mut conn, |conn| db::scores::recompute(conn, *campaign))?;
            println!("recomputed: {people} people with evidence, {cells} cells with support IDs");
            Ok(())
        }
        Some(Command::Progress {
            command: ProgressCommand::Rebuild { campaign },
        }) => {
            let mut conn = connect_and_migrate(&load_settings(&cli, None)?)?;
            let tallies =
                db::write_transaction(&mut conn, |conn| db::tallies::rebuild(conn, *campaign))?;
            println!("rebuilt: {tallies} progress tallies");
            Ok(())
        }
        Some(Command::Demo) => {
            let mut conn = connect_and_migrate(&load_settings(&cli, None)?)?;
            let demo = crate::demo::create(&mut conn)?;
            println!(
                "Demo campaign {} created on the real doors of Liechtenstein",
                demo.campaign_id
            );
            println!("(map data (c) OpenStreetMap contributors, ODbL; people are synthetic)");
            println!(
                "  {} people on {} regions' doors; rejected rows: {}",
                demo.report.created + demo.report.updated,
                demo.regions,
                demo.report.rejected
            );
            println!("Logins (POST /api/v1/auth/login):");
            for login in &demo.logins {
                println!(
                    "  {:<10} {:<45} {}",
                    login.role.to_string(),
                    login.email,
                    login.password
                );
            }
            Ok(())
        }
    }
}

fn import_people_file(
    conn: &mut db::DbConnection,
    campaign: i64,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    if db::campaigns::find(conn, campaign)?.is_none() {
        anyhow::bail!("campaign {campaign} does not exist");
    }
    let file = std::fs::File::open(path)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {msg} ({elapsed}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let reader = std::io::BufReader::with_capacity(1 << 20, bar.wrap_read(file));
    let report = crate::import::import_people(conn, campaign, reader, &mut |_, r| {
        bar.set_message(format!("{} rows, {} rejected", r.rows_read, r.rejected));
        Ok(())
    });
    bar.finish_and_clear();
    let report = report?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} rows read in {secs:.1} s ({:.0} rows/s): {} created, {} updated, {} rejected",
        report.rows_read,
        report.rows_read as f64 / secs.max(1e-9),
        report.created,
        report.updated,
        report.rejected
    );
    if !report.ignored_columns.is_empty() {
        println!("ignored columns: {}", report.ignored_columns.join(", "));
    }
    for e in &report.errors {
        println!("  line {}: {}", e.line, e.reason);
    }
    if report.rejected > report.errors.len() as u64 {
        println!(
            "  … and {} more rejected rows",
            report.rejected - report.errors.len() as u64
        );
    }
    Ok(())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    tracing::info!(addr = %settings.addr, database = %db::redact(&settings.database_url), "starting");
    let app = Application::build(settings).await?;
    tracing::info!(port = app.port(), "listening");
    app.run_until_stopped().await?;
    tracing::info!("stopped");
    Ok(())
}
