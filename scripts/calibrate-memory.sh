#!/usr/bin/env bash
# `mdkit calibrate`, one window over a long range (default 30 simulated days of ETH-USD written
# by examples/simulated_tree.rs), held to a memory limit (issue 23: "a 30-day run completes under
# a 1 GB memory limit"). The limit is enforced twice: DataFusion's pool (`--memory-limit`), and,
# where this user may create one, a kernel memory cgroup of the same size around the process
# (cgroup v2 `memory.max` or v1 `memory.limit_in_bytes`), so the whole process — not only what
# DataFusion accounts for — must fit. Prints a Markdown table: wall time, peak resident memory
# (/usr/bin/time -v) and the cgroup's own peak when there is one.
# Needs release builds:
#   cargo build --release && cargo build --release --example simulated_tree
# Usage: scripts/calibrate-memory.sh [DIR]   (DIR/<hours>h keeps the tree, reused when there)
# Environment: HOURS (default 720) simulated hours; LIMIT (default 1GB, as --memory-limit takes it).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${MDKIT_BIN:-target/release/mdkit}
tree=${TREE_BIN:-target/release/examples/simulated_tree}
[ -x "$bin" ] && [ -x "$tree" ] || {
  echo "build first: cargo build --release && cargo build --release --example simulated_tree" >&2
  exit 2
}
hours=${HOURS:-720}
limit=${LIMIT:-1GB}
work=$(mktemp -d)
group=
cleanup() {
  [ -n "$group" ] && rmdir "$group" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
dir=${1:-$work}
data=$dir/${hours}h
if [ ! -d "$data/book_top" ]; then
  echo "writing $hours simulated hours to $data ..." >&2
  "$tree" "$data" "$hours" 5 ETH-USD >&2
fi
bytes=$(python3 -c "
import re, sys
m = re.fullmatch(r'(\d+)(B|KB|MB|GB|KiB|MiB|GiB)', sys.argv[1])
units = {'B': 1, 'KB': 10**3, 'MB': 10**6, 'GB': 10**9, 'KiB': 2**10, 'MiB': 2**20, 'GiB': 2**30}
print(int(m[1]) * units[m[2]])" "$limit")

# A memory cgroup of $bytes, if one can be made here; its peak file is read afterwards.
peak_file=
if [ -w /sys/fs/cgroup/cgroup.subtree_control ] && grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
  group=/sys/fs/cgroup/mdkit-calibrate-$$
  mkdir "$group" && echo "$bytes" > "$group/memory.max" && echo 0 > "$group/memory.swap.max" 2>/dev/null || true
  peak_file=$group/memory.peak
elif [ -w /sys/fs/cgroup/memory ]; then
  group=/sys/fs/cgroup/memory/mdkit-calibrate-$$
  mkdir "$group" && echo "$bytes" > "$group/memory.limit_in_bytes"
  peak_file=$group/memory.max_usage_in_bytes
else
  echo "no writable memory cgroup here: only DataFusion's pool holds the limit" >&2
fi

run() {
  if [ -n "$group" ]; then
    sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$group" "$@"
  else
    "$@"
  fi
}
rows=$("$bin" --data "$data" sql --format csv "SELECT (SELECT count(*) FROM book_top) AS frames, (SELECT count(*) FROM trades) AS trades" | tail -1)
run /usr/bin/time -v "$bin" --data "$data" calibrate --market ETH-USD --no-write --format json \
  --memory-limit "$limit" > "$work/out.json" 2> "$work/time" || { cat "$work/time" >&2; exit 1; }
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$work/time")
rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time")
cg="—"
[ -n "$peak_file" ] && [ -r "$peak_file" ] && cg=$(( $(cat "$peak_file") >> 20 ))" MiB (limit $(( bytes >> 20 )) MiB)"
sigma=$(python3 -c "import json,sys; r=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); r=r[0] if isinstance(r,list) else r; print(r['sigma'], r['kappa_bid'], r['kappa_ask'])" "$work/out.json")
echo "| range | book_top rows | trades | --memory-limit | wall s | peak RSS MiB | cgroup peak | σ, κ bid, κ ask |"
echo "|---|---|---|---|---|---|---|---|"
printf "| %s h | %s | %s | %s | %.2f | %d | %s | %s |\n" "$hours" "${rows%%,*}" "${rows##*,}" "$limit" "$wall" $((rss / 1024)) "$cg" "$sigma"
