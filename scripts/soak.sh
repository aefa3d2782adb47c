#!/usr/bin/env bash
# The recorder's soak (issue 25): 25.5 simulated hours of ETH-USD at high speed through
# `collect --metrics --compact-daily --keep-journal SIZE`, crossing two UTC midnights, with
# the recorder's memory, its disk and its metrics sampled at every tenth of the run. Prints
# Markdown for BENCHMARKS.md. Needs a release build (cargo build --release) and libfaketime
# (installed with apt-get when missing).
#
# The receive clock is wall time, so a day served in minutes would be minutes long to the
# recorder and no midnight would pass. The recorder therefore runs under libfaketime, its
# wall clock SPEED times real time from 23:00 UTC of the day before yesterday, and the
# simulator's exchange clock starts at that instant (--start, held until the recorder's
# streams attach) and runs at --speed SPEED: both advance a simulated day per 24 h / SPEED of
# wall time, the recorder checkpoints every 15 simulated minutes (--commit-every scaled to
# wall time), and `--compact-daily` meets two midnights. Timers (reconnect backoff, fsync
# cadence, the simulator's pacing) run on the real monotonic clock.
#
# Usage: scripts/soak.sh [SPEED] [KEEP]   (defaults: 200 — about 8 wall minutes — and 300MB;
# MDKIT_BIN=path picks the binary)
set -euo pipefail
cd "$(dirname "$0")/.."
speed=${1:-200}
keep=${2:-300MB}
bin=${MDKIT_BIN:-$(realpath -m "${CARGO_TARGET_DIR:-target}")/release/mdkit}
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
fakelib=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
if [ ! -f "$fakelib" ]; then
  apt-get install -y --no-install-recommends faketime >/dev/null
fi

work=$(mktemp -d)
sim_pid=; rec_pid=
trap 'kill $sim_pid $rec_pid 2>/dev/null || true; rm -rf "$work"' EXIT

day0=$(date -u -d '2 days ago' +%F)
start="$day0 23:00:00"
hours=25.5
# 15 simulated minutes of checkpoint cadence, in wall seconds.
commit_ms=$(awk -v s="$speed" 'BEGIN { printf "%d", 900000 / s }')
# Preloaded through env(1), which execs: the pid is mdkit's own; the monotonic clock stays real.
fake=(env "LD_PRELOAD=$fakelib" "FAKETIME=@$start x$speed" FAKETIME_DONT_FAKE_MONOTONIC=1 RUST_LOG=info)

"$bin" simulate --port 0 --speed "$speed" --duration "${hours}h" \
  --start "${day0}T23:00:00Z" --wait-streams 2 --seed 11 --backlog 100000 \
  > "$work/sim.out" 2>/dev/null &
sim_pid=$!
until [ -s "$work/sim.out" ]; do sleep 0.05; done
url=$(head -1 "$work/sim.out" | sed 's/^listening on //')

"${fake[@]}" "$bin" --data "$work/data" collect ETH-USD \
  --url "$url" --commit-every "${commit_ms}ms" --stale-after 1h --backoff-min 10ms \
  --metrics 0 --compact-daily --keep-journal "$keep" 2>"$work/collect.err" &
rec_pid=$!
until grep -q '^metrics: ' "$work/collect.err"; do sleep 0.05; done
metrics=$(grep -m1 '^metrics: ' "$work/collect.err" | sed 's/^metrics: \([^ ]*\) .*/\1/')

metric() { # NAME → the value of an unlabelled (or the first labelled) sample
  curl -s "$metrics" | awk -v n="$1" '$1 == n || index($1, n "{") == 1 { print $2; exit }'
}
wall=$(awk -v h="$hours" -v s="$speed" 'BEGIN { print h * 3600 / s }')
t0=$(date +%s.%N)
samples="$work/samples"
for k in 1 2 3 4 5 6 7 8 9 10; do
  target=$(awk -v w="$wall" -v k="$k" -v t0="$t0" 'BEGIN { printf "%.3f", t0 + w * k / 10 }')
  while awk -v t="$target" -v now="$(date +%s.%N)" 'BEGIN { exit !(now < t) }'; do
    kill -0 "$sim_pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -0 "$rec_pid" 2>/dev/null || { echo "collect died:" >&2; cat "$work/collect.err" >&2; exit 1; }
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$rec_pid/status")
  tables=$(du -sb "$work/data"/{depth,book_top,trades,events} 2>/dev/null | awk '{s += $1} END {print s + 0}')
  journal=$(du -sb "$work/data/_journal" | awk '{print $1}')
  archive=$(du -sb "$work/data/_journal/extended/ETH-USD/archive" 2>/dev/null | awk '{print $1}')
  parts=$(find "$work/data"/{depth,book_top,trades,events} -name 'part-*.parquet' | wc -l)
  echo "$k $rss $tables $journal ${archive:-0} $parts $(metric mdkit_compacted_days_total) $(metric mdkit_frames_received_total)" >> "$samples"
done
wait "$sim_pid" || true
kill -INT "$rec_pid"
wait "$rec_pid" || { echo "collect failed:" >&2; tail -5 "$work/collect.err" >&2; exit 1; }

dates=$(ls "$work/data/depth/venue=extended/market=ETH-USD")
per_day=$(for d in $dates; do
  n=$(ls "$work/data/depth/venue=extended/market=ETH-USD/$d" | wc -l)
  echo -n "$d: $n; "
done)
rows=$("$bin" --data "$work/data" sql "SELECT (SELECT count(*) FROM book_top) AS frames, (SELECT count(*) FROM depth) AS depth, (SELECT count(*) FROM trades) AS trades" --format csv | tail -1)
verify=$("$bin" --data "$work/data" verify > "$work/verify.out" 2>&1 && echo "exit 0" || echo "exit $? ($(grep -m3 -iE 'violation|unexplained|skew|latency' "$work/verify.out" | tr '\n' ' '))")
compactions=$(grep -c 'compacted 20' "$work/collect.err" || true)

echo "$hours simulated hours of ETH-USD at --speed $speed ($(printf '%.0f' "$wall") s wall), from $start UTC:"
echo "collect --metrics --compact-daily --keep-journal $keep --commit-every ${commit_ms}ms (15 simulated min)."
echo "Rows (book_top frames, depth, trades): $rows. Daily compactions logged: $compactions."
echo "depth part files per day at the end: $per_day verify: $verify."
echo
echo "| share of the run | frames received | RSS (MiB) | tables (MB) | journal incl. archive (MB) | archive (MB) | part files | days compacted |"
echo "|---|---|---|---|---|---|---|---|"
awk '{ printf "| %d0%% | %s | %.0f | %.1f | %.1f | %.1f | %d | %s |\n", $1, $8, $2 / 1024, $3 / 1e6, $4 / 1e6, $5 / 1e6, $6, $7 }' "$samples"
