#!/usr/bin/env bash
# Records one simulated hour at high speed and samples the recorder's resident memory, to show
# it stays flat (issue 4). Prints a Markdown table. Needs a release build (cargo build --release).
# Usage: scripts/record-rss.sh [SPEED]   (default 300: one simulated hour in 12 wall seconds)
set -euo pipefail
cd "$(dirname "$0")/.."
speed=${1:-300}
bin=target/release/mdkit
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }

work=$(mktemp -d)
trap 'kill $sim_pid $rec_pid 2>/dev/null || true; rm -rf "$work"' EXIT

"$bin" simulate --port 0 --speed "$speed" --duration 1h --seed 3 > "$work/sim.out" 2>/dev/null &
sim_pid=$!
until [ -s "$work/sim.out" ]; do sleep 0.05; done
url=$(head -1 "$work/sim.out" | sed 's/^listening on //')

RUST_LOG=warn "$bin" --data "$work/data" collect ETH-USD --url "$url" --commit-every 5m \
  --backoff-min 10ms 2>"$work/collect.err" &
rec_pid=$!

samples="$work/rss"
start=$(date +%s.%N)
while kill -0 "$sim_pid" 2>/dev/null; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$rec_pid/status" 2>/dev/null || echo 0)
  now=$(date +%s.%N)
  awk -v a="$now" -v b="$start" -v r="$rss" 'BEGIN { print a - b, r }' >> "$samples"
  sleep 0.5
done
kill -INT "$rec_pid"
wait "$rec_pid" || { echo "collect failed:" >&2; cat "$work/collect.err" >&2; exit 1; }

rows=$("$bin" --data "$work/data" sql "SELECT (SELECT count(*) FROM book_top) AS frames, (SELECT count(*) FROM trades) AS trades" --format csv | tail -1)
# Memory at each tenth of the run (MiB), then the peak.
awk -v rows="$rows" -v speed="$speed" '
  { t[NR] = $1; r[NR] = $2; if ($2 > peak) peak = $2 }
  END {
    printf "One simulated hour of ETH-USD at --speed %s (%.0f s wall; book_top frames, trades: %s).\n\n", speed, t[NR], rows
    printf "| share of the run | 10%% | 20%% | 30%% | 40%% | 50%% | 60%% | 70%% | 80%% | 90%% | 100%% | peak |\n"
    printf "|---|---|---|---|---|---|---|---|---|---|---|---|\n| RSS (MiB) |"
    for (k = 1; k <= 10; k++) { i = int(NR * k / 10); if (i < 1) i = 1; printf " %.0f |", r[i] / 1024 }
    printf " %.0f |\n", peak / 1024
  }' "$samples"
