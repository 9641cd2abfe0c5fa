#!/usr/bin/env bash
# Peak RSS of the CLI importing voter files with one 100 MB and one 300 MB line, against
# a normal file (cargo build --release first): benches/csv_memory.sh
set -euo pipefail
BIN="$(cd "$(dirname "$0")/.." && pwd)/target/release/groundswell"
SPEC_CONFIG="$(cd "$(dirname "$0")/.." && pwd)/api-spec/schemathesis.toml"
mkdir -p /tmp/m18
cd /tmp/m18
rm -f c.db*
export DATABASE_URL=sqlite:///tmp/m18/c.db GROUNDSWELL_JWT_SECRET=mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm RUST_LOG=warn
CID=$($BIN campaign create --name Csv | awk '{print $NF}')
python3 - <<'PY'
for name, size in [("small.csv", 0), ("line100.csv", 100_000_000), ("line300.csv", 300_000_000)]:
    with open(name, "w") as f:
        f.write("external_id,first_name,last_name,street,housenumber,lat,lng\n")
        for i in range(1000):
            f.write(f"A{i},Ann,Lee,Main Street,{i},47.14,9.52\n")
        if size:
            f.write("B1," + "x" * size + ",Lee,Main Street,1,47.14,9.52\n")
        for i in range(1000):
            f.write(f"C{i},Bo,Kim,High Street,{i},47.15,9.53\n")
PY
for f in small.csv line100.csv line300.csv; do
  /usr/bin/time -f "$f: peak RSS %M KB, %e s" $BIN import people $f --campaign $CID 2>&1 | grep -E "peak RSS|rejected|created|longer" | tr '\n' ' '
  echo
done
rm -f line100.csv line300.csv
