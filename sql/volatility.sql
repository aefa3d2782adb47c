-- volatility.sql: σ of one market over one window (docs/MODEL.md "σ (volatility)").
--
-- Input table: buckets (k, mid) — the rows of buckets.sql for every stretch of the window: the
--              mid of each occupied bucket of the σ grid, at most one row per k.
-- Parameters (bound, never pasted):
--   $interval_secs   Float64              Δt in seconds
--   $grid_points     Int64                n = ceil((end − start) / Δt): grid points g_k = start + k·Δt, k < n
-- Output (one row):
--   sigma        Float64  price / √second: stddev_samp(r) / √Δt × mean(mid over the grid);
--                         null with fewer than two returns
--   mid_samples  Int64    grid points that have a mid (those before the first frame are skipped)
--   returns      Int64    log returns between consecutive sampled grid points
--   mean_mid     Float64  price: mean of mid over the sampled grid points
--
-- The mid of an occupied bucket k (buckets.sql: that of the last frame at or before g_k in
-- the bucket) sets the mid of g_k .. g_(next occupied bucket − 1). So the return at an
-- occupied bucket is ln(mid_k / mid_previous occupied), every other return is exactly 0, and
-- stddev_samp over all n − first_k − 1 returns is computed from the nonzero ones plus the
-- count of zeros: Σ(r − r̄)² = Σ_nonzero (r − r̄)² + zeros · r̄². This is the grid definition,
-- term for term.
--
-- One pipeline, each CTE referenced once (DataFusion plans a CTE again at every reference):
-- one sort of the occupied buckets (at most n rows) for lead/lag, whole-window totals as
-- window aggregates over that same sorted stream, and the final sum. The mean r̄ that
-- Σ(r − r̄)² needs is such a window total, so the two-pass variance needs no second pass.
--
-- Per occupied bucket: how many grid points its mid holds for (span) and the return into it.
WITH steps AS (
    SELECT
        k,
        mid,
        COALESCE(lead(k) OVER (ORDER BY k), CAST($grid_points AS BIGINT)) - k AS span,
        ln(mid / lag(mid) OVER (ORDER BY k)) AS r
    FROM buckets
),
-- Every step with the window's totals beside it (samples from the first occupied bucket on).
totals AS (
    SELECT
        r,
        mid,
        span,
        CAST($grid_points AS BIGINT) - min(k) OVER () AS samples,
        CAST($grid_points AS BIGINT) - min(k) OVER () - 1 AS returns,
        count(r) OVER () AS nonzero,
        sum(r) OVER () AS r_sum
    FROM steps
),
moments AS (
    SELECT
        max(samples) AS samples,
        max(returns) AS returns,
        max(nonzero) AS nonzero,
        max(r_sum) AS r_sum,
        sum(mid * CAST(span AS DOUBLE)) AS mid_sum,
        sum(CASE WHEN r IS NOT NULL THEN
                (r - r_sum / CAST(returns AS DOUBLE)) * (r - r_sum / CAST(returns AS DOUBLE))
            END) AS nonzero_ss
    FROM totals
)
SELECT
    CASE WHEN m.returns >= 2 THEN
        sqrt(
            (COALESCE(m.nonzero_ss, 0.0)
             + CAST(m.returns - m.nonzero AS DOUBLE) * power(COALESCE(m.r_sum, 0.0) / CAST(m.returns AS DOUBLE), 2))
            / CAST(m.returns - 1 AS DOUBLE)
        ) / sqrt(CAST($interval_secs AS DOUBLE)) * (m.mid_sum / CAST(m.samples AS DOUBLE))
    END AS sigma,
    COALESCE(m.samples, 0) AS mid_samples,
    GREATEST(COALESCE(m.returns, 0), 0) AS returns,
    m.mid_sum / CAST(m.samples AS DOUBLE) AS mean_mid
FROM moments m
