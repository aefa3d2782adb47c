"""Bytes of an mdkit tree against the raw frames it stores (issue 23), for scripts/storage-size.sh.

usage: storage_size.py TREE RAW_KIND RAW_PATH [LABEL [brief]]
  RAW_KIND journal:         RAW_PATH is a journal directory (<data>/_journal/<venue>/<MARKET>);
                            the raw bytes are the frame payloads of its records, live segments
                            and ZSTD archives alike (the connect/disconnect records are not frames)
  RAW_KIND hftbacktest-raw: RAW_PATH is a gzip capture (`<receive ns> <frame>` per line); the raw
                            bytes are the frames of the streams mdkit stores (depth, trade and the
                            REST snapshot), not bookTicker, which mdkit does not keep

Prints Markdown: bytes per table, the largest columns, the ratio raw / Parquet, and whether
DuckDB, polars and pyarrow each read every table with the row counts mdkit's footers give
(`brief`: the ratio line only).
"""

import glob
import gzip
import os
import struct
import subprocess
import sys

import duckdb
import polars
import pyarrow.dataset
import pyarrow.parquet as pq

TABLES = ["depth", "book_top", "trades", "events"]
MAGIC = b"MDKJRNL1"
BODY_FIXED = 8 + 8 + 4 + 1 + 1
KIND_FRAME = 2


def journal_frame_bytes(directory):
    """Payload bytes of the frame records of every segment below `directory`."""
    total = frames = 0
    seen = set()
    paths = sorted(glob.glob(os.path.join(directory, "**", "*.journal*"), recursive=True))
    for path in paths:
        first = os.path.basename(path).split(".")[0]
        if first in seen or os.path.basename(path).startswith("."):
            continue  # an archive and its live segment after a crash: one copy counts
        seen.add(first)
        if path.endswith(".zst"):
            data = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
        else:
            with open(path, "rb") as f:
                data = f.read()
        assert data[: len(MAGIC)] == MAGIC, path
        at = len(MAGIC)
        while at + 8 <= len(data):
            (length,) = struct.unpack_from("<I", data, at)
            body = data[at + 8 : at + 8 + length]
            if len(body) < length:
                break  # a torn tail
            if body[20] == KIND_FRAME:
                total += length - BODY_FIXED
                frames += 1
            at += 8 + length
    return total, frames


def hftbacktest_frame_bytes(path):
    total = frames = 0
    with gzip.open(path, "rb") as f:
        for line in f:
            frame = line.rstrip(b"\n").split(b" ", 1)[1]
            if b"@bookTicker" in frame[:48]:
                continue
            total += len(frame)
            frames += 1
    return total, frames


def parquet_bytes(tree):
    """Per table: files, bytes on disk, rows, and compressed bytes per column."""
    out = {}
    for table in TABLES:
        files = [
            p
            for p in glob.glob(os.path.join(tree, table, "**", "*.parquet"), recursive=True)
            if not os.path.basename(p).startswith(".")
        ]
        columns, rows = {}, 0
        for path in files:
            meta = pq.ParquetFile(path).metadata
            rows += meta.num_rows
            for g in range(meta.num_row_groups):
                group = meta.row_group(g)
                for c in range(group.num_columns):
                    column = group.column(c)
                    name = column.path_in_schema
                    columns[name] = columns.get(name, 0) + column.total_compressed_size
        out[table] = {
            "files": len(files),
            "bytes": sum(os.path.getsize(p) for p in files),
            "rows": rows,
            "columns": columns,
        }
    return out


def readers_agree(tree, sizes):
    """Each table read whole by DuckDB, polars and pyarrow: the row counts of the footers."""
    lines = []
    for table, size in sizes.items():
        if size["files"] == 0:
            continue
        glob_path = os.path.join(tree, table, "**", "*.parquet")
        # max() of every column: each column is decoded, not only counted.
        duck = duckdb.sql(
            f"SELECT count(*), CAST(max(COLUMNS(*)) AS VARCHAR) "
            f"FROM read_parquet('{glob_path}', hive_partitioning = true)"
        ).fetchall()[0]
        frame = polars.read_parquet(glob_path, hive_partitioning=True)
        arrow = pyarrow.dataset.dataset(
            os.path.join(tree, table), format="parquet", partitioning="hive",
            exclude_invalid_files=False,
        ).to_table()
        ok = duck[0] == frame.height == arrow.num_rows == size["rows"]
        lines.append(
            f"| {table} | {duck[0]:,} | {frame.height:,} | {arrow.num_rows:,} | "
            f"{'yes' if ok else 'NO'} |"
        )
        if not ok:
            raise SystemExit(f"{table}: the readers disagree with the footers ({size['rows']} rows)")
    return lines


def main():
    tree, kind, raw_path = sys.argv[1:4]
    label = sys.argv[4] if len(sys.argv) > 4 else tree
    raw, frames = (journal_frame_bytes if kind == "journal" else hftbacktest_frame_bytes)(raw_path)
    sizes = parquet_bytes(tree)
    parquet = sum(s["bytes"] for s in sizes.values())
    headline = (f"Raw frames stored: {frames:,} frames, {raw:,} bytes of JSON. "
                f"Parquet: {parquet:,} bytes in {sum(s['files'] for s in sizes.values())} parts — "
                f"**{raw / parquet:.1f}× smaller** "
                f"(target ≥ 20×: {'met' if raw >= 20 * parquet else 'not met'}).\n")
    if sys.argv[5:6] == ["brief"]:
        print(f"{label}: {headline}")
        return
    print(f"### {label}\n")
    print(headline)
    print("| table | rows | parts | bytes | bytes/row | share |")
    print("|---|---|---|---|---|---|")
    for table, s in sizes.items():
        per_row = s["bytes"] / s["rows"] if s["rows"] else 0
        print(f"| {table} | {s['rows']:,} | {s['files']} | {s['bytes']:,} | {per_row:.2f} | "
              f"{100 * s['bytes'] / parquet:.1f} % |")
    print("\nLargest columns (compressed bytes, all row groups):\n")
    print("| table.column | bytes | bits/row |")
    print("|---|---|---|")
    ranked = sorted(
        ((n, t, s["rows"]) for t, s in sizes.items() for n in s["columns"].items()),
        key=lambda x: -x[0][1],
    )
    for (name, size), table, rows in ranked[:12]:
        print(f"| {table}.{name} | {size:,} | {8 * size / rows:.1f} |")
    print("\nEvery table read whole (rows):\n")
    print("| table | DuckDB | polars | pyarrow | equal to the footers |")
    print("|---|---|---|---|---|")
    print("\n".join(readers_agree(tree, sizes)))
    print()


if __name__ == "__main__":
    main()
