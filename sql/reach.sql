-- reach.sql: how deep the market's aggressive orders reach, per side, over one window — the
-- data the default depth grid is chosen from (docs/MODEL.md "The depth grid from the data").
--
-- Input table: orders — the output of orders.sql for the window (side, twice_delta, orders, …).
-- Parameters (bound, never pasted):
--   $tail_orders     Int64                the reach is that of the n-th deepest order, n at least this
--   $tail_share      Float64              … and at least this share of the side's orders (rounded up)
-- Output (one row per side that has orders, ordered bid, ask):
--   side         Utf8           'bid' (taker sells) or 'ask' (taker buys)
--   side_orders  Int64          aggressive orders on the side in the window
--   twice_reach  Decimal        2δ of the n-th deepest order, price, exact; null when the side has
--                               fewer than n orders
--
-- The orders are intensity.sql's (both read orders.sql's histogram), so every grid point up to
-- the reach has at least n orders. The n-th deepest order's 2δ is the largest 2δ that at least
-- n orders reach: the running count of the histogram taken deepest first.
WITH reached AS (
    SELECT side, twice_delta,
           sum(orders) OVER (PARTITION BY side ORDER BY twice_delta DESC
                             RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS at_least,
           sum(orders) OVER (PARTITION BY side) AS side_orders
    FROM orders
    WHERE twice_delta IS NOT NULL
)
SELECT
    side,
    max(side_orders) AS side_orders,
    max(CASE WHEN at_least >= GREATEST(CAST($tail_orders AS BIGINT),
                                       CAST(ceil(side_orders * CAST($tail_share AS DOUBLE)) AS BIGINT))
             THEN twice_delta END) AS twice_reach
FROM reached
GROUP BY side
ORDER BY side = 'ask'
