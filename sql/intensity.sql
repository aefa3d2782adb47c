-- intensity.sql: λ(δ) per side of one market over one window (docs/MODEL.md "A and κ per side",
-- steps 1–4).
--
-- Input tables: book_top (venue, market, ts_event, ts_recv, conn, seq, bid_price_0, ask_price_0),
--               trades (venue, market, ts_event, side, price).
-- Parameters (bound, never pasted):
--   $venue           Utf8                 venue to read
--   $market          Utf8                 market to read
--   $window_start    Timestamp(ns, UTC)   window start, inclusive (venue clock)
--   $window_end      Timestamp(ns, UTC)   window end, exclusive
--   $lookback_start  Timestamp(ns, UTC)   oldest frame a trade may take its mid from
--   $window_secs     Float64              window length in seconds
--   $depth_start     Decimal(18, 8)       δ₀, price
--   $depth_step      Decimal(18, 8)       Δ, price (> 0)
--   $depth_levels    Int64                K, grid points per side (≥ 1)
-- Output (2·K rows, ordered by side, k):
--   side         Utf8           'bid' (taker sells) or 'ask' (taker buys)
--   k            Int64          grid index, 0 … K−1
--   delta        Decimal        δₖ = δ₀ + k·Δ, price, exact
--   orders       Int64          aggressive orders on the side whose distance is ≥ δₖ
--   lambda       Float64        orders / window seconds, 1 / second
--   side_orders  Int64          every aggressive order on the side in the window (any δ)
--   side_trades  Int64          trades (prints) on the side in the window, with or without an
--                               earlier frame
--
-- As-of join without look-ahead: frames and trades are merged in ts_event order, a trade
-- sorting before a frame of the same ts_event, and each trade takes the newest frame seen so far
-- (a running max of the frame's rank), i.e. the latest frame strictly earlier than the trade.
-- Trades with the same ts_event and side are one order, at the distance of its deepest print.
-- Distances stay exact decimals: 2δ = bid + ask − 2·price (sells) or 2·price − bid − ask (buys),
-- compared with 2δₖ; negative distances count as 0.
WITH RECURSIVE grid(k) AS (
    SELECT CAST(0 AS BIGINT)
    UNION ALL
    SELECT k + 1 FROM grid WHERE k + 1 < CAST($depth_levels AS BIGINT)
),
frames AS (
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
prints AS (
    SELECT
        t.ts_event,
        t.side,
        CASE WHEN t.side = 'sell' THEN f.bid + f.ask - 2 * t.price
             ELSE 2 * t.price - f.bid - f.ask
        END AS twice_delta
    FROM as_of t
    JOIN frames f ON f.frame_rank = t.frame_rank
    WHERE t.side IS NOT NULL
),
orders AS (
    SELECT
        CASE WHEN side = 'sell' THEN 'bid' ELSE 'ask' END AS side,
        GREATEST(max(twice_delta), 0) AS twice_delta,
        count(*) AS prints
    FROM prints
    GROUP BY side, ts_event
),
side_totals AS (
    SELECT
        s.side,
        (SELECT count(*) FROM orders o WHERE o.side = s.side) AS side_orders,
        (SELECT count(*) FROM merged m
          WHERE m.side = CASE WHEN s.side = 'bid' THEN 'sell' ELSE 'buy' END) AS side_trades
    FROM (VALUES ('bid'), ('ask')) AS s(side)
),
levels AS (
    SELECT
        s.side,
        g.k,
        CAST($depth_start AS DECIMAL(18, 8)) + CAST(g.k AS DECIMAL(18, 0)) * CAST($depth_step AS DECIMAL(18, 8)) AS delta
    FROM (VALUES ('bid'), ('ask')) AS s(side)
    CROSS JOIN grid g
),
counted AS (
    SELECT l.side, l.k, l.delta, count(o.twice_delta) AS orders
    FROM levels l
    LEFT JOIN orders o ON o.side = l.side AND o.twice_delta >= 2 * l.delta
    GROUP BY l.side, l.k, l.delta
)
SELECT
    c.side,
    c.k,
    c.delta,
    c.orders,
    CAST(c.orders AS DOUBLE) / CAST($window_secs AS DOUBLE) AS lambda,
    st.side_orders,
    st.side_trades
FROM counted c
JOIN side_totals st ON st.side = c.side
ORDER BY c.side = 'ask', c.k
