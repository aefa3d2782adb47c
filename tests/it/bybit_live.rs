//! `mdkit collect --venue bybit-linear` end to end against `mdkit simulate --venue
//! bybit-linear`: Bybit's `u` rises by one per book message, so the shared tests of
//! `counted` hold (see there).

use mdkit::venue::bybit;

use crate::counted::{kill_9_loses_nothing_journaled, session_with_breaks, Counted};

const BYBIT: Counted = Counted {
    venue: "bybit-linear",
    market: "ETHUSDT",
    path: "/v5/public/linear",
    timed_book: true,
    trade_ids,
};

fn trade_ids(text: &str) -> Vec<i64> {
    match bybit::parse(text) {
        Ok(bybit::Message::Trades(message)) => {
            message.trades.iter().map(|t| t.id.table_id()).collect()
        }
        _ => Vec::new(),
    }
}

#[test]
fn a_bybit_session_with_u_breaks_is_explained_verified_and_reimported() {
    session_with_breaks(&BYBIT);
}

#[test]
fn kill_9_of_a_bybit_recorder_loses_nothing_that_reached_the_journal() {
    kill_9_loses_nothing_journaled(&BYBIT);
}
