//! Queue position of a resting order at its price level (docs/MODEL.md `queue` fill model), after
//! hftbacktest's queue models, in their deterministic expected-value form: no random draws.
//!
//! An order joins the back of its level: `ahead` = the visible size when it arrives. Trades
//! at its price consume `ahead` first. A decrease of the level's size is partly the trades
//! already counted (subtracted, so they do not advance the order twice) and partly
//! cancellations, of which the model puts a share ahead of the order:
//! `risk_averse` none, `prob_power(n)` aheadⁿ / (aheadⁿ + behindⁿ), `prob_log`
//! ln(1+ahead) / (ln(1+ahead) + ln(1+behind)) with sizes in base units. `ahead` never exceeds
//! the level's size. The share is `f64` statistics; the position stays in exact raw units,
//! rounded so the order advances less, not more.

use crate::backtest::settings::QueueModel;
use crate::model::{Qty, UNIT};

/// One order's place in its level, in raw quantity units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Queue {
    /// Size ahead of the order.
    pub ahead: i64,
    /// Trades at the order's price since the level's last size update.
    traded: i64,
}

impl Queue {
    /// At the back of a level of `level` visible size.
    pub fn join(level: Qty) -> Self {
        Self { ahead: level.raw().max(0), traded: 0 }
    }

    /// A trade of `qty` at the order's price: it consumes the queue ahead first; returns the
    /// part that reaches the order.
    pub fn trade(&mut self, qty: Qty) -> Qty {
        let qty = qty.raw().max(0);
        self.traded += qty;
        let used = qty.min(self.ahead);
        self.ahead -= used;
        Qty::from_raw(qty - used)
    }

    /// The level's size changed from `prev` to `new`.
    pub fn depth(&mut self, prev: Qty, new: Qty, model: QueueModel) {
        let (prev, new) = (prev.raw().max(0), new.raw().max(0));
        let change = prev - new - self.traded;
        self.traded = 0;
        if change <= 0 {
            self.ahead = self.ahead.min(new);
            return;
        }
        let front = self.ahead;
        let back = (prev - front).max(0);
        let share = match model {
            QueueModel::RiskAverse => 0.0,
            QueueModel::ProbPower(n) => {
                let (f, b) = ((front as f64).powf(n), (back as f64).powf(n));
                if f + b > 0.0 {
                    f / (f + b)
                } else {
                    1.0
                }
            }
            QueueModel::ProbLog => {
                let unit = UNIT as f64;
                let (f, b) = ((front as f64 / unit).ln_1p(), (back as f64 / unit).ln_1p());
                if f + b > 0.0 {
                    f / (f + b)
                } else {
                    1.0
                }
            }
        };
        // Rounded down: the order advances by whole raw units it surely earned.
        let ahead_cut = ((change as f64) * share).floor() as i64;
        let behind_cut = change - ahead_cut;
        // More cancelled behind than there is behind: the excess came from ahead.
        let overflow = (behind_cut - back).max(0);
        self.ahead = (front - ahead_cut - overflow).clamp(0, new);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(raw: i64) -> Qty {
        Qty::from_raw(raw)
    }

    #[test]
    fn trades_consume_the_queue_ahead_first() {
        let mut queue = Queue::join(q(10));
        assert_eq!(queue.trade(q(4)), q(0));
        assert_eq!(queue.ahead, 6);
        assert_eq!(queue.trade(q(9)), q(3));
        assert_eq!(queue.ahead, 0);
    }

    #[test]
    fn a_decrease_already_explained_by_trades_does_not_advance_twice() {
        // 10 ahead; a trade of 4 at the price; then the level shows 16 → 12 (the trade).
        let mut queue = Queue::join(q(10));
        queue.trade(q(4));
        queue.depth(q(16), q(12), QueueModel::ProbPower(1.0));
        assert_eq!(queue.ahead, 6);
    }

    #[test]
    fn cancellations_advance_by_the_model_s_share() {
        // ahead 30, behind 10 (level 40), 8 cancelled.
        for (model, want) in [
            (QueueModel::RiskAverse, 30),
            // share ahead 30/(30+10) = 0.75 → 6 ahead: 24.
            (QueueModel::ProbPower(1.0), 24),
            // 900/(900+100) = 0.9 → 7.2, floored to 7 ahead: 23.
            (QueueModel::ProbPower(2.0), 23),
        ] {
            let mut queue = Queue::join(q(30));
            queue.depth(q(40), q(32), model);
            assert_eq!(queue.ahead, want, "{model:?}");
        }
        // prob_log in base units: ln 31 / (ln 31 + ln 11) = 0.58882997…; of 8 units that is
        // 4.71063978 units ahead, so 30 − 4.71063978 = 25.28936022 remain.
        let mut queue = Queue::join(q(30 * UNIT));
        queue.depth(q(40 * UNIT), q(32 * UNIT), QueueModel::ProbLog);
        assert_eq!(queue.ahead, 2_528_936_022);
    }

    #[test]
    fn ahead_never_exceeds_the_level() {
        let mut queue = Queue::join(q(10));
        // Risk averse: a level that shrinks to 3 leaves at most 3 ahead.
        queue.depth(q(10), q(3), QueueModel::RiskAverse);
        assert_eq!(queue.ahead, 3);
        // More cancelled than there is behind: the rest came from ahead.
        let mut queue = Queue::join(q(10));
        queue.depth(q(12), q(4), QueueModel::ProbPower(1.0));
        // share 10/12 of 8 = 6.67 → 6 ahead, 2 behind (all of it): ahead 4.
        assert_eq!(queue.ahead, 4);
    }
}
