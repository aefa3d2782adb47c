-- tick.sql: the distinct best prices of one market, from which the caller infers the tick
-- (their greatest common divisor) when --depth-step is not given.
--
-- Input tables: book_top (venue, market, ts_event, bid_price_0, ask_price_0).
-- Parameters (bound, never pasted):
--   $venue         Utf8                 venue to read
--   $market        Utf8                 market to read
--   $window_start  Timestamp(ns, UTC)   range start, inclusive (venue clock)
--   $window_end    Timestamp(ns, UTC)   range end, exclusive
-- Output (at most 5,000 rows):
--   price   Decimal(18, 8)   a best bid or best ask price seen in the range, quote currency
SELECT DISTINCT price
FROM (
    SELECT bid_price_0 AS price FROM book_top
    WHERE venue = $venue AND market = $market AND ts_event >= $window_start AND ts_event < $window_end
    UNION ALL
    SELECT ask_price_0 AS price FROM book_top
    WHERE venue = $venue AND market = $market AND ts_event >= $window_start AND ts_event < $window_end
) best
WHERE price IS NOT NULL
LIMIT 5000
