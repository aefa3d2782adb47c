"""Reads the `depth` and `book_top` tables of an mdkit data tree with DuckDB, pyarrow and polars and
prints what each saw as one JSON object. Driven by tests/it/interop.rs: these two tables hold
the most values, the nulls of missing levels and the page statistics other readers filter with."""

import json
import sys

import duckdb
import polars as pl
import pyarrow.dataset as ds

root = sys.argv[1]
con = duckdb.connect()


def duck(table, select, where="true"):
    glob = f"{root}/{table}/*/*/*/*.parquet"
    return con.execute(
        f"SELECT {select} FROM read_parquet('{glob}', hive_partitioning = true) WHERE {where}"
    ).fetchall()[0]


depth = ds.dataset(f"{root}/depth", format="parquet", partitioning="hive").to_table()
top = ds.dataset(f"{root}/book_top", format="parquet", partitioning="hive").to_table()
pl_depth = pl.read_parquet(f"{root}/depth/*/*/*/*.parquet", hive_partitioning=True)
pl_top = pl.read_parquet(f"{root}/book_top/*/*/*/*.parquet", hive_partitioning=True)
print(
    json.dumps(
        {
            "duckdb": {
                "depth": [
                    str(v)
                    for v in duck(
                        "depth",
                        "count(*), sum(seq), sum(price), sum(qty), count(*) FILTER (WHERE snapshot),"
                        " count(*) FILTER (WHERE side = 'ask'), min(venue), max(market), sum(conn)",
                    )
                ],
                "depth_seq_100_119": duck("depth", "count(*)", "seq BETWEEN 100 AND 119")[0],
                "book_top": [
                    str(v)
                    for v in duck(
                        "book_top",
                        "count(*), sum(bid_price_0), count(ask_qty_19), sum(ask_qty_19),"
                        " count(bid_price_5)",
                    )
                ],
            },
            "pyarrow": {
                "depth_rows": depth.num_rows,
                "depth_price_sum": str(sum(depth.column("price").to_pylist())),
                "top_rows": top.num_rows,
                "top_ask_qty_19_nulls": top.column("ask_qty_19").null_count,
                "top_bid_price_0_sum": str(sum(v for v in top.column("bid_price_0").to_pylist() if v is not None)),
            },
            "polars": {
                "depth_rows": pl_depth.height,
                "depth_price_type": str(pl_depth.schema["price"]),
                "depth_price_sum": str(sum(pl_depth["price"].to_list())),
                "depth_ts_recv_type": str(pl_depth.schema["ts_recv"]),
                "depth_max_seq": pl_depth["seq"].max(),
                "top_rows": pl_top.height,
                "top_ask_qty_19_nulls": pl_top["ask_qty_19"].null_count(),
                "top_bid_price_0_sum": str(sum(v for v in pl_top["bid_price_0"].to_list() if v is not None)),
            },
        }
    )
)
