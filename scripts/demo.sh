#!/usr/bin/env bash
# The newcomer's run command, offline: build mdkit, start the local venue (`mdkit simulate`,
# a synthetic ETH-USD market with known sigma, A and kappa), record thirty simulated minutes
# of it with `mdkit collect` (sixty times faster than real time), prove it with `mdkit verify`,
# estimate sigma, A and kappa with `mdkit calibrate`, backtest an Avellaneda-Stoikov market
# maker on it with `mdkit backtest`, quote with `mdkit spread`, then look at the tables.
# Uses ./demo-data (re-created), or the directory given as the first argument.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-demo-data}
cargo build --bin mdkit ${MDKIT_FEATURES:+--features "$MDKIT_FEATURES"}   # shows progress: the first build takes minutes
bin=${CARGO_TARGET_DIR:-target}/debug/mdkit
rm -rf "$data"
mkdir -p "$data"
sim_out=$(mktemp)
trap 'kill $sim_pid $rec_pid 2>/dev/null || true; rm -f "$sim_out"' EXIT

echo "== mdkit simulate: a local Extended venue, 30 simulated minutes at 60x"
# Same seed, same recording, same calibration on every run: the simulated clock starts at a
# fixed --start, and only once collect's two streams (book and trades) have attached
# (--wait-streams 2), so how long collect takes to connect changes nothing; --backlog holds
# the whole session (18,000 steps), so a recorder slowed by a busy machine lags behind
# instead of being disconnected and missing frames.
"$bin" simulate --speed 60 --duration 30m --seed 7 --start 2026-01-01T00:00:00Z \
  --wait-streams 2 --backlog 18000 --log "$data/_simulator" > "$sim_out" &
sim_pid=$!
until [ -s "$sim_out" ] && [ "$(wc -l < "$sim_out")" -ge 2 ]; do sleep 0.1; done
cat "$sim_out"
url=$(head -1 "$sim_out" | sed 's/^listening on //')

echo
echo "== mdkit collect ETH-USD --url $url (until the venue closes)"
RUST_LOG=${RUST_LOG:-warn} "$bin" --data "$data" collect ETH-USD --url "$url" --backoff-min 50ms &
rec_pid=$!
wait "$sim_pid"
kill -INT "$rec_pid"
wait "$rec_pid"
echo "recorded; state: $data/_state/extended/ETH-USD.json"

mdkit() { "$bin" --data "$data" "$@"; }
echo
echo "== mdkit verify: sequence, duplicates, replay of depth against book_top, clocks, files"
echo "   (the venue clock began at the fixed --start: ts_recv − ts_event is mostly the time since)"
mdkit verify
echo
echo "== mdkit calibrate: sigma, kappa and A per side by the SQL in sql/ (the simulator's truth is above)"
mdkit calibrate
echo
echo "== mdkit backtest: the AS market maker replayed on the recording (venue clock: the session ran"
echo "   at 60x, so its receive clock is compressed; warm-up and windows shortened to fit 30 min)"
mdkit backtest --clock event --set warmup=2m --set window=10m --set every=2m \
  --out "$data/_backtest" --sweep gamma=0.001,0.01,0.1
echo "(each run's summary.json, fills.parquet, equity.parquet and chart.svg: $data/_backtest/)"
echo
echo "== mdkit spread: today's Avellaneda-Stoikov quotes from that calibration and the last book"
mdkit spread
echo
echo "== rows per table"
mdkit sql "SELECT 'depth' AS table_name, count(*) AS rows FROM depth UNION ALL SELECT 'book_top', count(*) FROM book_top UNION ALL SELECT 'trades', count(*) FROM trades UNION ALL SELECT 'events', count(*) FROM events ORDER BY 1"
echo
echo "== trades by taker side"
mdkit sql "SELECT side, count(*) AS trades, min(price) AS low, max(price) AS high, sum(qty) AS volume FROM trades GROUP BY 1 ORDER BY 1"
echo
echo "== connection events"
mdkit sql "SELECT ts_recv, conn, kind, detail FROM events ORDER BY ts_recv, conn"
echo
echo "== last top of book"
mdkit sql "SELECT ts_event, seq, bid_price_0, bid_qty_0, ask_price_0, ask_qty_0, (bid_price_0 + ask_price_0) / 2 AS mid FROM book_top ORDER BY ts_recv DESC LIMIT 3"
