"""Deploy the semantic layer: table functions, then metric views (then Genie spaces on Databricks).

Idempotent: the SHA-256 of each object's rendered text is kept in the ops table `ops.semantic_objects`;
an object whose text and hash match and that still exists is left alone. A changed object is dropped
and created again, because `create or replace function` cannot change a signature. Objects whose
file was removed are dropped. The report says what was created, changed, left alone or removed.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from hm_utils import io
from hm_utils.config import Config
from hm_utils.errors import HealthMonitorError
from hm_utils.semantic import assets

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import SparkSession

STATE_KEY = "ops.semantic_objects"
FUNCTION, METRIC_VIEW = "function", "metric_view"
DEPLOY_THREADS = 4


class SemanticDeployError(HealthMonitorError):
    """A table function or metric view could not be created."""


@dataclass
class DeployReport:
    """What one deploy did, object by object (names are unqualified)."""

    schema: str
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    genie_spaces: list[str] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def frame(self) -> pd.DataFrame:
        """One row per object: kind, name, action — sorted for display."""
        import pandas as pd

        rows = [
            {"kind": self.kinds.get(name, ""), "name": name, "action": action}
            for action, names in (
                ("created", self.created),
                ("changed", self.changed),
                ("unchanged", self.unchanged),
                ("removed", self.removed),
            )
            for name in names
        ]
        return pd.DataFrame(rows, columns=["kind", "name", "action"]).sort_values(["kind", "name"], ignore_index=True)

    def summary(self) -> str:
        return (
            f"{self.schema}: {len(self.created)} created, {len(self.changed)} changed, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed in {self.seconds:.1f} s"
        )


def deploy(spark: SparkSession, config: Config, run_id: str = "interactive") -> DeployReport:
    """Create or update every table function and metric view in `schemas.semantic`."""
    began = time.perf_counter()
    schema = assets.semantic_schema(config)
    spark.sql(f"create schema if not exists {schema}")
    _ensure_read_tables(spark, config)
    report = DeployReport(schema=schema)
    state = _read_state(spark, config)
    wanted: dict[tuple[str, str], str] = {}
    for name in assets.function_names():
        wanted[(FUNCTION, name)] = assets.render_function(config, name)
    for name in assets.metric_view_names():
        wanted[(METRIC_VIEW, name)] = assets.metric_view_ddl(config, name)

    present = _existing(spark, schema)
    todo: list[tuple[str, str, str, bool]] = []
    for (kind, name), text in wanted.items():
        report.kinds[name] = kind
        exists = (kind, name) in present
        if exists and state.get((kind, name)) == assets.text_hash(text):
            report.unchanged.append(name)
        else:
            todo.append((kind, name, text, exists))

    def apply(item: tuple[str, str, str, bool]) -> str | None:
        kind, name, text, _ = item
        try:
            apply_object(spark, config, kind, name, text)
        except Exception as error:  # Spark's analysis errors: collect them, report them all at the end
            return f"{kind} {name}: {_first_lines(error)}"
        return None

    # objects are independent; a few at a time overlap their analysis and metastore round trips
    with ThreadPoolExecutor(max_workers=DEPLOY_THREADS) as pool:
        errors = list(pool.map(apply, todo))
    failures = [error for error in errors if error]
    for (kind, name, text, exists), error in zip(todo, errors, strict=True):
        if error:
            state.pop((kind, name), None)
            continue
        state[(kind, name)] = assets.text_hash(text)
        (report.changed if exists else report.created).append(name)

    for kind, name in sorted(set(state) - set(wanted)):
        drop_object(spark, config, kind, name)
        report.kinds[name] = kind
        report.removed.append(name)
        del state[(kind, name)]

    if report.created or report.changed or report.removed or failures:
        _write_state(spark, config, state, run_id)
    if not config.is_local and config.get("semantic.genie.warehouse_id"):
        from hm_utils.semantic import genie

        report.genie_spaces = genie.deploy_spaces(config)
    report.seconds = round(time.perf_counter() - began, 2)
    if failures:
        raise SemanticDeployError(
            f"{len(failures)} semantic object(s) failed to deploy:\n  " + "\n  ".join(failures),
            where=f"{assets.FUNCTIONS_DIR.parent} → {schema}",
            fix="fix the SQL/YAML file named above; a missing table means the gold step has not built it "
            "(run `hm run --from gold`)",
        )
    return report


def _ensure_read_tables(spark: SparkSession, config: Config) -> None:
    """Create the tables that functions read but later steps write (the run log, alert history, monitoring
    results, the ML layer's predictions and evaluations), so that a first deploy finds them and its functions
    answer empty."""
    from hm_utils import monitoring, runlog
    from hm_utils.alerts.store import SparkStore
    from hm_utils.ml import scoring

    runlog.ensure_table(spark, config)
    SparkStore(spark, config).ensure_tables()
    scoring.ensure_output_tables(spark, config)
    monitoring.ensure_tables(spark, config)


def deploy_step(spark: SparkSession, config: Config, run_id: str) -> DeployReport:
    """Pipeline entry point (notebook 04 and the test fixture): deploy and return the report."""
    return deploy(spark, config, run_id)


def apply_object(spark: SparkSession, config: Config, kind: str, name: str, text: str) -> None:
    """Drop the object if it exists and create it from `text` (signature changes need the drop)."""
    drop_object(spark, config, kind, name)
    spark.sql(text)


def drop_object(spark: SparkSession, config: Config, kind: str, name: str) -> None:
    full = assets.qualified(config, name)
    spark.sql(f"drop function if exists {full}" if kind == FUNCTION else f"drop view if exists {full}")


def _existing(spark: SparkSession, schema: str) -> set[tuple[str, str]]:
    """(kind, name) of the user functions and views in `schema` (two catalog calls instead of one per object)."""
    functions = spark.sql(f"show user functions in {schema}").toPandas().iloc[:, 0]
    views = spark.sql(f"show views in {schema}").toPandas()
    return {(FUNCTION, str(full).rsplit(".", 1)[-1]) for full in functions} | {
        (METRIC_VIEW, str(name)) for name in views["viewName"]
    }


def _read_state(spark: SparkSession, config: Config) -> dict[tuple[str, str], str]:
    if not io.table_exists(spark, config, STATE_KEY):
        return {}
    rows = io.read_table(spark, config, STATE_KEY).select("object_type", "object_name", "text_hash").collect()
    return {(row.object_type, row.object_name): row.text_hash for row in rows}


def _write_state(spark: SparkSession, config: Config, state: dict[tuple[str, str], str], run_id: str) -> None:
    from pyspark.sql import types as T

    schema = T.StructType(
        [
            T.StructField("object_type", T.StringType(), False),
            T.StructField("object_name", T.StringType(), False),
            T.StructField("full_name", T.StringType(), False),
            T.StructField("text_hash", T.StringType(), False),
            T.StructField("deployed_at", T.TimestampType(), False),
            T.StructField("run_id", T.StringType(), False),
        ]
    )
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = [
        (kind, name, assets.qualified(config, name), digest, now, run_id)
        for (kind, name), digest in sorted(state.items())
    ]
    io.write_table(
        spark,
        config,
        STATE_KEY,
        spark.createDataFrame(rows, schema),
        "overwrite",
        column_comments={
            "object_type": "function or metric_view",
            "object_name": "Unqualified name of the object in the semantic schema",
            "full_name": "catalog.schema.name of the object",
            "text_hash": "SHA-256 of the rendered CREATE text last deployed (unchanged hash = left alone)",
            "deployed_at": "When the object was last (re)created (UTC)",
            "run_id": "Run that wrote this state",
        },
    )


def _first_lines(error: Exception) -> str:
    text = str(error).split("JVM stacktrace:")[0].strip()
    return " ".join(line.strip() for line in text.splitlines()[:3])[:600]
