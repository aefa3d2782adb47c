-- intensity.sql: λ(δ) per side of one market over one window (docs/MODEL.md "A and κ per side",
-- step 4).
--
-- Input table: orders — the output of orders.sql for the window (side, twice_delta, orders,
--              prints): the aggressive orders per side and exact distance 2δ.
-- Parameters (bound, never pasted):
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
-- Distances stay exact decimals: each histogram row's 2δ is compared with 2δₖ.
WITH RECURSIVE grid(k) AS (
    SELECT CAST(0 AS BIGINT)
    UNION ALL
    SELECT k + 1 FROM grid WHERE k + 1 < CAST($depth_levels AS BIGINT)
),
levels AS (
    SELECT
        s.side,
        g.k,
        CAST($depth_start AS DECIMAL(18, 8)) + CAST(g.k AS DECIMAL(18, 0)) * CAST($depth_step AS DECIMAL(18, 8)) AS delta
    FROM (VALUES ('bid'), ('ask')) AS s(side)
    CROSS JOIN grid g
),
-- The histogram with its side's totals beside each row.
with_totals AS (
    SELECT side, twice_delta, orders,
           sum(orders) OVER (PARTITION BY side) AS side_orders,
           sum(prints) OVER (PARTITION BY side) AS side_trades
    FROM orders
),
counted AS (
    SELECT
        l.side,
        l.k,
        l.delta,
        COALESCE(sum(CASE WHEN h.twice_delta >= 2 * l.delta THEN h.orders END), 0) AS orders,
        COALESCE(max(h.side_orders), 0) AS side_orders,
        COALESCE(max(h.side_trades), 0) AS side_trades
    FROM levels l
    LEFT JOIN with_totals h ON h.side = l.side
    GROUP BY l.side, l.k, l.delta
)
SELECT
    side,
    k,
    delta,
    orders,
    CAST(orders AS DOUBLE) / CAST($window_secs AS DOUBLE) AS lambda,
    side_orders,
    side_trades
FROM counted
ORDER BY side = 'ask', k
