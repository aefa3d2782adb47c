#!/usr/bin/env bash
# Whole `mdkit backtest` runs against hftbacktest 0.9.4 on the same events (issue 22): the
# baseline is bench/hftbacktest-baseline (mdkit's Avellaneda–Stoikov strategy ported line for
# line, fed the recalibration schedule mdkit's run wrote to recalibrations.parquet, so it does
# no calibration of its own). Every figure is a whole process (wall by bash's microsecond
# clock, peak RSS by /usr/bin/time); each
# pair alternates mdkit and the baseline (A B A B ...) and the median of RUNS is reported.
#   (a) default settings, on the shipped sample (data/) and on a 4-hour simulated tree;
#   (b) replay alone: mdkit with a warm-up and a recalibration interval longer than the
#       range (no quote, one fit, at the range start, over no data) against the baseline's
#       --no-quote (the same events through its wait_next_feed loop, no order); and mdkit's
#       calibration, as a run computing the default run's schedule without quoting minus the
#       replay alone;
#   (c) `mdkit backtest --sweep` on the sample, in runs per minute.
# Prints a Markdown section on stdout (scripts/bench.sh includes it; HFT_LOG=FILE reuses one).
# Usage: scripts/bench-backtest.sh          (builds both in release first)
# Environment: RUNS (default 5), HOURS (default 4), JOBS (sweep --jobs, default nproc),
# MDKIT_BIN / BASELINE_BIN / TREE_BIN to use existing builds, CARGO_TARGET_DIR as cargo's.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
hours=${HOURS:-4}
jobs=${JOBS:-$(nproc)}
target=${CARGO_TARGET_DIR:-target}
base_target=${BASELINE_TARGET_DIR:-$target/hftbacktest-baseline}

if [ -z "${MDKIT_BIN:-}" ]; then
  cargo build --release --locked --quiet
  cargo build --release --locked --quiet --example simulated_tree
fi
if [ -z "${BASELINE_BIN:-}" ]; then
  (cd bench/hftbacktest-baseline && CARGO_TARGET_DIR="$base_target" cargo build --release --locked --quiet)
fi
bin=${MDKIT_BIN:-$target/release/mdkit}
tree=${TREE_BIN:-$target/release/examples/simulated_tree}
base=${BASELINE_BIN:-$base_target/release/hftbacktest-baseline}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "writing $hours simulated hours ..." >&2
"$tree" "$work/sim" "$hours" 5 ETH-USD >&2

# One timed whole process: "wall-seconds peak-KiB" appended to $1; its stdout to $2, stderr
# to $3. The wall time is bash's microsecond clock around /usr/bin/time (whose own %e has
# 10 ms steps, too coarse for the sample's ~0.1 s runs); the peak RSS is /usr/bin/time's.
timed() {
  local times=$1 out=$2 err=$3
  shift 3
  local start=$EPOCHREALTIME
  /usr/bin/time -f "%M" -o "$work/t" "$@" > "$out" 2> "$err" || {
    echo "failed: $*" >&2
    cat "$err" >&2
    exit 1
  }
  local end=$EPOCHREALTIME
  awk -v a="$start" -v b="$end" -v m="$(cat "$work/t")" 'BEGIN { printf "%.3f %d\n", b - a, m }' >> "$times"
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
med() { cut -d' ' -f"${2:-1}" "$1" | median; }
# A field of summary.json (top level or settings.NAME).
field() { python3 -c "import json,sys; s=json.load(open(sys.argv[1])); v=s
for k in sys.argv[2].split('.'): v=v[k]
print(v)" "$1" "$2"; }
# A key's value in the baseline's one-line result.
result() { awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' "$1"; }

# The baseline's settings, as mdkit's run used them (tick and lot are what mdkit infers).
baseline_args() {
  local s=$1
  echo --warmup "$(field "$s" settings.warmup_period_seconds)" \
    --gap-threshold "$(field "$s" settings.gap_threshold_seconds)" \
    --cooldown "$(field "$s" settings.fill_cooldown_seconds)" \
    --max-inventory-lots "$(field "$s" settings.max_inventory_lots)" \
    --maker-fee-bps "$(field "$s" settings.maker_fee_bps)" \
    --taker-fee-bps "$(field "$s" settings.taker_fee_bps)"
}

# compare NAME DATA VENUE MARKET TICK LOT: (a) and (b) on one tree. Per round, in turn:
#   mdkit with defaults; the baseline on that run's schedule; mdkit computing the same schedule
#   but never quoting (warm-up longer than the range); mdkit replaying alone (also one fit
#   only); the baseline --no-quote. mdkit's calibration = schedule-no-quote − replay-alone.
compare() {
  local name=$1 data=$2 venue=$3 market=$4 tick=$5 lot=$6
  local d="$work/$name"
  mkdir -p "$d"
  local never=$((100 * 24 * 3600))
  for i in $(seq "$runs"); do
    rm -rf "$d/out" "$d/out-sched" "$d/out-alone"
    timed "$d/mdkit" "$d/m.out" "$d/m.err" "$bin" --data "$data" backtest --venue "$venue" \
      --market "$market" --out "$d/out"
    local s="$d/out/summary.json"
    # shellcheck disable=SC2046
    timed "$d/base" "$d/b.out" "$d/b.err" "$base" --data "$data" --venue "$venue" \
      --market "$market" --tick "$tick" --lot "$lot" \
      --recalibrations "$d/out/recalibrations.parquet" $(baseline_args "$s")
    awk '$1 == "conversion_seconds" { print $2 }' "$d/b.err" >> "$d/conv"
    awk '$1 == "run_seconds" { print $2 }' "$d/b.err" >> "$d/run"
    local every window
    every=$(field "$s" settings.recalibration_interval_seconds)
    window=$(field "$s" settings.calibration_window_seconds)
    timed "$d/sched" "$d/s.out" "$d/s.err" "$bin" --data "$data" backtest --venue "$venue" \
      --market "$market" --set "warmup=$never" --set "every=$every" --set "window=$window" \
      --out "$d/out-sched"
    timed "$d/alone" "$d/a.out" "$d/a.err" "$bin" --data "$data" backtest --venue "$venue" \
      --market "$market" --set "warmup=$never" --set "every=$never" --set "window=$window" \
      --out "$d/out-alone"
    timed "$d/noquote" "$d/n.out" "$d/n.err" "$base" --data "$data" --venue "$venue" \
      --market "$market" --tick "$tick" --lot "$lot" --no-quote
    awk '$1 == "conversion_seconds" { print $2 }' "$d/n.err" >> "$d/nconv"
    awk '$1 == "run_seconds" { print $2 }' "$d/n.err" >> "$d/nrun"
  done
  local s="$d/out/summary.json"
  local fits m b c r sched alone nq calib share rss
  fits=$(result "$d/b.out" fits)
  m=$(med "$d/mdkit")
  b=$(med "$d/base")
  c=$(median < "$d/conv")
  r=$(median < "$d/run")
  sched=$(med "$d/sched")
  alone=$(med "$d/alone")
  nq=$(med "$d/noquote")
  calib=$(awk -v a="$sched" -v b="$alone" 'BEGIN { printf "%.2f", a - b }')
  share=$(awk -v c="$calib" -v m="$m" 'BEGIN { printf "%.0f", 100 * c / m }')
  rss() { med "$1" 2 | awk '{ printf "%.0f", $1 / 1024 }'; }
  rows+=("| $name | **mdkit backtest**, defaults ($fits fits; calibration ≈ $calib s = $share %) | **$m s** | $(rss "$d/mdkit") MiB | fills $(field "$s" fills_bid) bid + $(field "$s" fills_ask) ask, position $(field "$s" final_position), PnL net $(field "$s" pnl_net) |")
  rows+=("| $name | **hftbacktest baseline** (conversion $c s + run $r s) | **$b s** | $(rss "$d/base") MiB | fills $(result "$d/b.out" fills_bid) bid + $(result "$d/b.out" fills_ask) ask, position $(result "$d/b.out" position), PnL net $(result "$d/b.out" pnl_net_marked_to_mid) |")
  rows+=("| $name | mdkit, same schedule, no quote (warm-up longer than the range) | $sched s | $(rss "$d/sched") MiB | — |")
  rows+=("| $name | mdkit, replay alone (no quote, one fit over no data; $(field "$d/out-alone/summary.json" events) events) | $alone s | $(rss "$d/alone") MiB | — |")
  rows+=("| $name | hftbacktest baseline \`--no-quote\` (conversion $(median < "$d/nconv") s + loop $(median < "$d/nrun") s; $(result "$d/n.out" events) events incl. frame markers) | $nq s | $(rss "$d/noquote") MiB | — |")
  ratios+=("$name, whole run: baseline / mdkit = **$(awk -v m="$m" -v b="$b" 'BEGIN { printf "%.2f", b / m }')** (target ≥ 1.5)")
  ratios+=("$name, replay alone: hftbacktest's loop alone (no conversion) / mdkit replay alone (whole process, decoding included) = **$(awk -v m="$alone" -v b="$(median < "$d/nrun")" 'BEGIN { printf "%.2f", b / m }')** (target ≥ 1 on the ${hours}h tree); with its conversion, baseline \`--no-quote\` whole process / mdkit = $(awk -v m="$alone" -v b="$nq" 'BEGIN { printf "%.2f", b / m }')")
}

rows=()
ratios=()
sample_venue=binance-spot
sample_market=BTCUSDT
# Tick and lot as mdkit infers them (the greatest common divisor of the recorded prices and
# sizes, src/backtest/spec.rs); the baseline takes them as arguments.
compare sample data "$sample_venue" "$sample_market" 0.01 0.00001
compare "${hours}h simulated" "$work/sim" extended ETH-USD 0.01 0.001

# (c) sweep throughput on the sample.
d="$work/sweep"
mkdir -p "$d"
points=4
for i in $(seq "$runs"); do
  rm -rf "$d/out"
  timed "$d/mdkit" "$d/m.out" "$d/m.err" "$bin" --data data backtest --venue "$sample_venue" \
    --market "$sample_market" --sweep skew=0.5,1,2,4 --jobs "$jobs" --out "$d/out"
done
sweep_s=$(med "$d/mdkit")
per_min=$(awk -v s="$sweep_s" -v n="$points" 'BEGIN { printf "%.0f", 60 * n / s }')

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git diff --quiet -- . ":!BENCHMARKS.md" 2>/dev/null && echo "" || echo " (uncommitted changes)")
cat <<MD
Commit ${commit}${dirty}, $(date -u +%Y-%m-%d), $(nproc) cores; release builds; whole processes timed with
bash's microsecond clock (peak RSS from \`/usr/bin/time\`), median of ${runs} runs alternating mdkit and
the baseline (\`scripts/bench-backtest.sh\`).
The baseline is hftbacktest 0.9.4 (\`bench/hftbacktest-baseline\`): the same depth rows, trades
and book frames converted to its events, constant 10 ms entry and response latency, its
\`RiskAdverseQueueModel\`, \`NoPartialFillExchange\`, and a port of mdkit's Avellaneda–Stoikov
strategy fed mdkit's own recalibration schedule (\`recalibrations.parquet\`), so **mdkit's
time includes its calibration and the baseline's time includes its conversion** (Parquet read
and event building), which is printed apart. Peak RSS from the same runs.

| data | run | wall (median) | peak RSS | result |
|---|---|---|---|---|
$(printf '%s\n' "${rows[@]}")

$(printf -- '- %s\n' "${ratios[@]}")
- \`mdkit backtest --sweep skew=0.5,1,2,4 --jobs $jobs\` on the sample: $sweep_s s for $points runs, **$per_min runs per minute**
MD
