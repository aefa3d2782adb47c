//! `mdkit collect --venue dydx` end to end against `mdkit simulate --venue dydx`: the
//! indexer's `message_id` rises by one per message of a connection, so the shared tests of
//! `counted` hold (see there). Book messages carry no venue time: only trades are matched
//! field for field against the simulator's log.

use mdkit::venue::dydx;

use crate::counted::{kill_9_loses_nothing_journaled, session_with_breaks, Counted};

const DYDX: Counted = Counted {
    venue: "dydx",
    market: "ETH-USD",
    // A bare ws://HOST:PORT gets the venue's path, /v4/ws.
    path: "",
    timed_book: false,
    trade_ids,
};

fn trade_ids(text: &str) -> Vec<i64> {
    match dydx::parse(text) {
        Ok(dydx::Message::Trades { trades, .. }) => {
            trades.iter().map(|t| t.id.table_id()).collect()
        }
        _ => Vec::new(),
    }
}

#[test]
fn a_dydx_session_with_message_id_breaks_is_explained_verified_and_reimported() {
    session_with_breaks(&DYDX);
}

#[test]
fn kill_9_of_a_dydx_recorder_loses_nothing_that_reached_the_journal() {
    kill_9_loses_nothing_journaled(&DYDX);
}
