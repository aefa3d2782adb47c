#!/usr/bin/env bash
# `mdkit calibrate` against the same σ, κ and A definitions written as DuckDB SQL
# (scripts/calibrate_duckdb.py), over the same Parquet files, in the same run (issue 23). For
# each range (default 24 h and 7 simulated days of ETH-USD written by examples/simulated_tree.rs,
# as scripts/backtest-rss.sh does) it first checks that the two give the same numbers, then times
# both as whole processes, alternating, with /usr/bin/time -v, and prints a Markdown table:
# medians of wall time and of peak resident memory, and the ratio mdkit / DuckDB.
# Needs release builds and DuckDB:
#   cargo build --release && cargo build --release --example simulated_tree
#   python3 -m pip install duckdb==2.0.0
# Usage: scripts/calibrate-duckdb.sh [DIR]   (DIR keeps the trees, DIR/24h …, reused when there)
# Environment: HOURS_LIST (default "24 168") simulated hours per tree; RUNS (default 5) timed
# runs of each command; MEMORY_LIMIT (default: calibrate's own) passed as --memory-limit.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${MDKIT_BIN:-target/release/mdkit}
tree=${TREE_BIN:-target/release/examples/simulated_tree}
[ -x "$bin" ] && [ -x "$tree" ] || {
  echo "build first: cargo build --release && cargo build --release --example simulated_tree" >&2
  exit 2
}
python3 -c 'import duckdb' 2>/dev/null || { echo "needs DuckDB: python3 -m pip install duckdb==2.0.0" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dir=${1:-$work}
runs=${RUNS:-5}
limit=()
[ -n "${MEMORY_LIMIT:-}" ] && limit=(--memory-limit "$MEMORY_LIMIT")

# Wall seconds and peak KiB of one run, from /usr/bin/time -v.
timed() {
  /usr/bin/time -v "$@" > /dev/null 2> "$work/time" || { cat "$work/time" >&2; exit 1; }
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i] }
              /Maximum resident set size/ { kb = $2 } END { print s, kb }' "$work/time"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "| range | book_top rows | trades | mdkit calibrate s | DuckDB s | ratio (median of pairs) | mdkit peak MiB | DuckDB peak MiB | same numbers |"
echo "|---|---|---|---|---|---|---|---|---|"
for hours in ${HOURS_LIST:-24 168}; do
  data=$dir/${hours}h
  if [ ! -d "$data/book_top" ]; then
    echo "writing $hours simulated hours to $data ..." >&2
    "$tree" "$data" "$hours" 5 ETH-USD >&2
  fi
  mdkit=("$bin" --data "$data" calibrate --market ETH-USD --no-write --format json "${limit[@]}")
  duck=(python3 scripts/calibrate_duckdb.py "$data" ETH-USD extended)
  "${mdkit[@]}" > "$work/mdkit.json"
  "${duck[@]}" > "$work/duck.json"
  same=$(python3 - "$work/mdkit.json" "$work/duck.json" <<'PY'
import json, sys
m = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
d = json.loads(open(sys.argv[2]).read())
m = m[0] if isinstance(m, list) else m
worst, bad = 0.0, []
for key, b in d.items():
    a = m.get(key, "missing")
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        rel = abs(a - b) / max(abs(a), abs(b), 1e-300)
        worst = max(worst, rel)
        if rel > 1e-9:
            bad.append(f"{key} {a} != {b}")
    elif a != b:
        bad.append(f"{key} {a!r} != {b!r}")
print("no: " + "; ".join(bad) if bad else f"yes (largest relative difference {worst:.1e})")
PY
)
  rows=$("$bin" --data "$data" sql --format csv "SELECT (SELECT count(*) FROM book_top) AS frames, (SELECT count(*) FROM trades) AS trades" | tail -1)
  : > "$work/pairs"
  for _ in $(seq "$runs"); do
    read -r mw mk < <(timed "${mdkit[@]}")
    read -r dw dk < <(timed "${duck[@]}")
    echo "$mw $mk $dw $dk" >> "$work/pairs"
  done
  col() { awk -v c="$1" '{ print $c }' "$work/pairs" | median; }
  ratio=$(awk '{ print $1 / $3 }' "$work/pairs" | median)
  printf "| %s h | %s | %s | %.2f | %.2f | %.2f | %.0f | %.0f | %s |\n" "$hours" "${rows%%,*}" "${rows##*,}" \
    "$(col 1)" "$(col 3)" "$ratio" "$(echo "$(col 2) / 1024" | bc -l)" "$(echo "$(col 4) / 1024" | bc -l)" "$same"
done
