#!/usr/bin/env bash
# Storage against the raw frames (issue 23): bytes per table and per column of two trees,
# each against the JSON frames it was recorded from, and each table read back whole by
# DuckDB, polars and pyarrow. Prints Markdown for BENCHMARKS.md.
#
# 1. Three simulated hours of ETH-USD (`mdkit simulate`, seed 3, 600x) recorded by `mdkit
#    collect`; the raw bytes are the frame payloads of its journal (archived with ZSTD at
#    each checkpoint, read back here). Measured as recorded, then after `mdkit compact`.
# 2. The real Binance USD-M capture (../shared/realdata, hftbacktest-raw) through `mdkit
#    import`; the raw bytes are the frames of the streams mdkit stores (depth diffs, trades,
#    the REST snapshot — not bookTicker). Skipped with a message when ../shared is absent.
#
# Usage: scripts/storage-size.sh   (MDKIT_BIN=path picks the binary; default: the release
# build; needs python3 with duckdb, polars and pyarrow, and zstd)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${MDKIT_BIN:-$(realpath -m "${CARGO_TARGET_DIR:-target}")/release/mdkit}
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
python3 -c 'import duckdb, polars, pyarrow' 2>/dev/null ||
  { echo "needs python3 with duckdb, polars and pyarrow: pip install duckdb polars pyarrow" >&2; exit 2; }
work=$(mktemp -d)
sim_pid=; rec_pid=
trap 'kill $sim_pid $rec_pid 2>/dev/null || true; rm -rf "$work"' EXIT

echo "## Storage against the raw frames (\`scripts/storage-size.sh\`, issue 23)"
echo
echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo ' + uncommitted changes'), $(date -u +%F)."
echo

# Three simulated hours (108,000 steps) at 600x: 18 s of wall time; --backlog holds the whole
# session so a recorder that falls behind lags instead of losing frames.
"$bin" simulate --port 0 --speed 600 --duration 3h --seed 3 --start 2026-01-01T00:00:00Z \
  --wait-streams 2 --backlog 108000 > "$work/sim.out" 2>/dev/null &
sim_pid=$!
until [ -s "$work/sim.out" ]; do sleep 0.05; done
url=$(head -1 "$work/sim.out" | sed 's/^listening on //')
RUST_LOG=warn "$bin" --data "$work/sim" collect ETH-USD --url "$url" --backoff-min 50ms &
rec_pid=$!
wait "$sim_pid"
sim_pid=
kill -INT "$rec_pid"
wait "$rec_pid"
rec_pid=
journal="$work/sim/_journal/extended/ETH-USD"
python3 scripts/storage_size.py "$work/sim" journal "$journal" "Simulated ETH-USD, 3 hours, as recorded" brief
# What a long recording settles to: `collect --compact-daily` (or `mdkit compact`) merges each
# day's parts, and a dictionary per part then spans many more rows. The receive clock is
# today's, so the day is compacted with --before tomorrow.
"$bin" --data "$work/sim" compact --before "$(date -u -d tomorrow +%F)" >/dev/null
python3 scripts/storage_size.py "$work/sim" journal "$journal" \
  "Simulated ETH-USD, 3 hours (Extended v1 frames), after mdkit compact"

capture=../shared/realdata/hftbacktest-binance/usdm/btcusdt_20240808.gz
if [ -f "$capture" ]; then
  "$bin" --data "$work/usdm" import "$capture" --from-format hftbacktest-raw >/dev/null
  python3 scripts/storage_size.py "$work/usdm" hftbacktest-raw "$capture" \
    "Real Binance USD-M BTCUSDT, 2024-08-08 (hftbacktest capture, depth@0ms + trade)"
else
  echo "skipped: the real Binance capture ($capture) is absent"
fi
