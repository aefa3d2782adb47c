#!/usr/bin/env bash
# The newcomer's run command: build mdkit, write a small synthetic recording with mdkit's own
# Parquet writer, and query it with `mdkit sql`. Offline; uses ./demo-data (re-created).
# When `simulate` and `collect` land, this becomes simulator -> collect -> verify -> calibrate
# -> backtest.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-demo-data}
rm -rf "$data"
cargo run --quiet --example sample -- "$data"
mdkit() { cargo run --quiet --bin mdkit -- --data "$data" "$@"; }
echo
echo "== trades per market and UTC date"
mdkit sql "SELECT market, date, count(*) AS trades, min(price) AS low, max(price) AS high FROM trades GROUP BY 1, 2 ORDER BY 1, 2"
echo
echo "== book frames and level changes"
mdkit sql "SELECT t.market, t.frames, d.level_changes FROM (SELECT market, count(*) AS frames FROM book_top GROUP BY 1) t JOIN (SELECT market, count(*) AS level_changes FROM depth GROUP BY 1) d ON t.market = d.market ORDER BY 1"
echo
echo "== last ETH-USD top of book"
mdkit sql "SELECT ts_recv, seq, bid_price_0, bid_qty_0, ask_price_0, ask_qty_0, (bid_price_0 + ask_price_0) / 2 AS mid FROM book_top WHERE market = 'ETH-USD' ORDER BY ts_recv DESC LIMIT 3"
