#!/usr/bin/env python3
"""One window of `mdkit calibrate` written as DuckDB SQL, for the comparison in BENCHMARKS.md.

Usage: scripts/calibrate_duckdb.py DATA [MARKET] [VENUE]   (default ETH-USD on extended)

The same definitions as sql/*.sql and docs/MODEL.md, over the same hive-partitioned Parquet,
with what `mdkit calibrate` does by default around them: one window from the market's first
book frame to just after its last, a look-back of max(window, 1800 s), a 1 s σ grid, the tick
as the gcd of the distinct best prices, the depth grid chosen from the window's orders (the
n-th deepest order per side, n = max(4 × min_count, ⌈2 % of the side's orders⌉), a step of
tick × 1, 2 or 5 × 10ʲ, 20 levels), min_count 5, and the least-squares fit of ln λ on δ.

The SQL is written the way DuckDB reads naturally (ASOF JOIN, arg_max, a materialised grid
of orders), not translated from DataFusion's; only the definitions are shared. Prices stay
exact DECIMAL(18, 8) until the fit. Prints one JSON object with keys of
`mdkit calibrate --format json` (sigma, mid_samples, trades, depth_start, depth_step, grid, and
kappa_bid, a_bid, r2_bid, points_bid, orders_bid and the same for ask) so the two can be
compared value by value.
"""

import json
import math
import sys
from decimal import Decimal

import duckdb

MIN_COUNT = 5
LEVELS = 20
TAIL_SHARE = 0.02
LOOKBACK_NS = 1800 * 10**9
INTERVAL_NS = 10**9


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: calibrate_duckdb.py DATA [MARKET] [VENUE]")
    root = sys.argv[1]
    market = sys.argv[2] if len(sys.argv) > 2 else "ETH-USD"
    venue = sys.argv[3] if len(sys.argv) > 3 else "extended"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # Bounds in ns since the epoch, as TIMESTAMPTZ_NS like the columns (so Parquet statistics
    # can skip row groups).
    con.execute("CREATE MACRO ns_time(ns) AS make_timestamp_ns(ns)::TIMESTAMPTZ_NS")
    for table in ("book_top", "trades"):
        con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet("
            f"'{root}/{table}/venue={venue}/market={market}/*/*.parquet', hive_partitioning = true)"
        )
    first, last = con.execute(
        "SELECT epoch_ns(min(ts_event)), epoch_ns(max(ts_event)) FROM book_top"
    ).fetchone()
    start, end = first, last + 1
    lookback = start - max(end - start, LOOKBACK_NS)
    p = {"start": start, "end": end, "lookback": lookback}

    # σ: the mid at each 1 s grid point is that of the last frame at or before it; frames go
    # to the bucket of the first grid point at or after them, the last frame of a bucket holds
    # until the next occupied one, and the zero returns in between enter by their count.
    n_grid = -(-(end - start) // INTERVAL_NS)
    sigma, mid_samples, _mean_mid = con.execute(
        """
        WITH frames AS (
            SELECT CASE WHEN epoch_ns(ts_event) <= $start_ns THEN 0
                        ELSE (epoch_ns(ts_event) - $start_ns - 1) // $interval + 1 END AS k,
                   (bid_price_0 + ask_price_0)::DOUBLE / 2 AS mid,
                   ts_event, ts_recv, conn, seq
            FROM book_top
            WHERE ts_event >= ns_time($lookback) AND ts_event < ns_time($end)
              AND bid_price_0 IS NOT NULL AND ask_price_0 IS NOT NULL
        ),
        buckets AS (
            SELECT k, arg_max(mid, (ts_event, ts_recv, conn, seq)) AS mid
            FROM frames WHERE k < $n GROUP BY k
        ),
        steps AS (
            SELECT k, mid, coalesce(lead(k) OVER w, $n) - k AS span,
                   ln(mid / lag(mid) OVER w) AS r
            FROM buckets WINDOW w AS (ORDER BY k)
        ),
        totals AS (
            SELECT $n - min(k) AS samples, $n - min(k) - 1 AS returns, count(r) AS nonzero,
                   sum(r) AS r_sum, sum(mid * span) AS mid_sum
            FROM steps
        )
        SELECT CASE WHEN t.returns >= 2 THEN
                   sqrt((coalesce((SELECT sum((r - t.r_sum / t.returns) ** 2) FROM steps
                                   WHERE r IS NOT NULL), 0)
                         + (t.returns - t.nonzero) * (coalesce(t.r_sum, 0) / t.returns) ** 2)
                        / (t.returns - 1)) / sqrt($interval / 1e9) * (t.mid_sum / t.samples)
               END,
               t.samples, t.mid_sum / t.samples
        FROM totals t
        """,
        {"lookback": p["lookback"], "end": p["end"], "start_ns": start, "interval": INTERVAL_NS, "n": n_grid},
    ).fetchone()

    # The tick: the gcd of the distinct best prices (at most 5,000), in 1e-8 units.
    prices = con.execute(
        """
        SELECT DISTINCT price FROM (
            SELECT bid_price_0 AS price FROM book_top
            UNION ALL SELECT ask_price_0 FROM book_top) WHERE price IS NOT NULL LIMIT 5000
        """
    ).fetchall()
    tick = 0
    for (price,) in prices:
        tick = math.gcd(tick, int(price * 10**8))

    # Orders: trades of one ts_event and taker side, each print measured from the latest frame
    # strictly before it (the last frame of its ts_event by ts_recv, conn, seq), the order at
    # its deepest print, 2δ exact, negative as 0. Materialised once; the reach and λ read it.
    con.execute(
        """
        CREATE TEMP TABLE orders AS
        WITH last_frames AS (
            SELECT ts_event, arg_max(bid_price_0 + ask_price_0, (ts_recv, conn, seq)) AS bid_ask
            FROM book_top
            WHERE ts_event >= ns_time($lookback) AND ts_event < ns_time($end)
              AND bid_price_0 IS NOT NULL AND ask_price_0 IS NOT NULL
            GROUP BY ts_event
        ),
        prints AS (
            SELECT t.ts_event, t.side,
                   CASE WHEN t.side = 'sell' THEN f.bid_ask - 2 * t.price
                        ELSE 2 * t.price - f.bid_ask END AS twice_delta
            FROM (SELECT * FROM trades
                  WHERE ts_event >= ns_time($start) AND ts_event < ns_time($end)) t
            ASOF LEFT JOIN last_frames f ON t.ts_event > f.ts_event
        )
        SELECT CASE WHEN side = 'sell' THEN 'bid' ELSE 'ask' END AS side,
               CASE WHEN count(twice_delta) > 0 THEN greatest(max(twice_delta), 0) END
                   AS twice_delta,
               count(*) AS prints
        FROM prints GROUP BY side, ts_event
        """,
        p,
    )
    reach = con.execute(
        """
        WITH ranked AS (
            SELECT side, twice_delta,
                   row_number() OVER (PARTITION BY side ORDER BY twice_delta DESC) AS deepest,
                   count(*) OVER (PARTITION BY side) AS side_orders
            FROM orders WHERE twice_delta IS NOT NULL
        )
        SELECT min(twice_delta) FROM ranked
        WHERE deepest = greatest($tail, ceil(side_orders * $share)::BIGINT)
        """,
        {"tail": 4 * MIN_COUNT, "share": TAIL_SHARE},
    ).fetchone()[0]
    depth_start, depth_step, source = choose_grid(tick, reach)

    points = con.execute(
        """
        SELECT s.side, g.k, $d0 + g.k * $step AS delta,
               (SELECT count(*) FROM orders o
                 WHERE o.side = s.side AND o.twice_delta >= 2 * ($d0 + g.k * $step)) AS orders
        FROM (VALUES ('bid'), ('ask')) s(side), range($levels) g(k)
        ORDER BY s.side, g.k
        """,
        {"d0": depth_start, "step": depth_step, "levels": LEVELS},
    ).fetchall()
    totals = dict(
        con.execute(
            "SELECT side, count(twice_delta) FROM orders GROUP BY side"
        ).fetchall()
    )
    trades = con.execute("SELECT coalesce(sum(prints), 0) FROM orders").fetchone()[0]
    window_secs = (end - start) / 1e9
    con.execute("CREATE TEMP TABLE intensity (side VARCHAR, delta DOUBLE, lam DOUBLE)")
    con.executemany(
        "INSERT INTO intensity VALUES (?, ?, ?)",
        [(side, float(delta), count / window_secs) for side, _, delta, count in points
         if count >= MIN_COUNT and count > 0],
    )
    fits = {
        side: (kappa, a, r2, n)
        for side, kappa, a, r2, n in con.execute(
            """
            SELECT side, -regr_slope(ln(lam), delta), exp(regr_intercept(ln(lam), delta)),
                   regr_r2(ln(lam), delta), count(*)
            FROM intensity GROUP BY side
            """
        ).fetchall()
    }
    out = {
        "sigma": sigma,
        "mid_samples": mid_samples,
        "trades": int(trades),
        "depth_start": str(depth_start.normalize()),
        "depth_step": str(depth_step.normalize()),
        "grid": source,
    }
    for side in ("bid", "ask"):
        kappa, a, r2, n = fits.get(side, (None, None, None, 0))
        if n < 3:
            kappa = a = r2 = None
        out.update({f"kappa_{side}": kappa, f"a_{side}": a, f"r2_{side}": r2,
                    f"points_{side}": n, f"orders_{side}": int(totals.get(side, 0))})
    print(json.dumps(out))


def choose_grid(tick: int, twice_reach):
    """estimate::grid::choose with no --depth-start: (δ₀, Δ, source) as exact decimals."""
    unit = Decimal(10) ** -8
    if twice_reach is None:
        step = tick
        return Decimal(step // 2) * unit, Decimal(step) * unit, "tick"
    twice = max(int(twice_reach * 10**8), 0)
    target = twice // (2 * LEVELS - 1)
    n = target // max(tick, 1)
    best, decade = 1, 1
    while decade <= n:
        for m in (1, 2, 5):
            if m * decade <= n:
                best = m * decade
        decade *= 10
    step = tick * best
    return Decimal(step // 2) * unit, Decimal(step) * unit, "data"


if __name__ == "__main__":
    main()
