//! Why a backtest quoted or filled little: one line per reason, computed from what the run
//! met ([`Diagnostics`], the summary, the recalibrations), so a run that shows zeros says why
//! instead of leaving the user to guess. Pure: no I/O.

use crate::model::NANOS_PER_SEC;

use super::event::Recalibration;
use super::report::{Diagnostics, Summary};
use super::settings::{FillModel, Settings};

/// Whether a fit can quote both sides (σ and κ on each).
fn both_sides(r: &Recalibration) -> bool {
    r.fit.sigma.is_some() && r.fit.bid.kappa.is_some() && r.fit.ask.kappa.is_some()
}

fn secs(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0} s")
    } else {
        format!("{x:.1} s")
    }
}

/// A trade distance quantile; the histogram's last bucket holds everything beyond it.
fn within(ticks: f64) -> String {
    if ticks >= super::engine::DISTANCE_BUCKETS as f64 / 2.0 {
        format!("more than {}", ticks - 0.5)
    } else {
        format!("{ticks}")
    }
}

/// The reasons, in the order they act: warm-up, calibration, then fills.
pub fn notes(
    summary: &Summary,
    settings: &Settings,
    recalibrations: &[Recalibration],
) -> Vec<String> {
    let d: &Diagnostics = &summary.diagnostics;
    let fills = summary.fills_bid + summary.fills_ask;
    let mut out = Vec::new();
    if summary.orders_sent == 0 {
        let warmup = settings.warmup_period_seconds;
        if d.book_frames > 0 && d.frames_warming_up == d.book_frames {
            let range = summary.duration_seconds;
            // A tenth of the range, at most a minute, whole seconds.
            let suggest = (range / 10.0).floor().clamp(1.0, 60.0);
            out.push(format!(
                "no orders: warm-up ({}) covers the whole range ({}); try --set warmup={suggest:.0}s",
                secs(warmup),
                secs((range * 10.0).round() / 10.0),
            ));
        } else if settings.strategy.uses_fit() && d.frames_with_fit == 0 {
            let window = settings.calibration_window_seconds;
            let every = settings.recalibration_interval_seconds;
            match recalibrations.iter().find(|r| both_sides(r)) {
                Some(r) => out.push(format!(
                    "no orders: no fit: the first recalibration with both sides was at {}, \
                     after the last book frame{} (window {}, every {})",
                    r.at,
                    summary.last_ts_recv.map_or_else(String::new, |t| format!(" ({t})")),
                    secs(window),
                    secs(every),
                )),
                None => {
                    let why = recalibrations.last().map_or_else(
                        || "no recalibration fell in the range".to_owned(),
                        |r| {
                            let side = |s: &crate::storage::SideFit| {
                                s.reason.clone().unwrap_or_else(|| "fitted".to_owned())
                            };
                            format!(
                                "the last, at {}, saw {} trades: bid {}; ask {}",
                                r.at,
                                r.fit.trades,
                                side(&r.fit.bid),
                                side(&r.fit.ask)
                            )
                        },
                    );
                    out.push(format!(
                        "no orders: no fit: no recalibration had A and kappa on both sides \
                         (window {}, every {}); {why}",
                        secs(window),
                        secs(every),
                    ));
                }
            }
        }
    } else if fills == 0 {
        if let (Some(quote), Some(p50), Some(p90)) =
            (d.quote_distance_ticks_mean, d.trade_distance_ticks_p50, d.trade_distance_ticks_p90)
        {
            let head = format!(
                "quotes never filled: quotes averaged {quote:.1} ticks from mid, while half of the \
                 {} trades printed within {} ticks of it and 90 % within {}",
                d.trades,
                within(p50),
                within(p90)
            );
            if quote > p90 {
                out.push(format!("{head}; a smaller gamma quotes tighter"));
            } else if settings.fill_model == FillModel::Queue {
                out.push(format!(
                    "{head}: the quotes were in reach but never got through the queue ahead \
                     (--fill-model cross ignores it)"
                ));
            } else {
                out.push(head);
            }
        } else if d.trades == 0 {
            out.push("quotes never filled: no trade printed while the book had two sides".into());
        }
    }
    out
}

/// A one-line hint when the venue clock spans much more than the receive clock (an
/// accelerated simulator recording): ratio above 2.
pub fn clock_hint(event_span_ns: i64, recv_span_ns: i64) -> Option<String> {
    if event_span_ns <= 0 || event_span_ns <= 2 * recv_span_ns.max(0) {
        return None;
    }
    let s = |ns: i64| ns as f64 / NANOS_PER_SEC as f64;
    Some(format!(
        "hint: ts_event spans {:.0} s but ts_recv only {:.0} s ({:.0}x): an accelerated \
         recording (mdkit simulate --speed N)? --clock event runs the strategy on the venue clock",
        s(event_span_ns),
        s(recv_span_ns),
        event_span_ns as f64 / recv_span_ns.max(1) as f64
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(orders: u64, frames: u64, warming: u64, duration: f64) -> Summary {
        Summary {
            orders_sent: orders,
            duration_seconds: duration,
            diagnostics: Diagnostics {
                book_frames: frames,
                frames_warming_up: warming,
                ..Diagnostics::default()
            },
            ..Summary::default()
        }
    }

    #[test]
    fn warm_up_over_the_whole_range_is_named_with_a_fix() {
        let got = notes(&summary(0, 100, 100, 650.2), &Settings::default(), &[]);
        assert_eq!(
            got,
            ["no orders: warm-up (900 s) covers the whole range (650.2 s); try --set warmup=60s"]
        );
        // Quoting after the warm-up without a fit: the calibration is named instead.
        let got = notes(&summary(0, 100, 40, 650.0), &Settings::default(), &[]);
        assert_eq!(got.len(), 1);
        assert!(
            got[0].starts_with("no orders: no fit: no recalibration had A and kappa"),
            "{got:?}"
        );
        assert!(got[0].contains("window 3600 s, every 600 s"), "{got:?}");
        let filled = Summary { fills_ask: 1, ..summary(3, 100, 40, 650.0) };
        assert!(notes(&filled, &Settings::default(), &[]).is_empty(), "it filled: nothing to say");
    }

    #[test]
    fn far_quotes_are_compared_with_where_trades_print() {
        let mut s = summary(10, 100, 0, 650.0);
        s.diagnostics.quote_distance_ticks_mean = Some(45.0);
        s.diagnostics.trades = 200;
        s.diagnostics.trade_distance_ticks_p50 = Some(0.5);
        s.diagnostics.trade_distance_ticks_p90 = Some(3.0);
        let got = notes(&s, &Settings::default(), &[]);
        assert_eq!(
            got,
            ["quotes never filled: quotes averaged 45.0 ticks from mid, while half of the 200 \
              trades printed within 0.5 ticks of it and 90 % within 3; a smaller gamma quotes \
              tighter"]
        );
        s.diagnostics.quote_distance_ticks_mean = Some(1.0);
        let got = notes(&s, &Settings::default(), &[]);
        assert!(got[0].ends_with("(--fill-model cross ignores it)"), "{got:?}");
    }

    #[test]
    fn the_clock_hint_needs_a_ratio_above_two() {
        let s = NANOS_PER_SEC;
        assert_eq!(clock_hint(650 * s, 651 * s), None);
        assert_eq!(clock_hint(60 * s, 30 * s), None);
        let hint = clock_hint(1200 * s, 20 * s).unwrap();
        assert!(hint.contains("1200 s but ts_recv only 20 s (60x)"), "{hint}");
        assert!(hint.contains("--clock event"), "{hint}");
    }
}
