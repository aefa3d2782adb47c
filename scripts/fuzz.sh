#!/usr/bin/env bash
# Fuzzes the venue parsers (issue 28) with cargo-fuzz: every target in fuzz/ (or the one
# named) for a given time each, corpora seeded from simulator-layout frames and, when
# ../shared/fixtures is present, from the real captured frames.
#
#   scripts/fuzz.sh                      # every target, 10 minutes each
#   scripts/fuzz.sh binance_frame 120    # one target, 120 s
#   FUZZ_SECONDS=60 scripts/fuzz.sh      # every target, 60 s each
#
# Needs a nightly toolchain (`rustup toolchain install nightly`); installs cargo-fuzz from
# crates.io when it is missing. Builds into $CARGO_TARGET_DIR when set (else fuzz/target).
#
# Crashes: libFuzzer stops at the first one and writes the input to
#   fuzz/artifacts/<target>/crash-<sha1>
# Reproduce it with   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/crash-<sha1>
# and turn it into a regression test: add a #[test] to tests/it/fuzz.rs that feeds the
# file's bytes (String::from_utf8_lossy, as the target does) through the same Recorder
# steps (see `record` in fuzz/src/lib.rs), fix the parser or check in src/venue/, and keep
# the test named after what it caught.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

targets=(extended_v1_book extended_v1_trades extended_v2_rpc binance_frame)
if [[ $# -ge 1 && -n $1 ]]; then
    if [[ ! " ${targets[*]} " == *" $1 "* ]]; then
        echo "fuzz.sh: unknown target '$1' (known: ${targets[*]})" >&2
        exit 2
    fi
    targets=("$1")
fi
seconds=${2:-${FUZZ_SECONDS:-600}}

# (No `grep -q` or `head` in pipelines: an early close is a pipe failure under pipefail.)
rustup toolchain list | grep '^nightly' >/dev/null || {
    echo "fuzz.sh: a nightly toolchain is needed: rustup toolchain install nightly" >&2
    exit 2
}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

# Seeds: the simulator's layouts (always), then the real frames when present.
seed() { # seed <target> <text>
    local dir=fuzz/corpus/$1
    mkdir -p "$dir"
    printf '%s' "$2" >"$dir/seed-$(printf '%s' "$2" | sha1sum | cut -c1-16)"
}
seed extended_v1_book '{"type":"SNAPSHOT","data":{"t":"SNAPSHOT","m":"ETH-USD","b":[{"p":"3000.00","q":"1.500"},{"p":"2999.50","q":"2.000"}],"a":[{"p":"3000.50","q":"0.750"},{"p":"3001.00","q":"3.000"}],"d":"f"},"ts":1767225600000,"seq":1}'
seed extended_v1_book '{"type":"DELTA","data":{"t":"DELTA","m":"ETH-USD","b":[{"p":"3000","q":"-0.500","c":"1.000"},{"p":"2998","q":"4.000","c":"4.000"}],"a":[{"p":"3000.5","q":"-0.750","c":"0"}],"d":"f"},"ts":1767225600005,"seq":2}'
seed extended_v1_book '{"status":"ERROR","error":{"code":1001,"message":"Market not found"}}'
seed extended_v1_trades '{"ts":1767225600000,"seq":2,"data":[{"i":1002,"m":"ETH-USD","S":"SELL","tT":"TRADE","T":1767225599998,"p":"3000","q":"1.000"}]}'
seed extended_v2_rpc '{"type":"ORDERBOOKS.DELTA","data":{"t":"DELTA","m":"ETH-USD","b":[{"p":"3000","q":"-0.500","c":"1.000"}],"a":[],"d":"f"},"ts":1767225600005,"seq":1,"subscription":"orderbooks.ETH-USD"}'
seed extended_v2_rpc '{"type":"TRADES","data":[{"i":1001,"m":"ETH-USD","S":"BUY","tT":"TRADE","T":1767225599997,"p":"3000.5","q":"0.250"}],"ts":1767225600000,"seq":1,"subscription":"trades.ETH-USD"}'
seed binance_frame '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1767225600011,"s":"BTCUSDT","U":7000000031,"u":7000000033,"b":[["30000.00000000","1.00000000"]],"a":[["30001.00000000","0.00000000"]]}}'
seed binance_frame '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1767225600010,"T":1767225600010,"s":"BTCUSDT","U":7000000029,"u":7000000030,"pu":7000000027,"b":[],"a":[]}}'
seed binance_frame '{"stream":"btcusdt@trade","data":{"e":"trade","E":1767225600000,"T":1767225599999,"s":"BTCUSDT","t":555,"p":"30000.50000000","q":"0.01000000","X":"MARKET","m":false}}'
seed binance_frame '{"lastUpdateId":7000000030,"E":1767225600010,"T":1767225600010,"symbol":"BTCUSD_PERP","pair":"BTCUSD","bids":[["30000.00000000","1.50000000"]],"asks":[["30001.00000000","0.75000000"]]}'

fixtures=$root/../shared/fixtures
if [[ -d $fixtures/extended/rpc_v2 ]]; then
    for f in "$fixtures"/extended/rpc_v2/*.json; do
        text=$(tr -d '\n' <"$f")
        seed extended_v2_rpc "$text"
        # v2 payloads are the v1 payloads: the same files seed the v1 targets.
        seed extended_v1_book "$text"
        seed extended_v1_trades "$text"
    done
else
    echo "fuzz.sh: $fixtures/extended is absent: seeding from the simulator's layouts only" >&2
fi
if [[ -d $fixtures/binance ]]; then
    # At most 200 frames per capture: libFuzzer minimises the rest away anyway.
    for f in "$fixtures"/binance/*.ws.1.0; do
        sed -n '2,201s/^[0-9.]*: {/{/p' "$f" | while IFS= read -r line; do
            seed binance_frame "$line"
        done
    done
    for f in "$fixtures"/binance/*.http.0.0; do
        sed -n 's/^[^ ]* -> [0-9.]*: //p' "$f" | while IFS= read -r line; do
            seed binance_frame "$line"
        done
    done
else
    echo "fuzz.sh: $fixtures/binance is absent: seeding from the simulator's layouts only" >&2
fi

status=0
for target in "${targets[@]}"; do
    echo "== $target: ${seconds}s (corpus fuzz/corpus/$target, crashes fuzz/artifacts/$target/)"
    # -max_len: a snapshot body of the real captures is some 40 KB.
    if ! (cd fuzz && cargo +nightly fuzz run --sanitizer none "$target" -- \
        -max_total_time="$seconds" -max_len=65536 -print_final_stats=1); then
        echo "fuzz.sh: $target found a crash: see fuzz/artifacts/$target/ (how to turn it into a regression test: the header of this script)" >&2
        status=1
    fi
done
exit "$status"
