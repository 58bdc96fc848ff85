"""Key tests of the gold tables, generated from their models and run by every gold build (like dbt's tests).

For every model: its primary key is not null and unique; every foreign key's rows find their parent (rows with a
NULL in the key are not checked); an SCD2 dimension (:attr:`GoldModel.is_scd2`) has at most one current version
per business key (a key whose last version is closed, such as a discontinued price, has none) and its versions do
not overlap. Primary-key and SCD2 tests are blocking: a failure fails the gold step. Foreign keys are warnings: real
system tables can lack a parent (a job last changed before its system table was enabled). Every outcome is a row of
`ops.quality_results` (`table_key` gold.<table>, `expectation` the test's name), next to silver's expectations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from hm_utils import io, tables
from hm_utils.config import Config
from hm_utils.errors import HealthMonitorError
from hm_utils.gold.models import GoldModel
from hm_utils.silver import RESULT_COLUMNS, RESULTS_KEY

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class GoldKeyError(HealthMonitorError):
    """A gold table breaks one of its keys."""


@dataclass(frozen=True)
class KeyTest:
    """One generated test: `sql` returns one row (element_count, unexpected_count)."""

    table: str
    name: str
    test_type: str  # not_null | unique | relationships | scd2_one_current | scd2_no_overlap
    columns: tuple[str, ...]
    severity: str  # blocking | warn
    kind: str  # validity | referential
    sql: str


@dataclass(frozen=True)
class KeyOutcome:
    test: KeyTest
    element_count: int
    unexpected_count: int

    @property
    def passed(self) -> bool:
        return self.unexpected_count == 0

    def describe(self) -> str:
        return f"gold.{self.test.table} {self.test.name}: {self.unexpected_count} of {self.element_count} unexpected"


def key_tests(models: Mapping[str, GoldModel], resolve: Callable[[str], str]) -> list[KeyTest]:
    """The tests of `models`; `resolve` turns a registry key (`gold.<table>`) into the full table name."""
    found = []
    for model in models.values():
        table = resolve(model.key)
        found.extend(_primary_key_tests(model, table))
        for fk in model.foreign_keys:
            parent = models.get(fk.references)
            if parent is not None:
                found.append(_relationship_test(model, table, fk.columns, parent, resolve(parent.key), fk.ref_columns))
        if model.is_scd2:
            found.extend(_scd2_tests(model, table))
    return found


def _names(columns: tuple[str, ...], prefix: str = "") -> str:
    return ", ".join(prefix + io.quote_identifier(c) for c in columns)


def _primary_key_tests(model: GoldModel, table: str) -> list[KeyTest]:
    pk = model.primary_key
    label = ", ".join(pk)
    nulls = " or ".join(f"{io.quote_identifier(c)} is null" for c in pk)
    return [
        KeyTest(
            model.table, f"not_null({label})", "not_null", pk, "blocking", "validity",
            f"select count(*) as element_count, count_if({nulls}) as unexpected_count from {table}",
        ),
        KeyTest(
            model.table, f"unique({label})", "unique", pk, "blocking", "validity",
            "select coalesce(sum(n), 0) as element_count, coalesce(sum(case when n > 1 then n else 0 end), 0) "
            f"as unexpected_count from (select count(*) as n from {table} group by {_names(pk)})",
        ),
    ]  # fmt: skip


def _relationship_test(
    model: GoldModel, table: str, columns: tuple[str, ...], parent: GoldModel, parent_table: str, refs: tuple[str, ...]
) -> KeyTest:
    present = " and ".join(f"c.{io.quote_identifier(c)} is not null" for c in columns)
    match = " and ".join(
        f"c.{io.quote_identifier(c)} = p.{io.quote_identifier(r)}" for c, r in zip(columns, refs, strict=True)
    )
    sql = (
        "select count(*) as element_count, count_if(p.found is null) as unexpected_count "
        f"from {table} as c left join (select distinct {_names(refs)}, true as found from {parent_table}) as p "
        f"on {match} where {present}"
    )
    name = f"relationships({', '.join(columns)} -> {parent.table})"
    return KeyTest(model.table, name, "relationships", columns, "warn", "referential", sql)


def _scd2_tests(model: GoldModel, table: str) -> list[KeyTest]:
    key = model.business_key
    label = ", ".join(key)
    return [
        KeyTest(
            model.table, f"scd2_one_current({label})", "scd2_one_current", key, "blocking", "validity",
            "select count(*) as element_count, count_if(current_versions > 1) as unexpected_count from "
            f"(select count_if(is_current) as current_versions from {table} group by {_names(key)})",
        ),
        KeyTest(
            model.table, f"scd2_no_overlap({label})", "scd2_no_overlap", key, "blocking", "validity",
            "select count(*) as element_count, "
            "count_if(next_from is not null and (valid_to is null or valid_to > next_from)) as unexpected_count from "
            f"(select valid_to, lead(valid_from) over (partition by {_names(key)} order by valid_from) as next_from "
            f"from {table})",
        ),
    ]  # fmt: skip


def table_query(tests: list[KeyTest]) -> str:
    """One query for the tests of one table: a row per test (expectation, element_count, unexpected_count)."""
    return "\nunion all\n".join(
        f"select {io.sql_string(t.name)} as expectation, element_count, unexpected_count from ({t.sql}) as t"
        for t in tests
    )


def run_key_tests(
    spark: SparkSession, config: Config, run_id: str, models: Mapping[str, GoldModel]
) -> list[KeyOutcome]:
    """Run the tests of `models` (one query per table, `gold.parallelism` at a time), upsert the outcomes into
    ops.quality_results and return them."""
    tests = key_tests(models, lambda key: tables.full_name(config, key))
    per_table: dict[str, list[KeyTest]] = {}
    for test in tests:
        per_table.setdefault(test.table, []).append(test)

    def run(table_tests: list[KeyTest]) -> list[KeyOutcome]:
        counts = {row["expectation"]: row for row in spark.sql(table_query(table_tests)).collect()}
        return [
            KeyOutcome(t, int(counts[t.name]["element_count"]), int(counts[t.name]["unexpected_count"]))
            for t in table_tests
        ]

    with ThreadPoolExecutor(max(1, int(config.get("gold.parallelism", 2))), thread_name_prefix="keys") as pool:
        outcomes = [outcome for batch in pool.map(run, per_table.values()) for outcome in batch]
    _write(spark, config, run_id, outcomes)
    return outcomes


def raise_on_blocking_failures(config: Config, run_id: str, outcomes: list[KeyOutcome]) -> None:
    """GoldKeyError when a blocking test failed."""
    failed = [o for o in outcomes if not o.passed and o.test.severity == "blocking"]
    if failed:
        raise GoldKeyError(
            f"{len(failed)} blocking key test(s) failed, e.g. " + "; ".join(o.describe() for o in failed[:3]),
            where=f"run {run_id}, table {tables.full_name(config, RESULTS_KEY)}",
            fix="a duplicated or missing key is a builder bug: query the gold table for the key, fix its builder "
            "(hm_utils.gold.<domain>), rebuild with gold.full_refresh=true",
        )


def _write(spark: SparkSession, config: Config, run_id: str, outcomes: list[KeyOutcome]) -> None:
    validated_at = datetime.now(timezone.utc)
    rows = [
        (
            run_id, f"gold.{o.test.table}", o.test.name, o.test.test_type, ", ".join(o.test.columns), o.test.severity,
            o.test.kind, o.passed, o.element_count, o.unexpected_count,
            o.unexpected_count / o.element_count if o.element_count else 0.0,
            None, None, None, None, None, validated_at,
        )
        for o in outcomes
    ]  # fmt: skip
    frame = spark.createDataFrame(rows, ", ".join(f"{name} {kind}" for name, kind in RESULT_COLUMNS))
    io.write_table(spark, config, RESULTS_KEY, frame, "upsert")
