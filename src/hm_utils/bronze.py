"""Bronze: system tables copied as they are (structs and maps included) plus ingestion metadata.

Each table is ingested incrementally by a per-table watermark: the latest value of the table's
incremental column already in bronze. A run re-reads the source from `watermark - lookback` and
replaces exactly that window in bronze, so late rows inside the lookback are picked up, source
duplicates are kept as they came (silver counts them) and a rerun leaves the same table. Tables
without an incremental column (prices, node types, workspaces) are reloaded whole.

The watermark cannot pass the run's time (`hm_utils.clock.now`): a row whose incremental value
lies after it is held back, counted and reported, and ingested by the first run after its time
comes; one far-future row therefore never hides the rows that arrive after it.

A table the source does not have, or has without rows, gives a warning (and an empty bronze table);
columns the reference does not know (schema drift) are carried and reported, columns it has that
the source lacks are reported.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from hm_utils import clock, io, sources, system_schema, tables
from hm_utils.config import Config

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

# Bronze is written once and read once (by silver), so its parquet skips dictionary encoding: on
# the 2-core machine that cut the write of the largest tables (audit, usage, queries) by 15-25%.
PARQUET_OPTIONS = {"parquet.enable.dictionary": "false"}

METADATA_COLUMNS = {
    "_hm_ingested_at": "timestamp",
    "_hm_source": "string",
    "_hm_run_id": "string",
}


@dataclass
class IngestReport:
    """What one bronze table's ingestion did; one row of the ops ingest log."""

    run_id: str
    table_key: str
    source_rows_read: int
    bronze_rows: int
    mode: str
    watermark_before: str | None
    watermark_after: str | None
    extra_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    warning: str | None = None
    held_rows: int = 0  # rows dated after the run's time, left in the source until their time comes


def bronze_key(source_key: str) -> str:
    return "bronze." + source_key.split(".", 1)[1]


def ingest_all(
    spark: SparkSession, config: Config, run_id: str, only: Iterable[str] | None = None
) -> list[IngestReport]:
    """Ingest every source table of the registry (or the `only` source keys) into bronze."""
    source_keys = list(only) if only else tables.keys(config, "source")
    for schema in {tables.schema_of(config, bronze_key(key)) for key in source_keys}:
        spark.sql(f"create schema if not exists {schema}")
    # Tables are independent: ingest them concurrently (a Spark Connect client is thread-safe),
    # largest first, so that a large table started last does not run alone at the end.
    source_keys = sorted(source_keys, key=lambda key: -sources.local_size_bytes(config, key))
    with ThreadPoolExecutor(max_workers=int(config.get("bronze.parallel_tables", 4))) as pool:
        reports = list(pool.map(lambda key: ingest_table(spark, config, key, run_id), source_keys))
    write_ingest_log(spark, config, reports)
    return reports


def ingest_table(spark: SparkSession, config: Config, source_key: str, run_id: str) -> IngestReport:
    """Ingest one source table into its bronze table; see the module docstring for the rules."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    source_spec = tables.get_spec(config, source_key)
    target = bronze_key(source_key)
    incremental = tables.get_spec(config, target).incremental
    source = sources.read_source(spark, config, source_key)
    if source is None:
        return _empty_bronze(spark, config, source_key, run_id)

    reference = [name for name, _ in system_schema.table_columns(str(source_spec.system_table))]
    extra = [c for c in source.columns if c not in reference]
    missing = [c for c in reference if c not in source.columns]
    warning = None
    if extra or missing:
        warning = _drift_message(source_key, extra, missing)
        log.warning(warning)
    origin = sources.describe_source(config)
    stamped = source.select(
        *source.columns,
        F.current_timestamp().alias("_hm_ingested_at"),
        F.lit(origin).alias("_hm_source"),
        F.lit(run_id).alias("_hm_run_id"),
    )

    now = clock.sql_now(config)
    exists = io.table_exists(spark, config, target)
    before, origins = _watermark_and_origins(spark, config, target, incremental, now) if exists else (None, [])
    if origins and origins != [origin]:
        log.warning("%s came from %s; reloading it whole from %s", target, ", ".join(origins), origin)
        before = None
    if before is None or incremental is None:
        window, mode, predicate = stamped, "overwrite", None
    else:
        predicate = _window_predicate(incremental, before, int(config.get("bronze.lookback_days", 3)))
        window, mode = stamped.where(predicate), "replace_where"
    # rows read, held and the latest incremental values are observed while bronze is written (no extra scan)
    held = F.expr(f"{io.quote_identifier(incremental)} > {now}") if incremental else F.lit(False)
    observed = Observation(f"bronze_{uuid.uuid4().hex[:12]}")
    value = F.col(incremental).cast("string") if incremental else F.lit(None).cast("string")
    window = window.observe(
        observed,
        F.count_if(~held).alias("rows"),
        F.max(F.when(~held, value)).alias("latest"),
        F.count_if(held).alias("held"),
        F.max(F.when(held, value)).alias("latest_held"),
    ).where(~held)
    result = io.write_table(spark, config, target, window, mode, where=predicate, parquet_options=PARQUET_OPTIONS)
    read, latest_read, held_rows = int(observed.get["rows"]), observed.get["latest"], int(observed.get["held"])
    if held_rows:
        message = (
            f"{source_key}: {held_rows} row(s) dated after the run's time ({clock.now(config):%Y-%m-%d %H:%M} UTC), "
            f"up to {observed.get['latest_held']}, "
            f"are held back: ingested by the first run after their {incremental} (check the source's clock)"
        )
        log.warning(message)
        warning = "; ".join(filter(None, [warning, message]))
    if result.rows == 0:
        message = f"source table {source_spec.system_table} has no rows in {origin}: {target} is empty"
        log.warning(message)
        warning = "; ".join(filter(None, [warning, message]))
    # rows kept from before the window are older than the old watermark, so the new one is the larger
    after = max((value for value in (before, latest_read) if value is not None), default=None)
    return IngestReport(run_id, source_key, read, result.rows, mode, before, after, extra, missing, warning, held_rows)


def _drift_message(source_key: str, extra: list[str], missing: list[str]) -> str:
    parts = []
    if extra:
        parts.append(f"extra column(s) {', '.join(extra)} carried into bronze")
    if missing:
        parts.append(f"column(s) {', '.join(missing)} missing from the source")
    return f"schema drift in {source_key}: " + "; ".join(parts)


def _window_predicate(column: str, watermark: str, lookback_days: int) -> str:
    """Rows at or after `watermark - lookback`, plus rows whose incremental value is null."""
    quoted = io.quote_identifier(column)
    cutoff = f"timestamp'{watermark}' - interval {lookback_days} days"
    return f"({quoted} >= {cutoff} or {quoted} is null)"


def _watermark_and_origins(
    spark: SparkSession, config: Config, key: str, column: str | None, now: str
) -> tuple[str | None, list[str]]:
    """The latest incremental value in a bronze table not after `now` (SQL), and the sources its rows
    came from (one scan). Rows after `now` left by an earlier kit never move the watermark forward."""
    from pyspark.sql import functions as F

    if column:
        watermark = F.max(F.when(F.expr(f"{io.quote_identifier(column)} <= {now}"), F.col(column))).cast("string")
    else:
        watermark = F.lit(None).cast("string")
    row = (
        io.read_table(spark, config, key)
        .agg(watermark.alias("w"), F.array_sort(F.collect_set("_hm_source")).alias("origins"))
        .first()
    )
    if row is None:
        return None, []
    return (None if row["w"] is None else str(row["w"])), list(row["origins"] or [])


def _empty_bronze(spark: SparkSession, config: Config, source_key: str, run_id: str) -> IngestReport:
    """A source table the source does not have: bronze keeps what it had, or is created empty; a warning."""
    target = bronze_key(source_key)
    system_table = str(tables.get_spec(config, source_key).system_table)
    missing = f"source table {system_table} is not available from {sources.describe_source(config)}"
    include = "enable the system schema or export it to include it"
    if io.table_exists(spark, config, target):
        rows = int(io.read_table(spark, config, target).count())
        warning = f"{missing}; {target} keeps the {rows} rows it had ({include})"
        log.warning(warning)
        return IngestReport(run_id, source_key, 0, rows, "skipped", None, None, warning=warning)
    warning = f"{missing}; {target} is left empty ({include})"
    log.warning(warning)
    ddl = system_schema.spark_type_ddl(system_table) + ", " + ", ".join(f"{k} {v}" for k, v in METADATA_COLUMNS.items())
    empty = spark.createDataFrame([], ddl)
    io.write_table(spark, config, target, empty, "overwrite")
    return IngestReport(run_id, source_key, 0, 0, "created_empty", None, None, warning=warning)


def write_ingest_log(spark: SparkSession, config: Config, reports: list[IngestReport]) -> None:
    """Upsert the run's reports into the ops ingest log (one row per run and table)."""
    if not reports:
        return
    columns = [
        ("run_id", "string"), ("table_key", "string"), ("source_rows_read", "bigint"), ("bronze_rows", "bigint"),
        ("mode", "string"), ("watermark_before", "string"), ("watermark_after", "string"),
        ("extra_columns", "string"), ("missing_columns", "string"), ("warning", "string"), ("held_rows", "bigint"),
    ]  # fmt: skip
    rows = []
    for report in reports:
        values = {**asdict(report), "extra_columns": ",".join(report.extra_columns),
                  "missing_columns": ",".join(report.missing_columns)}  # fmt: skip
        rows.append(tuple(values[name] for name, _ in columns))
    frame = spark.createDataFrame(rows, ", ".join(f"{name} {kind}" for name, kind in columns))
    io.write_table(spark, config, "ops.ingest_log", frame, "upsert")


def summary_frame(reports: list[IngestReport]):
    """The reports as a small pandas table for notebooks, sorted by table."""
    import pandas as pd

    frame = pd.DataFrame([asdict(report) for report in reports])
    return frame.sort_values("table_key").reset_index(drop=True) if not frame.empty else frame


def source_row_counts(spark: SparkSession, config: Config) -> dict[str, int]:
    """Rows per source table (0 when the source lacks the table), for checks and the benchmark."""
    counts = {}
    for key in tables.keys(config, "source"):
        frame: DataFrame | None = sources.read_source(spark, config, key)
        counts[key] = 0 if frame is None else int(frame.count())
    return counts
