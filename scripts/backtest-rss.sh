#!/usr/bin/env bash
# Backtests 24 simulated hours and samples the backtest's resident memory, to show it stays flat
# however long the range (issue 7). The day is written by examples/simulated_tree.rs (the
# simulator's ETH-USD stepped in-process, ts_recv = ts_event + 3 ms, as a recorder writes it; a
# live recording at high --speed would compress the receive clock the strategy runs on).
# Prints a Markdown table. Needs release builds:
#   cargo build --release && cargo build --release --example simulated_tree
# Usage: scripts/backtest-rss.sh [DATA]   (DATA: reuse a tree written before; it is kept)
# Environment: HOURS (default 24) simulated hours to write; PROFILE=debug uses the debug builds
# (cargo build && cargo build --example simulated_tree) for a quick check that RSS does not grow
# with the range — debug memory and speed are not the figures to publish.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${PROFILE:-release}
hours_wanted=${HOURS:-24}
case "$profile" in
  release) build="cargo build --release && cargo build --release --example simulated_tree" ;;
  debug) build="cargo build && cargo build --example simulated_tree" ;;
  *) echo "PROFILE must be release or debug, not $profile" >&2; exit 2 ;;
esac
bin=${MDKIT_BIN:-target/$profile/mdkit}
tree=${TREE_BIN:-target/$profile/examples/simulated_tree}
[ -x "$bin" ] && [ -x "$tree" ] || {
  echo "build first: $build" >&2
  exit 2
}

work=$(mktemp -d)
bt_pid=
trap 'kill $bt_pid 2>/dev/null || true; rm -rf "$work"' EXIT

if [ -n "${1:-}" ]; then
  data=$1
else
  data=$work/data
  echo "writing $hours_wanted simulated hours ..." >&2
  "$tree" "$data" "$hours_wanted" 5 ETH-USD >&2
fi

rows=$("$bin" --data "$data" sql --format csv "SELECT (SELECT count(*) FROM depth) AS depth, (SELECT count(*) FROM book_top) AS frames, (SELECT count(*) FROM trades) AS trades" | tail -1)

echo "backtesting ..." >&2
"$bin" --data "$data" backtest --market ETH-USD --out "$work/out" > "$work/bt.out" 2>"$work/bt.err" &
bt_pid=$!
samples="$work/rss"
start=$(date +%s.%N)
while kill -0 "$bt_pid" 2>/dev/null; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$bt_pid/status" 2>/dev/null || echo 0)
  now=$(date +%s.%N)
  [ -n "$rss" ] && [ "$rss" != 0 ] && awk -v a="$now" -v b="$start" -v r="$rss" 'BEGIN { print a - b, r }' >> "$samples"
  sleep 0.2
done
wait "$bt_pid" || { echo "backtest failed:" >&2; cat "$work/bt.err" >&2; exit 1; }
bt_pid=
events=$(awk '$1 == "events" {print $2}' "$work/bt.out")
hours=$(awk '$1 == "duration" {printf "%.1f", $3 / 3600}' "$work/bt.out")

# Memory at each tenth of the run (MiB), then the peak. The first tenths include the
# recalibration schedule (DataFusion over the trailing hour of each fit); the replay follows.
awk -v rows="$rows" -v events="$events" -v hours="$hours" -v profile="$profile" '
  { t[NR] = $1; r[NR] = $2; if ($2 > peak) peak = $2 }
  END {
    printf "Backtest of %s simulated hours of ETH-USD (%s build, %.0f s wall; %s events; depth rows, book_top frames, trades: %s).\n\n", hours, profile, t[NR], events, rows
    printf "| share of the run | 10%% | 20%% | 30%% | 40%% | 50%% | 60%% | 70%% | 80%% | 90%% | 100%% | peak |\n"
    printf "|---|---|---|---|---|---|---|---|---|---|---|---|\n| RSS (MiB) |"
    for (k = 1; k <= 10; k++) { i = int(NR * k / 10); if (i < 1) i = 1; printf " %.0f |", r[i] / 1024 }
    printf " %.0f |\n", peak / 1024
  }' "$samples"
