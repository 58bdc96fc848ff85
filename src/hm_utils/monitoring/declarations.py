"""Monitor declarations (`src/hm_utils/monitors/*.yml`): one file per monitored table, read and validated.

A monitor profiles one table per time window like a Databricks TimeSeries data-profiling monitor:
`table` (registry key), `timestamp_col`, `granularities` (`1 hour`, `1 day`, `1 week`, `1 month`),
`slicing_exprs` (SQL expressions; each distinct value is a slice), `columns` (the columns profiled),
`custom_metrics` (aggregate, derived, drift; Databricks' fields) and optional `baseline_days` (the first
days of the table's history profiled once as the baseline of BASELINE drift; default 7).
Its output tables `monitoring.<table>_profile_metrics` and `monitoring.<table>_drift_metrics` are
registered from these files (:func:`output_specs`), never listed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from hm_utils.errors import ConfigError

MONITORS_DIR = Path(__file__).resolve().parents[1] / "monitors"
GRANULARITIES = {"1 hour": "hour", "1 day": "day", "1 week": "week", "1 month": "month"}
METRIC_TYPES = ("aggregate", "derived", "drift")
OUTPUT_TYPES = ("bigint", "double", "string", "boolean")
_FIELDS = {"table", "timestamp_col", "granularities", "slicing_exprs", "columns", "custom_metrics", "baseline_days"}
_METRIC_FIELDS = {"type", "name", "input_columns", "definition", "output_data_type"}


@dataclass(frozen=True)
class CustomMetric:
    type: str
    name: str
    input_columns: tuple[str, ...]
    definition: str
    output_data_type: str


@dataclass(frozen=True)
class Monitor:
    """One monitor: what to profile, per which windows and slices, with which custom metrics."""

    name: str
    table: str
    timestamp_col: str
    granularities: tuple[str, ...]
    slicing_exprs: tuple[str, ...]
    columns: tuple[str, ...]
    custom_metrics: tuple[CustomMetric, ...]
    baseline_days: int = 7

    @property
    def profile_key(self) -> str:
        return f"monitoring.{self.name}_profile_metrics"

    @property
    def drift_key(self) -> str:
        return f"monitoring.{self.name}_drift_metrics"

    def metrics(self, kind: str) -> list[CustomMetric]:
        return [metric for metric in self.custom_metrics if metric.type == kind]


def monitor_names() -> list[str]:
    return sorted(path.stem for path in MONITORS_DIR.glob("*.yml"))


@lru_cache(maxsize=1)
def load_monitors() -> tuple[Monitor, ...]:
    """Every declared monitor, sorted by name; a ConfigError names the file and field at fault."""
    return tuple(_monitor(MONITORS_DIR / f"{name}.yml") for name in monitor_names())


def get_monitor(name: str) -> Monitor:
    for monitor in load_monitors():
        if monitor.name == name:
            return monitor
    raise ConfigError(f"no monitor '{name}'", where=str(MONITORS_DIR), fix=f"use one of {', '.join(monitor_names())}")


def _fail(path: Path, what: str, fix: str) -> ConfigError:
    return ConfigError(what, where=str(path), fix=fix)


def _monitor(path: Path) -> Monitor:
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise _fail(path, f"invalid YAML: {exc}", "fix the syntax") from exc
    unknown = set(raw) - _FIELDS
    if unknown:
        raise _fail(path, f"unknown field(s) {', '.join(sorted(unknown))}", f"use only {', '.join(sorted(_FIELDS))}")
    for required in ("table", "timestamp_col", "granularities", "columns"):
        if not raw.get(required):
            raise _fail(path, f"monitor has no {required}", f"add {required}:")
    if raw["table"].split(".")[-1] != path.stem:
        raise _fail(path, f"file name {path.stem} differs from its table {raw['table']}", "name the file <table>.yml")
    bad = [g for g in raw["granularities"] if g not in GRANULARITIES]
    if bad:
        raise _fail(path, f"unsupported granularity {bad}", f"use {', '.join(GRANULARITIES)}")
    metrics = tuple(_metric(path, entry) for entry in raw.get("custom_metrics") or [])
    names = [metric.name for metric in metrics]
    if len(set(names)) != len(names):
        raise _fail(path, f"custom metric names repeat: {names}", "give each metric its own name")
    aggregates = {metric.name for metric in metrics if metric.type == "aggregate"}
    for metric in metrics:
        if metric.type == "drift" and "{{current_df}}" not in metric.definition:
            raise _fail(
                path, f"drift metric {metric.name} does not use {{{{current_df}}}}", "compare current_df with base_df"
            )
        if metric.type == "derived" and not any(name in metric.definition for name in aggregates):
            raise _fail(path, f"derived metric {metric.name} names no aggregate metric", "use aggregate metric names")
    return Monitor(
        name=path.stem,
        table=str(raw["table"]),
        timestamp_col=str(raw["timestamp_col"]),
        granularities=tuple(raw["granularities"]),
        slicing_exprs=tuple(raw.get("slicing_exprs") or ()),
        columns=tuple(raw["columns"]),
        custom_metrics=metrics,
        baseline_days=int(raw.get("baseline_days", 7)),
    )


def _metric(path: Path, entry: dict) -> CustomMetric:
    unknown = set(entry) - _METRIC_FIELDS
    missing = _METRIC_FIELDS - set(entry)
    if unknown or missing:
        raise _fail(
            path,
            f"custom metric {entry.get('name')}: unknown {sorted(unknown)} / missing {sorted(missing)}",
            f"a custom metric has exactly {', '.join(sorted(_METRIC_FIELDS))}",
        )
    if entry["type"] not in METRIC_TYPES or entry["output_data_type"] not in OUTPUT_TYPES:
        raise _fail(
            path,
            f"custom metric {entry['name']}: type {entry['type']!r}, output_data_type {entry['output_data_type']!r}",
            f"type one of {METRIC_TYPES}; output_data_type one of {OUTPUT_TYPES}",
        )
    return CustomMetric(
        type=entry["type"],
        name=entry["name"],
        input_columns=tuple(entry["input_columns"]),
        definition=entry["definition"],
        output_data_type=entry["output_data_type"],
    )


def output_specs() -> dict[str, tuple[str, str]]:
    """Registry entries derived from the monitors: key → (table name, comment)."""
    specs = {}
    for monitor in load_monitors():
        specs[monitor.profile_key] = (
            f"{monitor.name}_profile_metrics",
            f"Profile metrics of {monitor.table} per window, granularity, slice and column (Databricks data profiling layout).",
        )
        specs[monitor.drift_key] = (
            f"{monitor.name}_drift_metrics",
            f"Drift metrics of {monitor.table}: consecutive-window and baseline drift per column (Databricks data profiling layout).",
        )
    return specs
