#!/usr/bin/env bash
# Rebuilds the shipped sample in data/ from the real Binance capture (hftbacktest's sample
# data, MIT; see data/README.md): Binance spot BTCUSDT, 2024-08-08 23:54 → 2024-08-09 00:05 UTC,
# both files imported together as one stream, then one calibration over all of it.
#   scripts/make-sample.sh            # shared tree at ../shared, or set MDKIT_SHARED
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${MDKIT_SHARED:-../shared}"
src="$shared/realdata/hftbacktest-binance"
[ -d "$src" ] || { echo "make-sample: $src not found (set MDKIT_SHARED)" >&2; exit 2; }
(cd "$src" && sha256sum -c --quiet SHA256SUMS)
cargo build -q
mdkit=target/debug/mdkit
rm -rf data/calibration/venue=binance-spot
"$mdkit" --data data import --from-format hftbacktest-raw --replace \
  "$src/spot/btcusdt_20240808.gz" "$src/spot/btcusdt_20240809.gz"
"$mdkit" --data data calibrate --market BTCUSDT
"$mdkit" --data data verify --venue binance-spot
cp "$src/LICENSE-hftbacktest-MIT.txt" data/
du -sh data
