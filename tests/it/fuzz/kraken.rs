//! Kraken v2's fuzz scenarios and property: `book` and `trade` messages in the layout
//! `mdkit simulate --venue kraken` sends, each checksum computed by the venue module's own
//! [`KrakenBook`] (so the original message is accepted), mutated as every venue's frames are.
//!
//! Loose fields ([`KRAKEN_LOOSE`]): `price` and `qty`. Kraken's checksum is computed over
//! the number *text*, so a value-preserving respelling of a level (`0.5` → `0.500000000`) is
//! a different message to the venue: its checksum no longer matches and the connection ends
//! with a `seq_gap`, not with the original's rows. `ord_type` is not read at all, so its
//! mutations give the original's rows and need no exemption.

use mdkit::venue::kraken::wire::{Num, WireLevel};
use mdkit::venue::kraken::KrakenBook;

use super::*;

/// See the module header.
pub(super) const KRAKEN_LOOSE: &[&str] = &["price", "qty"];

const SNAPSHOT_BIDS: &[(&str, &str)] = &[("84000.1", "0.50000000"), ("83999.5", "1.25000000")];
const SNAPSHOT_ASKS: &[(&str, &str)] = &[("84000.2", "0.10000000"), ("84001.0", "3.00000000")];
const UPDATE_BIDS: &[(&str, &str)] = &[("84000.1", "0.00000000"), ("83998.0", "2.00000000")];
const UPDATE_ASKS: &[(&str, &str)] = &[("84000.2", "0.40000000")];

fn num(text: &str) -> Num {
    let scale = text.split_once('.').map_or(0, |(_, f)| f.len()) as u8;
    Num { raw: mdkit::model::parse_raw(text).expect("a decimal"), scale }
}

fn levels_json(levels: &[(&str, &str)]) -> String {
    let items: Vec<String> =
        levels.iter().map(|(p, q)| format!(r#"{{"price":{p},"qty":{q}}}"#)).collect();
    items.join(",")
}

/// A `book` message with the checksum of `book` after it is applied.
fn book_message(
    book: &mut KrakenBook,
    snapshot: bool,
    bids: &[(&str, &str)],
    asks: &[(&str, &str)],
) -> String {
    let wire = |levels: &[(&str, &str)]| -> Vec<WireLevel> {
        levels.iter().map(|(p, q)| WireLevel { price: num(p), qty: num(q) }).collect()
    };
    book.apply(snapshot, &wire(bids), &wire(asks));
    format!(
        r#"{{"channel":"book","type":"{}","data":[{{"symbol":"BTC/USD","bids":[{}],"asks":[{}],"checksum":{},"timestamp":"2026-01-01T00:00:00.100000Z"}}]}}"#,
        if snapshot { "snapshot" } else { "update" },
        levels_json(bids),
        levels_json(asks),
        book.checksum(None)
    )
}

fn trade_message(snapshot: bool, first_id: i64) -> String {
    format!(
        r#"{{"channel":"trade","type":"{}","data":[{{"symbol":"BTC/USD","side":"buy","price":84000.2,"qty":0.01000000,"ord_type":"market","trade_id":{first_id},"timestamp":"2026-01-01T00:00:00.050000Z"}},{{"symbol":"BTC/USD","side":"sell","price":84000.1,"qty":0.25000000,"ord_type":"limit","trade_id":{},"timestamp":"2026-01-01T00:00:00.070000Z"}}]}}"#,
        if snapshot { "snapshot" } else { "update" },
        first_id + 1
    )
}

pub(super) fn kraken_scenarios() -> &'static [Scenario] {
    static CELL: OnceLock<Vec<Scenario>> = OnceLock::new();
    CELL.get_or_init(|| {
        let (k, m, o) = (Venue::Kraken, "BTC-USD", KRAKEN_LOOSE);
        let mut book = KrakenBook::new(mdkit::venue::kraken::DEFAULT_DEPTH);
        let snapshot = book_message(&mut book, true, SNAPSHOT_BIDS, SNAPSHOT_ASKS);
        let update = book_message(&mut book, false, UPDATE_BIDS, UPDATE_ASKS);
        let (first, later) = (trade_message(true, 41), trade_message(false, 43));
        vec![
            scenario("kraken sim snapshot", k, m, Stream::Book, SIM_AT, vec![], &snapshot, o),
            scenario("kraken sim update", k, m, Stream::Book, SIM_AT, vec![snapshot], &update, o),
            scenario("kraken sim trades snapshot", k, m, Stream::Trades, SIM_AT, vec![], &first, o),
            scenario("kraken sim trades", k, m, Stream::Trades, SIM_AT, vec![first], &later, o),
        ]
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn kraken_mutants_give_the_same_rows_or_one_refusal(
        pick in any::<Index>(), node in any::<Index>(), field in any::<Index>(), m in mutation()
    ) {
        run(kraken_scenarios(), pick, node, field, &m)?;
    }
}

#[test]
fn every_kraken_scenario_gives_rows() {
    for s in kraken_scenarios() {
        assert!(data_rows(&s.want) > 0, "{}: {}", s.name, summary(&s.want));
    }
}
