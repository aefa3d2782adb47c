-- volatility.sql: σ of one market over one window (docs/MODEL.md "σ (volatility)").
--
-- Input tables: book_top (venue, market, ts_event, ts_recv, conn, seq, bid_price_0, ask_price_0).
-- Parameters (bound, never pasted):
--   $venue           Utf8                 venue to read
--   $market          Utf8                 market to read
--   $window_start    Timestamp(ns, UTC)   window start, inclusive (venue clock)
--   $window_end      Timestamp(ns, UTC)   window end, exclusive
--   $lookback_start  Timestamp(ns, UTC)   oldest frame that may serve as "last frame at or
--                                         before" the first grid points (caller: one window
--                                         before the start)
--   $start_ns        Int64                $window_start in ns since the epoch
--   $interval_ns     Int64                Δt, the sample interval, in ns (> 0)
--   $interval_secs   Float64              Δt in seconds
--   $grid_points     Int64                n = ceil((end − start) / Δt): grid points g_k = start + k·Δt, k < n
-- Output (one row):
--   sigma        Float64  price / √second: stddev_samp(r) / √Δt × mean(mid over the grid);
--                         null with fewer than two returns
--   mid_samples  Int64    grid points that have a mid (those before the first frame are skipped)
--   returns      Int64    log returns between consecutive sampled grid points
--   mean_mid     Float64  price: mean of mid over the sampled grid points
--
-- Mid at g_k is that of the last frame (by ts_event, then ts_recv, conn, seq) with
-- ts_event <= g_k; a frame without a best bid or ask has no mid and is not used. Rather than
-- materialise n grid rows, each frame is put in the bucket of the first grid point at or after
-- it, k = ceil((ts − start) / Δt) (0 for frames at or before start); the last frame of an
-- occupied bucket k sets the mid of g_k .. g_(next occupied bucket − 1). So the return at an
-- occupied bucket is ln(mid_k / mid_previous occupied), every other return is exactly 0, and
-- stddev_samp over all n − first_k − 1 returns is computed from the nonzero ones plus the
-- count of zeros: Σ(r − r̄)² = Σ_nonzero (r − r̄)² + zeros · r̄². This is the grid definition,
-- term for term.
--
-- One pipeline, each CTE referenced once (DataFusion plans a CTE again at every reference):
-- a single scan of book_top, one hash aggregate to the last mid per bucket, one sort of the
-- occupied buckets (at most n rows) for lead/lag, whole-window totals as window aggregates
-- over that same sorted stream, and the final sum. The mean r̄ that Σ(r − r̄)² needs is such a
-- window total, so the two-pass variance needs no second pass over the frames.
WITH frames AS (
    SELECT
        CASE
            WHEN CAST(ts_event AS BIGINT) <= CAST($start_ns AS BIGINT) THEN CAST(0 AS BIGINT)
            ELSE (CAST(ts_event AS BIGINT) - CAST($start_ns AS BIGINT) - 1) / CAST($interval_ns AS BIGINT) + 1
        END AS k,
        ts_event, ts_recv, conn, seq,
        CAST(bid_price_0 + ask_price_0 AS DOUBLE) / 2.0 AS mid
    FROM book_top
    WHERE venue = $venue AND market = $market
      AND ts_event >= $lookback_start
      AND ts_event < $window_end
      AND bid_price_0 IS NOT NULL
      AND ask_price_0 IS NOT NULL
),
-- The mid of each occupied bucket: that of its last frame.
buckets AS (
    SELECT k, last_value(mid ORDER BY ts_event, ts_recv, conn, seq) AS mid
    FROM frames
    WHERE k < CAST($grid_points AS BIGINT)
    GROUP BY k
),
-- Per occupied bucket: how many grid points its mid holds for (span) and the return into it.
steps AS (
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
