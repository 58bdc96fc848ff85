"""Gold layer: the star schema declared by the models in `src/hm_utils/gold_models/`, built from silver.

`build_gold(spark, config, run_id)` builds every table in dependency order, runs the key tests and the
reconciliation, declares the keys on Databricks and returns a :class:`GoldReport`; a failed blocking key test
raises :class:`~hm_utils.gold.keys.GoldKeyError`, a failed reconciliation :class:`ReconciliationError`.

Order: one dependency graph holds the builds, each table's key tests (after the table and the parents of its
foreign keys) and the reconciliation (after the cost tables), `gold.parallelism` at a time, the most urgent first
(`hm_utils.scheduling.urgency`: the longest chain waiting for it, then the size of its main input), so that the
usage chain (dim_sku → fct_usage_hourly → fct_cost_allocation → fct_job_runs → agg_daily_jobs) starts early while
the dimensions, the event facts and the tests fill the other slot.

The modules: :mod:`~hm_utils.gold.models` (the model files), :mod:`~hm_utils.gold.build` (one table's build and the
graph, both derived from the models), one builder module per domain (:mod:`~hm_utils.gold.dimensions`,
:mod:`~hm_utils.gold.cost`, :mod:`~hm_utils.gold.jobs`, :mod:`~hm_utils.gold.compute`,
:mod:`~hm_utils.gold.queries`, :mod:`~hm_utils.gold.security`, :mod:`~hm_utils.gold.lineage`,
:mod:`~hm_utils.gold.serving`), :mod:`~hm_utils.gold.keys` and :mod:`~hm_utils.gold.reconcile`.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hm_utils import io, scheduling, tables
from hm_utils.config import Config
from hm_utils.errors import ConfigError, HealthMonitorError
from hm_utils.gold.build import TableBuild

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from hm_utils.gold.keys import KeyOutcome
    from hm_utils.gold.reconcile import CheckResult


class ReconciliationError(HealthMonitorError):
    """Gold does not reconcile with its sources."""


@dataclass
class GoldReport:
    """What a gold build did: one entry per table, the key tests, the reconciliation checks and the constraints."""

    run_id: str
    tables: list[TableBuild] = field(default_factory=list)
    key_tests: list[KeyOutcome] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    logical_keys: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def summary(self) -> list[dict[str, Any]]:
        """One small dict per table (key, mode, rows, dates rewritten, seconds), sorted by key, for notebook display."""
        return sorted(
            (
                {
                    "table": b.key,
                    "mode": b.mode,
                    "rows": b.rows,
                    "dates": None if b.dates is None else len(b.dates),
                    "seconds": b.seconds,
                    "note": b.note,
                }
                for b in self.tables
            ),
            key=lambda row: row["table"],
        )

    def key_test_summary(self) -> list[dict[str, Any]]:
        """One small dict per table: key tests run and those that did not pass, for notebook display."""
        per_table: dict[str, dict[str, Any]] = {}
        for outcome in self.key_tests:
            row = per_table.setdefault(f"gold.{outcome.test.table}", {"tests": 0, "failed": []})
            row["tests"] += 1
            if not outcome.passed:
                row["failed"].append(f"{outcome.test.name} ({outcome.unexpected_count} rows, {outcome.test.severity})")
        return [
            {"table": table, "tests": row["tests"], "failed": "; ".join(row["failed"])}
            for table, row in sorted(per_table.items())
        ]

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


def build_tables(
    spark: SparkSession, config: Config, run_id: str, names: Collection[str] | None = None
) -> list[TableBuild]:
    """Build the gold tables `names` (default: every model) in dependency order, `gold.parallelism` at a time; the
    gold tables they read that are not among them must exist. Returns one TableBuild per table, by table name."""
    return _run(spark, config, run_id, names, checks=False).tables


def build_gold(spark: SparkSession, config: Config, run_id: str) -> GoldReport:
    """Build every gold table, test its keys, reconcile and declare constraints (see the module docstring)."""
    from hm_utils.gold import keys, models

    started = time.perf_counter()
    all_models = models.load_models()
    problems = models.validate_models(all_models, config)
    if problems:
        raise ConfigError(
            f"{len(problems)} problem(s) in the gold models: " + "; ".join(problems[:5]),
            where=models.MODELS_FOLDER,
            fix="fix the model files (pytest tests/unit/test_gold_models.py lists all problems)",
        )
    report = _run(spark, config, run_id, None, checks=True)
    keys.write_outcomes(spark, config, run_id, report.key_tests)
    report.logical_keys = models.apply_constraints(spark, config, [b.key for b in report.tables]).logical_keys
    report.seconds = round(time.perf_counter() - started, 2)
    keys.raise_on_blocking_failures(config, run_id, report.key_tests)
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


RECONCILIATION = "reconciliation"
RECONCILED = ("fct_usage_hourly", "fct_cost_allocation", "fct_job_runs")  # the tables reconcile.run_checks reads


def _run(spark: SparkSession, config: Config, run_id: str, names: Collection[str] | None, checks: bool) -> GoldReport:
    """Build the chosen tables and, with `checks`, test each table's keys once it and its foreign keys' parents are
    built and reconcile once the cost tables are: all in one dependency graph, so that tests and reconciliation
    fill the slots the long usage chain leaves free."""
    from hm_utils.gold import build, keys, models, reconcile

    all_models = models.load_models()
    chosen = set(all_models) if names is None else set(names)
    graph: dict[str, set[str]] = {
        name: reads & chosen for name, reads in build.plan(all_models).items() if name in chosen
    }
    sizes = {name: io.local_size_bytes(config, all_models[name].main_input) for name in graph}
    if checks:
        for name in chosen:
            parents = {fk.references for fk in all_models[name].foreign_keys} & chosen
            graph[f"keys:{name}"] = {name} | parents
        graph[RECONCILIATION] = set(RECONCILED)
    built: dict[str, TableBuild] = {}

    def work(node: str) -> Any:
        if node == RECONCILIATION:
            return reconcile.run_checks(spark, config, run_id)
        if node.startswith("keys:"):
            return keys.test_table(spark, config, all_models[node.removeprefix("keys:")], all_models)
        result = build.build_table(spark, config, run_id, all_models[node], built)
        built[result.key] = result
        return result

    priority = scheduling.urgency(graph, sizes).__getitem__
    done = scheduling.run_in_dependency_order(graph, work, int(config.get("gold.parallelism", 2)), priority, "gold")
    report = GoldReport(run_id=run_id, tables=[done[name] for name in all_models if name in chosen])
    if checks:
        report.key_tests = [outcome for name in sorted(chosen) for outcome in done[f"keys:{name}"]]
        report.checks = done[RECONCILIATION]
    return report
