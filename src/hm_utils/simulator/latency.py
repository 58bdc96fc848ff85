"""When simulated rows become visible: each system table lags its events by a latency of its own.

A row is in a snapshot taken at `end` when its arrival (event time + the table's lag, drawn per row
from the event time so it is the same in every run) is at or before `end`; an appended day keeps
only rows that arrived after the previous end. Billing computes its own arrival (it also has late
rows and corrections, see billing.py). The reference documents only billing's latency ("typically
within 12 hours"); the other lags are assumptions (see docs/simulator.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from hm_utils.simulator.common import US_PER_MINUTE, Window, keep_rows, stable_int, unit_hash


@dataclass(frozen=True)
class Latency:
    """`column` holds the event time; the lag is uniform in [low, high] minutes. `history` tables
    (SCD2 definitions) keep rows older than the window: the latest row of an entity is always there."""

    column: str
    low: int
    high: int
    history: bool = False


LATENCY: dict[str, Latency] = {
    "lakeflow.jobs": Latency("change_time", 10, 60, history=True),
    "lakeflow.job_tasks": Latency("change_time", 10, 60, history=True),
    "lakeflow.pipelines": Latency("change_time", 10, 60, history=True),
    "compute.clusters": Latency("change_time", 10, 60, history=True),
    "compute.warehouses": Latency("change_time", 10, 60, history=True),
    "serving.served_entities": Latency("change_time", 10, 60, history=True),
    "lakeflow.job_run_timeline": Latency("period_end_time", 10, 60),
    "lakeflow.job_task_run_timeline": Latency("period_end_time", 10, 60),
    "lakeflow.pipeline_update_timeline": Latency("period_end_time", 10, 60),
    "compute.node_timeline": Latency("end_time", 10, 40),
    "compute.warehouse_events": Latency("event_time", 5, 30),
    "query.history": Latency("end_time", 5, 20),
    "access.audit": Latency("event_time", 5, 30),
    "access.table_lineage": Latency("event_time", 30, 120),
    "access.column_lineage": Latency("event_time", 30, 120),
    "serving.endpoint_usage": Latency("request_time", 30, 90),
    "ai_gateway.usage": Latency("event_time", 10, 60),
    "storage.predictive_optimization_operations_history": Latency("end_time", 60, 180),
}
# Upper bound of any lag above: bronze re-reads `bronze.lookback_days` before its watermark, which must exceed it.
MAX_LAG_MINUTES = max(latency.high for latency in LATENCY.values())


def arrival_us(table_key: str, event_us: np.ndarray) -> np.ndarray:
    """When each row of `table_key` with event time `event_us` becomes visible."""
    latency = LATENCY[table_key]
    lag = latency.low + (latency.high - latency.low) * unit_hash(event_us, stable_int(table_key))
    return event_us + (lag * US_PER_MINUTE).astype(np.int64)


def visible(table_key: str, table: pa.Table, window: Window, outages: Sequence[tuple[str, int, int]] = ()) -> pa.Table:
    """The rows of `table` a snapshot of the window shows (see the module docstring). During a delivery
    outage (table, start, end) of `outages`, the table's rows of that period arrive when it ends."""
    latency = LATENCY.get(table_key)
    if latency is None or table.num_rows == 0:
        return table
    event = table[latency.column].cast(pa.int64()).to_numpy(zero_copy_only=False)
    arrival = arrival_us(table_key, event)
    for outage_table, start, end in outages:
        if outage_table == table_key:
            held = (event >= start) & (event < end)
            arrival = np.where(held, np.maximum(arrival, end + (arrival - event)), arrival)
    keep = arrival <= window.end_us
    if not latency.history:
        keep &= event >= window.start_us
    if window.after_us is not None:
        keep &= arrival > window.after_us
    return keep_rows(table, keep)
