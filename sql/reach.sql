-- reach.sql: how deep the market's aggressive orders reach, per side, over one window — the
-- data the default depth grid is chosen from (docs/MODEL.md "The depth grid from the data").
--
-- Input tables: book_top (venue, market, ts_event, ts_recv, conn, seq, bid_price_0, ask_price_0),
--               trades (venue, market, ts_event, side, price).
-- Parameters (bound, never pasted):
--   $venue           Utf8                 venue to read
--   $market          Utf8                 market to read
--   $window_start    Timestamp(ns, UTC)   window start, inclusive (venue clock)
--   $window_end      Timestamp(ns, UTC)   window end, exclusive
--   $lookback_start  Timestamp(ns, UTC)   oldest frame a trade may take its mid from
--   $tail_orders     Int64                the reach is that of the n-th deepest order, n at least this
--   $tail_share      Float64              … and at least this share of the side's orders (rounded up)
-- Output (one row per side that has orders, ordered bid, ask):
--   side         Utf8           'bid' (taker sells) or 'ask' (taker buys)
--   side_orders  Int64          aggressive orders on the side in the window
--   twice_reach  Decimal        2δ of the n-th deepest order, price, exact; null when the side has
--                               fewer than n orders
--
-- Orders and their distances are intensity.sql's, term for term (the same as-of join without
-- look-ahead, trades of one ts_event and side are one order at its deepest print, negative
-- distances count as 0), so every grid point up to the reach has at least n orders.
WITH frames AS (
    SELECT
        ts_event,
        bid_price_0 AS bid,
        ask_price_0 AS ask,
        row_number() OVER (ORDER BY ts_event, ts_recv, conn, seq) AS frame_rank
    FROM book_top
    WHERE venue = $venue AND market = $market
      AND ts_event >= $lookback_start
      AND ts_event < $window_end
      AND bid_price_0 IS NOT NULL
      AND ask_price_0 IS NOT NULL
),
merged AS (
    SELECT ts_event, 1 AS after_trades, frame_rank, CAST(NULL AS VARCHAR) AS side,
           CAST(NULL AS DECIMAL(18, 8)) AS price
    FROM frames
    UNION ALL
    SELECT ts_event, 0 AS after_trades, CAST(NULL AS BIGINT) AS frame_rank, side, price
    FROM trades
    WHERE venue = $venue AND market = $market
      AND ts_event >= $window_start
      AND ts_event < $window_end
),
as_of AS (
    SELECT ts_event, side, price,
           max(frame_rank) OVER (ORDER BY ts_event, after_trades, frame_rank
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS frame_rank
    FROM merged
),
orders AS (
    SELECT
        CASE WHEN t.side = 'sell' THEN 'bid' ELSE 'ask' END AS side,
        GREATEST(max(CASE WHEN t.side = 'sell' THEN f.bid + f.ask - 2 * t.price
                          ELSE 2 * t.price - f.bid - f.ask END), 0) AS twice_delta
    FROM as_of t
    JOIN frames f ON f.frame_rank = t.frame_rank
    WHERE t.side IS NOT NULL
    GROUP BY t.side, t.ts_event
),
ranked AS (
    SELECT side, twice_delta,
           row_number() OVER (PARTITION BY side ORDER BY twice_delta DESC) AS deepest_first,
           count(*) OVER (PARTITION BY side) AS side_orders
    FROM orders
)
SELECT
    side,
    max(side_orders) AS side_orders,
    max(CASE WHEN deepest_first = GREATEST(CAST($tail_orders AS BIGINT),
                                           CAST(ceil(side_orders * CAST($tail_share AS DOUBLE)) AS BIGINT))
             THEN twice_delta END) AS twice_reach
FROM ranked
GROUP BY side
ORDER BY side = 'ask'
