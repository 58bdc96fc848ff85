"""Data defects injected when `defects=True`, each recorded with table, type, key column and value.

Catalogue (all rare, a handful of rows per table):
- duplicate_row: exact copies of a few rows of billing.usage and access.audit;
- null_key: one billing.usage row whose record_id is NULL;
- negative_duration: one query.history row with negative total_duration_ms and one
  job_run_timeline slice whose period_end_time is before period_start_time;
- unknown_sku: a few billing.usage rows whose sku_name has no list price;
- schema_drift: query.history gets an extra trailing column `_hm_sim_drift`;
- malformed_struct: one usage row with usage_metadata.job_run_id set but job_id NULL, and one
  audit row whose response.status_code is outside the HTTP range.
Usage defects are drawn from rows without a job id, so job incidents (and their costs) stay intact.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hm_utils.simulator.common import SimulationOptions, fixed_rng

DRIFT_COLUMN = "_hm_sim_drift"
DEFECT_SCHEMA = pa.schema(
    [
        ("table", pa.string()),
        ("defect_type", pa.string()),
        ("key_column", pa.string()),
        ("key_value", pa.string()),
        ("description", pa.string()),
    ]
)


def _replace(table: pa.Table, column: str, row: int, value: pa.Array) -> pa.Table:
    """`table` with `column` at `row` replaced (value is a one-element array of the column type)."""
    old = table[column].combine_chunks()
    mask = np.zeros(table.num_rows, bool)
    mask[row] = True
    new = (
        pc.replace_with_mask(old, pa.array(mask), value)
        if not pa.types.is_nested(old.type)
        else pa.concat_arrays([old.slice(0, row), value, old.slice(row + 1)])
    )
    return table.set_column(table.schema.get_field_index(column), column, new)


def _replace_field(table: pa.Table, column: str, field: str, row: int, value: object) -> pa.Table:
    struct = table[column].combine_chunks()
    children = []
    for i, f in enumerate(struct.type):
        child = struct.field(i)
        if f.name == field:
            child = pa.concat_arrays([child.slice(0, row), pa.array([value], f.type), child.slice(row + 1)])
        children.append(child)
    rebuilt = pa.StructArray.from_arrays(children, fields=list(struct.type), mask=struct.is_null())
    return table.set_column(table.schema.get_field_index(column), column, rebuilt)


def inject_defects(options: SimulationOptions, tables: dict[str, pa.Table]) -> list[dict[str, str]]:
    """Apply the defect catalogue to `tables` in place; returns the ground-truth records."""
    rng = fixed_rng(options, "defects")
    found: list[dict[str, str]] = []

    def note(table: str, kind: str, column: str, value: object, text: str) -> None:
        found.append(
            {"table": table, "defect_type": kind, "key_column": column, "key_value": str(value), "description": text}
        )

    usage = tables["billing.usage"]
    candidates = np.flatnonzero(
        usage["usage_metadata"].combine_chunks().field("job_id").is_null().to_numpy(zero_copy_only=False)
        & pc.equal(usage["record_type"], "ORIGINAL").to_numpy(zero_copy_only=False)
    )
    picks = (
        rng.choice(candidates, size=min(6, candidates.size), replace=False) if candidates.size else np.array([], int)
    )
    if picks.size >= 6:
        dup, null_row, sku_rows = picks[:2], picks[2], picks[3:5]
        extra = usage.take(pa.array(dup))
        for rid in extra["record_id"].to_pylist():
            note("billing.usage", "duplicate_row", "record_id", rid, "exact duplicate of an ORIGINAL usage row")
        unknown = usage.take(pa.array(sku_rows))
        unknown = unknown.set_column(
            unknown.schema.get_field_index("sku_name"),
            "sku_name",
            pa.array(["PREMIUM_UNKNOWN_GPU_COMPUTE"] * 2, pa.string()),
        )
        new_ids = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(2)]
        unknown = unknown.set_column(unknown.schema.get_field_index("record_id"), "record_id", pa.array(new_ids))
        for rid in new_ids:
            note(
                "billing.usage",
                "unknown_sku",
                "record_id",
                rid,
                "sku_name PREMIUM_UNKNOWN_GPU_COMPUTE has no list price",
            )
        rid = usage["record_id"][int(null_row)].as_py()
        usage = _replace(usage, "record_id", int(null_row), pa.array([None], pa.string()))
        note("billing.usage", "null_key", "record_id", None, f"record_id NULL (was {rid})")
        malformed = int(picks[5])
        usage = _replace_field(usage, "usage_metadata", "job_run_id", malformed, "999999999999999")
        note(
            "billing.usage",
            "malformed_struct",
            "record_id",
            usage["record_id"][malformed].as_py(),
            "usage_metadata.job_run_id set while job_id is NULL",
        )
        tables["billing.usage"] = pa.concat_tables([usage, extra, unknown])

    audit = tables["access.audit"]
    routine = np.flatnonzero(pc.equal(audit["action_name"], "getTable").to_numpy(zero_copy_only=False))
    if routine.size >= 3:
        picks = rng.choice(routine, size=3, replace=False)
        extra = audit.take(pa.array(picks[:2]))
        for eid in extra["event_id"].to_pylist():
            note("access.audit", "duplicate_row", "event_id", eid, "exact duplicate audit event")
        audit = _replace_field(audit, "response", "status_code", int(picks[2]), 999)
        note(
            "access.audit",
            "malformed_struct",
            "event_id",
            audit["event_id"][int(picks[2])].as_py(),
            "response.status_code 999 is outside the HTTP range",
        )
        tables["access.audit"] = pa.concat_tables([audit, extra])

    history = tables["query.history"]
    if history.num_rows:
        row = int(rng.integers(0, history.num_rows))
        history = _replace(history, "total_duration_ms", row, pa.array([-1500], pa.int64()))
        note(
            "query.history",
            "negative_duration",
            "statement_id",
            history["statement_id"][row].as_py(),
            "total_duration_ms is negative",
        )
        drift = pa.nulls(history.num_rows, pa.string())
        tables["query.history"] = history.append_column(DRIFT_COLUMN, drift)
        note("query.history", "schema_drift", "column", DRIFT_COLUMN, "extra trailing column not in the reference")

    timeline = tables["lakeflow.job_run_timeline"]
    inner = np.flatnonzero(timeline["result_state"].is_null().to_numpy(zero_copy_only=False))
    if inner.size:
        row = int(rng.choice(inner))
        start = timeline["period_start_time"][row]
        end = timeline["period_end_time"][row]
        timeline = _replace(
            timeline, "period_start_time", row, pa.array([end.value], timeline["period_start_time"].type)
        )
        timeline = _replace(timeline, "period_end_time", row, pa.array([start.value], timeline["period_end_time"].type))
        note(
            "lakeflow.job_run_timeline",
            "negative_duration",
            "run_id",
            timeline["run_id"][row].as_py(),
            "an intermediate slice has period_end_time before period_start_time",
        )
        tables["lakeflow.job_run_timeline"] = timeline
    return found


def defects_table(records: list[dict[str, str]]) -> pa.Table:
    return pa.table({name: [r[name] for r in records] for name in DEFECT_SCHEMA.names}, schema=DEFECT_SCHEMA)
