"""Silver: every bronze table typed, validated against its Great Expectations suite and deduplicated.

Each silver table is rebuilt in full from its bronze table on every run, so a rerun over the same
bronze gives the same silver. Per table, in this order:

1. Conform: the system table's columns by name with the reference types (a struct or map whose
   bronze type differs is converted by field name through JSON; any other column with a safe cast,
   and a value that does not cast, such as 'n/a' in a number column, fails the blocking rule
   `cast_to_type(<column> as <type>)`), plus `_hm_ingested_at` and `_hm_run_id` of the bronze row.
   Columns the reference does not know (schema drift) are dropped and reported.
2. Validate: all expectations of `expectations/silver.<name>.json` as boolean columns of one
   SELECT (see :mod:`hm_utils.quality` for why they are translated to Spark SQL), dates among them
   (a row dated before `silver.earliest_date` or after the run's time is implausible). A row failing
   a blocking rule goes to `silver.quarantine` once, listing every rule it failed (a value that did
   not cast with the value).
3. Deduplicate the valid rows on the registry primary key: the latest `_hm_ingested_at` wins, then
   the latest value of the table's incremental column, then a row fingerprint (a stable choice).
   A removed row equal to the kept one is an exact duplicate; otherwise it is a superseded version.
   Only the rows of repeated keys are ranked, the others pass through (see :func:`rank_versions`).
   Validation comes first so that an invalid row never displaces a valid version of its key.
   SCD tables keep their history: their key includes `change_time`.

Accounting, per table and run: bronze rows = silver rows + quarantined rows + duplicates removed,
checked against the rows actually written. Counts per expectation and the accounting go to
`ops.quality_results`. The counts are observed (`DataFrame.observe`) while the silver table is
written, so a table costs one pass over bronze plus a narrow pass over its key columns (the
repeated-key check); tables with quarantined rows are read once more for the quarantine.
A blocking rule failing on more than `silver.max_quarantine_fraction` of a table's rows fails the
step with a QualityGateError naming the table, the rule, the likely cause when the source's shape
explains it (a column missing from the source, a table the rule reads left empty) and sample rows,
after every table, the quarantine and the results are written (so the failure can be inspected);
the run stops there, before gold reads the suspect data. Rows quarantined within the tolerance are
logged as warnings, which `hm run` shows under the step.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING

from hm_utils import io, quality, scheduling, system_schema, tables
from hm_utils.config import Config
from hm_utils.errors import ConfigError, QualityGateError, TableNotFoundError

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.core import ExpectationSuiteValidationResult
    from pyspark.sql import Column, DataFrame, SparkSession

log = logging.getLogger(__name__)

QUARANTINE_KEY = "silver.quarantine"
RESULTS_KEY = "ops.quality_results"
METADATA_COLUMNS = ("_hm_ingested_at", "_hm_run_id")
ACCOUNTING = "accounting"
_SAMPLE_CHARS = 400
RANKED_KEYS_LIMIT = 10_000


CAST_RULE = "cast_to_type"


@dataclass(frozen=True)
class GateFailure:
    """A blocking rule that failed on more rows than the tolerance allows."""

    table_key: str
    rule: str
    unexpected_count: int
    element_count: int
    samples: list[str]
    cause: str | None = None

    def describe(self) -> str:
        share = self.unexpected_count / self.element_count if self.element_count else 0.0
        lines = [
            f"{self.table_key}: {self.rule} failed on {self.unexpected_count} of {self.element_count} rows ({share:.1%})"
        ]
        if self.cause:
            lines.append(f"    cause: {self.cause}")
        lines += [f"    sample: {sample}" for sample in self.samples]
        return "\n".join(lines)


@dataclass(frozen=True)
class Conformed:
    """Bronze as the system table's columns (see :func:`conform`)."""

    frame: DataFrame
    columns: list[str]  # the silver table's columns; the frame also carries the cast checks' columns
    dropped: list[str]
    missing: list[str]
    casts: list[quality.Rule]  # one blocking rule per column cast from another type
    raw_values: dict[str, str]  # column -> the frame's column with its bronze value as text


@dataclass
class TableQuality:
    """What building one silver table found and did."""

    table_key: str
    bronze_rows: int
    silver_rows: int
    quarantined_rows: int
    exact_duplicates: int
    superseded_rows: int
    outcomes: list[quality.RuleOutcome]
    validation: ExpectationSuiteValidationResult
    dropped_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    gate_failures: list[GateFailure] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def duplicates_removed(self) -> int:
        return self.exact_duplicates + self.superseded_rows

    @property
    def balanced(self) -> bool:
        return self.bronze_rows == self.silver_rows + self.quarantined_rows + self.duplicates_removed


@dataclass
class SilverReport:
    """The silver build of one run: one :class:`TableQuality` per table."""

    run_id: str
    tables: list[TableQuality]
    seconds: float = 0.0

    def table(self, key: str) -> TableQuality:
        return next(item for item in self.tables if item.table_key == key)

    @property
    def validations(self) -> dict[str, ExpectationSuiteValidationResult]:
        """GE-format validation results by silver table key."""
        return {item.table_key: item.validation for item in self.tables}

    def accounting_frame(self) -> pd.DataFrame:
        """Per table: bronze = silver + quarantined + duplicates removed, with the check and timing."""
        import pandas as pd

        rows = [
            {
                "table_key": item.table_key,
                "bronze_rows": item.bronze_rows,
                "silver_rows": item.silver_rows,
                "quarantined_rows": item.quarantined_rows,
                "duplicates_removed": item.duplicates_removed,
                "exact_duplicates": item.exact_duplicates,
                "balanced": item.balanced,
                "failed_rules": sum(not outcome.success for outcome in item.outcomes),
                "dropped_columns": ",".join(item.dropped_columns),
                "seconds": round(item.seconds, 2),
            }
            for item in self.tables
        ]
        return pd.DataFrame(rows).sort_values("table_key").reset_index(drop=True)

    def results_frame(self, failed_only: bool = False) -> pd.DataFrame:
        """One row per table and expectation: severity, kind, success and unexpected count."""
        import pandas as pd

        rows = [
            {
                "table_key": item.table_key,
                "expectation": outcome.rule.name,
                "severity": outcome.rule.severity,
                "kind": outcome.rule.kind,
                "success": outcome.success,
                "element_count": outcome.element_count,
                "unexpected_count": outcome.unexpected_count,
            }
            for item in self.tables
            for outcome in item.outcomes
            if not (failed_only and outcome.success)
        ]
        columns = ["table_key", "expectation", "severity", "kind", "success", "element_count", "unexpected_count"]
        return pd.DataFrame(rows, columns=columns).sort_values(["table_key", "expectation"]).reset_index(drop=True)


def silver_keys(config: Config) -> list[str]:
    """Silver tables built from a bronze table, in registry order (the quarantine is not one)."""
    return [
        key
        for key in tables.keys(config, "silver")
        if (tables.get_spec(config, key).upstream or "").startswith("bronze.")
    ]


def dependency_graph(rules_by_table: dict[str, list[quality.Rule]]) -> dict[str, set[str]]:
    """Each table → the other tables being built whose data its rules read."""
    return {
        key: {ref for rule in rules for ref in rule.references if ref in rules_by_table and ref != key}
        for key, rules in rules_by_table.items()
    }


def build_order(rules_by_table: dict[str, list[quality.Rule]]) -> list[str]:
    """Tables ordered so that a table whose rules read another silver table is built after it."""
    try:
        return list(TopologicalSorter(dependency_graph(rules_by_table)).static_order())
    except CycleError as exc:
        raise ConfigError(
            f"expectation suites reference each other in a cycle: {exc.args[1]}",
            where="expectations/silver.*.json",
            fix="a referential rule may only read tables that do not read this table back",
        ) from exc


def build_silver(spark: SparkSession, config: Config, run_id: str, only: list[str] | None = None) -> SilverReport:
    """Rebuild silver tables (all, or the `only` silver keys) from bronze; see the module docstring.

    Up to `silver.parallelism` tables are built at the same time, a table only after the tables its
    rules read (`hm_utils.scheduling.urgency` says which first): small tables spend most of their
    time in round trips and catalog updates, which overlap well with another table's Spark job.
    """
    started = time.perf_counter()
    keys = list(only) if only else silver_keys(config)
    suites = {key: quality.load_suite(config, key) for key in keys}
    rules = {key: quality.suite_rules(suite, str(quality.suite_path(config, key))) for key, suite in suites.items()}
    build_order(rules)  # a ConfigError on a reference cycle, before any work
    parameters = quality.suite_parameters(config)
    tolerance = float(config.get("silver.max_quarantine_fraction", 0.05))
    views: list[str] = []  # temporary views the rule checks read; dropped once the quarantine is written
    # tables that others wait for start first, then the largest (a large one must not run alone at the end)
    sizes = {key: io.local_size_bytes(config, str(tables.get_spec(config, key).upstream)) for key in keys}
    priorities = scheduling.urgency(dependency_graph(rules), sizes)

    def build_one(key: str) -> tuple[TableQuality, DataFrame | None]:
        return _build_table(spark, config, key, suites[key], rules[key], run_id, views, tolerance, parameters)

    try:
        done = scheduling.run_in_dependency_order(
            dependency_graph(rules),
            build_one,
            int(config.get("silver.parallelism", 2)),
            priorities.__getitem__,
            "silver",
        )
        built = [done[key][0] for key in keys]
        _write_quarantine(
            spark, config, [done[key][1] for key in keys if done[key][1] is not None], keys if only else None
        )
        _check_quarantine(spark, config, built)
        write_results(spark, config, run_id, built)
    finally:
        for view in views:
            spark.catalog.dropTempView(view)
    report = SilverReport(run_id, built, time.perf_counter() - started)
    failures = [failure for item in built for failure in item.gate_failures]
    if failures:
        raise QualityGateError(
            f"{len(failures)} blocking expectation(s) failed beyond the tolerance of {tolerance:.1%} of rows\n"
            + "\n".join(failure.describe() for failure in failures),
            where=", ".join(sorted({failure.table_key for failure in failures})),
            fix="inspect silver.quarantine and the bronze source; fix the data or the suite in "
            "expectations/, or raise silver.max_quarantine_fraction if the rows are acceptable",
        )
    return report


def _build_table(
    spark: SparkSession,
    config: Config,
    key: str,
    suite,
    rules: list[quality.Rule],
    run_id: str,
    views: list[str],
    tolerance: float,
    parameters: dict,
) -> tuple[TableQuality, DataFrame | None]:
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    started = time.perf_counter()
    spec = tables.get_spec(config, key)
    upstream = tables.get_spec(config, str(spec.upstream))
    system_table = str(tables.get_spec(config, str(upstream.upstream)).system_table)
    for reference in {ref for rule in rules for ref in rule.references}:
        if not io.table_exists(spark, config, reference):
            raise TableNotFoundError(
                f"{key}'s expectations read {reference}, which does not exist yet",
                where=str(quality.suite_path(config, key)),
                fix=f"build {reference} first (run the whole silver step rather than only {key})",
            )

    bronze = io.read_table(spark, config, upstream.key)
    shaped = conform(bronze, system_table)
    conformed, silver_columns, dropped, missing = shaped.frame, shaped.columns, shaped.dropped, shaped.missing
    rules = [*shaped.casts, *rules]  # a value that did not cast is the first reason its row gives
    flags = quality.flag_columns(rules)
    blocked = _any([F.col(flag) for flag, rule in zip(flags, rules, strict=True) if rule.blocking])
    # sample rows as JSON with the bronze text of cast columns (the value that did not cast stays visible)
    as_json = F.to_json(F.struct(*[F.col(shaped.raw_values.get(c, c)).alias(c) for c in silver_columns]))

    def flag(frame: DataFrame) -> DataFrame:
        """`frame` with the rule columns and `_hm_blocked` (through a temporary view of its own)."""
        view = f"hm_silver_{spec.name}_{uuid.uuid4().hex[:8]}"
        views.append(view)
        flagged = quality.flag_rows(spark, frame, rules, lambda ref: tables.full_name(config, ref), view, parameters)
        return flagged.withColumn("_hm_blocked", blocked)

    ordering = [F.col("_hm_ingested_at").desc_nulls_last()]
    if upstream.incremental and upstream.incremental in silver_columns:
        ordering.append(F.col(upstream.incremental).desc_nulls_last())
    branches = rank_versions(conformed, spec.primary_key, ordering, fingerprint(conformed, system_table), flag)
    removed = ~F.col("_hm_blocked") & (F.col("_hm_rank") > 1)
    # The counts are observed while the silver table is written: one pass over bronze per table. Each
    # branch has its own observation (Spark 4.3 fails to plan an observation over their union).
    observations = [Observation(f"hm_silver_{spec.name}_counts_{index}") for index in range(len(branches))]
    observed = [
        branch.observe(
            observation,
            F.count(F.lit(1)).alias("rows"),
            F.count_if(F.col("_hm_blocked")).alias("blocked"),
            F.count_if(removed).alias("removed"),
            F.count_if(removed & F.col("_hm_exact")).alias("exact"),
            *[F.count_if(F.col(flag)).alias(flag) for flag in flags],
        )
        for branch, observation in zip(branches, observations, strict=True)
    ]
    staged = _union(observed)
    kept_rows = staged.where(~F.col("_hm_blocked") & (F.col("_hm_rank") == 1)).select(*silver_columns)
    silver_rows = io.write_table(spark, config, key, kept_rows, "overwrite").rows
    counts = {name: sum(int(observation.get[name]) for observation in observations) for name in observations[0].get}
    rows, quarantined, removed_rows = counts["rows"], counts["blocked"], counts["removed"]
    if silver_rows != rows - quarantined - removed_rows:
        raise QualityGateError(
            f"{key}: wrote {silver_rows} rows but validation kept {rows - quarantined - removed_rows}",
            where=f"silver build of {key}",
            fix="the accounting does not balance: report this as a bug with the run id",
        )
    outcomes = [quality.RuleOutcome(rule, rows, counts[flag]) for flag, rule in zip(flags, rules, strict=True)]
    # blocked rows and samples are read again, in one pass over bronze without the ranking branches
    flagged = flag(conformed) if quarantined else None
    failures = [
        GateFailure(
            key,
            outcome.rule.name,
            outcome.unexpected_count,
            rows,
            _samples(flagged, flag_name, as_json, config),
            _likely_cause(spark, config, outcome.rule, missing, system_table),
        )
        for flag_name, outcome in zip(flags, outcomes, strict=True)
        if outcome.rule.blocking and outcome.unexpected_fraction > tolerance
    ]
    for outcome in outcomes:
        if outcome.success or (outcome.rule.blocking and outcome.unexpected_fraction > tolerance):
            continue
        handling = "quarantined" if outcome.rule.blocking else "kept (warn only)"
        log.warning("%s: %d of %d rows failed %s: %s", key, outcome.unexpected_count, rows, outcome.rule.name, handling)

    quarantine = None
    if flagged is not None:
        rule_names = [
            F.when(F.col(name), _rule_text(rule, shaped.raw_values))
            for name, rule in zip(flags, rules, strict=True)
            if rule.blocking
        ]
        quarantine = flagged.where(F.col("_hm_blocked")).select(
            F.lit(key).alias("table_key"),
            F.lit(run_id).alias("run_id"),
            F.current_timestamp().alias("quarantined_at"),
            F.concat_ws("; ", *rule_names).alias("rule"),
            F.to_json(F.struct(*spec.primary_key)).alias("business_key"),
            F.to_json(F.struct(*silver_columns)).alias("row_json"),
        )
    item = TableQuality(
        table_key=key,
        bronze_rows=rows,
        silver_rows=silver_rows,
        quarantined_rows=quarantined,
        exact_duplicates=counts["exact"],
        superseded_rows=removed_rows - counts["exact"],
        outcomes=outcomes,
        validation=quality.validation_result(suite, outcomes[len(shaped.casts) :]),
        dropped_columns=dropped,
        missing_columns=missing,
        gate_failures=failures,
        seconds=time.perf_counter() - started,
    )
    log.info(
        "%s: bronze %d = silver %d + quarantined %d + duplicates %d (%.1fs)",
        key, rows, silver_rows, quarantined, item.duplicates_removed, item.seconds,
    )  # fmt: skip
    return item, quarantine


def rank_versions(
    conformed: DataFrame,
    primary_key: tuple[str, ...],
    ordering: list[Column],
    row_hash: Column,
    flag: Callable[[DataFrame], DataFrame],
) -> list[DataFrame]:
    """The rows of `conformed` flagged by `flag(frame)` (which adds the rule columns and
    `_hm_blocked`), plus `_hm_rank` (1 = the version kept) and `_hm_exact` (true for a removed row
    equal to the kept one).

    Versions are ranked per key among valid rows and among blocked rows separately (`_hm_blocked`),
    by `ordering`, then by `row_hash` so that the choice is stable. Ranking shuffles and sorts the
    rows, so only the rows of repeated keys are ranked: the key columns alone (a narrow aggregate)
    find the repeated keys, and when they are few (up to `RANKED_KEYS_LIMIT`, the usual case) the
    other rows pass through unshuffled with rank 1. With more repeated keys the whole table is ranked.
    Returns the rows as branches to be unioned: the rows of unrepeated keys, then those of repeated keys.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    repeated = conformed.groupBy(*primary_key).count().where("count > 1").select(*primary_key)
    found = repeated.limit(RANKED_KEYS_LIMIT + 1).collect()
    window = Window.partitionBy(*primary_key, "_hm_blocked").orderBy(*ordering, row_hash)
    rank = F.row_number().over(window)

    def unranked(frame: DataFrame) -> DataFrame:
        return frame.withColumn("_hm_rank", F.lit(1)).withColumn("_hm_exact", F.lit(False))

    def ranked(frame: DataFrame) -> DataFrame:
        return frame.withColumn("_hm_rank", rank).withColumn(
            "_hm_exact", (rank > 1) & (row_hash == F.first(row_hash).over(window))
        )

    if not found:
        return [unranked(flag(conformed))]
    if len(found) > RANKED_KEYS_LIMIT:
        return [ranked(flag(conformed))]
    renamed = {key: f"_hm_repeated_{index}" for index, key in enumerate(primary_key)}
    keys = F.broadcast(conformed.sparkSession.createDataFrame(found, repeated.schema).toDF(*renamed.values()))
    same_key = _all([F.col(key).eqNullSafe(F.col(other)) for key, other in renamed.items()])
    single = conformed.join(keys, same_key, "left_anti")
    multiple = conformed.join(keys, same_key, "left_semi")
    return [unranked(flag(single)), ranked(flag(multiple))]


def _all(columns: list[Column]) -> Column:
    result = columns[0]
    for column in columns[1:]:
        result = result & column
    return result


def _union(frames: list[DataFrame]) -> DataFrame:
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return result


def _any(columns: list[Column]) -> Column:
    from pyspark.sql import functions as F

    result = F.lit(False)
    for column in columns:
        result = result | column
    return result


def conform(bronze: DataFrame, system_table: str) -> Conformed:
    """Bronze as the system table's columns with reference types, plus the silver metadata columns.

    A column whose bronze type differs is converted: structs and maps by field name through JSON,
    other types with a safe cast (NULL when the value does not cast) checked by a blocking
    `cast_to_type` rule, whose flag and the bronze text of the value the frame also carries.
    Reference columns bronze lacks are NULL; bronze columns the reference does not know are dropped.
    """
    from pyspark.sql import functions as F

    reference = system_schema.table_columns(system_table)
    simple = system_schema.spark_simple_string(system_table)
    present = {item.name: item.dataType.simpleString() for item in bronze.schema.fields}
    columns, checks, casts, raw_values = [], [], [], {}
    for name, type_text in reference:
        if name not in present:
            columns.append(F.lit(None).cast(type_text).alias(name))
        elif present[name] == simple[name]:
            columns.append(F.col(name))
        elif any(word in type_text for word in ("struct<", "map<", "array<")):
            log.info("%s.%s: converting %s to %s by field name", system_table, name, present[name], simple[name])
            columns.append(F.from_json(F.to_json(F.col(name)), type_text).alias(name))
        else:
            log.info("%s.%s: casting %s to %s", system_table, name, present[name], simple[name])
            cast = F.col(name).try_cast(type_text)
            flag, raw = f"_hm_uncast_{len(casts)}", f"_hm_raw_{len(casts)}"
            columns.append(cast.alias(name))
            checks += [(F.col(name).isNotNull() & cast.isNull()).alias(flag), F.col(name).cast("string").alias(raw)]
            raw_values[name] = raw
            casts.append(
                quality.Rule(
                    name=f"{CAST_RULE}({name} as {simple[name]})",
                    expectation_type=CAST_RULE,
                    column=name,
                    severity="blocking",
                    kind="validity",
                    predicate=quality.quote_identifier(flag),
                )
            )
    known = {name for name, _ in reference} | set(METADATA_COLUMNS) | {"_hm_source"}
    dropped = [name for name in present if name not in known]
    missing = [name for name, _ in reference if name not in present]
    frame = bronze.select(*columns, *METADATA_COLUMNS, *checks)
    silver_columns = [name for name, _ in reference] + list(METADATA_COLUMNS)
    return Conformed(frame, silver_columns, dropped, missing, casts, raw_values)


def _rule_text(rule: quality.Rule, raw_values: dict[str, str]) -> Column:
    """How a quarantined row names a rule it failed: a failed cast with the value that did not cast."""
    from pyspark.sql import functions as F

    if rule.expectation_type != CAST_RULE:
        return F.lit(rule.name)
    return F.concat(F.lit(f"{rule.name}: '"), F.col(raw_values[str(rule.column)]), F.lit("'"))


def _likely_cause(
    spark: SparkSession, config: Config, rule: quality.Rule, missing: list[str], system_table: str
) -> str | None:
    """The source-shape problem that explains a rule failing on many rows, when there is one: a column
    missing from the source, or a table the rule reads that came out empty."""
    column = (rule.column or "").split(".")[0].split(",")[0]
    if column in missing:
        return (
            f"column {column} is missing from the source table {system_table} (see the bronze step's "
            "schema drift warning): fix the export or the source"
        )
    for reference in rule.references:
        if io.read_table(spark, config, reference).isEmpty():
            upstream = tables.get_spec(config, reference).upstream
            origin = tables.get_spec(config, str(upstream)).upstream if upstream else None
            system = tables.get_spec(config, str(origin)).system_table if origin else None
            return f"{reference}, which this rule reads, is empty" + (
                f": its source table {system} is absent or empty (see the bronze step's warnings)" if system else ""
            )
    return None


def fingerprint(frame: DataFrame, system_table: str) -> Column:
    """A 64-bit hash of a row's system-table columns (maps, which Spark cannot hash, via JSON)."""
    from pyspark.sql import functions as F

    parts = []
    for name, type_text in system_schema.table_columns(system_table):
        parts.append(F.to_json(F.col(name)) if "map<" in type_text else F.col(name))
    return F.xxhash64(*parts)


def _samples(flagged: DataFrame, flag: str, as_json: Column, config: Config) -> list[str]:
    """A few offending rows as JSON (cut to a readable length) for the gate error."""
    from pyspark.sql import functions as F

    limit = int(config.get("silver.sample_rows", 3))
    rows = flagged.where(F.col(flag)).select(as_json.alias("row")).limit(limit).collect()
    return [row["row"] if len(row["row"]) <= _SAMPLE_CHARS else row["row"][:_SAMPLE_CHARS] + "..." for row in rows]


QUARANTINE_COLUMNS = (
    "table_key string, run_id string, quarantined_at timestamp, rule string, business_key string, row_json string"
)


def _write_quarantine(spark: SparkSession, config: Config, frames: list[DataFrame], only: list[str] | None) -> None:
    """Replace the quarantine of the built tables (the whole table on a full build): reruns never duplicate."""
    union = spark.createDataFrame([], QUARANTINE_COLUMNS)
    for frame in frames:
        union = union.unionByName(frame)
    if only is None or not io.table_exists(spark, config, QUARANTINE_KEY):
        io.write_table(spark, config, QUARANTINE_KEY, union, "overwrite")
        return
    keys = ", ".join(io.sql_string(key) for key in only)
    io.write_table(spark, config, QUARANTINE_KEY, union, "replace_where", where=f"table_key in ({keys})")


def _check_quarantine(spark: SparkSession, config: Config, built: list[TableQuality]) -> None:
    """The quarantine now holds exactly the rows each table's validation counted."""
    written = {
        row["table_key"]: int(row["rows"])
        for row in io.read_table(spark, config, QUARANTINE_KEY)
        .groupBy("table_key")
        .count()
        .withColumnRenamed("count", "rows")
        .collect()
    }
    wrong = [
        f"{item.table_key}: {written.get(item.table_key, 0)} != {item.quarantined_rows}"
        for item in built
        if written.get(item.table_key, 0) != item.quarantined_rows
    ]
    if wrong:
        raise QualityGateError(
            "silver.quarantine does not hold the rows validation counted: " + "; ".join(wrong),
            where="silver quarantine write",
            fix="the accounting does not balance: report this as a bug with the run id",
        )


RESULT_COLUMNS = [
    ("run_id", "string"), ("table_key", "string"), ("expectation", "string"), ("expectation_type", "string"),
    ("column_name", "string"), ("severity", "string"), ("kind", "string"), ("success", "boolean"),
    ("element_count", "bigint"), ("unexpected_count", "bigint"), ("unexpected_fraction", "double"),
    ("bronze_rows", "bigint"), ("silver_rows", "bigint"), ("quarantined_rows", "bigint"),
    ("duplicates_removed", "bigint"), ("exact_duplicates", "bigint"), ("validated_at", "timestamp"),
]  # fmt: skip


def result_rows(run_id: str, items: list[TableQuality], validated_at) -> list[tuple]:
    """Rows of ops.quality_results: one per table x expectation, plus the table's accounting row."""
    rows = []
    for item in items:
        for outcome in item.outcomes:
            rule = outcome.rule
            rows.append((
                run_id, item.table_key, rule.name, rule.expectation_type, rule.column, rule.severity, rule.kind,
                outcome.success, outcome.element_count, outcome.unexpected_count, outcome.unexpected_fraction,
                None, None, None, None, None, validated_at,
            ))  # fmt: skip
        rows.append((
            run_id, item.table_key, ACCOUNTING, ACCOUNTING, None, "blocking", "validity",
            item.balanced and not item.gate_failures, item.bronze_rows, item.quarantined_rows,
            item.quarantined_rows / item.bronze_rows if item.bronze_rows else 0.0,
            item.bronze_rows, item.silver_rows, item.quarantined_rows, item.duplicates_removed, item.exact_duplicates,
            validated_at,
        ))  # fmt: skip
    return rows


def write_results(spark: SparkSession, config: Config, run_id: str, items: list[TableQuality]) -> None:
    """Upsert the run's expectation results and accounting into ops.quality_results (rerun replaces)."""
    from datetime import datetime, timezone

    rows = result_rows(run_id, items, datetime.now(timezone.utc))
    frame = spark.createDataFrame(rows, ", ".join(f"{name} {kind}" for name, kind in RESULT_COLUMNS))
    io.write_table(spark, config, RESULTS_KEY, frame, "upsert")
