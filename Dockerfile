# Groundswell: build the release binary, then copy it into a small Debian image.
#
#   docker build -t groundswell .
#   docker run -p 8080:8080 -v groundswell-data:/data groundswell
#
# The default `bundled` feature compiles SQLite, libpq and OpenSSL from source, so the
# builder needs only a C compiler, perl and make (all in the rust image), and the
# runtime image needs no database or TLS libraries.

# ---- build ---------------------------------------------------------------------------
FROM rust:1.95-bookworm AS build
WORKDIR /build

# 1. Dependencies only, in their own layer: this is the slow part (including the C
#    builds) and it is reused until Cargo.toml or Cargo.lock changes. The crate itself
#    is replaced by empty stubs. [[bench]], [[test]] and [[example]] tables are left out
#    of this copy of the manifest, because Cargo refuses a manifest whose declared
#    targets have no source file, and those files are not copied yet.
COPY Cargo.toml Cargo.lock ./
RUN awk '/^\[\[(bench|test|example)\]\]/ { skip = 1; next } /^\[/ { skip = 0 } !skip' \
        Cargo.toml > Cargo.deps.toml \
    && mv Cargo.deps.toml Cargo.toml \
    && mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src

# 2. The crate. Everything the compiler reads must be here: src/, and also
#    api-spec/openapi.yaml (include_str! in src/startup.rs), migrations/sqlite and
#    migrations/postgres (embedded by src/db/mod.rs), and data/liechtenstein (the demo's
#    doors and boundaries, include_str! in src/demo.rs). `COPY . .` brings them all, and the
#    real Cargo.toml; .dockerignore keeps target/, .git and local databases out.
#    COPY keeps the files' old modification times, which can look older than the stub
#    build above; touching the crate roots makes Cargo rebuild the crate for certain.
COPY . .
RUN touch src/lib.rs src/main.rs \
    && cargo build --release --locked \
    && install -m 0755 target/release/groundswell /usr/local/bin/groundswell

# ---- run -----------------------------------------------------------------------------
FROM debian:bookworm-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# An unprivileged user, and /data for the SQLite database and its generated JWT secret.
RUN groupadd --system --gid 10001 groundswell \
    && useradd --system --uid 10001 --gid groundswell --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin groundswell \
    && mkdir /data \
    && chown groundswell:groundswell /data \
    && chmod 0750 /data

COPY --from=build /usr/local/bin/groundswell /usr/local/bin/groundswell

# Listen on all interfaces inside the container; SQLite in /data unless DATABASE_URL is
# overridden (for example with postgres://…, which also needs GROUNDSWELL_JWT_SECRET).
ENV GROUNDSWELL_ADDR=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///data/groundswell.db

WORKDIR /data
EXPOSE 8080
USER 10001:10001

# There is no curl in this image, so no HEALTHCHECK: probe GET /healthz (liveness) and
# GET /readyz (database reachable) from the orchestrator instead.
# The server is PID 1 and handles SIGTERM itself: it stops accepting connections and
# gives requests in flight up to 30 s. Allow for that with `docker stop -t 35`.
ENTRYPOINT ["/usr/local/bin/groundswell"]
CMD ["serve"]
