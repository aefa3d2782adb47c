-- orders.sql: the aggressive orders of one market over one window, per side, as a histogram
-- of their distance from the mid (docs/MODEL.md "A and κ per side", steps 1–3). reach.sql and
-- intensity.sql read it as the table `orders`, so each window's trades are matched to the book
-- once.
--
-- Input tables: book_top (venue, market, ts_event, ts_recv, conn, seq, bid_price_0, ask_price_0),
--               trades (venue, market, ts_event, side, price).
-- Parameters (bound, never pasted):
--   $venue           Utf8                 venue to read
--   $market          Utf8                 market to read
--   $window_start    Timestamp(ns, UTC)   window start, inclusive (venue clock)
--   $window_end      Timestamp(ns, UTC)   window end, exclusive
--   $lookback_start  Timestamp(ns, UTC)   oldest frame a trade may take its mid from
-- Output (one row per side and distance; a few hundred rows):
--   side         Utf8           'bid' (taker sells) or 'ask' (taker buys)
--   twice_delta  Decimal        2δ, price, exact, ≥ 0; null for the orders with no earlier frame
--   orders       Int64          aggressive orders on the side at this distance (0 where null)
--   prints       Int64          the trades of those orders
--
-- As-of join without look-ahead: frames and trades are merged in one stream sorted by
-- ts_event, a trade before a frame of the same ts_event, frames among themselves by
-- (ts_recv, conn, seq); each trade takes the newest frame seen so far, i.e. the latest frame
-- strictly earlier than the trade. "Newest so far" is a running max over the stream of a key
-- that packs each frame's row number (high digits) above its bid + ask (low digits; bid + ask
-- < 10¹¹, so key = row · 10¹¹ + bid + ask is exact in DECIMAL(38, 8)): the max is the latest
-- frame, and the key modulo 10¹¹ its bid + ask. A trade has no key, so it never moves the max.
-- (A struct key reads better but DataFusion takes the max of structs row by row, about three
-- times slower.) Trades with the same ts_event and side are one order, at the distance of its
-- deepest print; no frame sorts between them, so they share one frame, or none. Distances stay
-- exact decimals: 2δ = bid + ask − 2·price (sells) or 2·price − bid − ask (buys); negative
-- distances count as 0.
--
-- Each CTE is referenced once (DataFusion plans a CTE again at every reference): one scan of
-- book_top and of trades, one sort of the merged stream (the two running windows share it),
-- two hash aggregates.
WITH merged AS (
    SELECT ts_event, 1 AS after_trades, ts_recv, conn, seq,
           bid_price_0 + ask_price_0 AS bid_ask,
           CAST(NULL AS VARCHAR) AS side, CAST(NULL AS DECIMAL(18, 8)) AS price
    FROM book_top
    WHERE venue = $venue AND market = $market
      AND ts_event >= $lookback_start
      AND ts_event < $window_end
      AND bid_price_0 IS NOT NULL
      AND ask_price_0 IS NOT NULL
    UNION ALL
    SELECT ts_event, 0 AS after_trades, CAST(NULL AS TIMESTAMP) AS ts_recv,
           CAST(NULL AS BIGINT) AS conn, CAST(NULL AS BIGINT) AS seq,
           CAST(NULL AS DECIMAL(19, 8)) AS bid_ask, side, price
    FROM trades
    WHERE venue = $venue AND market = $market
      AND ts_event >= $window_start
      AND ts_event < $window_end
),
-- Every row numbered in stream order, each frame with its key.
numbered AS (
    SELECT ts_event, after_trades, ts_recv, conn, seq, side, price,
           CASE WHEN after_trades = 1 THEN
               CAST(row_number() OVER (ORDER BY ts_event, after_trades, ts_recv, conn, seq)
                    AS DECIMAL(38, 8)) * CAST(100000000000 AS DECIMAL(38, 8)) + bid_ask
           END AS frame_key
    FROM merged
),
-- Every trade with the bid + ask of the latest frame before it (null when there is none).
as_of AS (
    SELECT ts_event, side, price,
           CAST(max(frame_key) OVER (ORDER BY ts_event, after_trades, ts_recv, conn, seq
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
                % CAST(100000000000 AS DECIMAL(38, 8)) AS DECIMAL(19, 8)) AS bid_ask
    FROM numbered
),
-- One row per aggressive order.
per_order AS (
    SELECT
        CASE WHEN side = 'sell' THEN 'bid' ELSE 'ask' END AS side,
        CASE WHEN count(bid_ask) > 0 THEN
            GREATEST(max(CASE WHEN side = 'sell' THEN bid_ask - 2 * price
                              ELSE 2 * price - bid_ask END), 0)
        END AS twice_delta,
        count(*) AS prints
    FROM as_of
    WHERE side IS NOT NULL
    GROUP BY side, ts_event
)
SELECT side, twice_delta, count(twice_delta) AS orders, sum(prints) AS prints
FROM per_order
GROUP BY side, twice_delta
ORDER BY side = 'ask', twice_delta
