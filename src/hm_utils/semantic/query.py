"""Python callers of the semantic layer: table functions and metric views, with bound parameters.

Values are never spliced into SQL text: every argument becomes a named parameter marker (`:name`)
bound as in `spark.sql(query, args=...)` (see :func:`fetch`), so `x' OR 1=1 --` is just a string.
Identifiers (function, measure and dimension names) cannot be bound; they are checked against the
deployed definitions first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from hm_utils.config import Config
from hm_utils.errors import ConfigError
from hm_utils.semantic import assets

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import SparkSession

_OPERATORS = ("=", "!=", "<", "<=", ">", ">=")
ORDER_COLUMN = "rank"  # top-N functions return it; callers get rows in this order


def _session(spark: SparkSession | None, config: Config | None) -> tuple[SparkSession, Config]:
    from hm_utils import config as config_module

    config = config or config_module.load()
    if spark is None:
        from hm_utils.spark import get_spark

        spark = get_spark(config)
    return spark, config


def fetch(spark: SparkSession, query: str, args: Mapping[str, Any]) -> pd.DataFrame:
    """Rows of `query` with `args` bound, as pandas, analysed by the engine once.

    On Spark Connect (the local engine, Databricks Connect) `spark.sql()` sends the query at once to
    have it analysed and then sends it again with `toPandas()`, which analyses it a second time;
    building the same SQL relation without the first round trip saves about a quarter of a small
    call. Elsewhere (a classic session, e.g. inside a Databricks job) `spark.sql()` is lazy already.
    """
    relation = _lazy_sql(spark, query, args)
    return (relation if relation is not None else spark.sql(query, args=dict(args))).toPandas()


def _lazy_sql(spark: SparkSession, query: str, args: Mapping[str, Any]):
    """The unanalysed SQL relation on a Connect session; None elsewhere or when the client's internal
    plan classes differ from pyspark 4.x's (e.g. another Databricks Connect release): then spark.sql."""
    try:
        from pyspark.sql.connect import functions as connect_functions
        from pyspark.sql.connect.dataframe import DataFrame as ConnectDataFrame
        from pyspark.sql.connect.plan import SQL
        from pyspark.sql.connect.session import SparkSession as ConnectSession
    except ImportError:  # pyspark without the Connect client
        return None
    if not isinstance(spark, ConnectSession):
        return None
    named = {key: connect_functions.lit(value) for key, value in args.items()}
    try:
        return ConnectDataFrame(SQL(query, [], named, []), spark)
    except TypeError:
        return None


def call_sql(name: str, config: Config, **params: Any) -> tuple[str, dict[str, Any]]:
    """The query text and bound arguments that call table function `name` with `params`.

    `select * from <catalog>.<schema>.<name>(p => :p, ...)`; omitted parameters take their DEFAULT.
    Dates may be given as `date`, `datetime` or ISO strings.
    """
    spec = assets.function_spec(config, name)
    known = {p.name: p for p in spec.params}
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ConfigError(
            f"{name}() has no parameter {', '.join(unknown)}",
            where=f"semantic.call('{name}', ...)",
            fix=f"use {', '.join(spec.param_names)}",
        )
    args = {key: _coerce(value, known[key].type, name, key) for key, value in params.items()}
    arguments = ", ".join(f"{key} => :{key}" for key in params)
    order = f" order by {ORDER_COLUMN}" if ORDER_COLUMN in [c.name for c in spec.columns] else ""
    return f"select * from {assets.qualified(config, name)}({arguments}){order}", args


def call(name: str, *, spark: SparkSession | None = None, config: Config | None = None, **params: Any) -> pd.DataFrame:
    """Run table function `name` with bound `params`; a pandas DataFrame (top-N functions in rank order)."""
    spark, config = _session(spark, config)
    query, args = call_sql(name, config, **params)
    return fetch(spark, query, args)


def _coerce(value: Any, sql_type: str, function: str, param: str) -> Any:
    if value is None:
        return None
    try:
        if sql_type == "date" and isinstance(value, str):
            return date.fromisoformat(value)
        if sql_type == "date" and isinstance(value, datetime):
            return value.date()
        if sql_type == "timestamp" and isinstance(value, str):
            return datetime.fromisoformat(value)
        if sql_type in ("int", "bigint", "smallint") and not isinstance(value, bool):
            return int(value)
        if sql_type in ("double", "float") or sql_type.startswith("decimal"):
            return float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{function}({param}) expects {sql_type}, got {value!r}",
            where=f"semantic.call('{function}', {param}=...)",
            fix=f"pass a {sql_type}",
        ) from exc
    return value


def metric_sql(
    view: str,
    config: Config,
    measures: Sequence[str],
    dimensions: Sequence[str] = (),
    filters: Mapping[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The `MEASURE()` query over metric view `view` and its bound arguments.

    filters: {dimension: value} for equality, {dimension: [v1, v2]} for IN, {dimension: (op, value)} with op one
    of = != < <= > >=, or {dimension: ("between", low, high)}.
    """
    spec = assets.metric_view_spec(config, view)
    known_dims, known_measures = assets.metric_view_fields(spec)
    if not measures:
        raise ConfigError(
            "metric() needs at least one measure",
            where=f"metric('{view}')",
            fix=f"pass measures=[...] from {', '.join(known_measures)}",
        )
    _check("measure", measures, known_measures, view)
    _check("dimension", list(dimensions) + list(filters or {}), known_dims, view)
    select = [*dimensions, *(f"measure({m}) as {m}" for m in measures)]
    where, args = _filters(filters or {})
    query = f"select {', '.join(select)} from {assets.qualified(config, view)}"
    if where:
        query += " where " + " and ".join(where)
    if dimensions:
        query += f" group by all order by {', '.join(dimensions)}"
    return query, args


def metric(
    view: str,
    measures: Sequence[str],
    dimensions: Sequence[str] = (),
    filters: Mapping[str, Any] | None = None,
    *,
    spark: SparkSession | None = None,
    config: Config | None = None,
) -> pd.DataFrame:
    """Measures of metric view `view` grouped by `dimensions`, filtered with bound values; a pandas DataFrame."""
    spark, config = _session(spark, config)
    query, args = metric_sql(view, config, measures, dimensions, filters)
    return fetch(spark, query, args)


def _check(kind: str, names: Sequence[str], known: Sequence[str], view: str) -> None:
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(
            f"metric view {view} has no {kind} {', '.join(unknown)}",
            where=f"semantic.metric('{view}', ...)",
            fix=f"use one of {', '.join(known)}",
        )


def _filters(filters: Mapping[str, Any]) -> tuple[list[str], dict[str, Any]]:
    where: list[str] = []
    args: dict[str, Any] = {}
    for i, (column, value) in enumerate(filters.items()):
        marker = f"f{i}"
        if isinstance(value, tuple) and value and value[0] == "between":
            where.append(f"{column} between :{marker}_lo and :{marker}_hi")
            args[f"{marker}_lo"], args[f"{marker}_hi"] = value[1], value[2]
        elif isinstance(value, tuple) and len(value) == 2 and value[0] in _OPERATORS:
            where.append(f"{column} {value[0]} :{marker}")
            args[marker] = value[1]
        elif isinstance(value, (list, set, frozenset)):
            markers = [f":{marker}_{j}" for j in range(len(value))]
            where.append(f"{column} in ({', '.join(markers) or 'null'})")
            args.update({m[1:]: v for m, v in zip(markers, sorted(value, key=str), strict=True)})
        elif isinstance(value, tuple):
            raise ConfigError(
                f"filter on {column} is not understood: {value!r}",
                where="semantic.metric(filters=...)",
                fix=f"use a value, a list, (op, value) with op in {_OPERATORS}, or ('between', lo, hi)",
            )
        else:
            where.append(f"{column} = :{marker}")
            args[marker] = value
    return where, args
