//! dYdX v4 against the real indexer messages in `../shared/fixtures/dydx/` (origin and license
//! in its README: four single messages from nautilus_trader's test data, LGPL-3.0, not a
//! sequence): each of the four parses; the ETH-USD snapshot builds a book of 100 levels a
//! side that is not crossed, through the recorder's rules too; the batch of 41 updates, 12 of
//! them touching a price already touched, applied in order onto a book seeded with its own
//! prices gives the sizes of applying the entries one by one, with one `depth` row per level;
//! the trades message gives 2 taker BUY trades with 24-hex-digit ids, deduplicated when a
//! replay repeats them. Skipped, saying so, when `../shared` is absent.

use std::collections::BTreeMap;

use mdkit::book::Book;
use mdkit::model::{BookSide, EventKind, Level, Price, Qty, RecvTime, TakerSide, TradeKind};
use mdkit::storage::{Entry, Record, Stream};
use mdkit::venue::dydx::{self, recorder::Rules, BookUpdate, Message};
use mdkit::venue::{Rules as _, Saved, Sink, Verdict};

use crate::common::shared_fixtures;

/// The text of one fixture file.
fn text(name: &str) -> Option<String> {
    let dir = shared_fixtures("dydx")?;
    Some(std::fs::read_to_string(dir.join(name)).unwrap())
}

fn px(text: &str) -> Price {
    Price::parse(text).unwrap()
}

/// Frames through the rules on one connection of `stream`, received 1 ms apart.
fn record(market: &str, stream: Stream, frames: &[String]) -> (Sink, Vec<Verdict>) {
    let mut rules = Rules::restore(market, &Saved::default());
    let mut sink = Sink::new(10);
    let at = |n: i64| RecvTime::from_nanos(1_721_848_356_000_000_000 + n * 1_000_000);
    let url = "wss://indexer.dydx.trade/v4/ws".into();
    let connect = Entry::Connect { conn: 1, stream, url };
    let mut verdicts =
        vec![rules.apply(&Record { jseq: 0, ts_recv: at(0), entry: connect }, &mut sink)];
    for (jseq, text) in (1..).zip(frames) {
        let entry = Entry::Frame { conn: 1, text: text.clone() };
        verdicts.push(rules.apply(&Record { jseq, ts_recv: at(jseq as i64), entry }, &mut sink));
    }
    (sink, verdicts)
}

#[test]
fn all_four_messages_parse() {
    let Some(snapshot) = text("v4_orderbook_snapshot.json") else { return };
    let Ok(Message::BookSnapshot { market, message_id, book }) = dydx::parse(&snapshot) else {
        panic!("the snapshot does not read as one")
    };
    assert_eq!(
        (market.as_str(), message_id, book.bids.len(), book.asks.len()),
        ("ETH-USD", 4, 100, 100)
    );

    let update = text("v4_orderbook.json").unwrap();
    let Ok(Message::BookUpdates { market, message_id, updates, batched }) = dydx::parse(&update)
    else {
        panic!("the update does not read as one")
    };
    assert_eq!((market.as_str(), message_id, batched), ("BTC-USD", 3219, false));
    let deleted = Level::new(px("65920"), Qty::ZERO);
    assert_eq!(updates, vec![BookUpdate { bids: vec![deleted], asks: vec![] }]);

    let batch = text("v4_orderbook_batched_data.json").unwrap();
    let Ok(Message::BookUpdates { market, message_id, updates, batched }) = dydx::parse(&batch)
    else {
        panic!("the batch does not read as one")
    };
    assert_eq!((market.as_str(), message_id, batched, updates.len()), ("ETH-USD", 17, true, 41));
    assert!(updates.iter().all(|u| u.bids.len() + u.asks.len() == 1), "one level per entry");

    let trades = text("v4_trades.json").unwrap();
    let Ok(Message::Trades { market, message_id, trades, replay }) = dydx::parse(&trades) else {
        panic!("the trades do not read as trades")
    };
    assert_eq!((market.as_str(), message_id, replay, trades.len()), ("ETH-USD", 1491, false, 2));
}

#[test]
fn the_snapshot_builds_100_levels_a_side_uncrossed() {
    let Some(snapshot) = text("v4_orderbook_snapshot.json") else { return };
    let Ok(Message::BookSnapshot { book: levels, .. }) = dydx::parse(&snapshot) else { panic!() };
    let mut book = Book::new();
    let changes = dydx::book::snapshot(&mut book, &levels);
    assert_eq!(changes.len(), 200);
    assert_eq!((book.depth(BookSide::Bid), book.depth(BookSide::Ask)), (100, 100));
    assert_eq!(book.best_bid().map(|l| l.price), Some(px("3393.2")));
    assert_eq!(book.best_ask().map(|l| l.price), Some(px("3393.5")));
    assert!(!book.is_crossed());
    // Bids strictly descending, asks strictly ascending, as sent.
    assert!(levels.bids.windows(2).all(|w| w[0].price > w[1].price));
    assert!(levels.asks.windows(2).all(|w| w[0].price < w[1].price));

    // Through the rules: one book_top row, 200 snapshot depth rows, nothing but the connect.
    let (sink, verdicts) = record("ETH-USD", Stream::Book, &[snapshot]);
    assert!(verdicts.iter().all(|v| *v == Verdict::Continue));
    let kinds: Vec<EventKind> = sink.out.events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![EventKind::Connect]);
    assert_eq!(sink.out.depth.len(), 200);
    assert!(sink.out.depth.iter().all(|r| r.snapshot && r.seq == 1));
    let top = &sink.out.book_top[0];
    assert_eq!((top.bids[0].price, top.asks[0].price), (px("3393.2"), px("3393.5")));
    assert_eq!((top.bids.len(), top.asks.len()), (10, 10));
}

/// The batch's entries as `(side, level)` in order.
fn entries(updates: &[BookUpdate]) -> Vec<(BookSide, Level)> {
    let mut out = Vec::new();
    for update in updates {
        out.extend(update.bids.iter().map(|l| (BookSide::Bid, *l)));
        out.extend(update.asks.iter().map(|l| (BookSide::Ask, *l)));
    }
    out
}

#[test]
fn the_batch_applies_in_order_onto_a_book_of_its_own_prices() {
    let Some(batch) = text("v4_orderbook_batched_data.json") else { return };
    let Ok(Message::BookUpdates { updates, .. }) = dydx::parse(&batch) else { panic!() };
    let named = entries(&updates);
    assert_eq!(named.len(), 41);
    let mut first = std::collections::HashSet::new();
    let again = named.iter().filter(|(s, l)| !first.insert((*s, l.price))).count();
    assert_eq!((again, first.len()), (12, 29), "12 entries touch a price touched before");

    // A book holding every price the batch names, size 1 (the bids are all below the asks).
    let seed = BookUpdate {
        bids: first
            .iter()
            .filter(|(s, _)| *s == BookSide::Bid)
            .map(|(_, p)| Level::new(*p, Qty::parse("1").unwrap()))
            .collect(),
        asks: first
            .iter()
            .filter(|(s, _)| *s == BookSide::Ask)
            .map(|(_, p)| Level::new(*p, Qty::parse("1").unwrap()))
            .collect(),
    };
    let mut book = Book::new();
    dydx::book::snapshot(&mut book, &seed);
    assert!(!book.is_crossed());
    let before = book.clone();

    // Entries one by one, the last size named winning, 0 removing.
    let mut want: BTreeMap<(bool, Price), Qty> = BTreeMap::new();
    for side in [BookSide::Bid, BookSide::Ask] {
        for l in before.levels(side) {
            want.insert((side == BookSide::Bid, l.price), l.qty);
        }
    }
    for (side, level) in &named {
        let key = (*side == BookSide::Bid, level.price);
        if level.qty.raw() == 0 {
            want.remove(&key);
        } else {
            want.insert(key, level.qty);
        }
    }
    let changes = dydx::book::apply(&mut book, &updates);
    let mut got: BTreeMap<(bool, Price), Qty> = BTreeMap::new();
    for side in [BookSide::Bid, BookSide::Ask] {
        for l in book.levels(side) {
            got.insert((side == BookSide::Bid, l.price), l.qty);
        }
    }
    assert_eq!(got, want);
    // So does applying the entries one message each.
    let mut stepwise = before.clone();
    for update in &updates {
        dydx::book::apply(&mut stepwise, std::slice::from_ref(update));
    }
    assert_eq!(stepwise, book);
    // One change per level, and replaying the changes gives the same book.
    let mut levels = std::collections::HashSet::new();
    assert!(changes.iter().all(|(s, l)| levels.insert((*s, l.price))), "a level changed twice");
    let mut replayed = before;
    for (side, level) in &changes {
        replayed.set(*side, level.price, level.qty);
    }
    assert_eq!(replayed, book);

    // Through the rules: the seed as the snapshot (message 16), then the batch (17).
    let seed_text = format!(
        r#"{{"type":"subscribed","connection_id":"3fcea53b-7e50-48a5-a887-e67e76a10886","message_id":16,"channel":"v4_orderbook","id":"ETH-USD","contents":{{"bids":[{}],"asks":[{}]}}}}"#,
        objects(&seed.bids),
        objects(&seed.asks)
    );
    let (sink, verdicts) = record("ETH-USD", Stream::Book, &[seed_text, batch]);
    assert!(verdicts.iter().all(|v| *v == Verdict::Continue), "{verdicts:?}");
    assert_eq!(sink.out.events.len(), 1, "{:?}", sink.out.events);
    let rows: Vec<_> = sink.out.depth.iter().filter(|r| r.seq == 2).collect();
    assert_eq!(rows.len(), changes.len());
    let top = sink.out.book_top.last().unwrap();
    assert_eq!(top.bids[0].price, book.best_bid().unwrap().price);
    assert_eq!(top.asks[0].price, book.best_ask().unwrap().price);
}

fn objects(levels: &[Level]) -> String {
    let items: Vec<String> =
        levels.iter().map(|l| format!(r#"{{"price":"{}","size":"{}"}}"#, l.price, l.qty)).collect();
    items.join(",")
}

#[test]
fn the_update_deletes_a_level_and_a_delete_of_an_absent_one_is_nothing() {
    let Some(update) = text("v4_orderbook.json") else { return };
    let Ok(Message::BookUpdates { updates, .. }) = dydx::parse(&update) else { panic!() };
    let mut book = Book::new();
    dydx::book::snapshot(
        &mut book,
        &BookUpdate { bids: vec![Level::new(px("65920"), Qty::parse("2").unwrap())], asks: vec![] },
    );
    assert_eq!(
        dydx::book::apply(&mut book, &updates),
        vec![(BookSide::Bid, Level::new(px("65920"), Qty::ZERO))]
    );
    assert_eq!(book.depth(BookSide::Bid), 0);
    assert!(dydx::book::apply(&mut book, &updates).is_empty());
}

#[test]
fn the_trades_message_gives_two_taker_trades_with_24_hex_ids() {
    let Some(text) = text("v4_trades.json") else { return };
    let Ok(Message::Trades { trades, .. }) = dydx::parse(&text) else { panic!() };
    let ids: Vec<String> = trades.iter().map(|t| t.id.to_string()).collect();
    assert_eq!(ids, ["014206cf0000000200000002", "014206cf000000020000000e"]);
    assert!(trades.iter().all(|t| t.side == TakerSide::Buy && t.kind == TradeKind::Trade));
    assert!(trades.iter().all(|t| t.id.is_exact()));
    // 2024-07-24T19:12:35.705Z, both.
    assert!(trades.iter().all(|t| t.ts_event.as_nanos() == 1_721_848_355_705_000_000));
    assert_eq!(trades[1].qty, Qty::parse("1.738").unwrap());
    // Block 21,104,335 (0x014206cf), transaction 0 (field 2), events 2 and 14.
    assert_eq!(trades[0].id.parts(), (21_104_335, 2, 2));
    let table: Vec<i64> = trades.iter().map(|t| t.id.table_id()).collect();
    assert_eq!(table, [(21_104_335 << 32) | (2 << 20) | 2, (21_104_335 << 32) | (2 << 20) | 14]);

    // Through the rules, then the same two replayed on a later message: recorded once.
    let replay = text.replace("\"channel_data\"", "\"subscribed\"").replace("1491", "1492");
    let (sink, verdicts) = record("ETH-USD", Stream::Trades, &[text, replay]);
    assert!(verdicts.iter().all(|v| *v == Verdict::Continue));
    let rows: Vec<(i64, TakerSide)> =
        sink.out.trades.iter().map(|t| (t.trade_id, t.side)).collect();
    assert_eq!(rows, vec![(table[0], TakerSide::Buy), (table[1], TakerSide::Buy)]);
    let kinds: Vec<EventKind> = sink.out.events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![EventKind::Connect]);
}
