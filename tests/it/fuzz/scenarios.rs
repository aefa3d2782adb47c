//! The fuzz properties' scenarios: frames in the exact layout `mdkit simulate` sends (built
//! here so the simulator can change without this file depending on its internals), the loose
//! fields of each venue, and the captured frames of `../shared/fixtures/` when present.

use super::*;

// ---------------------------------------------------------------------------------------
// Frames as `mdkit simulate` writes them (src/simulate/wire.rs, binance_wire.rs), built here
// so the simulator can change without this file depending on its internals.

/// 2026-01-01T00:00:00Z in ms: the venue times of the simulated frames.
pub(super) const T0_MS: i64 = 1_767_225_600_000;
/// The receive time of the connect for simulated frames: one second after [`T0_MS`].
pub(super) const SIM_AT: i64 = (T0_MS + 1_000) * 1_000_000;

pub(super) fn sim_v1_snapshot(depth: &str, seq: u64) -> String {
    format!(
        r#"{{"type":"SNAPSHOT","data":{{"t":"SNAPSHOT","m":"ETH-USD","b":[{{"p":"3000.00","q":"1.500"}},{{"p":"2999.50","q":"2.000"}}],"a":[{{"p":"3000.50","q":"0.750"}},{{"p":"3001.00","q":"3.000"}}],"d":"{depth}"}},"ts":{},"seq":{seq}}}"#,
        T0_MS
    )
}

pub(super) fn sim_delta_data() -> &'static str {
    r#"{"t":"DELTA","m":"ETH-USD","b":[{"p":"3000","q":"-0.500","c":"1.000"},{"p":"2998","q":"4.000","c":"4.000"}],"a":[{"p":"3000.5","q":"-0.750","c":"0"}],"d":"f"}"#
}

pub(super) fn sim_v1_delta(seq: u64) -> String {
    format!(r#"{{"type":"DELTA","data":{},"ts":{},"seq":{seq}}}"#, sim_delta_data(), T0_MS + 5)
}

pub(super) fn sim_trades_data(first_id: u64) -> String {
    format!(
        r#"[{{"i":{first_id},"m":"ETH-USD","S":"BUY","tT":"TRADE","T":{},"p":"3000.5","q":"0.250"}},{{"i":{},"m":"ETH-USD","S":"SELL","tT":"TRADE","T":{},"p":"3000","q":"1.000"}}]"#,
        T0_MS - 3,
        first_id + 1,
        T0_MS - 2
    )
}

pub(super) fn sim_v1_trades(seq: u64, first_id: u64) -> String {
    format!(r#"{{"ts":{},"seq":{seq},"data":{}}}"#, T0_MS, sim_trades_data(first_id))
}

pub(super) fn sim_ack(id: u64, topic: &str) -> String {
    format!(
        r#"{{"id":{id},"result":{{"method":"subscribe","status":"OK","subscription":"{topic}"}},"jsonrpc":"2.0"}}"#
    )
}

pub(super) fn sim_v2(kind: &str, data: &str, seq: u64, topic: &str) -> String {
    format!(
        r#"{{"type":"{kind}","data":{data},"ts":{},"seq":{seq},"subscription":"{topic}"}}"#,
        T0_MS
    )
}

pub(super) fn sim_v2_snapshot() -> String {
    let data = J::parse(&sim_v1_snapshot("f", 1));
    let J::Obj(fields) = data else { unreachable!() };
    let data = fields.into_iter().find(|(k, _)| k == "\"data\"").map(|(_, v)| v.text());
    sim_v2("ORDERBOOKS.SNAPSHOT", &data.unwrap_or_default(), 0, "orderbooks.ETH-USD")
}

pub(super) const BASE_UPDATE_ID: u64 = 7_000_000_000;

pub(super) fn bn_number(raw: i64) -> String {
    format!("{}.{:08}", raw / 100_000_000, raw % 100_000_000)
}

pub(super) fn bn_pairs(levels: &[(i64, i64)]) -> String {
    let items: Vec<String> = levels
        .iter()
        .map(|(p, q)| format!(r#"["{}","{}"]"#, bn_number(*p), bn_number(*q)))
        .collect();
    format!("[{}]", items.join(","))
}

pub(super) fn bn_u(index: u64) -> u64 {
    BASE_UPDATE_ID + 3 * index
}

pub(super) const BTC: i64 = 100_000_000;

/// The diff-depth frame of simulation step `index`, as binance_wire::diff spells it.
pub(super) fn bn_diff(
    kind: Venue,
    symbol: &str,
    index: u64,
    bids: &[(i64, i64)],
    asks: &[(i64, i64)],
) -> String {
    let stream = format!("{}@depth@100ms", symbol.to_ascii_lowercase());
    let (u, prev) = (bn_u(index), bn_u(index.saturating_sub(1)));
    let ts = T0_MS + index as i64;
    let mut out = format!(r#"{{"stream":"{stream}","data":{{"e":"depthUpdate","E":{ts},"#);
    if kind == Venue::BinanceSpot {
        out.push_str(&format!(r#""s":"{symbol}","U":{},"u":{u},"#, prev + 1));
    } else {
        out.push_str(&format!(r#""T":{ts},"s":"{symbol}","#));
        if kind == Venue::BinanceCoinm {
            out.push_str(&format!(r#""ps":"{}","#, symbol.split('_').next().unwrap_or(symbol)));
        }
        out.push_str(&format!(r#""U":{},"u":{u},"pu":{prev},"#, u - 1));
    }
    out.push_str(&format!(r#""b":{},"a":{}}}}}"#, bn_pairs(bids), bn_pairs(asks)));
    out
}

pub(super) fn bn_snapshot(kind: Venue, symbol: &str, index: u64) -> String {
    let mut out = format!(r#"{{"lastUpdateId":{},"#, bn_u(index));
    let ts = T0_MS + index as i64;
    match kind {
        Venue::BinanceUsdm => out.push_str(&format!(r#""E":{ts},"T":{ts},"#)),
        Venue::BinanceCoinm => out.push_str(&format!(
            r#""E":{ts},"T":{ts},"symbol":"{symbol}","pair":"{}","#,
            symbol.split('_').next().unwrap_or(symbol)
        )),
        _ => {}
    }
    let bids = [(30_000 * BTC, 3 * BTC / 2), (29_999 * BTC, 2 * BTC)];
    let asks = [(30_001 * BTC, 3 * BTC / 4), (30_002 * BTC, 3 * BTC)];
    out.push_str(&format!(r#""bids":{},"asks":{}}}"#, bn_pairs(&bids), bn_pairs(&asks)));
    out
}

pub(super) fn bn_trade(kind: Venue, symbol: &str, id: u64) -> String {
    let stream = format!("{}@trade", symbol.to_ascii_lowercase());
    let (p, q) = (bn_number(30_000 * BTC + BTC / 2), bn_number(BTC / 100));
    let t = T0_MS - 1;
    if kind == Venue::BinanceSpot {
        format!(
            r#"{{"stream":"{stream}","data":{{"e":"trade","E":{T0_MS},"s":"{symbol}","t":{id},"p":"{p}","q":"{q}","T":{t},"m":true,"M":true}}}}"#
        )
    } else {
        format!(
            r#"{{"stream":"{stream}","data":{{"e":"trade","E":{T0_MS},"T":{t},"s":"{symbol}","t":{id},"p":"{p}","q":"{q}","X":"MARKET","m":false}}}}"#
        )
    }
}

// Loose fields: deleting one, nulling it or changing its text or type is a different but
// legal frame (weak property); repeating one with another value is still held to 2 and 3.
/// Extended v1 and v2. Every field the book and trades parsers read is strict; the loose
/// ones are the JSON-RPC envelope's: `subscription` (an ack for another topic, or without
/// one — a plain reply — is a legal frame that acks something else, so the acked topics in
/// the state differ; in a data frame another topic is judged by the sequence rule, not
/// refused), `method` and `id` (free text naming the request; a number or a string), and
/// `jsonrpc` (not read).
pub(super) const EXTENDED_LOOSE: &[&str] = &["subscription", "method", "id", "jsonrpc"];
/// Binance: `pu` (futures only; without it the frame is read as a spot-style diff whose
/// chain is judged by `U` alone), `E` of a REST snapshot (spot has none; the splice then
/// takes its time from the diffs), `symbol` of a COIN-M snapshot (absent on the others),
/// `X` of a futures trade (absent means a plain trade), `id` (a frame with `id` and no
/// `stream` is a subscription reply), `stream` (free text: only the kind after `@` is read,
/// as a hint when `e` is absent).
pub(super) const BINANCE_LOOSE: &[&str] = &["pu", "E", "symbol", "X", "id", "stream"];

pub(super) fn extended_v1_scenarios() -> &'static [Scenario] {
    static CELL: OnceLock<Vec<Scenario>> = OnceLock::new();
    CELL.get_or_init(|| {
        let (book, trades) = (Stream::Book, Stream::Trades);
        let e = Venue::Extended;
        let mut out = vec![
            scenario(
                "v1 sim snapshot",
                e,
                "ETH-USD",
                book,
                SIM_AT,
                vec![],
                &sim_v1_snapshot("f", 1),
                EXTENDED_LOOSE,
            ),
            scenario(
                "v1 sim top snapshot",
                e,
                "ETH-USD",
                book,
                SIM_AT,
                vec![],
                &sim_v1_snapshot("1", 1),
                EXTENDED_LOOSE,
            ),
            scenario(
                "v1 sim delta",
                e,
                "ETH-USD",
                book,
                SIM_AT,
                vec![sim_v1_snapshot("f", 1)],
                &sim_v1_delta(2),
                EXTENDED_LOOSE,
            ),
            scenario(
                "v1 sim trades replay",
                e,
                "ETH-USD",
                trades,
                SIM_AT,
                vec![],
                &sim_v1_trades(1, 1001),
                EXTENDED_LOOSE,
            ),
            scenario(
                "v1 sim trades",
                e,
                "ETH-USD",
                trades,
                SIM_AT,
                vec![sim_v1_trades(1, 1001)],
                &sim_v1_trades(2, 1003),
                EXTENDED_LOOSE,
            ),
        ];
        // The captured v2 payloads in v1 envelopes (v2 `data` is the v1 payload).
        if let Some(dir) = extended_fixtures() {
            let data = |name: &str| field_text(&fixture_frames(&dir.join(name))[0], "data");
            let ts = |name: &str| field_text(&fixture_frames(&dir.join(name))[0], "ts");
            let at = V2_AT;
            let snap = format!(
                r#"{{"type":"SNAPSHOT","data":{},"ts":{},"seq":1}}"#,
                data("ws_orderbook_snapshot_btc.top50.json"),
                ts("ws_orderbook_snapshot_btc.top50.json")
            );
            let delta = format!(
                r#"{{"type":"DELTA","data":{},"ts":{},"seq":2}}"#,
                data("ws_orderbook_delta_btc.json"),
                ts("ws_orderbook_delta_btc.json")
            );
            let replay = format!(
                r#"{{"ts":{},"seq":1,"data":{}}}"#,
                ts("ws_trades_replay_btc.json"),
                data("ws_trades_replay_btc.json")
            );
            out.push(scenario(
                "v1 real snapshot",
                e,
                "BTC-USD",
                book,
                at,
                vec![],
                &snap,
                EXTENDED_LOOSE,
            ));
            out.push(scenario(
                "v1 real delta",
                e,
                "BTC-USD",
                book,
                at,
                vec![snap.clone()],
                &delta,
                EXTENDED_LOOSE,
            ));
            out.push(scenario(
                "v1 real trades",
                e,
                "BTC-USD",
                trades,
                at,
                vec![],
                &replay,
                EXTENDED_LOOSE,
            ));
        }
        out
    })
}

/// Just after the v2 fixture was captured (its venue times must not be a day ahead).
pub(super) const V2_AT: i64 = 1_790_425_450_000_000_000;

pub(super) fn extended_v2_scenarios() -> &'static [Scenario] {
    static CELL: OnceLock<Vec<Scenario>> = OnceLock::new();
    CELL.get_or_init(|| {
        let (v2, c) = (Venue::ExtendedV2, Stream::Combined);
        let acks = vec![sim_ack(1, "orderbooks.ETH-USD"), sim_ack(2, "trades.ETH-USD")];
        let snap = sim_v2_snapshot();
        let delta = sim_v2("ORDERBOOKS.DELTA", sim_delta_data(), 1, "orderbooks.ETH-USD");
        let trades = sim_v2("TRADES", &sim_trades_data(1001), 0, "trades.ETH-USD");
        let with = |extra: &[&String]| {
            let mut p = acks.clone();
            p.extend(extra.iter().map(|s| (*s).clone()));
            p
        };
        let mut out = vec![
            scenario("v2 sim ack", v2, "ETH-USD", c, SIM_AT, vec![], &acks[0], EXTENDED_LOOSE),
            scenario(
                "v2 sim snapshot",
                v2,
                "ETH-USD",
                c,
                SIM_AT,
                acks.clone(),
                &snap,
                EXTENDED_LOOSE,
            ),
            scenario(
                "v2 sim delta",
                v2,
                "ETH-USD",
                c,
                SIM_AT,
                with(&[&snap]),
                &delta,
                EXTENDED_LOOSE,
            ),
            scenario(
                "v2 sim trades",
                v2,
                "ETH-USD",
                c,
                SIM_AT,
                acks.clone(),
                &trades,
                EXTENDED_LOOSE,
            ),
        ];
        if let Some(dir) = extended_fixtures() {
            let acks = fixture_frames(&dir.join("ws_rpc_responses_btc.json"));
            let one = |name: &str| fixture_frames(&dir.join(name)).remove(0);
            let snap = one("ws_orderbook_snapshot_btc.top50.json");
            let delta = one("ws_orderbook_delta_btc.json");
            // Renumbered to follow the acks (the capture's own seqs leave gaps between).
            let renumber = |text: String, from: &str| text.replacen(from, "\"seq\": 0", 1);
            let trades = renumber(one("ws_trades_replay_btc.json"), "\"seq\": 299");
            let mark = renumber(one("ws_mark_price_btc.json"), "\"seq\": 312");
            let index = renumber(one("ws_index_price_btc.json"), "\"seq\": 314");
            let funding = one("ws_funding_rate_btc.json");
            let at = V2_AT;
            for (i, ack) in acks.iter().enumerate() {
                let name = format!("v2 real ack {}", i + 1);
                out.push(scenario(
                    &name,
                    v2,
                    "BTC-USD",
                    c,
                    at,
                    acks[..i].to_vec(),
                    ack,
                    EXTENDED_LOOSE,
                ));
            }
            let after = |extra: &[&String]| {
                let mut p = acks.clone();
                p.extend(extra.iter().map(|s| (*s).clone()));
                p
            };
            out.push(scenario(
                "v2 real snapshot",
                v2,
                "BTC-USD",
                c,
                at,
                acks.clone(),
                &snap,
                EXTENDED_LOOSE,
            ));
            out.push(scenario(
                "v2 real delta",
                v2,
                "BTC-USD",
                c,
                at,
                after(&[&snap]),
                &delta,
                EXTENDED_LOOSE,
            ));
            for (name, frame) in
                [("trades", trades), ("mark", mark), ("index", index), ("funding", funding)]
            {
                assert!(frame.contains("\"seq\": 0"), "{name}: renumbering failed");
                let name = format!("v2 real {name}");
                out.push(scenario(
                    &name,
                    v2,
                    "BTC-USD",
                    c,
                    at,
                    acks.clone(),
                    &frame,
                    EXTENDED_LOOSE,
                ));
            }
        }
        out
    })
}

pub(super) fn binance_scenarios() -> &'static [Scenario] {
    static CELL: OnceLock<Vec<Scenario>> = OnceLock::new();
    CELL.get_or_init(|| {
        let c = Stream::Combined;
        let mut out = Vec::new();
        for (venue, symbol) in [
            (Venue::BinanceSpot, "BTCUSDT"),
            (Venue::BinanceUsdm, "BTCUSDT"),
            (Venue::BinanceCoinm, "BTCUSD_PERP"),
        ] {
            let snap = bn_snapshot(venue, symbol, 10);
            // The first diff kept holds the snapshot's next update id: spot chains
            // `U = previous u + 1`, so that is the next step; a futures step starts at
            // `U = u − 1`, so it is the snapshot's own step.
            let first = if venue == Venue::BinanceSpot { 11 } else { 10 };
            let d1 = bn_diff(venue, symbol, first, &[(30_000 * BTC, BTC)], &[(30_001 * BTC, 0)]);
            let d2 = bn_diff(
                venue,
                symbol,
                first + 1,
                &[(29_998 * BTC, 4 * BTC)],
                &[(30_003 * BTC, BTC / 3)],
            );
            let trade = bn_trade(venue, symbol, 555);
            let name = |what: &str| format!("{venue:?} sim {what}");
            let o = BINANCE_LOOSE;
            out.push(scenario(
                &name("snapshot"),
                venue,
                symbol,
                c,
                SIM_AT,
                vec![d1.clone()],
                &snap,
                o,
            ));
            out.push(scenario(
                &name("bridging diff"),
                venue,
                symbol,
                c,
                SIM_AT,
                vec![snap.clone()],
                &d1,
                o,
            ));
            out.push(scenario(
                &name("diff"),
                venue,
                symbol,
                c,
                SIM_AT,
                vec![snap.clone(), d1.clone()],
                &d2,
                o,
            ));
            out.push(scenario(&name("trade"), venue, symbol, c, SIM_AT, vec![], &trade, o));
        }
        for (venue, file, symbol) in [
            (Venue::BinanceSpot, "BINANCE", "NKNUSDT"),
            (Venue::BinanceUsdm, "BINANCE_FUTURES", "SUSHIUSDT"),
        ] {
            let Some(real) = binance_fixture(file, symbol, venue == Venue::BinanceSpot) else {
                continue;
            };
            let o = BINANCE_LOOSE;
            let name = |what: &str| format!("{venue:?} real {what}");
            out.push(scenario(
                &name("snapshot"),
                venue,
                symbol,
                c,
                real.at,
                vec![real.bridge.clone()],
                &real.snapshot,
                o,
            ));
            out.push(scenario(
                &name("bridging diff"),
                venue,
                symbol,
                c,
                real.at,
                vec![real.snapshot.clone()],
                &real.bridge,
                o,
            ));
            out.push(scenario(
                &name("diff"),
                venue,
                symbol,
                c,
                real.at,
                vec![real.snapshot.clone(), real.bridge.clone()],
                &real.next,
                o,
            ));
            out.push(scenario(
                &name("bookTicker"),
                venue,
                symbol,
                c,
                real.at,
                vec![],
                &real.ticker,
                o,
            ));
        }
        out
    })
}

// ---------------------------------------------------------------------------------------
// Fixtures.

pub(super) fn extended_fixtures() -> Option<PathBuf> {
    crate::common::shared_fixtures("extended/rpc_v2")
}

/// The frames of one fixture file as written (pretty-printed): a JSON array of frames, or
/// one frame.
pub(super) fn fixture_frames(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match J::parse(&text) {
        J::Arr(items) => items.iter().map(J::text).collect(),
        _ => vec![text],
    }
}

pub(super) fn field_text(frame: &str, key: &str) -> String {
    let J::Obj(fields) = J::parse(frame) else { panic!("not an object: {frame:.80}") };
    let quoted = format!("\"{key}\"");
    fields.into_iter().find(|(k, _)| *k == quoted).map(|(_, v)| v.text()).expect("field")
}

pub(super) struct BinanceReal {
    at: i64,
    snapshot: String,
    bridge: String,
    next: String,
    ticker: String,
}

pub(super) fn number_field(frame: &J, key: &str) -> Option<u64> {
    let J::Obj(fields) = frame else { return None };
    let quoted = format!("\"{key}\"");
    fields.iter().find(|(k, _)| *k == quoted).and_then(|(_, v)| match v {
        J::Raw(raw) => raw.parse().ok(),
        _ => None,
    })
}

/// A symbol's first REST snapshot, the diff that bridges it, the diff after that and a
/// bookTicker frame, from the cryptofeed captures.
pub(super) fn binance_fixture(file: &str, symbol: &str, spot: bool) -> Option<BinanceReal> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/binance");
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent (the team's real venue frames)", dir.display());
        return None;
    }
    let read = |name: String| {
        std::fs::read_to_string(dir.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let lower = symbol.to_ascii_lowercase();
    let http = read(format!("{file}.http.0.0"));
    let (time, snapshot) =
        http.lines().find(|l| l.contains(&format!("symbol={symbol}&"))).and_then(|l| {
            let (head, body) = l.split_once(": {")?;
            let time: f64 = head.rsplit(' ').next()?.parse().ok()?;
            Some((time, format!("{{{body}")))
        })?;
    let last = number_field(&J::parse(&snapshot), "lastUpdateId")?;
    let ws = read(format!("{file}.ws.1.0"));
    let frames: Vec<&str> =
        ws.lines().skip(1).filter_map(|l| l.split_once(": {").map(|(_, f)| f)).collect();
    let depth_stream = format!("\"stream\":\"{lower}@depth@100ms\"");
    let diffs: Vec<String> = frames
        .iter()
        .filter(|f| f.starts_with(&depth_stream[..]))
        .map(|f| format!("{{{f}"))
        .collect();
    let ids = |text: &str| {
        let J::Obj(fields) = J::parse(text) else { return (0, 0) };
        let data = fields.iter().find(|(k, _)| k == "\"data\"").map(|(_, v)| v.clone());
        let data = data.unwrap_or(J::Raw(String::new()));
        (number_field(&data, "U").unwrap_or(0), number_field(&data, "u").unwrap_or(0))
    };
    let bridge_at = diffs.iter().position(|d| {
        let (first, last_id) = ids(d);
        if spot {
            first <= last + 1 && last < last_id
        } else {
            first <= last && last <= last_id
        }
    })?;
    let ticker_stream = format!("\"stream\":\"{lower}@bookTicker\"");
    let ticker =
        frames.iter().find(|f| f.starts_with(&ticker_stream[..])).map(|f| format!("{{{f}"))?;
    Some(BinanceReal {
        at: (time * 1e9) as i64,
        snapshot,
        bridge: diffs[bridge_at].clone(),
        next: diffs.get(bridge_at + 1)?.clone(),
        ticker,
    })
}
