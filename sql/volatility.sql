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
-- term for term, in one pass over the frames.
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
buckets AS (
    SELECT k, mid
    FROM (
        SELECT k, mid,
               row_number() OVER (PARTITION BY k ORDER BY ts_event DESC, ts_recv DESC, conn DESC, seq DESC) AS last_first
        FROM frames
        WHERE k < CAST($grid_points AS BIGINT)
    ) ranked
    WHERE last_first = 1
),
steps AS (
    SELECT
        k,
        mid,
        COALESCE(lead(k) OVER (ORDER BY k), CAST($grid_points AS BIGINT)) - k AS span,
        ln(mid / lag(mid) OVER (ORDER BY k)) AS r
    FROM buckets
),
totals AS (
    SELECT
        CAST($grid_points AS BIGINT) - min(k) AS samples,
        CAST($grid_points AS BIGINT) - min(k) - 1 AS returns,
        count(r) AS nonzero,
        sum(r) AS r_sum,
        sum(mid * CAST(span AS DOUBLE)) AS mid_sum
    FROM steps
),
spread AS (
    SELECT sum((s.r - t.r_sum / CAST(t.returns AS DOUBLE)) * (s.r - t.r_sum / CAST(t.returns AS DOUBLE))) AS nonzero_ss
    FROM steps s CROSS JOIN totals t
    WHERE s.r IS NOT NULL
)
SELECT
    CASE WHEN t.returns >= 2 THEN
        sqrt(
            (COALESCE(sp.nonzero_ss, 0.0)
             + CAST(t.returns - t.nonzero AS DOUBLE) * power(COALESCE(t.r_sum, 0.0) / CAST(t.returns AS DOUBLE), 2))
            / CAST(t.returns - 1 AS DOUBLE)
        ) / sqrt(CAST($interval_secs AS DOUBLE)) * (t.mid_sum / CAST(t.samples AS DOUBLE))
    END AS sigma,
    COALESCE(t.samples, 0) AS mid_samples,
    GREATEST(COALESCE(t.returns, 0), 0) AS returns,
    t.mid_sum / CAST(t.samples AS DOUBLE) AS mean_mid
FROM totals t CROSS JOIN spread sp
