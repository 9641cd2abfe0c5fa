#!/usr/bin/env bash
# Load harness: an authenticated read (GET /api/v1/me) against the bare liveness probe
# (GET /healthz), same tool, same concurrency, same run. Prints both rates, their ratio
# and the latency percentiles. Traffic goes to 127.0.0.1 only and stops by itself.
#
#   benches/load.sh                      # SQLite, 64 connections, 10 s per endpoint
#   DATABASE_URL=postgres://… GROUNDSWELL_JWT_SECRET=… benches/load.sh
#   CONNECTIONS=128 DURATION=20s benches/load.sh
#
# Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS="${CONNECTIONS:-64}"
DURATION="${DURATION:-10s}"
THREADS="${THREADS:-2}"
PORT="${PORT:-18181}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }

cargo build --release --quiet
BIN="$PWD/target/release/groundswell"
WORK=$(mktemp -d)
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT

export DATABASE_URL="${DATABASE_URL:-sqlite://$WORK/load.db}"
export GROUNDSWELL_JWT_SECRET="${GROUNDSWELL_JWT_SECRET:-load-test-secret-load-test-secret-0123}"
EMAIL="load-$(date +%s%N)@bench.local"
CAMPAIGN=$("$BIN" campaign create --name "Load test")
GROUNDSWELL_PASSWORD="load test password" "$BIN" user create --campaign "$CAMPAIGN" \
    --email "$EMAIL" --role volunteer >/dev/null

RUST_LOG=warn "$BIN" serve --addr "127.0.0.1:$PORT" 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
    sleep 0.1
done
TOKEN=$(curl -sf "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$EMAIL\",\"password\":\"load test password\"}" |
    sed -E 's/.*"access_token":"([^"]+)".*/\1/')
curl -sf "http://127.0.0.1:$PORT/api/v1/me" -H "Authorization: Bearer $TOKEN" >/dev/null

run() { # name, path, extra wrk args…
    local name=$1 path=$2
    shift 2
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "http://127.0.0.1:$PORT$path" >"$WORK/$name.txt"
    local rps p50 p99 errors
    rps=$(awk '/^Requests\/sec/ {print $2}' "$WORK/$name.txt")
    p50=$(awk '$1 == "50%" {print $2}' "$WORK/$name.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$WORK/$name.txt")
    errors=$(awk '/Non-2xx/ {print $5}' "$WORK/$name.txt")
    printf '%-8s %-16s %12s req/s   p50 %-9s p99 %-9s non-2xx %s\n' "$name" "$path" "$rps" "$p50" "$p99" "${errors:-0}"
    echo "$rps" >"$WORK/$name.rps"
}

echo "backend: ${DATABASE_URL%%://*}, $CONNECTIONS connections, $THREADS wrk threads, $DURATION each"
run healthz /healthz
run me /api/v1/me -H "Authorization: Bearer $TOKEN"
awk -v a="$(cat "$WORK/me.rps")" -v b="$(cat "$WORK/healthz.rps")" \
    'BEGIN { printf "ratio me/healthz: %.2f (target >= 0.50)\n", a / b }'
