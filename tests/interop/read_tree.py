"""Reads an mdkit data tree with DuckDB, pyarrow and polars exactly as the README shows, and prints
what each saw as one JSON object. Driven by tests/it/interop.rs."""

import json
import sys

import duckdb
import polars as pl
import pyarrow.dataset as ds

root = sys.argv[1]
glob = f"{root}/trades/*/*/*/*.parquet"
con = duckdb.connect()
rows = con.execute(
    "SELECT market, CAST(date AS VARCHAR), count(*), CAST(sum(price) AS VARCHAR), max(trade_id) "
    f"FROM read_parquet('{glob}', hive_partitioning = true) GROUP BY ALL ORDER BY ALL"
).fetchall()
types = {
    name: kind
    for name, kind, *_ in con.execute(
        f"DESCRIBE SELECT * FROM read_parquet('{glob}', hive_partitioning = true)"
    ).fetchall()
}
table = ds.dataset(f"{root}/trades", format="parquet", partitioning="hive").to_table()
frame = pl.read_parquet(glob, hive_partitioning=True)
print(
    json.dumps(
        {
            "duckdb": {"rows": rows, "types": types},
            "pyarrow": {
                "rows": table.num_rows,
                "types": {f.name: str(f.type) for f in table.schema},
                "max_trade_id": max(table.column("trade_id").to_pylist()),
                "sum_price": str(sum(table.column("price").to_pylist())),
            },
            "polars": {
                "rows": frame.height,
                "max_trade_id": frame["trade_id"].max(),
                "sum_price": str(sum(frame["price"].to_list())),
                "markets": sorted(frame["market"].unique().to_list()),
            },
        }
    )
)
