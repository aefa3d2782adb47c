//! The hftbacktest baseline of issue 22 (BENCHMARKS.md "Backtest against hftbacktest"): one
//! market of an mdkit data tree replayed by hftbacktest 0.9.4, trading a line-for-line port of
//! mdkit's Avellaneda–Stoikov strategy (src/backtest/strategy/avellaneda.rs and
//! src/model/quote.rs at their defaults) fed mdkit's own recalibration schedule
//! (`recalibrations.parquet` of an `mdkit backtest` run), so the baseline never calibrates.
//!
//! Conversion (timed apart, on stderr): the `depth` rows become DEPTH events (a snapshot frame
//! first clears both sides: "the rows of a frame with snapshot = true replace the whole
//! book"), `trades` become TRADE events with the taker's side as BUY/SELL, and each
//! `book_top` row becomes a local-only marker event, so the strategy acts on book frames as
//! mdkit's does (a marker changes no state in hftbacktest). Events are in mdkit's replay order
//! `(ts_recv, table rank, conn, seq)`; `local_ts = ts_recv` and `exch_ts` is mdkit's exchange
//! clock (src/backtest/engine.rs): `ts_event` plus the running minimum of `ts_recv − ts_event`,
//! never going backwards. Prices and sizes are f64 here (hftbacktest's types); the quote is
//! computed on integer ticks as mdkit does.
//!
//! Not ported: quote validity (hftbacktest orders never expire; the strategy refreshes every
//! frame anyway), and a refresh of an unchanged quote is not sent (in hftbacktest it would
//! only block the next change for a round trip). An order with a request in flight is left
//! alone (hftbacktest refuses a second request); mdkit queues the second one.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use arrow::array::{
    Array, BooleanArray, Decimal128Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampNanosecondArray, UInt32Array,
};
use hftbacktest::backtest::assettype::LinearAsset;
use hftbacktest::backtest::data::{Data, DataSource};
use hftbacktest::backtest::models::{
    CommonFees, ConstantLatency, RiskAdverseQueueModel, TradingValueFeeModel,
};
use hftbacktest::backtest::{Backtest, ExchangeKind, L2AssetBuilder};
use hftbacktest::prelude::*;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

/// mdkit's fixed-point scale: prices and sizes are integers of 10⁻⁸.
const UNIT: f64 = 1e8;
const NS: i64 = 1_000_000_000;

const USAGE: &str = "usage: hftbacktest-baseline --data DIR --venue V --market M --tick T --lot L \
[--recalibrations FILE] [--no-quote] [--warmup S] [--gap-threshold S] [--cooldown S] \
[--order-size Q] [--max-inventory-lots N] [--latency-ms MS] [--maker-fee-bps B] \
[--taker-fee-bps B] [--horizon S] [--skew K] [--min-spread-bps B] [--max-spread-bps B]";

/// The command line; defaults are mdkit's (docs/MODEL.md), except tick and lot, which mdkit
/// infers from the tree and the caller passes.
struct Args {
    data: PathBuf,
    venue: String,
    market: String,
    tick: i64,
    lot: i64,
    recalibrations: Option<PathBuf>,
    no_quote: bool,
    warmup_ns: i64,
    gap_ns: i64,
    cooldown_ns: i64,
    order_size: Option<i64>,
    max_inventory_lots: f64,
    latency_ns: i64,
    maker_fee_bps: f64,
    taker_fee_bps: f64,
    quote: QuoteSettings,
}

/// Parses a decimal like `0.01` into integer units of 10⁻⁸.
fn raw(text: &str) -> Result<i64> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > 8 {
        bail!("{text}: more than 8 decimals");
    }
    let int: i64 = int.parse().with_context(|| format!("bad decimal {text}"))?;
    let frac_raw: i64 =
        if frac.is_empty() { 0 } else { format!("{frac:0<8}").parse().context("bad decimal")? };
    Ok(int * 100_000_000 + frac_raw)
}

fn seconds(text: &str) -> Result<i64> {
    let s: f64 = text.parse().with_context(|| format!("bad seconds {text}"))?;
    Ok((s * NS as f64).round() as i64)
}

impl Args {
    fn parse() -> Result<Self> {
        let mut it = std::env::args().skip(1);
        let mut a = Args {
            data: PathBuf::new(),
            venue: String::new(),
            market: String::new(),
            tick: 0,
            lot: 0,
            recalibrations: None,
            no_quote: false,
            warmup_ns: 900 * NS,
            gap_ns: 1800 * NS,
            cooldown_ns: 60 * NS,
            order_size: None,
            max_inventory_lots: 10.0,
            latency_ns: 10_000_000,
            maker_fee_bps: 1.5,
            taker_fee_bps: 4.5,
            quote: QuoteSettings::default(),
        };
        while let Some(flag) = it.next() {
            if flag == "--no-quote" {
                a.no_quote = true;
                continue;
            }
            let value = it.next().ok_or_else(|| anyhow!("{flag} needs a value\n{USAGE}"))?;
            match flag.as_str() {
                "--data" => a.data = value.into(),
                "--venue" => a.venue = value,
                "--market" => a.market = value,
                "--tick" => a.tick = raw(&value)?,
                "--lot" => a.lot = raw(&value)?,
                "--recalibrations" => a.recalibrations = Some(value.into()),
                "--warmup" => a.warmup_ns = seconds(&value)?,
                "--gap-threshold" => a.gap_ns = seconds(&value)?,
                "--cooldown" => a.cooldown_ns = seconds(&value)?,
                "--order-size" => a.order_size = Some(raw(&value)?),
                "--max-inventory-lots" => a.max_inventory_lots = value.parse()?,
                "--latency-ms" => a.latency_ns = (value.parse::<f64>()? * 1e6).round() as i64,
                "--maker-fee-bps" => a.maker_fee_bps = value.parse()?,
                "--taker-fee-bps" => a.taker_fee_bps = value.parse()?,
                "--horizon" => a.quote.horizon = value.parse()?,
                "--skew" => a.quote.skew = value.parse()?,
                "--min-spread-bps" => a.quote.min_spread_bps = value.parse()?,
                "--max-spread-bps" => a.quote.max_spread_bps = value.parse()?,
                _ => bail!("unknown flag {flag}\n{USAGE}"),
            }
        }
        if a.venue.is_empty() || a.market.is_empty() || a.tick <= 0 || a.lot <= 0 {
            bail!("--data, --venue, --market, --tick and --lot are required\n{USAGE}");
        }
        if !a.no_quote && a.recalibrations.is_none() {
            bail!("quoting needs --recalibrations (an mdkit run's recalibrations.parquet)");
        }
        a.quote.max_inventory_lots = a.max_inventory_lots;
        a.quote.maker_fee_bps = a.maker_fee_bps;
        Ok(a)
    }
}

// ---------------------------------------------------------------------------------------
// Reading the tree.

/// The part files of one table for the market, in path order (dates sort as text).
fn parts(root: &Path, table: &str, venue: &str, market: &str) -> Result<Vec<PathBuf>> {
    let dir = root.join(table).join(format!("venue={venue}")).join(format!("market={market}"));
    let mut out = Vec::new();
    let dates = match std::fs::read_dir(&dir) {
        Ok(d) => d,
        Err(_) => return Ok(out),
    };
    for date in dates {
        let date = date?.path();
        if !date.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&date)? {
            let f = f?.path();
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with("part-") && name.ends_with(".parquet") {
                out.push(f);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Every record batch of the files, with only `columns` decoded.
fn batches(files: &[PathBuf], columns: &[&str]) -> Result<Vec<RecordBatch>> {
    let mut out = Vec::new();
    for f in files {
        let file = File::open(f).with_context(|| format!("open {}", f.display()))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .with_context(|| format!("read {}", f.display()))?;
        let schema = builder.parquet_schema();
        let indices: Vec<usize> = columns
            .iter()
            .map(|c| {
                schema
                    .columns()
                    .iter()
                    .position(|d| d.name() == *c)
                    .ok_or_else(|| anyhow!("{}: no column {c}", f.display()))
            })
            .collect::<Result<_>>()?;
        let mask = ProjectionMask::leaves(schema, indices);
        for b in builder.with_projection(mask).with_batch_size(65_536).build()? {
            out.push(b?);
        }
    }
    Ok(out)
}

fn col<'a, T: 'static>(b: &'a RecordBatch, name: &str) -> Result<&'a T> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| anyhow!("column {name} missing or of another type"))
}

/// One converted row with mdkit's replay key.
struct Keyed {
    key: (i64, u8, u32, i64),
    ts_event: i64,
    ev: u64,
    px: f64,
    qty: f64,
}

/// Rank of each table within one instant (src/backtest/event.rs): depth, top, trades.
const DEPTH: u8 = 0;
const TOP: u8 = 1;
const TRADE: u8 = 2;

/// The strategy-side marker of a book frame: a local event of no kind, which hftbacktest's
/// local processor reads past without changing anything.
const FRAME_MARKER: u64 = LOCAL_EVENT;

/// Reads the three tables over `[from, to)` of `ts_recv` (default: the book frames' span, as
/// `mdkit backtest` without `--from/--to`) and returns the events in mdkit's replay order.
fn convert(a: &Args) -> Result<(Vec<Event>, usize)> {
    let (root, v, m) = (&a.data, &a.venue, &a.market);
    let mut rows: Vec<Keyed> = Vec::new();
    // Book frames: the range and the markers.
    let top = batches(&parts(root, "book_top", v, m)?, &["ts_event", "ts_recv", "conn", "seq"])?;
    let (mut from, mut to) = (i64::MAX, i64::MIN);
    for b in &top {
        let (te, tr) = (
            col::<TimestampNanosecondArray>(b, "ts_event")?,
            col::<TimestampNanosecondArray>(b, "ts_recv")?,
        );
        let (conn, seq) = (col::<UInt32Array>(b, "conn")?, col::<Int64Array>(b, "seq")?);
        for i in 0..b.num_rows() {
            let r = tr.value(i);
            from = from.min(r);
            to = to.max(r + 1);
            rows.push(Keyed {
                key: (r, TOP, conn.value(i), seq.value(i)),
                ts_event: te.value(i),
                ev: FRAME_MARKER,
                px: f64::NAN,
                qty: 0.0,
            });
        }
    }
    if rows.is_empty() {
        bail!("{v}/{m} has no book_top rows under {}", root.display());
    }
    let depth = batches(
        &parts(root, "depth", v, m)?,
        &["ts_event", "ts_recv", "conn", "seq", "snapshot", "side", "price", "qty"],
    )?;
    let mut last_snapshot: Option<(i64, u32, i64)> = None;
    for b in &depth {
        let (te, tr) = (
            col::<TimestampNanosecondArray>(b, "ts_event")?,
            col::<TimestampNanosecondArray>(b, "ts_recv")?,
        );
        let (conn, seq) = (col::<UInt32Array>(b, "conn")?, col::<Int64Array>(b, "seq")?);
        let snap = col::<BooleanArray>(b, "snapshot")?;
        let side = col::<StringArray>(b, "side")?;
        let (price, qty) = (col::<Decimal128Array>(b, "price")?, col::<Decimal128Array>(b, "qty")?);
        for i in 0..b.num_rows() {
            let r = tr.value(i);
            if r < from || r >= to {
                continue;
            }
            let key = (r, DEPTH, conn.value(i), seq.value(i));
            if snap.value(i) && last_snapshot != Some((r, key.2, key.3)) {
                last_snapshot = Some((r, key.2, key.3));
                // Both sides of the book are replaced by the frame's rows.
                rows.push(Keyed {
                    key,
                    ts_event: te.value(i),
                    ev: DEPTH_CLEAR_EVENT | EXCH_EVENT | LOCAL_EVENT,
                    px: 0.0,
                    qty: 0.0,
                });
            }
            let flag = if side.value(i) == "bid" { BUY_EVENT } else { SELL_EVENT };
            rows.push(Keyed {
                key,
                ts_event: te.value(i),
                ev: DEPTH_EVENT | EXCH_EVENT | LOCAL_EVENT | flag,
                px: price.value(i) as f64 / UNIT,
                qty: qty.value(i) as f64 / UNIT,
            });
        }
    }
    let trades = batches(
        &parts(root, "trades", v, m)?,
        &["ts_event", "ts_recv", "conn", "seq", "side", "price", "qty"],
    )?;
    for b in &trades {
        let (te, tr) = (
            col::<TimestampNanosecondArray>(b, "ts_event")?,
            col::<TimestampNanosecondArray>(b, "ts_recv")?,
        );
        let (conn, seq) = (col::<UInt32Array>(b, "conn")?, col::<Int64Array>(b, "seq")?);
        let side = col::<StringArray>(b, "side")?;
        let (price, qty) = (col::<Decimal128Array>(b, "price")?, col::<Decimal128Array>(b, "qty")?);
        for i in 0..b.num_rows() {
            let r = tr.value(i);
            if r < from || r >= to {
                continue;
            }
            // The taker's side: a buy lifts the asks (hftbacktest's BUY trade fills our asks).
            let flag = if side.value(i) == "buy" { BUY_EVENT } else { SELL_EVENT };
            rows.push(Keyed {
                key: (r, TRADE, conn.value(i), seq.value(i)),
                ts_event: te.value(i),
                ev: TRADE_EVENT | EXCH_EVENT | LOCAL_EVENT | flag,
                px: price.value(i) as f64 / UNIT,
                qty: qty.value(i) as f64 / UNIT,
            });
        }
    }
    // Stable: ties keep table order and, within a table, part and row order.
    rows.sort_by_key(|r| r.key);
    let frames = top.iter().map(RecordBatch::num_rows).sum();
    // mdkit's exchange clock: ts_event + the running minimum feed latency, monotone.
    let (mut offset, mut clock) = (i64::MAX, i64::MIN);
    let events = rows
        .into_iter()
        .map(|r| {
            let recv = r.key.0;
            offset = offset.min(recv - r.ts_event);
            clock = clock.max(r.ts_event + offset);
            Event {
                ev: r.ev,
                exch_ts: clock,
                local_ts: recv,
                px: r.px,
                qty: r.qty,
                order_id: 0,
                ival: 0,
                fval: 0.0,
            }
        })
        .collect();
    Ok((events, frames))
}

/// One fit of mdkit's schedule: in force from `at` (strategy clock) on.
#[derive(Debug, Clone, Copy)]
struct Fit {
    at: i64,
    sigma: Option<f64>,
    kappa_bid: Option<f64>,
    kappa_ask: Option<f64>,
}

fn read_fits(path: &Path) -> Result<Vec<Fit>> {
    let mut out = Vec::new();
    for b in batches(&[path.to_path_buf()], &["at", "sigma", "kappa_bid", "kappa_ask"])? {
        let at = col::<TimestampNanosecondArray>(&b, "at")?;
        let f = |name| col::<Float64Array>(&b, name);
        let (s, kb, ka) = (f("sigma")?, f("kappa_bid")?, f("kappa_ask")?);
        let get = |a: &Float64Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
        for i in 0..b.num_rows() {
            out.push(Fit {
                at: at.value(i),
                sigma: get(s, i),
                kappa_bid: get(kb, i),
                kappa_ask: get(ka, i),
            });
        }
    }
    if out.windows(2).any(|w| w[0].at >= w[1].at) {
        bail!("{}: fits are not in time order", path.display());
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// The quote: src/model/quote.rs with gamma_mode = inventory_skew (the default).

#[derive(Debug, Clone)]
struct QuoteSettings {
    horizon: f64,
    skew: f64,
    max_inventory_lots: f64,
    maker_fee_bps: f64,
    min_spread_bps: f64,
    max_spread_bps: f64,
    min_volatility: f64,
    max_volatility: f64,
}

impl Default for QuoteSettings {
    fn default() -> Self {
        Self {
            horizon: 1800.0,
            skew: 1.0,
            max_inventory_lots: 10.0,
            maker_fee_bps: 1.5,
            min_spread_bps: 2.0,
            max_spread_bps: 200.0,
            min_volatility: 1e-12,
            max_volatility: 1e12,
        }
    }
}

fn optimal_delta(gamma: f64, sigma: f64, horizon: f64, kappa: f64) -> f64 {
    let x = gamma / kappa;
    let log_term = if x == 0.0 { 1.0 } else { x.ln_1p() / x };
    gamma * sigma * sigma * horizon + 2.0 / kappa * log_term
}

/// `round_to_tick`: down for the bid, up for the ask, with mdkit's 1e-9 tick tolerance.
fn round_to_tick(value: f64, tick: i64, up: bool) -> Option<i64> {
    let ticks = value / (tick as f64 / UNIT);
    let ticks = if up { (ticks - 1e-9).ceil() } else { (ticks + 1e-9).floor() };
    let limit = 9e17 / tick as f64;
    (ticks.is_finite() && ticks.abs() <= limit).then_some(ticks as i64 * tick)
}

/// Bid and ask prices (raw), each `None` when that side is at q_max; `None` when mdkit's
/// `quote` returns an error.
// The checks are written as mdkit's `quote` writes them.
#[allow(clippy::too_many_arguments, clippy::nonminimal_bool)]
fn quote(
    s: &QuoteSettings,
    best_bid: i64,
    best_ask: i64,
    tick: i64,
    sigma: f64,
    kappa_bid: f64,
    kappa_ask: f64,
    inventory_lots: f64,
) -> Option<(Option<i64>, Option<i64>)> {
    if best_bid >= best_ask
        || !(kappa_bid.is_finite() && kappa_bid > 0.0)
        || !(kappa_ask.is_finite() && kappa_ask > 0.0)
        || !sigma.is_finite()
        || !inventory_lots.is_finite()
    {
        return None;
    }
    let mid = (best_bid as f64 + best_ask as f64) / 2.0 / UNIT;
    let sigma = sigma.clamp(s.min_volatility, s.max_volatility);
    let q_max = s.max_inventory_lots;
    let half_spread = (1.0 / kappa_bid + 1.0 / kappa_ask) / 2.0;
    let gamma = s.skew * half_spread / (sigma * sigma * s.horizon * q_max);
    let delta_bid = optimal_delta(gamma, sigma, s.horizon, kappa_bid);
    let delta_ask = optimal_delta(gamma, sigma, s.horizon, kappa_ask);
    let reservation = mid - gamma * sigma * sigma * s.horizon * inventory_lots;
    let (raw_bid, raw_ask) = (reservation - delta_bid / 2.0, reservation + delta_ask / 2.0);
    let min_spread = mid * s.min_spread_bps.max(2.0 * s.maker_fee_bps) / 1e4;
    let max_spread = mid * s.max_spread_bps / 1e4;
    let centre = (raw_bid + raw_ask) / 2.0;
    let spread = (raw_ask - raw_bid).clamp(min_spread, max_spread);
    let bid = round_to_tick(centre - spread / 2.0, tick, false)?.min(best_ask - tick);
    let ask = round_to_tick(centre + spread / 2.0, tick, true)?.max(best_bid + tick);
    Some(((inventory_lots < q_max).then_some(bid), (inventory_lots > -q_max).then_some(ask)))
}

// ---------------------------------------------------------------------------------------
// The strategy: src/backtest/strategy/avellaneda.rs and `requote` of strategy/mod.rs.

struct Strategy {
    order_size: i64,
    max_inventory: i64,
    cooldown_ns: i64,
    /// When the last fill report of each side (bid, ask) arrived, strategy clock.
    last_fill: [Option<i64>; 2],
    /// Fills already counted, by order id.
    counted: BTreeMap<u64, ()>,
    next_id: u64,
    fills: [u64; 2],
    orders_sent: u64,
}

fn side_index(side: Side) -> usize {
    if side == Side::Buy {
        0
    } else {
        1
    }
}

impl Strategy {
    /// Reads fill reports that arrived by now: cooldown per side.
    fn on_reports<B: Bot<HashMapMarketDepth>>(&mut self, hbt: &mut B, now: i64) {
        for (id, o) in hbt.orders(0) {
            if o.status == Status::Filled && !self.counted.contains_key(id) {
                self.counted.insert(*id, ());
                self.last_fill[side_index(o.side)] = Some(now);
                self.fills[side_index(o.side)] += 1;
            }
        }
        hbt.clear_inactive_orders(Some(0));
    }

    /// `on_top`: the wanted quote per side, then `requote`.
    #[allow(clippy::too_many_arguments)]
    fn on_frame<B: Bot<HashMapMarketDepth>>(
        &mut self,
        hbt: &mut B,
        a: &Args,
        now: i64,
        warming_up: bool,
        fit: Option<&Fit>,
    ) -> Result<()>
    where
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let depth = hbt.depth(0);
        let (bb, ba) = (depth.best_bid_tick(), depth.best_ask_tick());
        let two_sided = bb != INVALID_MIN && ba != INVALID_MAX;
        let position = (hbt.position(0) * UNIT).round() as i64;
        let mut wanted: [Option<(i64, i64)>; 2] = [None, None];
        if let (false, true, Some(fit)) = (warming_up, two_sided, fit) {
            if let (Some(sigma), Some(kb), Some(ka)) = (fit.sigma, fit.kappa_bid, fit.kappa_ask) {
                let inventory_lots = position as f64 / self.order_size as f64;
                if let Some((bid, ask)) =
                    quote(&a.quote, bb * a.tick, ba * a.tick, a.tick, sigma, kb, ka, inventory_lots)
                {
                    let cooling = |i: usize| {
                        self.last_fill[i].is_some_and(|t| now < t.saturating_add(self.cooldown_ns))
                    };
                    let room_bid = (self.max_inventory - position).min(self.order_size);
                    let room_ask = (self.max_inventory + position).min(self.order_size);
                    wanted[0] = bid.filter(|_| room_bid > 0 && !cooling(0)).map(|p| (p, room_bid));
                    wanted[1] = ask.filter(|_| room_ask > 0 && !cooling(1)).map(|p| (p, room_ask));
                }
            }
        }
        for side in [Side::Buy, Side::Sell] {
            let want = wanted[side_index(side)];
            let mut mine: Vec<(u64, i64, f64, Status)> = hbt
                .orders(0)
                .values()
                // Resting, or sent and not answered yet (mdkit's `Sent`).
                .filter(|o| o.side == side && (o.active() || o.req == Status::New))
                .map(|o| (o.order_id, o.price_tick * a.tick, o.leaves_qty, o.req))
                .collect();
            mine.sort_by_key(|o| o.0);
            let mut kept = false;
            for (id, price, leaves, req) in mine {
                if req == Status::Canceled {
                    continue;
                }
                match want {
                    Some((p, q)) if !kept => {
                        kept = true;
                        let same = p == price && (leaves * UNIT).round() as i64 == q;
                        if !same && req == Status::None {
                            hbt.modify(0, id, p as f64 / UNIT, q as f64 / UNIT, false)?;
                            self.orders_sent += 1;
                        }
                    }
                    _ => {
                        if req == Status::None {
                            hbt.cancel(0, id, false)?;
                            self.orders_sent += 1;
                        }
                    }
                }
            }
            if let (false, Some((p, q))) = (kept, want) {
                self.next_id += 1;
                let (px, qty) = (p as f64 / UNIT, q as f64 / UNIT);
                match side {
                    Side::Buy => hbt.submit_buy_order(
                        0,
                        self.next_id,
                        px,
                        qty,
                        TimeInForce::GTX,
                        OrdType::Limit,
                        false,
                    )?,
                    _ => hbt.submit_sell_order(
                        0,
                        self.next_id,
                        px,
                        qty,
                        TimeInForce::GTX,
                        OrdType::Limit,
                        false,
                    )?,
                };
                self.orders_sent += 1;
            }
        }
        Ok(())
    }
}

fn main() -> Result<()> {
    let a = Args::parse()?;
    let t0 = Instant::now();
    let (events, frames_total) = convert(&a)?;
    let fits = match &a.recalibrations {
        Some(p) => read_fits(p)?,
        None => Vec::new(),
    };
    // Book frame times, in order: the strategy acts when the replay reaches one.
    let frames: Vec<i64> =
        events.iter().filter(|e| e.ev == FRAME_MARKER).map(|e| e.local_ts).collect();
    let n_events = events.len();
    let first_recv = events.first().map_or(0, |e| e.local_ts);
    let (tick_f, lot_f) = (a.tick as f64 / UNIT, a.lot as f64 / UNIT);
    let data = Data::from_data(&events);
    drop(events);
    let mut hbt = Backtest::builder()
        .add_asset(
            L2AssetBuilder::new()
                .data(vec![DataSource::Data(data)])
                .latency_model(ConstantLatency::new(a.latency_ns, a.latency_ns))
                .asset_type(LinearAsset::new(1.0))
                .fee_model(TradingValueFeeModel::new(CommonFees::new(
                    a.maker_fee_bps / 1e4,
                    a.taker_fee_bps / 1e4,
                )))
                .exchange(ExchangeKind::NoPartialFillExchange)
                .queue_model(RiskAdverseQueueModel::new())
                .depth(move || HashMapMarketDepth::new(tick_f, lot_f))
                .build()?,
        )
        .build()?;
    let convert_s = t0.elapsed().as_secs_f64();

    let t1 = Instant::now();
    let order_size = a.order_size.unwrap_or(10 * a.lot);
    let mut strategy = Strategy {
        order_size,
        max_inventory: (a.max_inventory_lots * order_size as f64).round() as i64,
        cooldown_ns: a.cooldown_ns,
        last_fill: [None; 2],
        counted: BTreeMap::new(),
        next_id: 0,
        fills: [0; 2],
        orders_sent: 0,
    };
    let (mut frame_i, mut fit_i) = (0usize, 0usize);
    let mut warm_until = first_recv.saturating_add(a.warmup_ns);
    let mut last_recv = first_recv;
    let mut frames_quoted = 0u64;
    loop {
        match hbt.wait_next_feed(!a.no_quote, i64::MAX / 4)? {
            ElapseResult::EndOfData => break,
            ElapseResult::MarketFeed => {
                let now = hbt.current_timestamp();
                if now - last_recv > a.gap_ns {
                    warm_until = now.saturating_add(a.warmup_ns);
                }
                last_recv = now;
                // Every book frame received by now (several share one instant at most).
                let mut frame = false;
                while frame_i < frames.len() && frames[frame_i] <= now {
                    frame_i += 1;
                    frame = true;
                }
                if !frame || a.no_quote {
                    continue;
                }
                while fit_i < fits.len() && fits[fit_i].at <= now {
                    fit_i += 1;
                }
                let fit = fit_i.checked_sub(1).map(|i| &fits[i]);
                strategy.on_reports(&mut hbt, now);
                frames_quoted += 1;
                strategy.on_frame(&mut hbt, &a, now, now < warm_until, fit)?;
            }
            ElapseResult::OrderResponse => {
                let now = hbt.current_timestamp();
                strategy.on_reports(&mut hbt, now);
            }
            _ => {}
        }
    }
    let run_s = t1.elapsed().as_secs_f64();
    let end = hbt.current_timestamp();
    strategy.on_reports(&mut hbt, end);
    let sv = hbt.state_values(0).clone();
    let depth = hbt.depth(0);
    let mid = (depth.best_bid() + depth.best_ask()) / 2.0;
    let equity = sv.balance + sv.position * mid - sv.fee;
    hbt.close()?;
    eprintln!("conversion_seconds {convert_s:.3}");
    eprintln!("run_seconds {run_s:.3}");
    println!(
        "events {n_events} frames {frames_total} frames_acted {frames_quoted} fits {} \
         orders_sent {} fills_bid {} fills_ask {} fills {} position {} volume {} fees {:.8} \
         pnl_net_marked_to_mid {:.8}",
        fits.len(),
        strategy.orders_sent,
        strategy.fills[0],
        strategy.fills[1],
        sv.num_trades,
        sv.position,
        sv.trading_volume,
        sv.fee,
        equity
    );
    Ok(())
}
