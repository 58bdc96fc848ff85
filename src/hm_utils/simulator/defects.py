"""Data defects injected when `defects=True`, each recorded with table, type, key column and value.

Rows are chosen by their content (a weekday, an hour and a hash of their id), so an appended day
gets its own defects and earlier ones never change. Catalogue (rare: about one row a week each):
- duplicate_row: exact copies of a few rows of billing.usage and access.audit;
- null_key: one billing.usage row whose record_id is NULL;
- negative_duration: one query.history row with negative total_duration_ms and one
  job_run_timeline slice whose period_end_time is before period_start_time;
- unknown_sku: a few billing.usage rows whose sku_name has no list price;
- schema_drift: query.history gets an extra trailing column `_hm_sim_drift`;
- malformed_struct: one usage row with usage_metadata.job_run_id set but job_id NULL, and one
  audit row whose response.status_code is outside the HTTP range.
Table-level defects, one of each kind a week on a day fixed by the seed (so appended days agree):
- late_source: a source stops delivering for LATE_SOURCE_HOURS; its rows of that period arrive when
  it recovers (:func:`late_source_outages`, applied by `latency.visible`);
- volume_drop: VOLUME_DROP_SHARE of one table's rows of one day never arrive (each table every 10 days);
- distribution_shift: query.history's produced_rows of one day are SHIFT_FACTOR times larger.
Usage defects are drawn from rows without a job id, so job incidents (and their costs) stay intact.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hm_utils.simulator.common import (
    US_PER_DAY,
    US_PER_HOUR,
    SimulationOptions,
    Window,
    keep_rows,
    stable_int,
    unit_hash,
)

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


# Defects of a whole table or day (no single row is wrong): silver cannot see them, the monitors must.
TABLE_DEFECT_TYPES = ("late_source", "volume_drop", "distribution_shift")
LATE_SOURCE_TABLES = ("serving.endpoint_usage", "access.column_lineage")
LATE_SOURCE_HOURS = 48
VOLUME_DROP_TABLES = ("access.column_lineage", "serving.endpoint_usage")
VOLUME_DROP_SHARE = 0.7
SHIFT_FACTOR = 50
_EVENT_COLUMNS = {
    "serving.endpoint_usage": "request_time",
    "access.column_lineage": "event_time",
    "query.history": "start_time",
}


def _weekly_days(
    options: SimulationOptions, kind: str, first_day: int, last_day: int, period: int = 7, salt: str = ""
) -> list[int]:
    """Days (since the epoch) of a periodic table defect, fixed by the seed."""
    phase = stable_int(kind, salt, options.seed) % period
    return [day for day in range(first_day, last_day + 1) if (day - phase) % period == 0]


def late_source_outages(options: SimulationOptions, window: Window) -> list[tuple[str, int, int]]:
    """(table, start, end) in microseconds of every delivery outage touching the window, oldest first."""
    outages = []
    for day in _weekly_days(options, "late_source", window.first_day - 3, window.last_day):
        table = LATE_SOURCE_TABLES[(day // 7) % len(LATE_SOURCE_TABLES)]
        start = day * US_PER_DAY + 6 * US_PER_HOUR
        outages.append((table, start, start + LATE_SOURCE_HOURS * US_PER_HOUR))
    return outages


def _new_in_window(window: Window, start_us: int) -> bool:
    """Ground truth of a table defect is recorded by the snapshot (or appended day) in which it starts."""
    return start_us <= window.end_us and (window.after_us is None or start_us > window.after_us)


def _table_defects(options: SimulationOptions, tables: dict[str, pa.Table], window: Window, note) -> None:
    for table, start, end in late_source_outages(options, window):
        if _new_in_window(window, start) and start >= window.start_us:
            note(table, "late_source", "delivery_outage", f"{_iso(start)}/{_iso(end)}",
                 f"no rows delivered for {LATE_SOURCE_HOURS} h; that period's rows arrive when it recovers")  # fmt: skip
    drops = [
        (day, key)
        for key in VOLUME_DROP_TABLES  # every 10 days: a table's drops fall on changing weekdays, so the
        for day in _weekly_days(
            options, "volume_drop", window.first_day, window.last_day, 10, key
        )  # weekday history stays clean
    ]
    for day, key in sorted(drops):
        table = tables[key]
        event = table[_EVENT_COLUMNS[key]].cast(pa.int64()).to_numpy(zero_copy_only=False)
        lost = (event // US_PER_DAY == day) & (unit_hash(event, stable_int("volume_drop", key)) < VOLUME_DROP_SHARE)
        tables[key] = keep_rows(table, ~lost)
        if _new_in_window(window, day * US_PER_DAY):
            note(key, "volume_drop", "day", _iso(day * US_PER_DAY)[:10],
                 f"{VOLUME_DROP_SHARE:.0%} of the day's rows never delivered")  # fmt: skip
    history = tables["query.history"]
    for day in _weekly_days(options, "distribution_shift", window.first_day, window.last_day):
        event = history["start_time"].cast(pa.int64()).to_numpy(zero_copy_only=False)
        shifted = pa.array(event // US_PER_DAY == day)
        scaled = pc.multiply(history["produced_rows"], pa.scalar(SHIFT_FACTOR, history["produced_rows"].type))
        history = history.set_column(
            history.schema.get_field_index("produced_rows"),
            "produced_rows",
            pc.if_else(shifted, scaled, history["produced_rows"]),
        )
        if _new_in_window(window, day * US_PER_DAY):
            note("query.history", "distribution_shift", "day", _iso(day * US_PER_DAY)[:10],
                 f"produced_rows of every statement of the day x{SHIFT_FACTOR}")  # fmt: skip
    tables["query.history"] = history


def _iso(micros: int) -> str:
    return np.datetime_as_string(np.datetime64(micros, "us"), unit="m")


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


def _picks(table: pa.Table, time_column: str, id_column: str, salt: str, per_week: int = 1) -> np.ndarray:
    """Rows chosen by their own content (never by position), so a row gets the same defect whichever
    run writes it: candidates are rows of one weekday and hour, then a hash of their id keeps a few."""
    if table.num_rows == 0:
        return np.zeros(0, np.int64)
    moment = table[time_column].cast(pa.int64()).to_numpy(zero_copy_only=False)
    day, hour = moment // US_PER_DAY, (moment % US_PER_DAY) // US_PER_HOUR
    salt_value = stable_int(salt)
    candidates = np.flatnonzero((day % 7 == salt_value % 7) & (hour == 5 + salt_value % 12))
    ids = table[id_column].take(pa.array(candidates)).to_pylist()
    # about `per_week` rows per week: keep the candidates whose id hashes lowest within each day
    scores = np.array([stable_int(salt, value) for value in ids], dtype=np.float64)
    keep = []
    for d in np.unique(day[candidates]):
        mine = np.flatnonzero(day[candidates] == d)
        keep.extend(candidates[mine[np.argsort(scores[mine])][:per_week]])
    return np.array(sorted(keep), dtype=np.int64)


def inject_defects(options: SimulationOptions, tables: dict[str, pa.Table], window: Window) -> list[dict[str, str]]:
    """Apply the defect catalogue to `tables` in place; returns the ground-truth records."""
    found: list[dict[str, str]] = []

    def note(table: str, kind: str, column: str, value: object, text: str) -> None:
        found.append(
            {"table": table, "defect_type": kind, "key_column": column, "key_value": str(value), "description": text}
        )

    usage = tables["billing.usage"]
    plain = usage["usage_metadata"].combine_chunks().field("job_id").is_null().to_numpy(
        zero_copy_only=False
    ) & pc.equal(usage["record_type"], "ORIGINAL").to_numpy(zero_copy_only=False)
    candidates = usage.filter(pa.array(plain))
    offset = np.flatnonzero(plain)
    picks = {
        kind: offset[_picks(candidates, "usage_start_time", "record_id", f"usage-{kind}")]
        for kind in ("duplicate_row", "null_key", "unknown_sku", "malformed_struct")
    }
    extra = usage.take(pa.array(picks["duplicate_row"]))
    for rid in extra["record_id"].to_pylist():
        note("billing.usage", "duplicate_row", "record_id", rid, "exact duplicate of an ORIGINAL usage row")
    unknown = usage.take(pa.array(picks["unknown_sku"]))
    new_ids = [
        f"00000000-0000-4000-8000-{stable_int('unknown', rid) % 10**12:012d}"
        for rid in unknown["record_id"].to_pylist()
    ]
    unknown = unknown.set_column(
        unknown.schema.get_field_index("sku_name"),
        "sku_name",
        pa.array(["PREMIUM_UNKNOWN_GPU_COMPUTE"] * len(new_ids), pa.string()),
    )
    unknown = unknown.set_column(
        unknown.schema.get_field_index("record_id"), "record_id", pa.array(new_ids, pa.string())
    )
    for rid in new_ids:
        note("billing.usage", "unknown_sku", "record_id", rid, "sku_name PREMIUM_UNKNOWN_GPU_COMPUTE has no list price")
    for row in picks["null_key"]:
        rid = usage["record_id"][int(row)].as_py()
        usage = _replace(usage, "record_id", int(row), pa.array([None], pa.string()))
        note("billing.usage", "null_key", "record_id", None, f"record_id NULL (was {rid})")
    for row in picks["malformed_struct"]:
        usage = _replace_field(usage, "usage_metadata", "job_run_id", int(row), "999999999999999")
        note(
            "billing.usage", "malformed_struct", "record_id", usage["record_id"][int(row)].as_py(),
            "usage_metadata.job_run_id set while job_id is NULL",
        )  # fmt: skip
    tables["billing.usage"] = pa.concat_tables([usage, extra, unknown])

    audit = tables["access.audit"]
    routine = np.flatnonzero(pc.equal(audit["action_name"], "getTable").to_numpy(zero_copy_only=False))
    candidates = audit.take(pa.array(routine))
    duplicates = routine[_picks(candidates, "event_time", "event_id", "audit-duplicate")]
    malformed = routine[_picks(candidates, "event_time", "event_id", "audit-malformed")]
    extra = audit.take(pa.array(duplicates))
    for eid in extra["event_id"].to_pylist():
        note("access.audit", "duplicate_row", "event_id", eid, "exact duplicate audit event")
    for row in malformed:
        audit = _replace_field(audit, "response", "status_code", int(row), 999)
        note(
            "access.audit", "malformed_struct", "event_id", audit["event_id"][int(row)].as_py(),
            "response.status_code 999 is outside the HTTP range",
        )  # fmt: skip
    tables["access.audit"] = pa.concat_tables([audit, extra])

    history = tables["query.history"]
    for row in _picks(history, "start_time", "statement_id", "query-negative"):
        history = _replace(history, "total_duration_ms", int(row), pa.array([-1500], pa.int64()))
        note("query.history", "negative_duration", "statement_id", history["statement_id"][int(row)].as_py(),
             "total_duration_ms is negative")  # fmt: skip
    tables["query.history"] = history.append_column(DRIFT_COLUMN, pa.nulls(history.num_rows, pa.string()))
    if window.after_us is None:
        note("query.history", "schema_drift", "column", DRIFT_COLUMN, "extra trailing column not in the reference")

    timeline = tables["lakeflow.job_run_timeline"]
    inner = np.flatnonzero(timeline["result_state"].is_null().to_numpy(zero_copy_only=False))
    candidates = timeline.take(pa.array(inner))
    for row in inner[_picks(candidates, "period_start_time", "run_id", "timeline-negative")]:
        start = timeline["period_start_time"][int(row)]
        end = timeline["period_end_time"][int(row)]
        timeline = _replace(
            timeline, "period_start_time", int(row), pa.array([end.value], timeline["period_start_time"].type)
        )
        timeline = _replace(
            timeline, "period_end_time", int(row), pa.array([start.value], timeline["period_end_time"].type)
        )
        note(
            "lakeflow.job_run_timeline", "negative_duration", "run_id", timeline["run_id"][int(row)].as_py(),
            "an intermediate slice has period_end_time before period_start_time",
        )  # fmt: skip
    tables["lakeflow.job_run_timeline"] = timeline
    _table_defects(options, tables, window, note)
    return found


def defects_table(records: list[dict[str, str]]) -> pa.Table:
    return pa.table({name: [r[name] for r in records] for name in DEFECT_SCHEMA.names}, schema=DEFECT_SCHEMA)
