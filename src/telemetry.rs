//! Logs and metrics. Logs are JSON lines (one per event, with the request id from the
//! tracing middleware); `GROUNDSWELL_LOG_FORMAT=pretty` gives human-readable lines.

use std::sync::OnceLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// Installs the global log subscriber (call once, from `main`).
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let pretty = std::env::var("GROUNDSWELL_LOG_FORMAT").is_ok_and(|v| v == "pretty");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if pretty {
        builder.try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    };
    if let Err(e) = result {
        eprintln!("logging was already initialised: {e}");
    }
}

/// The process-wide metrics recorder. The `metrics` facade has one global recorder, so
/// every app in the process (several in tests) shares it.
pub fn metrics_handle() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                    ],
                )
                .map_err(|e| e.to_string())
                .and_then(|b| b.install_recorder().map_err(|e| e.to_string()))
                .inspect(|_| describe_metrics())
        })
        .clone()
        .map_err(|e| anyhow::anyhow!("cannot install the metrics recorder: {e}"))
}

/// The `# HELP` text of every metric the service exports.
fn describe_metrics() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "http_requests_total",
        "HTTP requests answered, by method, route pattern and status"
    );
    describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by method, route pattern and status"
    );
    describe_gauge!(
        "db_pool_connections",
        "Database connections open in this server's pool"
    );
    describe_gauge!(
        "db_pool_idle_connections",
        "Database connections open and idle in this server's pool"
    );
    describe_gauge!(
        "db_pool_max_size",
        "Most database connections this server's pool may open"
    );
    describe_counter!(
        PUSH_HANDLED,
        "Outbox messages the push worker handled: delivered, or given up as undeliverable"
    );
}

/// The counter of outbox messages the push worker handled.
pub const PUSH_HANDLED: &str = "groundswell_push_handled_total";

/// Middleware: counts requests and times them, labelled by route pattern (never the raw
/// path, so ids do not explode the label set), method and status, and writes one access
/// log line per request (target `access`: method, route pattern, status, duration and
/// the signed-in user's id; never the query, a token or a body).
pub async fn record_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let start = Instant::now();
    let method = req.method().to_string();
    let res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = res.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    let elapsed = start.elapsed();
    let user_id = res
        .request()
        .extensions()
        .get::<crate::auth::RequestUser>()
        .map(|u| u.0);
    tracing::info!(
        target: "access",
        method = %labels[0].1,
        route = %labels[1].1,
        status = res.status().as_u16(),
        duration_ms = (elapsed.as_secs_f64() * 1e6).round() / 1e3,
        user_id,
        "request"
    );
    metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    Ok(res)
}

/// The span every request's log lines carry: method, route pattern and request id. The
/// default span of `tracing-actix-web` also records the raw target, query string
/// included, and the user agent; a query can hold a searched name, so they stay out.
pub struct RequestSpan;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        let request_id = request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        tracing::info_span!(
            "request",
            method = %request.method(),
            route = %route,
            request_id = %request_id,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: tracing::Span,
        outcome: &Result<ServiceResponse<B>, Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
