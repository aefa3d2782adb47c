#!/usr/bin/env bash
# `mdkit verify` as a user runs it, whole process, over a tree of about 5 M depth rows
# (issue 23: at least 10 M depth rows/s end to end): HOURS simulated hours (default 3: 5.1 M
# depth rows) written by examples/simulated_tree.rs (seed 5). Wall time by bash's microsecond
# clock, peak RSS by /usr/bin/time, median of RUNS runs (default 9). The tree has no `events`
# table (the example writes none), so verify reports its connections as lacking a connect
# event and exits 1; any other exit fails the script. Prints a Markdown table on stdout.
# Usage: scripts/bench-verify.sh       (builds in release first)
# Environment: RUNS, HOURS, MDKIT_BIN / TREE_BIN to use existing builds, CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-9}
hours=${HOURS:-3}
target=${CARGO_TARGET_DIR:-target}
if [ -z "${MDKIT_BIN:-}" ]; then
  cargo build --release --locked --quiet
  cargo build --release --locked --quiet --example simulated_tree
fi
bin=${MDKIT_BIN:-$target/release/mdkit}
tree=${TREE_BIN:-$target/release/examples/simulated_tree}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tree" "$work/sim" "$hours" 5 ETH-USD >&2
for i in $(seq "$runs"); do
  start=$EPOCHREALTIME
  rc=0
  /usr/bin/time -f "%M %U %S" -o "$work/t" "$bin" --data "$work/sim" verify > "$work/out" 2>&1 || rc=$?
  end=$EPOCHREALTIME
  if [ "$rc" -gt 1 ]; then
    cat "$work/out" >&2
    exit 1
  fi
  awk -v a="$start" -v b="$end" '{ printf "%.3f %d %.2f\n", b - a, $1, $2 + $3 }' "$work/t" >> "$work/times"
done
rows=$(awk '/^  read:/ { print $2; exit }' "$work/out")
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
wall=$(cut -d' ' -f1 "$work/times" | median | awk '{ printf "%.3f", $1 }')
peak=$(cut -d' ' -f2 "$work/times" | median | awk '{ printf "%.0f", $1 / 1024 }')
cpu=$(cut -d' ' -f3 "$work/times" | median | awk '{ printf "%.2f", $1 }')
lo=$(cut -d' ' -f1 "$work/times" | sort -n | head -1)
hi=$(cut -d' ' -f1 "$work/times" | sort -n | tail -1)
rate=$(awk -v r="$rows" -v w="$wall" 'BEGIN { printf "%.1f", r / w / 1e6 }')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
cat <<MD
Commit ${commit}, $(date -u +%Y-%m-%d), $(nproc) cores, release build; \`mdkit verify\` over ${hours}
simulated hours (\`examples/simulated_tree.rs\`, seed 5), whole process, median of ${runs} runs
(\`scripts/bench-verify.sh\`).

| depth rows | wall (median, min–max) | cpu (user + sys) | peak RSS | depth rows / s |
|---|---|---|---|---|
| ${rows} | ${wall} s (${lo}–${hi}) | ${cpu} s | ${peak} MiB | **${rate} M** (target ≥ 10 M) |
MD
