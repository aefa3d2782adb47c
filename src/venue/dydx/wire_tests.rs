//! Every message kind read exactly, and refusals that name the field.

use super::*;

const CONN: &str = r#""connection_id":"7ad53844-1f2c-4d86-83d1-42f6562844f3""#;

fn px(text: &str) -> Price {
    Price::parse(text).unwrap()
}

fn qty(text: &str) -> Qty {
    Qty::parse(text).unwrap()
}

#[test]
fn book_messages_read_in_both_level_shapes() {
    let snapshot = format!(
        r#"{{"type":"subscribed",{CONN},"message_id":1,"channel":"v4_orderbook","id":"ETH-USD","contents":{{"bids":[{{"price":"3393.2","size":"1.5"}}],"asks":[{{"price":"3393.5","size":"4.946"}},{{"price":"3393.6","size":"7.856"}}]}}}}"#
    );
    let Message::BookSnapshot { market, message_id, book } = parse(&snapshot).unwrap() else {
        panic!("not a snapshot")
    };
    assert_eq!((market.as_str(), message_id), ("ETH-USD", 1));
    assert_eq!(book.bids, vec![Level::new(px("3393.2"), qty("1.5"))]);
    assert_eq!(book.asks[1], Level::new(px("3393.6"), qty("7.856")));
    // An update may leave a side out.
    let update = format!(
        r#"{{"type":"channel_data",{CONN},"message_id":3219,"id":"BTC-USD","channel":"v4_orderbook","version":"1.0.0","contents":{{"bids":[["65920","0"]]}}}}"#
    );
    let Message::BookUpdates { market, message_id, updates, batched } = parse(&update).unwrap()
    else {
        panic!("not an update")
    };
    assert_eq!((market.as_str(), message_id, batched), ("BTC-USD", 3219, false));
    assert_eq!(
        updates,
        vec![BookUpdate { bids: vec![Level::new(px("65920"), Qty::ZERO)], asks: vec![] }]
    );
    let batch = format!(
        r#"{{"type":"channel_batch_data",{CONN},"message_id":17,"id":"ETH-USD","channel":"v4_orderbook","version":"1.0.0","contents":[{{"bids":[["2396.1","3.123"]]}},{{"asks":[["2397.1","23.768"]]}},{{"bids":[["2396.1","0"]]}}]}}"#
    );
    let Message::BookUpdates { updates, batched, .. } = parse(&batch).unwrap() else {
        panic!("not a batch")
    };
    assert!(batched);
    assert_eq!(updates.len(), 3);
    assert_eq!(updates[2].bids, vec![Level::new(px("2396.1"), Qty::ZERO)]);
}

#[test]
fn trades_replies_and_the_greeting_read() {
    let trades = format!(
        r#"{{"type":"channel_data",{CONN},"message_id":1491,"id":"ETH-USD","channel":"v4_trades","version":"2.1.0","contents":{{"trades":[{{"id":"014206cf0000000200000002","size":"0.01","price":"3392.9","side":"BUY","createdAt":"2024-07-24T19:12:35.705Z","type":"LIMIT"}},{{"id":"014206CF000000020000000E","size":"1.738","price":"3392.9","side":"SELL","createdAt":"2024-07-24T19:12:35.705Z","type":"LIQUIDATED","createdAtHeight":"21104335"}}]}}}}"#
    );
    let Message::Trades { message_id, trades, replay, .. } = parse(&trades).unwrap() else {
        panic!("not trades")
    };
    assert_eq!((message_id, replay, trades.len()), (1491, false, 2));
    let (a, b) = (&trades[0], &trades[1]);
    assert_eq!(
        (a.side, a.kind, a.price, a.qty),
        (TakerSide::Buy, TradeKind::Trade, px("3392.9"), qty("0.01"))
    );
    assert_eq!(a.ts_event.as_nanos(), 1_721_848_355_705_000_000);
    assert_eq!(a.id.to_string(), "014206cf0000000200000002");
    assert_eq!(a.id.parts(), (0x0142_06cf, 2, 2));
    // Exact and in chain order: height << 32 | tx << 20 | event.
    assert_eq!(a.id.table_id(), (0x0142_06cf_i64 << 32) | (2 << 20) | 2);
    assert!(b.id.table_id() > a.id.table_id() && b.id.is_exact());
    assert_eq!(
        (b.side, b.kind, b.height),
        (TakerSide::Sell, TradeKind::Liquidation, Some(21_104_335))
    );
    // The subscription answer replays recent trades.
    let replay = format!(
        r#"{{"type":"subscribed",{CONN},"message_id":1,"channel":"v4_trades","id":"ETH-USD","contents":{{"trades":[]}}}}"#
    );
    assert!(matches!(parse(&replay), Ok(Message::Trades { replay: true, .. })));
    let replies = [
        (
            format!(r#"{{"type":"connected",{CONN},"message_id":0}}"#),
            Message::Connected { message_id: 0 },
        ),
        (
            format!(
                r#"{{"type":"unsubscribed",{CONN},"message_id":9,"channel":"v4_trades","id":"ETH-USD"}}"#
            ),
            Message::Unsubscribed { channel: "v4_trades".into(), message_id: 9 },
        ),
        (
            format!(
                r#"{{"type":"error","message":"Invalid subscription id for channel: (v4_trades-NOPE-USD)",{CONN},"message_id":1}}"#
            ),
            Message::Error {
                message: "Invalid subscription id for channel: (v4_trades-NOPE-USD)".into(),
            },
        ),
        (format!(r#"{{"type":"pong",{CONN},"message_id":2}}"#), Message::Pong),
        (
            format!(
                r#"{{"type":"channel_data",{CONN},"message_id":4,"channel":"v4_markets","version":"1.0.0","contents":{{}}}}"#
            ),
            Message::OtherChannel { channel: "v4_markets".into(), message_id: 4 },
        ),
    ];
    for (text, want) in replies {
        assert_eq!(parse(&text), Ok(want), "{text}");
    }
}

#[test]
fn ids_past_the_exact_layout_fold_with_bit_62_set() {
    let big = TradeId::parse("ffffffff0000000200000002").unwrap();
    assert!(!big.is_exact());
    let id = big.table_id();
    assert!(id >= FOLDED, "{id}");
    let many_events = TradeId::parse("014206cf0000000200100000").unwrap();
    assert!(!many_events.is_exact() && many_events.table_id() & FOLDED != 0);
    assert_eq!(TradeId::parse("014206cf00000002000000"), None);
    assert_eq!(TradeId::parse("014206cf000000020000000g"), None);
}

#[test]
fn refusals_name_the_field() {
    let book = |contents: &str, kind: &str| {
        format!(
            r#"{{"type":"{kind}",{CONN},"message_id":5,"channel":"v4_orderbook","id":"ETH-USD","contents":{contents}}}"#
        )
    };
    let trade = |fields: &str| {
        format!(
            r#"{{"type":"channel_data",{CONN},"message_id":5,"channel":"v4_trades","id":"ETH-USD","contents":{{"trades":[{{"size":"1","price":"1","createdAt":"2024-07-24T19:12:35.705Z",{fields}}}]}}}}"#
        )
    };
    const OK: &str = r#""id":"014206cf0000000200000002","side":"BUY","type":"LIMIT""#;
    let cases = [
        (book(r#"{"bids":[[1,"1"]]}"#, "channel_data"), "field `contents.bids[0]` should be a [price, size] pair of strings"),
        (
            book(r#"[{"bids":[["1","1"]]},{"asks":[["1","x"]]}]"#, "channel_batch_data"),
            "field `contents[1].asks[0][1]` = \"x\" is not an exact decimal",
        ),
        (book(r#"[{"bids":[["1","1"]]},5]"#, "channel_batch_data"), "field `contents[1]` should be an object"),
        (book(r#"{"bids":[["1","1"]]}"#, "channel_batch_data"), "field `contents` should be an array"),
        (book(r#"{"bids":[{"price":"1"}]}"#, "subscribed"), "missing field `contents.bids[0].size`"),
        (book(r#"{"asks":[["1","1"]]}"#, "subscribed"), "field `contents.asks[0]` should be an object"),
        (book("[]", "channel_data"), "field `contents` should be an object"),
        (book("{}", "partial"), "unknown frame type \"partial\""),
        (book("{}", "channel_data").replace(r#""message_id":5"#, r#""message_id":"5""#), "field `message_id` should be an integer"),
        (book("{}", "channel_data").replace(r#","id":"ETH-USD""#, ""), "missing field `id`"),
        (trade(&OK.replace("BUY", "buy")), "field `contents.trades[0].side` = \"buy\" is not one of: BUY, SELL"),
        (trade(&OK.replace("LIMIT", "MARKET")), "field `contents.trades[0].type` = \"MARKET\" is not one of: LIMIT, TWAP_SUBORDER, LIQUIDATED, DELEVERAGED"),
        (trade(&OK.replace("014206cf0000000200000002", "3f2a")), "field `contents.trades[0].id` should be a trade id of 24 hexadecimal digits"),
        (trade(&OK.replace(r#""side""#, r#""createdAtHeight":"x","side""#)), "field `contents.trades[0].createdAtHeight` should be a block height"),
        (
            trade(OK).replace("2024-07-24T19:12:35.705Z", "1721848355705"),
            "field `contents.trades[0].createdAt` should be an RFC 3339 time",
        ),
        (format!(r#"{{"type":"subscribed",{CONN},"message_id":1,"channel":"v4_trades","id":"ETH-USD","contents":{{}}}}"#), "missing field `contents.trades`"),
        (r#"{"message_id":0}"#.to_owned(), "missing field `type`"),
        ("pong".to_owned(), "invalid JSON"),
    ];
    for (text, want) in cases {
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.starts_with(want), "{text}\n{err}");
    }
}
