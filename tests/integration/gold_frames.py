"""Tiny hand-made system-table frames for the gold transform tests."""

from __future__ import annotations

from datetime import datetime

from hm_utils import system_schema

WS = "1001"


def ts(hour: int, minute: int = 0, day: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, minute)  # naive: Spark returns naive UTC timestamps (engine and tests in UTC)


def system_frame(spark, table: str, rows: list[dict]):
    """A DataFrame with the exact columns of system table `table`; columns a row does not give are NULL."""
    columns = [name for name, _ in system_schema.table_columns(table)]
    return spark.createDataFrame([[row.get(c) for c in columns] for row in rows], system_schema.spark_type_ddl(table))


def clusters_dim(spark, rows: list[tuple[str, str]]):
    """dim_cluster from (cluster_id, cluster_source) pairs."""
    from hm_utils.gold.dimensions import dim_cluster_frame

    frame = system_frame(
        spark,
        "compute.clusters",
        [
            {"workspace_id": WS, "cluster_id": cid, "cluster_source": source, "change_time": ts(0, day=1)}
            for cid, source in rows
        ],
    )
    return dim_cluster_frame(frame)
