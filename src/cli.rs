//! The command line: `serve` (the default), `migrate`, `campaign create`, `user create`.

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
    if let Some(v) = cli.database_url.clone() {
        s.database_url = v;
    }
    if let Some(v) = addr {
        s.addr = v;
    }
    if s.workers == Some(0) {
        anyhow::bail!("workers must be at least 1");
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
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    tracing::info!(addr = %settings.addr, database = %db::redact(&settings.database_url), "starting");
    let app = Application::build(settings).await?;
    tracing::info!(port = app.port(), "listening");
    app.run_until_stopped().await?;
    tracing::info!("stopped");
    Ok(())
}
