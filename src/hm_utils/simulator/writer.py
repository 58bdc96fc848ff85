"""Writes simulated tables as parquet: `<out>/<schema>/<table>/part-NNNNN.parquet`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROWS_PER_PART = 2_000_000


def table_dir(out_dir: Path, key: str) -> Path:
    """Folder of a table key such as "billing.usage" or "_ground_truth.incidents"."""
    schema, table = key.split(".", 1)
    return out_dir / schema / table


def write_table(out_dir: Path, key: str, table: pa.Table) -> int:
    """Replace the folder of `key` with `table` (split into parts if large); returns rows written."""
    folder = table_dir(out_dir, key)
    if folder.exists():
        shutil.rmtree(folder)
    return _write_parts(folder, table, "part")


def append_table(out_dir: Path, key: str, table: pa.Table, suffix: str) -> int:
    """Add `table` to the folder of `key` as new part files named after `suffix`; returns rows added."""
    return _write_parts(table_dir(out_dir, key), table, f"part-{suffix}")


def _write_parts(folder: Path, table: pa.Table, prefix: str) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    parts = max(1, -(-table.num_rows // ROWS_PER_PART))
    for i in range(parts):
        chunk = table.slice(i * ROWS_PER_PART, ROWS_PER_PART)
        pq.write_table(chunk, folder / f"{prefix}-{i:05d}.parquet", compression="zstd", row_group_size=500_000)
    return table.num_rows
