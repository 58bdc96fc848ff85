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
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from hm_utils import io, tables
from hm_utils.config import Config
from hm_utils.errors import HealthMonitorError
from hm_utils.gold.models import ForeignKey, GoldModel
from hm_utils.silver import RESULT_COLUMNS, RESULTS_KEY

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class GoldKeyError(HealthMonitorError):
    """A gold table breaks one of its keys."""


@dataclass(frozen=True)
class KeyTest:
    """One generated test; its counts are the columns `<label>_elements` and `<label>_unexpected` of its table's
    query (:func:`table_query`)."""

    table: str
    name: str
    test_type: str  # not_null | unique | relationships | scd2_one_current | scd2_no_overlap
    columns: tuple[str, ...]
    severity: str  # blocking | warn
    kind: str  # validity | referential
    label: str


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


def key_tests(model: GoldModel, models: Mapping[str, GoldModel]) -> list[KeyTest]:
    """The tests of one model (`models`: all models, for its foreign keys' parents)."""
    pk, table = model.primary_key, model.table
    found = [
        KeyTest(table, f"not_null({', '.join(pk)})", "not_null", pk, "blocking", "validity", "pk_null"),
        KeyTest(table, f"unique({', '.join(pk)})", "unique", pk, "blocking", "validity", "pk_unique"),
    ]
    for number, fk in enumerate(_foreign_keys(model, models)):
        name = f"relationships({', '.join(fk.columns)} -> {fk.references})"
        found.append(KeyTest(table, name, "relationships", fk.columns, "warn", "referential", f"fk{number}"))
    if model.is_scd2:
        key = ", ".join(model.business_key)
        found.append(
            KeyTest(
                table,
                f"scd2_one_current({key})",
                "scd2_one_current",
                model.business_key,
                "blocking",
                "validity",
                "current",
            )
        )
        found.append(
            KeyTest(
                table,
                f"scd2_no_overlap({key})",
                "scd2_no_overlap",
                model.business_key,
                "blocking",
                "validity",
                "overlap",
            )
        )
    return found


def _foreign_keys(model: GoldModel, models: Mapping[str, GoldModel]) -> list[ForeignKey]:
    return [fk for fk in model.foreign_keys if fk.references in models]


def _names(columns: tuple[str, ...], prefix: str = "") -> str:
    return ", ".join(prefix + io.quote_identifier(c) for c in columns)


def table_query(model: GoldModel, models: Mapping[str, GoldModel], resolve: Callable[[str], str]) -> str:
    """One statement counting every test of `model` in one row, reading the table once per kind of test: primary
    key (grouped by it), foreign keys (one pass, each parent's distinct keys joined), SCD2 (grouped, windowed).
    `resolve` turns a registry key (`gold.<table>`) into the full table name."""
    table = resolve(model.key)
    nulls = " or ".join(f"{io.quote_identifier(c)} is null" for c in model.primary_key)
    parts = [
        "select coalesce(sum(n), 0) as pk_null_elements, coalesce(sum(nulls), 0) as pk_null_unexpected, "
        "coalesce(sum(n), 0) as pk_unique_elements, coalesce(sum(case when n > 1 then n else 0 end), 0) "
        f"as pk_unique_unexpected from (select count(*) as n, count_if({nulls}) as nulls from {table} "
        f"group by {_names(model.primary_key)})"
    ]
    foreign_keys = _foreign_keys(model, models)
    if foreign_keys:
        joins, counts = [], []
        for number, fk in enumerate(foreign_keys):
            parent = f"p{number}"
            match = " and ".join(
                f"c.{io.quote_identifier(c)} = {parent}.{io.quote_identifier(r)}"
                for c, r in zip(fk.columns, fk.ref_columns, strict=True)
            )
            joins.append(
                f"left join (select distinct {_names(fk.ref_columns)}, true as found "
                f"from {resolve(models[fk.references].key)}) as {parent} on {match}"
            )
            present = " and ".join(f"c.{io.quote_identifier(c)} is not null" for c in fk.columns)
            counts.append(
                f"count_if({present}) as fk{number}_elements, "
                f"count_if({present} and {parent}.found is null) as fk{number}_unexpected"
            )
        parts.append(f"select {', '.join(counts)} from {table} as c {' '.join(joins)}")
    if model.is_scd2:
        key = _names(model.business_key)
        parts.append(
            "select count(*) as current_elements, count_if(versions > 1) as current_unexpected from "
            f"(select count_if(is_current) as versions from {table} group by {key})"
        )
        parts.append(
            "select count(*) as overlap_elements, "
            "count_if(next_from is not null and (valid_to is null or valid_to > next_from)) as overlap_unexpected "
            f"from (select valid_to, lead(valid_from) over (partition by {key} order by valid_from) as next_from "
            f"from {table})"
        )
    return "select * from " + " cross join ".join(f"({part}) as k{i}" for i, part in enumerate(parts))


def test_table(
    spark: SparkSession, config: Config, model: GoldModel, models: Mapping[str, GoldModel]
) -> list[KeyOutcome]:
    """Run the tests of one built table (one query); its foreign keys' parents must be built too."""
    counts = spark.sql(table_query(model, models, lambda key: tables.full_name(config, key))).first()
    return [
        KeyOutcome(t, int(counts[f"{t.label}_elements"]), int(counts[f"{t.label}_unexpected"]))
        for t in key_tests(model, models)
    ]


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


def write_outcomes(spark: SparkSession, config: Config, run_id: str, outcomes: list[KeyOutcome]) -> None:
    """Upsert the outcomes into ops.quality_results (a rerun of the same run replaces its rows)."""
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
