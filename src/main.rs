//! The `groundswell` binary: logging, then the command line.

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    groundswell::telemetry::init_logging();
    groundswell::cli::run().await
}
