#!/usr/bin/env bash
# Runs every `mdkit …` line of README.md's bash blocks against the binary this checkout
# builds, so the README cannot drift from the tool (.ci/run calls it after the tests).
#
# Lines about the shipped sample run in a copy of data/; lines naming ETH-USD, or reading a
# journal, run in a tree the demo (scripts/demo.sh, which also runs simulate and collect
# against the local venue) records first; the demo runs twice and must print the same
# calibration both times. A line that cannot run offline says why, and the
# script prints it as `skipped:`. Any other failing line fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
cargo build --bin mdkit ${MDKIT_FEATURES:+--features "$MDKIT_FEATURES"}
bin=$target/debug/mdkit
work=$(mktemp -d)
s3_pid=
cluster_pid=
trap 'rm -rf "$work"; kill $s3_pid $cluster_pid 2>/dev/null || true' EXIT

mkdir -p "$work/sample" "$work/eth" "$work/home/.local/share/bash-completion/completions"
cp -r data "$work/sample/data"
echo "== scripts/demo.sh, twice (records the ETH-USD tree the README's ETH-USD lines read)"
scripts/demo.sh "$work/eth/data" > "$work/demo.log" 2>&1 || { cat "$work/demo.log"; exit 1; }
scripts/demo.sh "$work/again" > "$work/demo2.log" 2>&1 || { cat "$work/demo2.log"; exit 1; }
# The README promises: same seed, same calibration, every run.
calibration() { sed -n '/^== mdkit calibrate/,/^== mdkit backtest/p' "$1"; }
if ! diff <(calibration "$work/demo.log") <(calibration "$work/demo2.log"); then
    echo "FAILED: two demo runs printed different calibrations" >&2
    exit 1
fi
calibration "$work/demo.log" | sed -n 2,3p
echo "demo ok: both runs printed the same calibration"

# Lines over s3:// read the demo's tree from a local S3-compatible server (s3s-fs, which
# .ci/run installs): started on first use, on 127.0.0.1 with an OS-assigned port, serving a
# copy of the ETH-USD tree as the bucket mdkit-demo, prefix eth.
s3_env=()
start_s3() {
    [ -n "$s3_pid" ] && return 0
    local server=${MDKIT_S3S_FS:-$(command -v s3s-fs || true)}
    [ -n "$server" ] || return 1
    mkdir -p "$work/s3/mdkit-demo"
    cp -r "$work/eth/data" "$work/s3/mdkit-demo/eth"
    mkfifo "$work/s3.out"
    RUST_LOG=info NO_COLOR=1 "$server" --host 127.0.0.1 --port 0 --access-key demo \
        --secret-key demo-secret "$work/s3" > "$work/s3.out" 2>/dev/null &
    s3_pid=$!
    local line endpoint= fd
    exec {fd}< "$work/s3.out"
    while read -r line <&"$fd"; do
        case "$line" in *"server is running at "*) endpoint=${line##*server is running at }; break ;; esac
    done
    cat <&"$fd" > /dev/null &   # keeps draining its log
    [ -n "$endpoint" ] || return 1
    s3_env=(AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo-secret AWS_REGION=us-east-1
            "MDKIT_S3_ENDPOINT=${endpoint%% *}")
}

# `mdkit ballista` (a build with --features ballista, as .ci/run makes): started on first use
# of a `--engine ballista://` line, on 127.0.0.1 with an OS-assigned port that replaces the
# README's 127.0.0.1:50050, reading the bucket above.
cluster_url=
start_cluster() {
    [ -n "$cluster_url" ] && return 0
    "$bin" ballista --help > /dev/null 2>&1 || return 1
    start_s3 || return 1
    mkfifo "$work/cluster.out"
    env "${s3_env[@]}" "$bin" ballista --bind 127.0.0.1:0 --executors 2 > "$work/cluster.out" 2>/dev/null &
    cluster_pid=$!
    exec {cfd}< "$work/cluster.out"
    read -r cluster_url <&"$cfd" || return 1
    cat <&"$cfd" > /dev/null &
}

# The README's bash blocks, `mdkit` lines only.
mapfile -t lines < <(awk '/^```bash/{on=1; next} /^```/{on=0} on && (/^mdkit / || /[|] mdkit /)' README.md)
ran=0
for line in "${lines[@]}"; do
    case "$line" in
        *"needs the network"*) echo "skipped: $line  (needs the network)"; continue ;;
        "mdkit collect "*|"mdkit simulate "*)
            echo "covered by scripts/demo.sh above: $line"; continue ;;
        "mdkit ballista --bind "*)
            echo "started by this script for the --engine lines, on a free port: $line"; continue ;;
        *"--engine ballista://"*)
            if ! start_cluster; then
                echo "skipped: $line  (needs a build with --features ballista and s3s-fs)"; continue
            fi
            line=${line//ballista:\/\/127.0.0.1:50050/$cluster_url}
            dir=$work/eth ;;
        *s3://*collect*)
            echo "covered by tests/it/object_storage.rs: $line"; continue ;;
        *s3://*)
            if ! start_s3; then
                echo "skipped: $line  (needs s3s-fs: cargo install s3s-fs --features binary)"; continue
            fi
            dir=$work/eth ;;
        "mdkit import spot/"*)
            shared=$root/../shared/realdata/hftbacktest-binance/spot
            if [ ! -d "$shared" ]; then
                echo "skipped: $line  (needs the real captures in ../shared)"; continue
            fi
            mkdir -p "$work/import" && ln -sfn "$shared" "$work/import/spot"
            dir=$work/import ;;
        "mdkit import COINBASE.ws.28.0 "*)
            capture=$root/../shared/fixtures/coinbase/COINBASE.ws.28.0
            if [ ! -f "$capture" ]; then
                echo "skipped: $line  (needs the legacy Coinbase capture in ../shared)"; continue
            fi
            mkdir -p "$work/coinbase" && ln -sfn "$capture" "$work/coinbase/COINBASE.ws.28.0"
            dir=$work/coinbase ;;
        *ETH-USD*|*_journal*) dir=$work/eth ;;
        *) dir=$work/sample ;;
    esac
    echo "== $line   (in $(basename "$dir"))"
    if ! (cd "$dir" && env "${s3_env[@]}" HOME=$work/home PATH="$(dirname "$bin"):$PATH" \
            bash -euo pipefail -c "$line" > "$work/out" 2> "$work/err"); then
        echo "FAILED: $line" >&2
        cat "$work/out" "$work/err" >&2
        exit 1
    fi
    head -3 "$work/out"
    ran=$((ran + 1))
done
echo "readme: $ran commands ran"
