-- orders.sql: the aggressive orders of one market in one stretch of a window, per side, as a
-- histogram of their distance from the mid (docs/MODEL.md "A and κ per side", steps 1–3).
-- reach.sql and intensity.sql read the rows of all of a window's stretches together as the
-- table `orders`, so each window's trades are matched to the book once.
--
-- Input tables: book_top (venue, market, ts_event, ts_recv, conn, seq, bid_price_0, ask_price_0),
--               trades (venue, market, ts_event, side, price).
-- Parameters (bound, never pasted):
--   $venue           Utf8                 venue to read
--   $market          Utf8                 market to read
--   $from            Timestamp(ns, UTC)   stretch start, inclusive (venue clock); the first
--                                         stretch starts at the window start
--   $to              Timestamp(ns, UTC)   stretch end, exclusive; the last ends at the window end
--   $carry           Decimal(19, 8)       bid + ask of the latest frame before $from and at or
--                                         after the look-back start (last_frame.sql), or null
--                                         when there is none
-- Output (one row per side and distance in the stretch; a few hundred rows. A window's
-- `orders` table may hold a distance once per stretch; its readers sum over rows):
--   side         Utf8           'bid' (taker sells) or 'ask' (taker buys)
--   twice_delta  Decimal        2δ, price, exact, ≥ 0; null for the orders with no earlier frame
--   orders       Int64          aggressive orders on the side at this distance (0 where null)
--   prints       Int64          the trades of those orders
--
-- Trades with the same ts_event and side are one order, at the distance of its deepest print
-- (the lowest price of a sell, the highest of a buy). Its prints are all measured from the same
-- frame, or none: a frame of the same ts_event sorts after them, so none sorts between them. So
-- the trades are first grouped into orders (one hash aggregate, far fewer rows than trades),
-- and only the orders are matched to the book.
--
-- As-of join without look-ahead: the stretch's frames and its orders are merged in one stream
-- sorted by ts_event, an order before a frame of the same ts_event, frames among themselves by
-- (ts_recv, conn, seq); each order takes the bid + ask of the newest frame before it in that
-- stream, i.e. of the latest frame strictly earlier than the order: `lag(bid_ask) IGNORE
-- NULLS`, since an order has no bid + ask of its own; an order before the stretch's first frame
-- takes the carried frame ($carry). Distances stay exact decimals: 2δ = bid + ask − 2·price
-- (sells) or 2·price − bid − ask (buys); negative distances count as 0.
--
-- The same file runs on a Ballista cluster (`calibrate --engine`), which is why the carried
-- frame comes in by `coalesce` rather than as a one-row SELECT in the UNION (Ballista 55's
-- scheduler never finishes such a job), and why mdkit's Ballista client keeps the IGNORE NULLS
-- that Ballista 55 drops (docs/ARCHITECTURE.md "A Ballista cluster").
--
-- The caller cuts a window into stretches of at most 8 hours (by default), so the sort holds
-- one stretch's rows however long the window. Each CTE is referenced once (DataFusion plans a
-- CTE again at every reference): one scan of book_top and of trades, one hash aggregate of the
-- trades into orders, one sort of the merged stream, one running window, one hash aggregate
-- into the histogram. DataFusion evaluates a running window row by row, on one core, so the
-- stream is kept short and the windows few: grouping the trades first (2.29 M trades, 321 K
-- orders on a simulated day) and one `lag` instead of a running max over a packed row-number
-- key made it 2.4 times faster.
WITH orders AS (
    SELECT ts_event, side, min(price) AS low, max(price) AS high, count(*) AS prints
    FROM trades
    WHERE venue = $venue AND market = $market
      AND ts_event >= $from
      AND ts_event < $to
      AND side IS NOT NULL
    GROUP BY ts_event, side
),
merged AS (
    SELECT ts_event, 1 AS after_orders, ts_recv, conn, seq,
           bid_price_0 + ask_price_0 AS bid_ask,
           CAST(NULL AS VARCHAR) AS side, CAST(NULL AS DECIMAL(18, 8)) AS low,
           CAST(NULL AS DECIMAL(18, 8)) AS high, CAST(NULL AS BIGINT) AS prints
    FROM book_top
    WHERE venue = $venue AND market = $market
      AND ts_event >= $from
      AND ts_event < $to
      AND bid_price_0 IS NOT NULL
      AND ask_price_0 IS NOT NULL
    UNION ALL
    SELECT ts_event, 0 AS after_orders, CAST(NULL AS TIMESTAMP) AS ts_recv,
           CAST(NULL AS BIGINT) AS conn, CAST(NULL AS BIGINT) AS seq,
           CAST(NULL AS DECIMAL(19, 8)) AS bid_ask, side, low, high, prints
    FROM orders
),
-- Every order with the bid + ask of the latest frame before it (null when there is none).
as_of AS (
    SELECT side, low, high, prints,
           coalesce(lag(bid_ask) IGNORE NULLS
                        OVER (ORDER BY ts_event, after_orders, ts_recv, conn, seq),
                    CAST($carry AS DECIMAL(19, 8))) AS bid_ask
    FROM merged
),
-- Each order's distance.
per_order AS (
    SELECT
        CASE WHEN side = 'sell' THEN 'bid' ELSE 'ask' END AS side,
        CASE WHEN bid_ask IS NOT NULL THEN
            GREATEST(CASE WHEN side = 'sell' THEN bid_ask - 2 * low
                          ELSE 2 * high - bid_ask END, 0)
        END AS twice_delta,
        prints
    FROM as_of
    WHERE side IS NOT NULL
)
SELECT side, twice_delta, count(twice_delta) AS orders, sum(prints) AS prints
FROM per_order
GROUP BY side, twice_delta
ORDER BY side = 'ask', twice_delta
