-- fit.sql: A and κ per side from λ(δ) (docs/MODEL.md "A and κ per side", step 5).
--
-- Input tables: intensity — the output of intensity.sql (side, k, delta, orders, lambda, …).
-- Parameters (bound, never pasted):
--   $min_count   Int64   a grid point enters the fit only with at least this many orders
-- Output (one row per side that has any point, ordered bid, ask):
--   side     Utf8      'bid' or 'ask'
--   kappa    Float64   κ = −slope of ln λ on δ, 1 / price
--   a        Float64   A = e^intercept, 1 / second
--   r2       Float64   R² of the least-squares fit of ln λ(δₖ) = ln A − κ·δₖ
--   points   Int64     grid points used
--
-- Ordinary least squares by DataFusion's regr_slope / regr_intercept / regr_r2; δ enters as
-- a Float64 statistic (it was counted exactly in intensity.sql). The caller nulls a side that
-- has fewer than 3 points, with the reason.
SELECT
    side,
    -regr_slope(ln(lambda), CAST(delta AS DOUBLE)) AS kappa,
    exp(regr_intercept(ln(lambda), CAST(delta AS DOUBLE))) AS a,
    regr_r2(ln(lambda), CAST(delta AS DOUBLE)) AS r2,
    count(*) AS points
FROM intensity
WHERE orders >= CAST($min_count AS BIGINT)
  AND orders > 0
GROUP BY side
ORDER BY side = 'ask'
