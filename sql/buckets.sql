-- buckets.sql: the mid of each occupied σ bucket in one stretch of a window (docs/MODEL.md
-- "σ (volatility)"). volatility.sql reads the rows of all of a window's stretches together as
-- the table `buckets`.
--
-- Input tables: book_top (venue, market, ts_event, ts_recv, conn, seq, bid_price_0, ask_price_0).
-- Parameters (bound, never pasted):
--   $venue           Utf8                 venue to read
--   $market          Utf8                 market to read
--   $from            Timestamp(ns, UTC)   stretch start, inclusive (venue clock); the first
--                                         stretch starts at the look-back start, so the last
--                                         frame at or before the window start is in it
--   $to              Timestamp(ns, UTC)   stretch end, exclusive; the last stretch ends at the
--                                         window end
--   $start_ns        Int64                the window start in ns since the epoch
--   $interval_ns     Int64                Δt, the sample interval, in ns (> 0)
--   $grid_points     Int64                n = ceil((end − start) / Δt): grid points g_k = start + k·Δt, k < n
-- Output (one row per occupied bucket k < n of the stretch; at most one stretch / Δt rows):
--   k            Int64    grid index
--   mid          Float64  price: (bid + ask) / 2 of the bucket's last frame
--
-- Mid at g_k is that of the last frame (by ts_event, then ts_recv, conn, seq) with
-- ts_event <= g_k; a frame without a best bid or ask has no mid and is not used. Each frame is
-- put in the bucket of the first grid point at or after it, k = ceil((ts − start) / Δt) (0 for
-- frames at or before start), and the last frame of each bucket kept: one hash aggregate. The
-- caller cuts a window into stretches at start + j·M·Δt + 1 ns (the first instant of bucket
-- j·M + 1), so no bucket spans two stretches, and a stretch is at most 8 hours by default: the
-- aggregate holds one stretch's buckets, however long the window.
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
      AND ts_event >= $from
      AND ts_event < $to
      AND bid_price_0 IS NOT NULL
      AND ask_price_0 IS NOT NULL
)
SELECT k, last_value(mid ORDER BY ts_event, ts_recv, conn, seq) AS mid
FROM frames
WHERE k < CAST($grid_points AS BIGINT)
GROUP BY k
