"""Data-quality rules: Great Expectations suites kept as files, evaluated as Spark SQL in one pass.

Suites live in `expectations/<layer>.<table>.json` (GE 1.x ExpectationSuite JSON) and are loaded
with Great Expectations' own classes, so a malformed suite fails with GE's message plus the file
and the expectation (GE itself would only log a bad expectation and drop it).
Every expectation's `meta` says how a failure is handled:

- `severity`: `blocking` (the row is invalid: it goes to quarantine, and more than
  `silver.max_quarantine_fraction` of a table failing one rule fails the step) or `warn` (counted
  and reported, the row is kept). GE's own `severity` field must agree (critical / warning).
- `kind`: `validity`, `reasonableness` or `referential` (for reports; it does not change handling).
- `rule`: short name, required for `unexpected_rows_expectation`, optional otherwise.

Why the expectations are translated instead of run by GE's Spark engine: GE 1.24's
SparkDFExecutionEngine does work on a Spark Connect DataFrame, but it computes each expectation
through several metrics, each a Spark job (about 1.7 s per expectation on 100k rows here, ~200 s
for the ~120 expectations of all silver tables), and it returns counts, not a per-row verdict, so
it cannot route rows to quarantine. Instead each supported expectation type becomes a Spark SQL
predicate that is true when a row is *unexpected*; all of a table's predicates are evaluated as
boolean columns in one SELECT (:func:`flag_rows`), the counts are taken in the same pass (silver
observes them while it writes), and the GE-format `ExpectationSuiteValidationResult` is built
from those counts (:func:`validation_result`).

Bounds that depend on the run, such as the plausible range of dates, are GE suite parameters
(`{"$PARAMETER": "latest_time"}`), given their values by :func:`suite_parameters` when rows are flagged.

Supported types (GE semantics: a NULL value is not unexpected except for `not_be_null`):
expect_column_values_to_not_be_null, expect_column_values_to_be_between,
expect_column_values_to_be_in_set, expect_column_values_to_match_regex,
expect_column_pair_values_a_to_be_greater_than_b, and unexpected_rows_expectation whose query has
the form `select * from {batch} [[as] alias] where <condition>`; the condition may read other tables
by registry key in braces, e.g. `{silver.billing_list_prices}` (resolved by `hm_utils.tables`), and
may use correlated EXISTS / IN subqueries, which Spark evaluates as joins inside the same pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hm_utils import clock
from hm_utils.config import Config
from hm_utils.errors import ConfigError
from hm_utils.io import quote_identifier, sql_string

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite, ExpectationSuiteValidationResult
    from pyspark.sql import DataFrame, SparkSession

SEVERITIES = {"blocking": "critical", "warn": "warning"}  # kit severity -> GE FailureSeverity value
KINDS = ("validity", "reasonableness", "referential")
SUITES_FOLDER = "expectations"
FLAG_PREFIX = "_hm_fail_"

_QUERY = re.compile(
    r"^\s*select\s+\*\s+from\s+\{batch\}(?:\s+(?:as\s+)?(?!where\b)(?P<alias>[a-z_][a-z0-9_]*))?\s+where\s+(?P<condition>.+?)\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_TABLE_PLACEHOLDER = re.compile(r"\{([a-z]+\.[a-z0-9_]+)\}")
_PARAMETER_PLACEHOLDER = re.compile(r"\{\$([a-z_][a-z0-9_]*)\}")


@dataclass(frozen=True)
class Rule:
    """One expectation of a suite, translated: `predicate` is true for an unexpected row."""

    name: str
    expectation_type: str
    column: str | None
    severity: str
    kind: str
    predicate: str
    alias: str | None = None
    mostly: float | None = None
    references: tuple[str, ...] = ()

    @property
    def blocking(self) -> bool:
        return self.severity == "blocking"


@dataclass(frozen=True)
class RuleOutcome:
    """The counts of one rule on one table."""

    rule: Rule
    element_count: int
    unexpected_count: int

    @property
    def unexpected_fraction(self) -> float:
        return self.unexpected_count / self.element_count if self.element_count else 0.0

    @property
    def success(self) -> bool:
        """GE's rule: no unexpected row, or at least `mostly` of the rows as expected."""
        if self.rule.mostly is None:
            return self.unexpected_count == 0
        return 1.0 - self.unexpected_fraction >= self.rule.mostly


def suite_parameters(config: Config) -> dict[str, Any]:
    """Values of the suite parameters: `earliest_date` and `latest_time`, the plausible range of a row's
    dates (`silver.earliest_date`, and `silver.future_days` after the run's time)."""
    earliest = config.get("silver.earliest_date")
    return {
        "earliest_date": earliest if isinstance(earliest, date) else date.fromisoformat(str(earliest)),
        "latest_time": clock.now(config) + timedelta(days=float(config.get("silver.future_days", 1))),
    }


def suite_path(config: Config, table_key: str) -> Path:
    return config.root / SUITES_FOLDER / f"{table_key}.json"


def load_suite(config: Config, table_key: str) -> ExpectationSuite:
    """The suite of `table_key` as a GE ExpectationSuite; a ConfigError naming the file when it is wrong."""
    path = suite_path(config, table_key)
    if not path.is_file():
        raise ConfigError(
            f"no expectation suite for {table_key}",
            where=str(path),
            fix=f"add {path.name} (a Great Expectations ExpectationSuite JSON named {table_key})",
        )
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"suite {path.name} is not valid JSON: {exc}", where=str(path), fix="fix the syntax") from exc
    return parse_suite(data, str(path), table_key)


def parse_suite(data: Mapping[str, Any], where: str, table_key: str | None = None) -> ExpectationSuite:
    """Build a GE ExpectationSuite from suite JSON; a ConfigError names the file and the bad expectation.

    Each expectation is built on its own first: GE's ExpectationSuite constructor only logs an
    invalid expectation and drops it, which would silently weaken a gate.
    """
    from great_expectations.core import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    if table_key is not None and data.get("name") != table_key:
        raise ConfigError(
            f"suite name '{data.get('name')}' does not match its table {table_key}",
            where=where,
            fix=f'set "name": "{table_key}"',
        )
    expectations = []
    for number, item in enumerate(data.get("expectations") or [], start=1):
        try:
            expectations.append(ExpectationConfiguration(**item).to_domain_obj())
        except Exception as exc:  # GE raises TypeError, pydantic and its own errors here
            kind = item.get("type") if isinstance(item, Mapping) else None
            raise ConfigError(
                f"invalid expectation #{number} ({kind}) in suite {data.get('name')}: {type(exc).__name__}: {exc}",
                where=where,
                fix="check the expectation's type and kwargs against the Great Expectations 1.x gallery",
            ) from exc
    try:
        return ExpectationSuite(**{**data, "expectations": expectations})
    except Exception as exc:
        raise ConfigError(
            f"invalid expectation suite: {type(exc).__name__}: {exc}",
            where=where,
            fix="compare with another suite in expectations/",
        ) from exc


def suite_rules(suite: ExpectationSuite, where: str = "") -> list[Rule]:
    """Translate every expectation of `suite` into a :class:`Rule` (pure; no Spark)."""
    where = where or f"suite {suite.name}"
    rules = []
    for expectation in suite.expectations:
        config = expectation.configuration
        rules.append(
            translate(config.type, dict(config.kwargs), dict(config.meta or {}), _ge_severity(expectation), where)
        )
    names = [rule.name for rule in rules]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(
            f"rule names repeat in {suite.name}: {', '.join(repeated)}",
            where=where,
            fix='give each repeated expectation a distinct meta "rule" name',
        )
    return rules


def _ge_severity(expectation: Any) -> str | None:
    severity = getattr(expectation, "severity", None)
    return None if severity is None else str(getattr(severity, "value", severity))


def translate(
    expectation_type: str,
    kwargs: Mapping[str, Any],
    meta: Mapping[str, Any],
    ge_severity: str | None = None,
    where: str = "suite",
) -> Rule:
    """One expectation (type, kwargs, meta) → a :class:`Rule` with its unexpected-row SQL predicate."""
    label = f"{expectation_type}({meta.get('rule') or _columns_text(kwargs)})"
    severity = meta.get("severity")
    if severity not in SEVERITIES:
        raise ConfigError(
            f"{label}: meta.severity is {severity!r}",
            where=where,
            fix=f"set meta.severity to one of {', '.join(SEVERITIES)}",
        )
    if ge_severity is not None and ge_severity != SEVERITIES[severity]:
        raise ConfigError(
            f"{label}: meta.severity {severity} disagrees with the expectation's severity {ge_severity}",
            where=where,
            fix=f'set "severity": "{SEVERITIES[severity]}" (or change meta.severity)',
        )
    kind = meta.get("kind", "validity")
    if kind not in KINDS:
        raise ConfigError(f"{label}: meta.kind is {kind!r}", where=where, fix=f"use one of {', '.join(KINDS)}")
    if expectation_type not in SUPPORTED_TYPES:
        raise ConfigError(
            f"{label}: expectation type {expectation_type} cannot be evaluated in one pass",
            where=where,
            fix=f"use one of {', '.join(SUPPORTED_TYPES)}",
        )
    alias = None
    references: tuple[str, ...] = ()
    if expectation_type == "unexpected_rows_expectation":
        if not meta.get("rule"):
            raise ConfigError(f"{label}: needs a meta.rule name", where=where, fix='add "rule": "<short_name>" to meta')
        alias, predicate = _unexpected_rows_condition(str(kwargs["unexpected_rows_query"]), label, where)
        references = tuple(dict.fromkeys(_TABLE_PLACEHOLDER.findall(predicate)))
    else:
        predicate = _TRANSLATORS[expectation_type](kwargs)
    mostly = kwargs.get("mostly")
    return Rule(
        name=label,
        expectation_type=expectation_type,
        column=_columns_text(kwargs) or None,
        severity=severity,
        kind=kind,
        predicate=f"coalesce(({predicate}), false)",
        alias=alias,
        mostly=None if mostly is None or float(mostly) >= 1.0 else float(mostly),
        references=references,
    )


def _columns_text(kwargs: Mapping[str, Any]) -> str:
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    return ""


def column_sql(column: str) -> str:
    """A column path such as `usage_metadata.job_id` as quoted SQL (`usage_metadata`.`job_id`)."""
    return ".".join(quote_identifier(part) for part in column.split("."))


def literal_sql(value: Any) -> str:
    if isinstance(value, Mapping) and set(value) == {"$PARAMETER"}:
        return "{$" + str(value["$PARAMETER"]) + "}"  # resolved when rows are flagged
    if isinstance(value, datetime):
        return f"timestamp'{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"date'{value.isoformat()}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return sql_string(value)
    raise ConfigError(
        f"unsupported literal {value!r} in an expectation", where="expectation kwargs", fix="use numbers or strings"
    )


def _not_null(kwargs: Mapping[str, Any]) -> str:
    return f"{column_sql(kwargs['column'])} is null"


def _between(kwargs: Mapping[str, Any]) -> str:
    column = column_sql(kwargs["column"])
    parts = []
    if kwargs.get("min_value") is not None:
        parts.append(f"{column} {'<=' if kwargs.get('strict_min') else '<'} {literal_sql(kwargs['min_value'])}")
    if kwargs.get("max_value") is not None:
        parts.append(f"{column} {'>=' if kwargs.get('strict_max') else '>'} {literal_sql(kwargs['max_value'])}")
    if not parts:
        raise ConfigError(
            f"{kwargs['column']}: between needs min_value or max_value", where="expectation kwargs", fix="set a bound"
        )
    return " or ".join(parts)


def _in_set(kwargs: Mapping[str, Any]) -> str:
    values = [value for value in kwargs["value_set"] if value is not None]
    return f"{column_sql(kwargs['column'])} not in ({', '.join(literal_sql(value) for value in values)})"


def _match_regex(kwargs: Mapping[str, Any]) -> str:
    return f"not ({column_sql(kwargs['column'])} rlike {sql_string(str(kwargs['regex']))})"


def _pair_greater(kwargs: Mapping[str, Any]) -> str:
    a, b = column_sql(kwargs["column_A"]), column_sql(kwargs["column_B"])
    compare = f"not ({a} {'>=' if kwargs.get('or_equal') else '>'} {b})"
    ignore = kwargs.get("ignore_row_if", "both_values_are_missing")
    if ignore == "either_value_is_missing":
        return f"coalesce({compare}, false)"
    if ignore == "both_values_are_missing":
        return f"case when {a} is null and {b} is null then false else coalesce({compare}, true) end"
    return f"coalesce({compare}, true)"


def _unexpected_rows_condition(query: str, label: str, where: str) -> tuple[str | None, str]:
    match = _QUERY.match(query)
    if not match:
        raise ConfigError(
            f"{label}: unexpected_rows_query must read 'select * from {{batch}} [alias] where <condition>'",
            where=where,
            fix="rewrite the query in that form so it can be evaluated per row in one pass",
        )
    return match.group("alias"), match.group("condition")


_TRANSLATORS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "expect_column_values_to_not_be_null": _not_null,
    "expect_column_values_to_be_between": _between,
    "expect_column_values_to_be_in_set": _in_set,
    "expect_column_values_to_match_regex": _match_regex,
    "expect_column_pair_values_a_to_be_greater_than_b": _pair_greater,
}
SUPPORTED_TYPES = (*_TRANSLATORS, "unexpected_rows_expectation")  # the last: the condition of its query


def resolve_tables(predicate: str, resolve: Callable[[str], str]) -> str:
    """Replace `{layer.table}` placeholders by the names `resolve` gives for each registry key."""
    return _TABLE_PLACEHOLDER.sub(lambda match: resolve(match.group(1)), predicate)


def resolve_parameters(predicate: str, parameters: Mapping[str, Any]) -> str:
    """Replace `{$name}` placeholders (GE suite parameters) by their values as SQL literals."""

    def literal(match: re.Match) -> str:
        name = match.group(1)
        if name not in parameters:
            raise ConfigError(
                f"suite parameter '{name}' has no value",
                where='an expectation\'s {"$PARAMETER": ...}',
                fix=f"use one of {', '.join(sorted(parameters)) or 'none'} (hm_utils.quality.suite_parameters)",
            )
        return literal_sql(parameters[name])

    return _PARAMETER_PLACEHOLDER.sub(literal, predicate)


def flag_select_sql(
    view: str, rules: Sequence[Rule], resolve: Callable[[str], str], parameters: Mapping[str, Any] | None = None
) -> str:
    """SELECT over `view` adding one boolean `_hm_fail_<i>` column per rule (true = unexpected).

    Rules whose query names a batch alias are evaluated in a nested SELECT carrying that alias, so
    every rule sees the batch under the name its condition uses. `parameters` give the suite parameters.
    """
    groups: dict[str, list[tuple[int, Rule]]] = {}
    for index, rule in enumerate(rules):
        groups.setdefault(rule.alias or "batch", []).append((index, rule))
    sql = view
    for alias, members in groups.items():
        flags = ", ".join(
            f"{resolve_parameters(resolve_tables(rule.predicate, resolve), parameters or {})} as {FLAG_PREFIX}{index}"
            for index, rule in members
        )
        sql = f"(select {quote_identifier(alias)}.*, {flags} from {sql} as {quote_identifier(alias)})"
    return sql[1:-1] if sql != view else f"select * from {view}"


def flag_columns(rules: Sequence[Rule]) -> list[str]:
    return [f"{FLAG_PREFIX}{index}" for index in range(len(rules))]


def flag_rows(
    spark: SparkSession,
    frame: DataFrame,
    rules: Sequence[Rule],
    resolve: Callable[[str], str],
    view: str,
    parameters: Mapping[str, Any] | None = None,
) -> DataFrame:
    """`frame` with one boolean failure column per rule, all computed in the same projection."""
    frame.createOrReplaceTempView(view)
    return spark.sql(flag_select_sql(view, rules, resolve, parameters))


def validation_result(suite: ExpectationSuite, outcomes: Sequence[RuleOutcome]) -> ExpectationSuiteValidationResult:
    """A GE ExpectationSuiteValidationResult built from the one-pass counts."""
    from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult

    results = []
    for expectation, outcome in zip(suite.expectations, outcomes, strict=True):
        results.append(
            ExpectationValidationResult(
                success=outcome.success,
                expectation_config=expectation.configuration,
                result={
                    "element_count": outcome.element_count,
                    "unexpected_count": outcome.unexpected_count,
                    "unexpected_percent": 100.0 * outcome.unexpected_fraction,
                },
                meta={"severity": outcome.rule.severity, "kind": outcome.rule.kind, "rule": outcome.rule.name},
            )
        )
    evaluated = len(results)
    successful = sum(result.success for result in results)
    return ExpectationSuiteValidationResult(
        success=successful == evaluated,
        results=results,
        suite_name=suite.name,
        statistics={
            "evaluated_expectations": evaluated,
            "successful_expectations": successful,
            "unsuccessful_expectations": evaluated - successful,
            "success_percent": 100.0 * successful / evaluated if evaluated else 100.0,
        },
    )
