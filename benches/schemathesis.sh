#!/usr/bin/env bash
# schemathesis against the served spec on a fresh database (release binary; pip install
# schemathesis): benches/schemathesis.sh sqlite|postgres  (ST_EXAMPLES per operation, 25)
set -uo pipefail
BIN="$(cd "$(dirname "$0")/.." && pwd)/target/release/groundswell"
SPEC_CONFIG="$(cd "$(dirname "$0")/.." && pwd)/api-spec/schemathesis.toml"
mkdir -p /tmp/m18
cd /tmp/m18
if [ "$1" = sqlite ]; then
  rm -f st.db*; URL=sqlite:///tmp/m18/st.db
else
  psql postgres://postgres@127.0.0.1:5432/postgres -qc "DROP DATABASE IF EXISTS st18 WITH (FORCE)" 2>/dev/null
  psql postgres://postgres@127.0.0.1:5432/postgres -qc "CREATE DATABASE st18"
  URL=postgres://postgres@127.0.0.1:5432/st18
fi
export DATABASE_URL=$URL GROUNDSWELL_JWT_SECRET=ssssssssssssssssssssssssssssssssssssssss RUST_LOG=error GROUNDSWELL_PASSWORD='a long passphrase for the admin'
CID=$($BIN campaign create --name St | awk '{print $NF}')
$BIN user create --campaign $CID --email admin@st.org --role admin >/dev/null
# Some data to find: a demo-sized voter file.
$BIN serve --addr 127.0.0.1:18290 & PID=$!
sleep 2
TOKEN=$(curl -s -X POST http://127.0.0.1:18290/api/v1/auth/login -H 'content-type: application/json' \
  -d '{"email":"admin@st.org","password":"a long passphrase for the admin"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["access_token"])')
# Tokens live 15 minutes; the run is kept shorter than that.
timeout 840 st --config-file "$SPEC_CONFIG" run http://127.0.0.1:18290/api/v1/openapi.json -H "Authorization: Bearer $TOKEN" \
  ${ST_CHECKS:+--checks $ST_CHECKS} -n ${ST_EXAMPLES:-25} --seed 18 --report junit --report-dir /tmp/m18/st-$1 2>&1 | tail -60
kill $PID
