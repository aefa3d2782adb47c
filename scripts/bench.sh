#!/usr/bin/env bash
# Runs mdkit's benchmarks and writes BENCHMARKS.md with the machine and commit.
# Usage: scripts/bench.sh            (all benches; takes several minutes after the build)
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo bench --bench storage -- --noplot 2>&1 | tee "$log"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
cores=$(nproc)
mem=$(free -g | awk '/^Mem:/ {print $2 " GiB"}')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git diff --quiet 2>/dev/null && echo "" || echo " (uncommitted changes)")
rustc_v=$(rustc --version)

# criterion prints "<group>/<bench>  time: [...]" then "thrpt: [low mid high]".
rows=$(awk '
  /^[a-z_]+\/[a-z_0-9]+/ { name=$1 }
  /thrpt:/ {
    gsub(/\[|\]/, "");
    for (i = 1; i <= NF; i++) if ($i == "thrpt:") { mid=$(i+3); unit=$(i+4) }
    printf "| %s | %s %s |\n", name, mid, unit
  }' "$log")

cat > BENCHMARKS.md <<MD
# Benchmarks

Written by \`scripts/bench.sh\` on $(date -u +%Y-%m-%d). Commit ${commit}${dirty}; ${rustc_v}.
Machine: ${cpu}, ${cores} cores, ${mem}. The benchmarks run on one thread; the machine is
shared, so read the figures as a level, not to the last digit.

## Storage (\`benches/storage.rs\`)

One million rows per iteration, ZSTD(3), default writer settings (row groups of 100,000,
parts of up to 1,000,000 rows). *write* builds the Arrow batches from typed rows and writes
committed parts (fsync and rename included); *read* lists the parts from their footers and
streams every column of every row back in order.

Targets (issue 2, one core): write ≥ 1 M depth rows/s, read ≥ 5 M rows/s.

| benchmark | throughput (median) |
|---|---|
${rows}
MD
echo "wrote BENCHMARKS.md"
