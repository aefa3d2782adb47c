//! `--walk-forward train=6h,test=1h[,step=1h]`: tune on one span, trade the next
//! (docs/MODEL.md "Walk-forward").
//!
//! The range is cut into folds: fold k trains on `[from + k·step, + train)` and tests on the
//! `test` that follows. For each fold every point of the `--sweep` grid runs over the train
//! span only, the best by `--select` is chosen, and that point alone runs over the test span.
//! The test runs are stitched into one out-of-sample account: each fold starts flat, and its
//! equity is added to what the folds before it ended with.
//!
//! No look-ahead, by construction: a run reads only the rows of its own span (its replay is
//! listed for that span alone), and the recalibrations it may use are fitted on rows received
//! before their own instant (the schedule of [`super::schedule`], shared by every run). The
//! choice of a fold reads only its train runs' summaries. `tests/it/walkforward.rs` checks both
//! on recordings that agree up to an instant and differ after it.
//!
//! Output: one folder per fold (`fold-01/train/<point>/`, `fold-01/test/`), and at the top the
//! stitched out-of-sample `equity.parquet`, `fills.parquet`, `chart.svg` (folds shaded) and
//! `summary.json`, the per-fold table `walkforward.txt` and `walkforward.json`.

use std::fmt::Write as _;
use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use serde::Serialize;

use super::metrics::Metrics;
use super::output::Output;
use super::replay::{Listings, Source};
use super::report::{EquitySample, Fill, Format, Markout, SinkError, Summary, SHARPE_LABEL};
use super::sweep::{self, Point, Schedules};
use super::{print, run_one, visible_bar, Prepared};
use crate::backtest::report::Sink;
use crate::model::money::Money;
use crate::model::{parse_duration, Qty, RecvTime, NANOS_PER_SEC};

/// The fold lengths of `--walk-forward`, in nanoseconds of the strategy clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    pub train_ns: i64,
    pub test_ns: i64,
    /// From one fold's start to the next; at least `test_ns`, so test spans never overlap.
    pub step_ns: i64,
}

impl FromStr for Spec {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> anyhow::Result<Self> {
        let (mut train, mut test, mut step) = (None, None, None);
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').with_context(|| {
                format!("{part:?}: expected train=DURATION, test=DURATION or step=DURATION")
            })?;
            let slot = match key.trim() {
                "train" => &mut train,
                "test" => &mut test,
                "step" => &mut step,
                other => anyhow::bail!("{other:?} is not train, test or step"),
            };
            let ns = parse_duration(value.trim())
                .ok()
                .and_then(|d| i64::try_from(d.as_nanos()).ok())
                .filter(|ns| *ns > 0)
                .with_context(|| {
                    format!("{part:?}: {value:?} is not a positive duration such as 2h or 90m")
                })?;
            anyhow::ensure!(slot.is_none(), "{key} is given twice");
            *slot = Some(ns);
        }
        let train_ns = train.context("train=DURATION is missing (e.g. train=6h,test=1h)")?;
        let test_ns = test.context("test=DURATION is missing (e.g. train=6h,test=1h)")?;
        let step_ns = step.unwrap_or(test_ns);
        anyhow::ensure!(
            step_ns >= test_ns,
            "step ({}s) is shorter than test ({}s): the test spans would overlap and could not \
             be stitched into one account; use step >= test",
            step_ns / NANOS_PER_SEC,
            test_ns / NANOS_PER_SEC
        );
        Ok(Self { train_ns, test_ns, step_ns })
    }
}

/// What a fold's best grid point maximises, over its train span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Select {
    /// The Sharpe ratio (1-minute returns, annualised).
    #[default]
    Sharpe,
    /// Net PnL.
    Pnl,
    /// Net PnL over the maximum drawdown.
    PnlDd,
}

impl Select {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        match text {
            "sharpe" | "" => Ok(Self::Sharpe),
            "pnl" => Ok(Self::Pnl),
            "pnl_dd" => Ok(Self::PnlDd),
            other => anyhow::bail!("bad --select {other:?}: sharpe, pnl or pnl_dd"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sharpe => "sharpe",
            Self::Pnl => "pnl",
            Self::PnlDd => "pnl_dd",
        }
    }

    /// The value compared; `None` (no Sharpe without two minutes of moves, no drawdown) ranks
    /// below every value.
    pub fn score(self, s: &Summary) -> Option<f64> {
        match self {
            Self::Sharpe => s.sharpe,
            Self::Pnl => Some(s.pnl_net.to_f64()),
            Self::PnlDd => s.pnl_over_max_drawdown,
        }
    }

    /// The index of the best summary: highest score, the first point of the grid on a tie.
    pub fn best(self, summaries: &[Summary]) -> usize {
        let mut best: Option<(usize, f64)> = None;
        for (i, s) in summaries.iter().enumerate() {
            if let Some(v) = self.score(s).filter(|v| v.is_finite()) {
                if best.is_none_or(|(_, b)| v > b) {
                    best = Some((i, v));
                }
            }
        }
        best.map_or(0, |(i, _)| i)
    }
}

/// One fold's spans, `[from, to)` on the strategy clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fold {
    /// 1-based.
    pub number: usize,
    pub train: (RecvTime, RecvTime),
    pub test: (RecvTime, RecvTime),
}

/// Every whole fold of `[from, to)`: a fold whose test span would end after `to` is not run.
pub fn folds(from: RecvTime, to: RecvTime, spec: Spec) -> Vec<Fold> {
    let mut out = Vec::new();
    let mut start = from.as_nanos();
    loop {
        let train_end = start.saturating_add(spec.train_ns);
        let test_end = train_end.saturating_add(spec.test_ns);
        if test_end > to.as_nanos() {
            return out;
        }
        let t = RecvTime::from_nanos;
        out.push(Fold {
            number: out.len() + 1,
            train: (t(start), t(train_end)),
            test: (t(train_end), t(test_end)),
        });
        start = start.saturating_add(spec.step_ns);
    }
}

/// One fold's result, as `walkforward.json` holds it.
#[derive(Debug, Clone, Serialize)]
pub struct FoldResult {
    pub fold: usize,
    #[serde(serialize_with = "time")]
    pub train_from: RecvTime,
    #[serde(serialize_with = "time")]
    pub train_to: RecvTime,
    #[serde(serialize_with = "time")]
    pub test_from: RecvTime,
    #[serde(serialize_with = "time")]
    pub test_to: RecvTime,
    /// The chosen grid point's label (empty without `--sweep`).
    pub selected: String,
    /// Every point's train score, in grid order (`None`: no score).
    pub train_scores: Vec<(String, Option<f64>)>,
    pub in_sample: Figures,
    pub out_of_sample: Figures,
}

/// The figures compared in and out of sample.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub pnl_net: Money,
    pub sharpe: Option<f64>,
    pub max_drawdown: Money,
    pub pnl_over_max_drawdown: Option<f64>,
    pub fills: u64,
}

impl Figures {
    fn of(s: &Summary) -> Self {
        Self {
            pnl_net: s.pnl_net,
            sharpe: s.sharpe,
            max_drawdown: s.max_drawdown,
            pnl_over_max_drawdown: s.pnl_over_max_drawdown,
            fills: s.fills_bid + s.fills_ask,
        }
    }
}

fn time<S: serde::Serializer>(t: &RecvTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_string())
}

/// `walkforward.json`: the folds and the stitched out-of-sample summary.
#[derive(Debug, Serialize)]
struct Report<'a> {
    select: &'static str,
    train_seconds: i64,
    test_seconds: i64,
    step_seconds: i64,
    folds: &'a [FoldResult],
    out_of_sample: &'a Summary,
}

/// The stitched out-of-sample account: each test run's fills and seconds, its cash and
/// equity shifted by what the folds before it ended with, into one [`Output`].
struct Stitch {
    out: Output,
    metrics: Metrics,
    /// Net PnL of the folds already stitched.
    offset: Money,
    last_ts: i64,
}

impl Sink for Stitch {
    fn fill(&mut self, fill: &Fill) -> Result<(), SinkError> {
        let fill = Fill { cash: fill.cash + self.offset, ..fill.clone() };
        self.out.fill(&fill)
    }

    fn equity(&mut self, sample: &EquitySample) -> Result<(), SinkError> {
        let sample = EquitySample {
            cash: sample.cash + self.offset,
            equity: sample.equity + self.offset,
            ..sample.clone()
        };
        self.metrics.on_equity(sample.ts.as_nanos(), sample.equity);
        self.last_ts = sample.ts.as_nanos();
        self.out.equity(&sample)
    }
}

/// The stitched summary: sums of the test runs, markouts and captured spread weighted by
/// their fills, and Sharpe, Sortino and drawdown of the stitched per-second equity.
fn stitched_summary(stitch: Stitch, tests: &[Summary]) -> (Output, Summary) {
    let mut s = Summary::default();
    if let Some(first) = tests.first() {
        s.venue.clone_from(&first.venue);
        s.market.clone_from(&first.market);
        s.base_asset.clone_from(&first.base_asset);
        s.quote_currency.clone_from(&first.quote_currency);
        s.contract.clone_from(&first.contract);
        s.settlement_currency.clone_from(&first.settlement_currency);
        s.units.clone_from(&first.units);
        s.strategy.clone_from(&first.strategy);
        s.clock.clone_from(&first.clock);
        s.feed_latency_ns = first.feed_latency_ns;
        s.first_ts_recv = first.first_ts_recv;
    }
    s.last_ts_recv = tests.last().and_then(|t| t.last_ts_recv);
    let net: Money = tests.iter().map(|t| t.pnl_net).sum();
    stitch.metrics.finish(stitch.last_ts, None, net, &mut s);
    let weighted = |f: &dyn Fn(&Summary) -> Option<(f64, u64)>| -> Option<f64> {
        let (sum, n) = tests
            .iter()
            .filter_map(f)
            .fold((0.0, 0u64), |(a, n), (v, k)| (a + v * k as f64, n + k));
        (n > 0).then(|| sum / n as f64)
    };
    let fills = |t: &Summary| t.fills_bid + t.fills_ask;
    s.avg_captured_spread = weighted(&|t| t.avg_captured_spread.map(|v| (v, fills(t))));
    s.avg_captured_spread_bps = weighted(&|t| t.avg_captured_spread_bps.map(|v| (v, fills(t))));
    s.markouts = tests
        .first()
        .map(|t| t.markouts.iter().map(|m| m.horizon_seconds).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|h| {
            let at = |t: &Summary| t.markouts.iter().find(|m| m.horizon_seconds == h).cloned();
            Markout {
                horizon_seconds: h,
                fills: tests.iter().filter_map(at).map(|m| m.fills).sum(),
                mean: weighted(&|t| at(t).and_then(|m| m.mean.map(|v| (v, m.fills)))),
                mean_bps: weighted(&|t| at(t).and_then(|m| m.mean_bps.map(|v| (v, m.fills)))),
            }
        })
        .collect();
    for t in tests {
        s.events += t.events;
        s.duration_seconds += t.duration_seconds;
        s.orders_sent += t.orders_sent;
        s.orders_rejected += t.orders_rejected;
        s.fills_bid += t.fills_bid;
        s.fills_ask += t.fills_ask;
        s.fills_queue += t.fills_queue;
        s.fills_through += t.fills_through;
        s.fills_crossing += t.fills_crossing;
        s.fills_taker += t.fills_taker;
        s.volume = Qty::from_raw(s.volume.raw() + t.volume.raw());
        s.turnover += t.turnover;
        s.pnl_gross += t.pnl_gross;
        s.fees += t.fees;
        s.pnl_realized += t.pnl_realized;
        s.pnl_unrealized += t.pnl_unrealized;
        s.max_abs_inventory = s.max_abs_inventory.max(t.max_abs_inventory);
    }
    s.pnl_net = net;
    if let Some(last) = tests.last() {
        s.final_position = last.final_position;
        s.final_cash = net - last.pnl_net + last.final_cash;
        s.final_mid = last.final_mid;
    }
    (stitch.out, s)
}

/// Runs every fold into `dir` and prints the per-fold table (or CSV/JSON per `format`).
#[allow(clippy::too_many_arguments)]
pub fn run(
    data: &Path,
    prepared: &Prepared,
    points: &[Point],
    schedules: &Schedules,
    spec: Spec,
    select: Select,
    jobs: usize,
    dir: &Path,
    format: Format,
) -> anyhow::Result<()> {
    let source = &prepared.listings.source;
    let folds = folds(source.from, source.to, spec);
    anyhow::ensure!(!folds.is_empty(), "--walk-forward: the range holds no whole fold");
    let (first, last) = (folds[0].test.0, folds[folds.len() - 1].test.1);
    let title = format!("{} walk-forward out of sample ({} folds)", source.market, folds.len());
    let mut stitch = Stitch {
        out: Output::create(dir, title, first, last, indicatif::ProgressBar::hidden())
            .with_context(|| format!("cannot create the output in {}", dir.display()))?,
        metrics: Metrics::with_contract(prepared.spec.contract),
        offset: Money::ZERO,
        last_ts: first.as_nanos(),
    };
    let bar = visible_bar();
    bar.set_length(folds.len() as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("folds {bar:40} {pos}/{len} {eta}") {
        bar.set_style(style);
    }
    let mut results = Vec::with_capacity(folds.len());
    let mut tests = Vec::with_capacity(folds.len());
    for fold in &folds {
        let fold_dir = dir.join(format!("fold-{:02}", fold.number));
        let span = |(from, to): (RecvTime, RecvTime)| -> anyhow::Result<Prepared> {
            let source = Source { from, to, ..source.clone() };
            Ok(Prepared {
                root: prepared.root.clone(),
                key: prepared.key.clone(),
                recording: prepared.recording.clone(),
                listings: Listings::within(data, &source, &prepared.recording)?,
                spec: prepared.spec,
                destination: prepared.destination.clone(),
            })
        };
        let train = span(fold.train).with_context(|| format!("fold {} train span", fold.number))?;
        let trained =
            sweep::run_points(&train, points, schedules, jobs, &fold_dir.join("train"), "train")
                .with_context(|| format!("fold {} train runs", fold.number))?;
        drop(train);
        let best = select.best(&trained);
        let point = &points[best];
        let test = span(fold.test).with_context(|| format!("fold {} test span", fold.number))?;
        let schedule = sweep::schedule_of(schedules, &point.settings)?;
        let tested = run_one(
            &test,
            test.listings.replay(),
            &point.settings,
            schedule,
            &fold_dir.join("test"),
            indicatif::ProgressBar::hidden(),
            Some(&mut stitch),
        )
        .with_context(|| format!("fold {} test run", fold.number))?;
        stitch.offset += tested.pnl_net;
        results.push(FoldResult {
            fold: fold.number,
            train_from: fold.train.0,
            train_to: fold.train.1,
            test_from: fold.test.0,
            test_to: fold.test.1,
            selected: point.label.clone(),
            train_scores: points
                .iter()
                .zip(&trained)
                .map(|(p, s)| (p.label.clone(), select.score(s)))
                .collect(),
            in_sample: Figures::of(&trained[best]),
            out_of_sample: Figures::of(&tested),
        });
        tests.push(tested);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let (mut out, summary) = stitched_summary(stitch, &tests);
    for fold in &folds {
        out.shade(fold.test.0, fold.test.1, &format!("fold {}", fold.number));
    }
    out.finish(&summary)
        .with_context(|| format!("cannot write the output in {}", dir.display()))?;
    let text = table(select, &results, &summary);
    let file = dir.join("walkforward.txt");
    std::fs::write(&file, &text).with_context(|| format!("cannot write {}", file.display()))?;
    let report = Report {
        select: select.name(),
        train_seconds: spec.train_ns / NANOS_PER_SEC,
        test_seconds: spec.test_ns / NANOS_PER_SEC,
        step_seconds: spec.step_ns / NANOS_PER_SEC,
        folds: &results,
        out_of_sample: &summary,
    };
    let mut json = serde_json::to_vec_pretty(&report).context("cannot format walkforward.json")?;
    json.push(b'\n');
    let file = dir.join("walkforward.json");
    std::fs::write(&file, &json).with_context(|| format!("cannot write {}", file.display()))?;
    let labels: Vec<String> = results.iter().map(|r| format!("fold {}", r.fold)).collect();
    let runs: Vec<(&str, &Summary)> = labels
        .iter()
        .map(String::as_str)
        .zip(&tests)
        .chain([("out of sample", &summary)])
        .collect();
    print(format, &text, &runs, dir)
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

/// The per-fold table: spans, the chosen point, and the in-sample and out-of-sample figures
/// side by side; then the stitched out-of-sample line.
pub fn table(select: Select, folds: &[FoldResult], total: &Summary) -> String {
    let short = |t: RecvTime| t.to_datetime().format("%m-%d %H:%M").to_string();
    let mut rows: Vec<Vec<String>> = vec![[
        "fold",
        "train",
        "test",
        "selected",
        &format!("train {}", select.name()),
        "pnl in",
        "pnl out",
        "sharpe in",
        "sharpe out",
        "max dd out",
        "fills in/out",
    ]
    .map(String::from)
    .to_vec()];
    for f in folds {
        let score = f.train_scores.iter().find(|(l, _)| *l == f.selected).and_then(|(_, v)| *v);
        rows.push(vec![
            f.fold.to_string(),
            format!("{} .. {}", short(f.train_from), short(f.train_to)),
            format!("{} .. {}", short(f.test_from), short(f.test_to)),
            if f.selected.is_empty() { "(one point)".to_owned() } else { f.selected.clone() },
            opt(score),
            f.in_sample.pnl_net.to_string(),
            f.out_of_sample.pnl_net.to_string(),
            opt(f.in_sample.sharpe),
            opt(f.out_of_sample.sharpe),
            f.out_of_sample.max_drawdown.to_string(),
            format!("{}/{}", f.in_sample.fills, f.out_of_sample.fills),
        ]);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (c, value) in row.iter().enumerate() {
            let w = widths[c];
            // Writing to a String cannot fail.
            let _ =
                if c < 4 { write!(line, "{value:<w$}  ") } else { write!(line, "{value:>w$}  ") };
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "out of sample, stitched: pnl net {}, {SHARPE_LABEL} {}, max drawdown {}, fills {}",
        total.pnl_net,
        opt(total.sharpe),
        total.max_drawdown,
        total.fills_bid + total.fills_ask
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600 * NANOS_PER_SEC;

    #[test]
    fn folds_step_through_the_range_and_stop_before_a_partial_test() {
        let spec: Spec = "train=2h,test=1h".parse().unwrap();
        assert_eq!(spec, Spec { train_ns: 2 * H, test_ns: H, step_ns: H });
        let t = RecvTime::from_nanos;
        let folds = folds(t(0), t(6 * H + H / 2), spec);
        assert_eq!(folds.len(), 4);
        assert_eq!(folds[0].train, (t(0), t(2 * H)));
        assert_eq!(folds[0].test, (t(2 * H), t(3 * H)));
        assert_eq!(folds[3].train, (t(3 * H), t(5 * H)));
        assert_eq!(folds[3].test, (t(5 * H), t(6 * H)));
        let wide: Spec = "train=2h, test=1h, step=2h".parse().unwrap();
        assert_eq!(super::folds(t(0), t(6 * H), wide).len(), 2);
        assert!(super::folds(t(0), t(2 * H), spec).is_empty());
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        let err = |text: &str| format!("{:#}", text.parse::<Spec>().unwrap_err());
        assert!(err("train=2h").contains("test=DURATION is missing"));
        assert!(err("train=2h,test=1h,step=30m").contains("would overlap"));
        assert!(err("train=2h,test=soon").contains("not a positive duration"));
        assert!(err("train=2h,test=1h,train=3h").contains("given twice"));
        assert!(err("train=2h,test=1h,fold=3").contains("not train, test or step"));
    }

    #[test]
    fn the_best_point_has_the_highest_score_and_none_ranks_last() {
        let with = |sharpe: Option<f64>, pnl: i64| Summary {
            sharpe,
            pnl_net: Money::from_units(pnl),
            ..Summary::default()
        };
        let runs = [with(None, 50), with(Some(1.0), -5), with(Some(2.0), 10), with(Some(2.0), 40)];
        assert_eq!(Select::Sharpe.best(&runs), 2, "the first of a tie");
        assert_eq!(Select::Pnl.best(&runs), 0);
        assert_eq!(Select::PnlDd.best(&runs), 0, "no score anywhere: the first point");
        assert!(Select::parse("calmar").is_err());
    }
}
