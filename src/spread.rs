//! `mdkit spread`: today's Avellaneda–Stoikov bid and ask for one market, from the latest row
//! of the `calibration` table and the latest `book_top` frame (the original project's
//! calculate_spread), with docs/MODEL.md's γ modes, spread bounds, fee floor and tick rounding.
//!
//! The quote math lives in [`crate::model::quote`] (shared with the backtester); this module
//! only finds the inputs, merges `--config` with the flags, and prints. It must not be imported
//! by other subcommands.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use arrow::array::{Array, Decimal128Array, RecordBatch, StringArray, TimestampNanosecondArray};
use arrow::compute::cast;
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::prelude::SessionContext;
use serde_json::json;

use crate::estimate::MarketKey;
use crate::model::quote::{
    infer_tick, quote, GammaMode, Quote, QuoteInputs, QuoteSettings, SpreadBound,
};
use crate::model::{EventTime, Price, RecvTime};
use crate::storage::{cast_batch, CalibrationRow, Rows, Session, Table};

/// The distinct best prices of a range (shared with `calibrate` as a file, not as code).
const TICK_SQL: &str = include_str!("../sql/tick.sql");

const AFTER_HELP: &str = "\
Settings come from docs/MODEL.md's defaults, then --config FILE (a JSON object with any of
inventory_horizon_seconds, risk_aversion_gamma, gamma_mode, inventory_skew, max_shift_ticks,
max_inventory_lots, maker_fee_bps, min_spread_bps, max_spread_bps, min_volatility,
max_volatility; other keys are ignored), then the flags.

Units: price is the market's quote currency; sigma in price/sqrt(s), kappa in 1/price, gamma in
1/price. The default gamma mode, inventory_skew, is scale-free: gamma is chosen so that at q_max
the reservation price moves by --inventory-skew (default 1) times the mean base half-spread
(1/kappa_bid + 1/kappa_ask)/2; --gamma-mode constant --gamma G sets gamma in 1/price instead.

Quotes: delta = gamma*sigma^2*T + (2/gamma)*ln(1 + gamma/kappa) per side (2/kappa as gamma -> 0)
is the whole spread that side's kappa implies; r = mid - gamma*sigma^2*T*q is the reservation
price; bid = r - delta_bid/2, ask = r + delta_ask/2; then the spread is
kept within [max(min_spread_bps, 2 x maker fee), max_spread_bps] of mid about its centre, the
bid is rounded down and the ask up to the tick, neither crosses the opposite best, and there is
no bid at +q_max nor ask at -q_max.

Examples:
  mdkit spread --market ETH-USD
  mdkit spread --market ETH-USD --inventory -3 --gamma-mode inventory_scaled --format json";

/// Print today's optimal bid and ask from the latest calibration row and book frame.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Venue of the market to quote (needed when the market is recorded on several venues)
    #[arg(long)]
    pub venue: Option<String>,
    /// Market to quote (default: the only market in the calibration table)
    #[arg(long)]
    pub market: Option<String>,
    /// Risk aversion γ, 1/price, for --gamma-mode constant or inventory_scaled (default 0.1)
    #[arg(long)]
    pub gamma: Option<f64>,
    /// How γ is chosen: inventory_skew (default), constant, inventory_scaled or max_shift
    #[arg(long, value_parser = |s: &str| s.parse::<GammaMode>())]
    pub gamma_mode: Option<GammaMode>,
    /// Reservation shift at q_max in mean base half-spreads, for inventory_skew (default 1)
    #[arg(long)]
    pub inventory_skew: Option<f64>,
    /// Signed inventory q, in lots (units of order_size)
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub inventory: f64,
    /// T, the inventory horizon, in seconds (default 1800)
    #[arg(long, value_name = "SECONDS")]
    pub horizon: Option<f64>,
    /// q_max in lots (default 10: max_inventory = 10 x order_size)
    #[arg(long, value_name = "LOTS")]
    pub max_inventory: Option<f64>,
    /// Reservation shift at q_max for --gamma-mode max_shift, in ticks (default 10)
    #[arg(long)]
    pub max_shift_ticks: Option<f64>,
    /// Maker fee in basis points (default 1.5); the spread is at least twice it
    #[arg(long)]
    pub maker_fee_bps: Option<f64>,
    /// Lower spread bound in basis points of mid (default 2)
    #[arg(long)]
    pub min_spread_bps: Option<f64>,
    /// Upper spread bound in basis points of mid (default 200)
    #[arg(long)]
    pub max_spread_bps: Option<f64>,
    /// Tick size (default: the gcd of the best prices over the calibration window)
    #[arg(long, value_name = "PRICE", value_parser = Price::parse)]
    pub tick: Option<Price>,
    /// JSON settings file (see below)
    #[arg(long, value_name = "FILE", env = "MDKIT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One labelled line per value
    Table,
    /// A header line and one line of values (the JSON object's keys, in name order)
    Csv,
    /// One JSON object
    Json,
}

/// The quoting settings of a settings file (other commands' keys are ignored). A γ without a
/// γ mode means a constant γ.
pub fn file_settings(path: &Path) -> anyhow::Result<QuoteSettings> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the settings file {}", path.display()))?;
    let bad = || format!("bad settings in {}", path.display());
    let value: serde_json::Value = serde_json::from_str(&text).with_context(bad)?;
    let mut settings: QuoteSettings = serde_json::from_value(value.clone()).with_context(bad)?;
    if value.get("risk_aversion_gamma").is_some() && value.get("gamma_mode").is_none() {
        settings.gamma_mode = GammaMode::Constant;
    }
    Ok(settings)
}

/// Every key a settings file may hold for `spread`.
pub fn config_keys() -> Vec<String> {
    match serde_json::to_value(QuoteSettings::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Every quoting setting as the settings file `path` (or none) leaves it, with `true` where
/// the file set it: for `mdkit config show`.
pub fn effective_config(path: Option<&Path>) -> anyhow::Result<Vec<(String, String, bool)>> {
    let settings = path.map(file_settings).transpose()?.unwrap_or_default();
    let file: serde_json::Value = match path {
        Some(p) => serde_json::from_str(&std::fs::read_to_string(p)?)?,
        None => json!({}),
    };
    let serde_json::Value::Object(values) = serde_json::to_value(&settings)? else {
        anyhow::bail!("quote settings are not an object")
    };
    Ok(values
        .into_iter()
        .map(|(k, v)| {
            let set = file.get(&k).is_some();
            let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            (k, text, set)
        })
        .collect())
}

/// The settings after defaults, the settings file and the flags.
pub fn settings(args: &Args) -> anyhow::Result<QuoteSettings> {
    let mut s = match crate::process::config_source(args.config.as_deref()) {
        Some(source) => file_settings(&source.path)?,
        None => QuoteSettings::default(),
    };
    let set = |field: &mut f64, value: Option<f64>| {
        if let Some(v) = value {
            *field = v;
        }
    };
    set(&mut s.risk_aversion_gamma, args.gamma);
    set(&mut s.inventory_skew, args.inventory_skew);
    set(&mut s.inventory_horizon_seconds, args.horizon);
    set(&mut s.max_inventory_lots, args.max_inventory);
    set(&mut s.max_shift_ticks, args.max_shift_ticks);
    set(&mut s.maker_fee_bps, args.maker_fee_bps);
    set(&mut s.min_spread_bps, args.min_spread_bps);
    set(&mut s.max_spread_bps, args.max_spread_bps);
    match args.gamma_mode {
        Some(mode) => s.gamma_mode = mode,
        // A γ alone means a constant γ.
        None if args.gamma.is_some() && s.gamma_mode == GammaMode::InventorySkew => {
            s.gamma_mode = GammaMode::Constant
        }
        None => {}
    }
    s.validate()?;
    Ok(s)
}

/// The latest book frame's best prices.
struct Top {
    ts_event: EventTime,
    bid: Price,
    ask: Price,
}

pub fn run(data: &Path, args: Args) -> anyhow::Result<()> {
    crate::process::require_data_dir(data)?;
    let settings = settings(&args)?;
    anyhow::ensure!(args.inventory.is_finite(), "--inventory must be a number");
    let runtime = crate::process::query_runtime()?;
    let (venue, market, row, top, tick) = runtime.block_on(inputs(data, &args))?;
    let missing = |what: &str, reason: &Option<String>| {
        anyhow::anyhow!(
            "the latest calibration of {market} (window ending {}) has no {what}{}; run mdkit \
             calibrate over a longer window",
            row.window_end,
            reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
        )
    };
    let sigma = row.sigma.ok_or_else(|| missing("sigma", &None))?;
    let kappa_bid = row.bid.kappa.ok_or_else(|| missing("kappa_bid", &row.bid.reason))?;
    let kappa_ask = row.ask.kappa.ok_or_else(|| missing("kappa_ask", &row.ask.reason))?;
    let inputs = QuoteInputs {
        best_bid: top.bid,
        best_ask: top.ask,
        tick,
        sigma,
        kappa_bid,
        kappa_ask,
        inventory_lots: args.inventory,
    };
    let q = quote(&settings, &inputs).with_context(|| format!("quoting {market}"))?;
    let age_ns = RecvTime::now().as_nanos().saturating_sub(top.ts_event.as_nanos());
    if age_ns > STALE_NS {
        tracing::warn!(
            "the latest book frame of {venue}/{market} is from {} ({} ago): these are not \
             today's quotes; record the market (mdkit collect) for live ones",
            top.ts_event,
            age_text(age_ns)
        );
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        Format::Json | Format::Csv => {
            let value = json!({
                "venue": venue,
                "market": market,
                "calibration_window_end": row.window_end.to_string(),
                "book_ts_event": top.ts_event.to_string(),
                "book_age_seconds": age_ns as f64 / 1e9,
                "best_bid": top.bid.to_string(),
                "best_ask": top.ask.to_string(),
                "tick": tick.to_string(),
                "inventory": args.inventory,
                "gamma_mode": settings.gamma_mode.as_str(),
                "horizon_seconds": settings.inventory_horizon_seconds,
                "sigma_calibrated": sigma,
                "kappa_bid": kappa_bid,
                "kappa_ask": kappa_ask,
                "mid": q.mid,
                "sigma": q.sigma,
                "gamma": q.gamma,
                "reservation": q.reservation,
                "delta_bid": q.delta_bid,
                "delta_ask": q.delta_ask,
                "raw_bid": q.raw_bid,
                "raw_ask": q.raw_ask,
                "min_spread": q.min_spread,
                "max_spread": q.max_spread,
                "spread_clamped": q.spread_clamped.map(|b| match b {
                    SpreadBound::Min => "min",
                    SpreadBound::Max => "max",
                }),
                "bid": q.bid.map(|p| p.to_string()),
                "ask": q.ask.map(|p| p.to_string()),
            });
            if args.format == Format::Json {
                writeln!(out, "{value}")?;
            } else {
                write_csv(&mut out, &value)?;
            }
        }
        Format::Table => write_table(
            &mut out,
            &format!("{venue}/{market}"),
            &row,
            &top,
            tick,
            &settings,
            &inputs,
            &q,
            age_ns,
        )?,
    }
    out.flush().context("cannot write the result")?;
    Ok(())
}

/// The JSON object as CSV: keys on the first line, values on the second, null as empty.
fn write_csv(out: &mut impl Write, value: &serde_json::Value) -> anyhow::Result<()> {
    let Some(object) = value.as_object() else { anyhow::bail!("the result is not an object") };
    let cell = |v: &serde_json::Value| match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    let values: Vec<String> = object.values().map(cell).collect();
    writeln!(out, "{}", keys.join(","))?;
    writeln!(out, "{}", values.join(","))?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn write_table(
    out: &mut impl Write,
    market: &str,
    row: &CalibrationRow,
    top: &Top,
    tick: Price,
    settings: &QuoteSettings,
    inputs: &QuoteInputs,
    q: &Quote,
    age_ns: i64,
) -> anyhow::Result<()> {
    let quote_text = |p: Option<Price>, limit: &str| {
        p.map_or_else(|| format!("none ({limit})"), |p| p.to_string())
    };
    let lines = [
        ("market", market.to_owned()),
        ("calibration", format!("window ending {}", row.window_end)),
        ("sigma (price/√s)", clamped_text(inputs.sigma, q.sigma)),
        (
            "kappa_bid / kappa_ask",
            format!("{:.6} / {:.6} (1/price)", inputs.kappa_bid, inputs.kappa_ask),
        ),
        (
            "book",
            format!("{} / {} at {} ({} old)", top.bid, top.ask, top.ts_event, age_text(age_ns)),
        ),
        ("tick", tick.to_string()),
        ("inventory q (lots)", format!("{}", inputs.inventory_lots)),
        ("gamma (1/price)", format!("{:.6e} ({})", q.gamma, settings.gamma_mode)),
        ("T (s)", format!("{}", settings.inventory_horizon_seconds)),
        ("mid", format!("{:.8}", q.mid)),
        ("reservation price r", format!("{:.8}", q.reservation)),
        ("full spread δ_bid", format!("{:.8} (from kappa_bid; bid₀ = r − δ_bid/2)", q.delta_bid)),
        ("full spread δ_ask", format!("{:.8} (from kappa_ask; ask₀ = r + δ_ask/2)", q.delta_ask)),
        (
            "spread bounds",
            format!(
                "{:.8} .. {:.8} (fee floor {} bps): {}",
                q.min_spread,
                q.max_spread,
                2.0 * settings.maker_fee_bps,
                match q.spread_clamped {
                    None => "inside, not clamped",
                    Some(SpreadBound::Min) => "clamped to the lower bound",
                    Some(SpreadBound::Max) => "clamped to the upper bound",
                }
            ),
        ),
        ("bid", quote_text(q.bid, "inventory at +q_max")),
        ("ask", quote_text(q.ask, "inventory at -q_max")),
    ];
    for (label, value) in lines {
        writeln!(out, "{label:<22} {value}")?;
    }
    Ok(())
}

/// A book older than this is not "today's" market: `spread` warns.
const STALE_NS: i64 = 5 * 60 * 1_000_000_000;

/// σ as calibrated, and the clamped value only when the clamp changed it.
fn clamped_text(calibrated: f64, used: f64) -> String {
    if calibrated == used {
        format!("{calibrated:.6}")
    } else {
        format!("{calibrated:.6} (clamped to {used:.6})")
    }
}

/// An age in the largest unit that reads well: `42s`, `17m`, `5h`, `3 days`.
fn age_text(ns: i64) -> String {
    let s = ns / 1_000_000_000;
    match s {
        _ if s < 120 => format!("{s}s"),
        _ if s < 7200 => format!("{}m", s / 60),
        _ if s < 2 * 86_400 => format!("{}h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

fn params(venue: &str, market: &str) -> Vec<(&'static str, ScalarValue)> {
    vec![("venue", ScalarValue::from(venue)), ("market", ScalarValue::from(market))]
}

async fn query(
    ctx: &SessionContext,
    text: &str,
    params: Vec<(&str, ScalarValue)>,
) -> anyhow::Result<Vec<RecordBatch>> {
    let df = ctx.sql(text).await.context("query failed")?;
    let df = df.with_param_values(ParamValues::from(params)).context("query failed")?;
    df.collect().await.context("query failed")
}

fn column<T: Array + 'static>(batch: &RecordBatch, i: usize) -> anyhow::Result<&T> {
    batch.column(i).as_any().downcast_ref::<T>().with_context(|| {
        format!(
            "unexpected type {} of column {}",
            batch.column(i).data_type(),
            batch.schema().field(i).name()
        )
    })
}

/// A text column as plain Utf8, whatever string type the engine chose.
fn texts(batch: &RecordBatch, i: usize) -> anyhow::Result<Vec<String>> {
    let column = cast(batch.column(i), &arrow::datatypes::DataType::Utf8)?;
    let values = column.as_any().downcast_ref::<StringArray>().context("text column")?;
    Ok((0..values.len()).map(|r| values.value(r).to_owned()).collect())
}

async fn inputs(
    data: &Path,
    args: &Args,
) -> anyhow::Result<(String, String, CalibrationRow, Top, Price)> {
    let session = Session::open(data)
        .await
        .with_context(|| format!("cannot open the data tree at {}", data.display()))?;
    let ctx = &session.ctx;
    // Which market: the flag, or the only one that has a calibration.
    let batches =
        query(ctx, "SELECT DISTINCT venue, market FROM calibration ORDER BY 1, 2", vec![]).await?;
    let mut known = Vec::new();
    for b in &batches {
        known.extend(texts(b, 0)?.into_iter().zip(texts(b, 1)?));
    }
    let known: Vec<MarketKey> =
        known.into_iter().map(|(venue, market)| MarketKey { venue, market }).collect();
    let names = || known.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let chosen = MarketKey::choose(&known, args.venue.as_deref(), args.market.as_deref());
    let (venue, market) = match chosen.as_slice() {
        [one] => (one.venue.clone(), one.market.clone()),
        [] if args.venue.is_none() && args.market.is_none() => anyhow::bail!(
            "the calibration table under {} is empty: run `mdkit calibrate` first",
            data.display()
        ),
        [] => anyhow::bail!(
            "{}: run `mdkit calibrate{}{}` first",
            MarketKey::none_found(
                "calibration",
                data,
                &known,
                args.venue.as_deref(),
                args.market.as_deref()
            ),
            args.venue.as_deref().map(|v| format!(" --venue {v}")).unwrap_or_default(),
            args.market.as_deref().map(|m| format!(" --market {m}")).unwrap_or_default(),
        ),
        _ => anyhow::bail!(
            "several markets are calibrated ({}): choose one with --venue and --market",
            names()
        ),
    };
    let row = latest_calibration(ctx, &venue, &market).await?;
    let top_sql = "SELECT ts_event, bid_price_0, ask_price_0 FROM book_top \
        WHERE venue = $venue AND market = $market \
          AND bid_price_0 IS NOT NULL AND ask_price_0 IS NOT NULL \
        ORDER BY ts_event DESC, ts_recv DESC, conn DESC, seq DESC LIMIT 1";
    let batches = query(ctx, top_sql, params(&venue, &market)).await?;
    let batch = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .with_context(|| format!("{market} has no book frame with both a bid and an ask"))?;
    let price = |i: usize| -> anyhow::Result<Price> {
        let values = column::<Decimal128Array>(batch, i)?;
        Ok(Price::from_raw(i64::try_from(values.value(0)).context("price out of range")?))
    };
    let top = Top {
        ts_event: EventTime::from_nanos(column::<TimestampNanosecondArray>(batch, 0)?.value(0)),
        bid: price(1)?,
        ask: price(2)?,
    };
    let tick = match args.tick {
        Some(tick) => tick,
        None => {
            let mut p = params(&venue, &market);
            let utc = Some(Arc::from("UTC"));
            p.push((
                "window_start",
                ScalarValue::TimestampNanosecond(Some(row.window_start.as_nanos()), utc.clone()),
            ));
            p.push((
                "window_end",
                ScalarValue::TimestampNanosecond(Some(row.window_end.as_nanos()), utc),
            ));
            let mut prices = vec![top.bid, top.ask];
            for b in query(ctx, TICK_SQL, p).await? {
                let values = column::<Decimal128Array>(&b, 0)?;
                for i in 0..b.num_rows() {
                    prices.push(Price::from_raw(
                        i64::try_from(values.value(i)).context("price out of range")?,
                    ));
                }
            }
            infer_tick(prices).context("cannot infer the tick: pass --tick")?
        }
    };
    Ok((venue, market, row, top, tick))
}

/// The calibration row with the latest window end; of several for that window (other settings,
/// or a copy a crash left behind), the latest-written. Rows from before `written_at` existed
/// come last among equals.
async fn latest_calibration(
    ctx: &SessionContext,
    venue: &str,
    market: &str,
) -> anyhow::Result<CalibrationRow> {
    let schema = Table::Calibration.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let text = format!(
        "SELECT {} FROM calibration WHERE venue = $venue AND market = $market \
         ORDER BY window_end DESC, written_at DESC NULLS LAST LIMIT 1",
        names.join(", ")
    );
    let batches = query(ctx, &text, params(venue, market)).await?;
    let batch = batches.iter().find(|b| b.num_rows() > 0).context("no calibration row")?;
    // Same columns in the file order; cast away the SQL layer's types (dictionary partition
    // values, nullability) so the table's own decoder reads it.
    let batch = cast_batch(batch, schema).context("calibration row")?;
    let mut rows = CalibrationRow::from_batch(&batch).context("calibration row")?;
    rows.pop().context("no calibration row")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"risk_aversion_gamma": 0.3, "gamma_mode": "max_shift", "order_size": "0.01"}"#,
        )
        .unwrap();
        let mut args = Args {
            venue: None,
            market: None,
            gamma: None,
            gamma_mode: None,
            inventory_skew: None,
            inventory: 0.0,
            horizon: Some(60.0),
            max_inventory: None,
            max_shift_ticks: None,
            maker_fee_bps: None,
            min_spread_bps: None,
            max_spread_bps: None,
            tick: None,
            config: Some(path),
            format: Format::Table,
        };
        let s = settings(&args).unwrap();
        assert_eq!((s.risk_aversion_gamma, s.gamma_mode), (0.3, GammaMode::MaxShift));
        assert_eq!(s.inventory_horizon_seconds, 60.0);
        args.gamma_mode = Some(GammaMode::Constant);
        args.gamma = Some(0.2);
        let s = settings(&args).unwrap();
        assert_eq!((s.risk_aversion_gamma, s.gamma_mode), (0.2, GammaMode::Constant));
    }
}
