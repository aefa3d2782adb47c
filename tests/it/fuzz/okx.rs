//! OKX v5's fuzz scenarios and property: `books` and `trades` messages in the layout
//! `mdkit simulate --venue okx` sends, each checksum computed by the venue module's own
//! [`OkxBook`] (so the original message is accepted), mutated as every venue's frames are.
//!
//! Loose fields ([`OKX_LOOSE`]): `count`, optional (absent means one fill) and read only to
//! bound the step between trade ids; `seqId` and `prevSeqId`, absent from feeds before 2023
//! (a snapshot without them starts a connection proved by its checksums alone; an update
//! without them after a snapshot with them is refused). A value-preserving respelling of a level's price or size
//! (`"0.5"` → `"0.50"`) changes the text the checksum covers: the message then fails its
//! checksum, which the property accepts on this venue (a `seq_gap`, the connection closed).

use mdkit::model::{Level, Price, Qty};
use mdkit::venue::okx::{OkxBook, WireLevel};

use super::*;

/// See the module header.
pub(super) const OKX_LOOSE: &[&str] = &["count", "seqId", "prevSeqId"];

const SNAPSHOT_BIDS: &[(&str, &str)] = &[("3000.5", "0.5"), ("2999", "1.25")];
const SNAPSHOT_ASKS: &[(&str, &str)] = &[("3001", "0.1"), ("3002.75", "3")];
const UPDATE_BIDS: &[(&str, &str)] = &[("3000.5", "0"), ("2998", "2"), ("2990", "0")];
const UPDATE_ASKS: &[(&str, &str)] = &[("3001", "0.4")];

fn wire(levels: &[(&str, &str)]) -> Vec<WireLevel> {
    levels
        .iter()
        .map(|(p, q)| {
            let price = Price::parse(p).expect("a price");
            let qty = Qty::parse(q).expect("a size");
            WireLevel { level: Level::new(price, qty), px: (*p).to_owned(), sz: (*q).to_owned() }
        })
        .collect()
}

fn levels_json(levels: &[(&str, &str)]) -> String {
    let items: Vec<String> =
        levels.iter().map(|(p, q)| format!(r#"["{p}","{q}","0","1"]"#)).collect();
    items.join(",")
}

/// A `books` message with the checksum of `book` after it is applied.
fn book_message(
    book: &mut OkxBook,
    snapshot: bool,
    bids: &[(&str, &str)],
    asks: &[(&str, &str)],
    (seq_id, prev): (i64, i64),
) -> String {
    book.apply(snapshot, &wire(bids), &wire(asks));
    format!(
        r#"{{"arg":{{"channel":"books","instId":"ETH-USDT"}},"action":"{}","data":[{{"asks":[{}],"bids":[{}],"ts":"1767225600100","checksum":{},"prevSeqId":{prev},"seqId":{seq_id}}}]}}"#,
        if snapshot { "snapshot" } else { "update" },
        levels_json(asks),
        levels_json(bids),
        book.checksum()
    )
}

fn trade_message(first_id: i64) -> String {
    format!(
        r#"{{"arg":{{"channel":"trades","instId":"ETH-USDT"}},"data":[{{"instId":"ETH-USDT","tradeId":"{first_id}","px":"3001","sz":"0.01","side":"buy","ts":"1767225600050","count":"1"}},{{"instId":"ETH-USDT","tradeId":"{}","px":"3000.5","sz":"0.25","side":"sell","ts":"1767225600070","count":"1"}}]}}"#,
        first_id + 1
    )
}

pub(super) fn okx_scenarios() -> &'static [Scenario] {
    static CELL: OnceLock<Vec<Scenario>> = OnceLock::new();
    CELL.get_or_init(|| {
        let (v, m, o) = (Venue::Okx, "ETH-USDT", OKX_LOOSE);
        let mut book = OkxBook::new();
        let snapshot = book_message(&mut book, true, SNAPSHOT_BIDS, SNAPSHOT_ASKS, (1000, -1));
        let update = book_message(&mut book, false, UPDATE_BIDS, UPDATE_ASKS, (1007, 1000));
        let (first, later) = (trade_message(41), trade_message(43));
        vec![
            scenario("okx sim snapshot", v, m, Stream::Book, SIM_AT, vec![], &snapshot, o),
            scenario("okx sim update", v, m, Stream::Book, SIM_AT, vec![snapshot], &update, o),
            scenario("okx sim trades first", v, m, Stream::Trades, SIM_AT, vec![], &first, o),
            scenario("okx sim trades", v, m, Stream::Trades, SIM_AT, vec![first], &later, o),
        ]
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn okx_mutants_give_the_same_rows_or_one_refusal(
        pick in any::<Index>(), node in any::<Index>(), field in any::<Index>(), m in mutation()
    ) {
        run(okx_scenarios(), pick, node, field, &m)?;
    }
}

#[test]
fn every_okx_scenario_gives_rows() {
    for s in okx_scenarios() {
        assert!(data_rows(&s.want) > 0, "{}: {}", s.name, summary(&s.want));
    }
}
