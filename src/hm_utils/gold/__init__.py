"""Gold layer: the star schema (models in `src/hm_utils/gold_models/`) built from silver, then reconciled.

`build_gold(spark, config, run_id)` runs every builder in dependency order, reconciles, declares the keys on
Databricks and returns a :class:`GoldReport`; a failed reconciliation raises :class:`ReconciliationError`.

Order: a build starts once the gold tables it reads are built, `gold.parallelism` builds at a time, the most
urgent first (`hm_utils.scheduling.urgency`: the longest chain waiting for it, then the input size), so that
the usage chain (dim_sku → usage facts → job runs → agg_daily_jobs) starts early while the dimensions and the
facts refreshed by date from silver fill the other slot; :func:`build_plan` declares the graph. The usage facts
are one build: fct_usage_hourly first, then fct_cost_allocation, fct_usage_daily, fct_cost_by_tag and
agg_daily_cost from it. Reconciliation runs when every table is built.

The operations side (`hm_utils.gold.operations`) exposes `build_dimension`, `build_whole_fact` and
`refresh_dated_table`, returning table builds; this module's builders (`dimensions.build_<table>`) return
DataFrames that are conformed to their model and written whole, and `cost.build_usage_facts` refreshes the usage
tables by date.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from hm_utils import io, scheduling, tables
from hm_utils.config import Config
from hm_utils.errors import ConfigError, HealthMonitorError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from hm_utils.gold.cost import TableBuild
    from hm_utils.gold.reconcile import CheckResult

log = logging.getLogger(__name__)

COST_DIMENSIONS = ("dim_date", "dim_workspace", "dim_sku", "dim_identity")
USAGE_FACTS = "usage_facts"  # the build that writes cost.USAGE_TABLES


class ReconciliationError(HealthMonitorError):
    """Gold does not reconcile with its sources."""


@dataclass
class GoldReport:
    """What a gold build did: one entry per table, the reconciliation checks and the constraints declared."""

    run_id: str
    tables: list[TableBuild] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    logical_keys: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def summary(self) -> list[dict[str, Any]]:
        """One small dict per table (key, mode, rows, seconds), sorted by key, for notebook display."""
        return sorted(
            (
                {"table": b.key, "mode": b.mode, "rows": b.rows, "dates": b.dates, "seconds": b.seconds, "note": b.note}
                for b in self.tables
            ),
            key=lambda row: row["table"],
        )

    def check_summary(self) -> list[dict[str, Any]]:
        """One small dict per reconciliation check, for notebook display."""
        return [
            {
                "check": c.check_name,
                "passed": c.passed,
                "scopes": c.scopes,
                "failed_scopes": c.failed_scopes,
                "expected": c.expected,
                "actual": c.actual,
                "detail": c.detail,
            }
            for c in self.checks
        ]


def build_gold(spark: SparkSession, config: Config, run_id: str) -> GoldReport:
    """Build every gold table, reconcile and declare constraints; raises ReconciliationError on a failed check."""
    from hm_utils.gold import models, reconcile

    started = time.perf_counter()
    report = GoldReport(run_id=run_id)
    problems = models.validate_models(models.load_models(), config)
    if problems:
        raise ConfigError(
            f"{len(problems)} problem(s) in the gold models: " + "; ".join(problems[:5]),
            where="src/hm_utils/gold_models/",
            fix="fix the model files (pytest tests/unit/test_gold_models.py lists all problems)",
        )
    graph, builds, inputs = build_plan(spark, config, run_id)
    sizes = {node: io.local_size_bytes(config, key) if key else 0 for node, key in inputs.items()}
    done = scheduling.run_in_dependency_order(
        graph,
        lambda node: builds[node](),
        int(config.get("gold.parallelism", 2)),
        scheduling.urgency(graph, sizes).__getitem__,
        "gold",
    )
    report.tables.extend(build for node in graph for build in done[node])
    report.checks = reconcile.run_checks(spark, config, run_id)
    built = [b.key for b in report.tables if io.table_exists(spark, config, b.key)]
    report.logical_keys = models.apply_constraints(spark, config, built).logical_keys
    report.seconds = round(time.perf_counter() - started, 2)
    failed = [check for check in report.checks if not check.passed]
    if failed:
        raise ReconciliationError(
            f"gold does not reconcile: {len(failed)} check(s) failed, e.g. "
            + "; ".join(c.describe() for c in failed[:3]),
            where=f"run {run_id}, table {tables.full_name(config, 'ops.reconciliation')}",
            fix="query the failed rows of ops.reconciliation for this run_id; a difference in list cost usually means "
            "silver dropped or duplicated usage rows, or a price window overlaps",
        )
    return report


def build_plan(
    spark: SparkSession, config: Config, run_id: str
) -> tuple[dict[str, set[str]], dict[str, Callable[[], list[TableBuild]]], dict[str, str | None]]:
    """The gold build as a graph: each build → the builds whose tables it reads, what each build does (its table
    builds), and its main input table (registry key, for the build's size). One build, USAGE_FACTS, writes all
    of `cost.USAGE_TABLES` (they share one refresh window)."""
    from hm_utils.gold import cost, dimensions, operations

    graph: dict[str, set[str]] = {}
    builds: dict[str, Callable[[], list[TableBuild]]] = {}
    inputs: dict[str, str | None] = {}

    def node(name: str, reads: set[str], build: Callable[[], list[TableBuild]], upstream: str | None) -> None:
        graph[name] = {USAGE_FACTS if read in cost.USAGE_TABLES else read for read in reads}
        builds[name] = build
        inputs[name] = upstream

    def upstream_of(table: str) -> str | None:
        return tables.get_spec(config, f"gold.{table}").upstream

    for table in COST_DIMENSIONS:
        builder = getattr(dimensions, f"build_{table}")
        node(
            table, set(), partial(lambda t, b: [_run(spark, config, run_id, t, b)], table, builder), upstream_of(table)
        )
    for table in operations.DIMENSION_BUILDERS:
        build = partial(lambda t: _converted([operations.build_dimension(spark, config, run_id, t)]), table)
        node(table, set(), build, upstream_of(table))
    node(
        USAGE_FACTS,
        {"dim_sku", "dim_workspace"},
        lambda: cost.build_usage_facts(spark, config, run_id),
        upstream_of("fct_usage_hourly"),
    )
    for table, reads in operations.FACT_READS.items():
        build = partial(lambda t: _converted([operations.build_whole_fact(spark, config, run_id, t)]), table)
        node(table, set(reads), build, upstream_of(table))
    for spec in operations.DATED_TABLES:
        reads = {spec.input_name.removeprefix("gold.")} if spec.input_name.startswith("gold.") else set()
        build = partial(lambda s: _converted([operations.refresh_dated_table(spark, config, s)]), spec)
        node(spec.table, reads, build, upstream_of(spec.table))
    return graph, builds, inputs


def _run(spark: SparkSession, config: Config, run_id: str, table: str, builder: Callable[..., Any]) -> TableBuild:
    from pyspark.sql import DataFrame

    from hm_utils.gold import models
    from hm_utils.gold.cost import TableBuild

    started = time.perf_counter()
    result = builder(spark, config, run_id)
    if isinstance(result, DataFrame):
        result = models.write_model(spark, config, table, result, "overwrite")
    if not isinstance(result, io.WriteResult):
        raise ConfigError(
            f"builder of {table} returned {type(result).__name__}",
            where=getattr(builder, "__module__", "?") + "." + getattr(builder, "__name__", "?"),
            fix="return the DataFrame to write, or the io.WriteResult of writing it",
        )
    seconds = round(time.perf_counter() - started, 2)
    log.info("gold %s: %s rows (%s) in %ss", table, result.rows, result.mode, seconds)
    return TableBuild(result.key, result.mode, result.rows, seconds)


def _converted(builds: list[Any]) -> list[TableBuild]:
    """The operations module's table builds as this module's TableBuild records (those pass through)."""
    from hm_utils.gold.cost import TableBuild

    return [
        b
        if isinstance(b, TableBuild)
        else TableBuild(f"gold.{b.table.removeprefix('gold.')}", b.mode, b.rows, b.seconds)
        for b in builds
    ]
