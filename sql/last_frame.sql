-- last_frame.sql: bid + ask of the latest book frame of one market in a time range — the frame
-- the first orders of a stretch are measured from (orders.sql's $carry).
--
-- Input tables: book_top (venue, market, ts_event, ts_recv, conn, seq, bid_price_0, ask_price_0).
-- Parameters (bound, never pasted):
--   $venue           Utf8                 venue to read
--   $market          Utf8                 market to read
--   $from            Timestamp(ns, UTC)   range start, inclusive (venue clock)
--   $to              Timestamp(ns, UTC)   range end, exclusive
-- Output (one row, or none when the range has no frame with both best prices):
--   bid_ask      Decimal(19, 8)  price: bid_price_0 + ask_price_0 of the latest frame, by
--                                ts_event, then ts_recv, conn, seq (orders.sql's order)
--
-- A top-1 sort: DataFusion keeps one row, however long the range.
SELECT bid_price_0 + ask_price_0 AS bid_ask
FROM book_top
WHERE venue = $venue AND market = $market
  AND ts_event >= $from
  AND ts_event < $to
  AND bid_price_0 IS NOT NULL
  AND ask_price_0 IS NOT NULL
ORDER BY ts_event DESC, ts_recv DESC, conn DESC, seq DESC
LIMIT 1
