//! `mdkit collect --venue coinbase` end to end against `mdkit simulate --venue coinbase`:
//! Advanced Trade's `sequence_num` rises by one per message of a connection, heartbeats and
//! subscriptions included, so the shared tests of `counted` hold (see there).

use mdkit::venue::coinbase;

use crate::counted::{kill_9_loses_nothing_journaled, session_with_breaks, Counted};

const COINBASE: Counted = Counted {
    venue: "coinbase",
    market: "BTC-USD",
    // Advanced Trade serves its streams at the host's root.
    path: "",
    timed_book: true,
    trade_ids,
};

fn trade_ids(text: &str) -> Vec<i64> {
    let Ok(coinbase::Message::Data(envelope)) = coinbase::parse(text) else { return Vec::new() };
    match envelope.body {
        coinbase::Body::Trades(events) => {
            events.iter().flat_map(|e| e.trades.iter().map(|t| t.id)).collect()
        }
        _ => Vec::new(),
    }
}

#[test]
fn a_coinbase_session_with_sequence_breaks_is_explained_verified_and_reimported() {
    session_with_breaks(&COINBASE);
}

#[test]
fn kill_9_of_a_coinbase_recorder_loses_nothing_that_reached_the_journal() {
    kill_9_loses_nothing_journaled(&COINBASE);
}
