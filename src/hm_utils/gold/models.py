"""Gold models: the star schema declared in `src/hm_utils/gold_models/<table>.yml`, one file per table.

A model gives the table's grain, an LLM-friendly comment, its columns (Spark type, comment, nullability), primary
and foreign keys, and what its build needs: the builder's domain module, the tables it reads, how it is refreshed
(format: header of dim_job.yml). Each gold table is declared there only: the table registry (`hm_utils.tables`),
the build graph (`hm_utils.gold.build`) and the key tests (`hm_utils.gold.keys`) are derived from the models. This
module loads and validates the models (without Spark), conforms a built DataFrame to its model (exact columns,
order and types), writes it through `io.write_table` with the column comments, and generates the Databricks DDL
that declares the keys as informational constraints.

Foreign keys whose referenced columns are the parent's whole primary key become FOREIGN KEY constraints. A
reference to the business key of an SCD2 dimension (e.g. facts → dim_job on (workspace_id, job_id), whose primary
key also has valid_from) is a logical join key: Databricks only accepts references to a primary key, so it is
documented in the model and reported by :func:`constraint_ddl` as not declared.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from graphlib import CycleError, TopologicalSorter
from importlib import resources
from typing import TYPE_CHECKING

import yaml

from hm_utils import io, tables
from hm_utils.config import Config
from hm_utils.errors import ConfigError
from hm_utils.system_schema import parse_spark_type

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

KINDS = ("dimension", "fact", "summary")
REFRESH_MODES = ("whole", "by_date")
SCD2_COLUMNS = ("valid_from", "valid_to", "is_current")
MODELS_FOLDER = "src/hm_utils/gold_models"
_MODEL_FIELDS = {
    "table", "kind", "domain", "grain", "comment", "primary_key", "foreign_keys", "reads", "refresh", "date_column",
    "watermark", "lookback_days", "input_date", "cluster_by", "columns",
}  # fmt: skip
_REQUIRED_FIELDS = {"table", "kind", "domain", "grain", "primary_key", "reads", "refresh", "columns"}
_COLUMN_FIELDS = {"name", "type", "comment", "nullable"}
_FK_FIELDS = {"columns", "references", "ref_columns"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    comment: str
    nullable: bool = True


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    references: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class GoldModel:
    """One gold table as declared in its YAML file."""

    table: str
    kind: str
    grain: str
    comment: str
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...]
    columns: tuple[Column, ...]
    source: str
    domain: str = ""
    reads: tuple[str, ...] = ()
    refresh: str = "whole"
    date_column: str | None = None
    watermark: str | None = None
    lookback_days: str | int | None = None
    input_date: str | None = None
    cluster_by: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The registry key, `gold.<table>`."""
        return f"gold.{self.table}"

    @property
    def main_input(self) -> str:
        """The first table of `reads`: the one a by_date refresh restricts to the dates it rewrites."""
        return self.reads[0]

    @property
    def gold_reads(self) -> set[str]:
        """The gold tables this table is built from (built before it)."""
        return {key.removeprefix("gold.") for key in self.reads if key.startswith("gold.")}

    @property
    def is_scd2(self) -> bool:
        """A type-2 dimension: validity columns, and valid_from closes the primary key."""
        return set(SCD2_COLUMNS) <= set(self.column_names) and self.primary_key[-1:] == ("valid_from",)

    @property
    def business_key(self) -> tuple[str, ...]:
        """The primary key without valid_from (SCD2 dimensions), else the primary key."""
        return self.primary_key[:-1] if self.is_scd2 else self.primary_key

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def column_comments(self) -> dict[str, str]:
        return {column.name: column.comment for column in self.columns}


def load_models() -> dict[str, GoldModel]:
    """All gold models by table name, parsed from the packaged YAML files (a ConfigError names the file)."""
    return dict(_load_models())


def by_domain() -> dict[str, list[str]]:
    """Gold table names per domain, both sorted."""
    domains: dict[str, list[str]] = {}
    for name, model in sorted(load_models().items()):
        domains.setdefault(model.domain, []).append(name)
    return dict(sorted(domains.items()))


@cache
def _load_models() -> tuple[tuple[str, GoldModel], ...]:
    folder = resources.files("hm_utils").joinpath("gold_models")
    models = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yml"):
            model = parse_model(entry.read_text("utf-8"), source=f"{MODELS_FOLDER}/{entry.name}")
            models.append((model.table, model))
    return tuple(models)


def get_model(table: str) -> GoldModel:
    """The model of one gold table (`fct_usage_hourly` or `gold.fct_usage_hourly`)."""
    name = table.removeprefix("gold.")
    models = load_models()
    if name not in models:
        raise ConfigError(
            f"no gold model '{name}'",
            where=MODELS_FOLDER,
            fix=f"add {name}.yml (see the header of dim_job.yml); known models: {', '.join(sorted(models))}",
        )
    return models[name]


def parse_model(text: str, source: str) -> GoldModel:
    """A GoldModel from YAML text; structural problems raise a ConfigError naming `source`."""
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML in a gold model: {exc}", where=source, fix="fix the syntax") from exc
    unknown = set(raw) - _MODEL_FIELDS
    missing = _REQUIRED_FIELDS - set(raw)
    if unknown or missing:
        raise ConfigError(
            f"gold model fields: unknown {sorted(unknown)}, missing {sorted(missing)}",
            where=source,
            fix=f"use only {sorted(_MODEL_FIELDS)}",
        )
    columns = []
    for position, item in enumerate(raw["columns"] or []):
        if not isinstance(item, Mapping) or set(item) - _COLUMN_FIELDS or "name" not in item or "type" not in item:
            hint = ""
            if isinstance(item, Mapping) and any(value is None for value in item.values()):
                hint = " (a comment with ', ' or ': ' inside a {...} mapping must be quoted: comment: '...')"
            raise ConfigError(
                f"column #{position + 1} must be a mapping with name, type, comment (and optional nullable)",
                where=source,
                fix=f"write {{name: ..., type: ..., comment: ...}}{hint}; got {item!r}",
            )
        columns.append(
            Column(
                str(item["name"]), str(item["type"]), str(item.get("comment") or ""), bool(item.get("nullable", True))
            )
        )
    foreign_keys = []
    for item in raw.get("foreign_keys") or []:
        if not isinstance(item, Mapping) or set(item) != _FK_FIELDS:
            raise ConfigError(
                f"foreign key {item!r} must have exactly columns, references, ref_columns",
                where=source,
                fix="write {columns: [...], references: <gold table>, ref_columns: [...]}",
            )
        foreign_keys.append(ForeignKey(tuple(item["columns"]), str(item["references"]), tuple(item["ref_columns"])))
    return GoldModel(
        table=str(raw["table"]),
        kind=str(raw["kind"]),
        grain=str(raw["grain"]),
        comment=str(raw.get("comment") or ""),
        primary_key=tuple(raw["primary_key"] or ()),
        foreign_keys=tuple(foreign_keys),
        columns=tuple(columns),
        source=source,
        domain=str(raw["domain"]),
        reads=tuple(str(key) for key in raw["reads"] or ()),
        refresh=str(raw["refresh"]),
        date_column=raw.get("date_column"),
        watermark=raw.get("watermark"),
        lookback_days=raw.get("lookback_days"),
        input_date=raw.get("input_date"),
        cluster_by=tuple(raw.get("cluster_by") or ()),
    )


def validate_models(models: Mapping[str, GoldModel], config: Config | None = None) -> list[str]:
    """Problems of the models, one readable line each (empty when all is well); no Spark needed.

    Checks: kind, grain and comments present; unique column names; types parse; primary key columns exist and
    are not nullable; foreign keys name existing tables and columns of matching count; the build fields (domain
    module with a `build_<table>` function, reads, refresh, date and watermark columns) are consistent and the
    reads between gold tables have no cycle; with `config`, every read names a registry table.
    """
    problems: list[str] = []
    for name, model in models.items():
        if name != model.table:
            problems.append(f"{model.source}: file holds table '{model.table}', expected '{name}'")
        problems.extend(_column_problems(model))
        problems.extend(_key_problems(model, models))
        problems.extend(_build_problems(model, models, config))
    problems.extend(_cycle_problems(models))
    return problems


def _column_problems(model: GoldModel) -> list[str]:
    where, problems = model.source, []
    if model.kind not in KINDS:
        problems.append(f"{where}: kind '{model.kind}' is not one of {KINDS}")
    if not model.grain.strip():
        problems.append(f"{where}: grain is empty")
    names = model.column_names
    if len(set(names)) != len(names):
        problems.append(f"{where}: duplicate column names {sorted({n for n in names if names.count(n) > 1})}")
    for column in model.columns:
        if not column.comment.strip():
            problems.append(f"{where}: column {column.name} has no comment")
        try:
            parse_spark_type(column.type)
        except Exception as exc:  # noqa: BLE001 - any parse failure is a model problem
            problems.append(f"{where}: column {column.name} has an unparsable type '{column.type}' ({exc})")
    return problems


def _key_problems(model: GoldModel, models: Mapping[str, GoldModel]) -> list[str]:
    where, problems = model.source, []
    if not model.primary_key:
        problems.append(f"{where}: primary_key is empty")
    by_name = {column.name: column for column in model.columns}
    for column in model.primary_key:
        if column not in by_name:
            problems.append(f"{where}: primary key column {column} is not a column")
        elif by_name[column].nullable:
            problems.append(f"{where}: primary key column {column} must be declared nullable: false")
    for fk in model.foreign_keys:
        label = f"{where}: foreign key {list(fk.columns)} -> {fk.references}"
        missing = [c for c in fk.columns if c not in by_name]
        if missing:
            problems.append(f"{label}: column(s) {missing} not in the table")
        if len(fk.columns) != len(fk.ref_columns):
            problems.append(f"{label}: {len(fk.columns)} column(s) but {len(fk.ref_columns)} referenced")
        parent = models.get(fk.references)
        if parent is None:
            problems.append(f"{label}: no gold model '{fk.references}'")
            continue
        absent = [c for c in fk.ref_columns if c not in parent.column_names]
        if absent:
            problems.append(f"{label}: referenced column(s) {absent} not in {fk.references}")
    return problems


def _build_problems(model: GoldModel, models: Mapping[str, GoldModel], config: Config | None) -> list[str]:
    where, problems = model.source, []
    try:
        builder = getattr(importlib.import_module(f"hm_utils.gold.{model.domain}"), f"build_{model.table}", None)
    except ImportError:
        builder = None
    if builder is None:
        problems.append(f"{where}: no function build_{model.table} in hm_utils.gold.{model.domain} (its domain)")
    if not model.reads:
        problems.append(f"{where}: reads is empty")
    registry = tables.load_registry(config) if config is not None else None
    for key in model.reads:
        layer, _, name = key.partition(".")
        if layer == "gold":
            if name not in models:
                problems.append(f"{where}: reads {key}, which has no model")
            elif name == model.table:
                problems.append(f"{where}: reads itself (a builder gets its previous rows from inputs.previous())")
        elif layer != "silver" or (registry is not None and key not in registry):
            problems.append(f"{where}: reads '{key}', not a silver registry table or a gold model")
    columns = set(model.column_names)
    for column in model.cluster_by:
        if column not in columns:
            problems.append(f"{where}: cluster_by column {column} is not a column")
    if model.refresh not in REFRESH_MODES:
        problems.append(f"{where}: refresh '{model.refresh}' is not one of {REFRESH_MODES}")
    by_date_fields = {"date_column": model.date_column, "watermark": model.watermark, "input_date": model.input_date}
    if model.refresh != "by_date":
        given = [field for field, value in {**by_date_fields, "lookback_days": model.lookback_days}.items() if value]
        if given:
            problems.append(f"{where}: {', '.join(given)} only apply to refresh: by_date")
        return problems
    if model.date_column not in columns:
        problems.append(f"{where}: date_column '{model.date_column}' is not a column")
    if model.watermark is not None and model.watermark not in columns:
        problems.append(f"{where}: watermark '{model.watermark}' is not a column")
    if model.lookback_days is not None and model.watermark is None:
        problems.append(f"{where}: lookback_days needs a watermark")
    main = models.get(model.main_input.removeprefix("gold.")) if model.reads else None
    follows = main is not None and model.main_input.startswith("gold.") and main.refresh == "by_date"
    if model.watermark is None and not follows:
        problems.append(
            f"{where}: a by_date table needs a watermark, or a by_date gold table as its first read (whose dates it "
            "follows)"
        )
    return problems


def _cycle_problems(models: Mapping[str, GoldModel]) -> list[str]:
    graph = {name: model.gold_reads & set(models) for name, model in models.items()}
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        return [f"{MODELS_FOLDER}: the gold reads form a cycle: {' -> '.join(exc.args[1])}"]
    return []


def lookback_days(config: Config, model: GoldModel) -> int:
    """The model's lookback in days: a number, or the value of the params key it names (0 without one)."""
    value = model.lookback_days
    if value is None:
        return 0
    if isinstance(value, str) and not value.strip().isdigit():
        value = config.require(value)
    return int(value)


def conform(df: DataFrame, model: GoldModel) -> DataFrame:
    """`df` with exactly the model's columns, in model order, cast to the model's types.

    A missing or unexpected column is a builder bug: raise a ConfigError listing them rather than writing a
    table that breaks the semantic layer.
    """
    from pyspark.sql import functions as F

    present = list(df.columns)
    missing = [c for c in model.column_names if c not in present]
    extra = [c for c in present if c not in model.column_names]
    if missing or extra:
        raise ConfigError(
            f"the built {model.key} does not match its model: missing {missing}, unexpected {extra}",
            where=model.source,
            fix="make the builder produce exactly the model's columns, or change the model (and tell the semantic layer)",
        )
    return df.select(*[F.col(io.quote_identifier(c.name)).cast(c.type).alias(c.name) for c in model.columns])


def write_model(
    spark: SparkSession, config: Config, table: str, df: DataFrame, mode: str = "overwrite", *, where: str | None = None
) -> io.WriteResult:
    """Conform `df` to the model of `table` and write it with the model's column comments (the table comment is
    the model's comment, which the registry entry carries)."""
    model = get_model(table)
    comments = model.column_comments if _comments_missing(spark, config, model) else None
    return io.write_table(spark, config, model.key, conform(df, model), mode, where=where, column_comments=comments)


def _comments_missing(spark: SparkSession, config: Config, model: GoldModel) -> bool:
    """False when the local table already has the model's columns, types and comments: a local write that keeps
    the schema keeps the comments, and re-applying them costs one ALTER statement per column. (On Databricks an
    overwrite may replace the schema and its comments, so they are always applied there.)"""
    if not config.is_local or not io.table_exists(spark, config, model.key):
        return True
    fields = spark.table(tables.full_name(config, model.key)).schema.fields
    current = [(f.name, f.dataType.simpleString(), f.metadata.get("comment")) for f in fields]
    wanted = [(c.name, _simple_type(c.type), c.comment) for c in model.columns]
    return current != wanted


def _simple_type(type_text: str) -> str:
    """A model type as Spark's simpleString() prints it (lower case, no spaces; `int` stays `int`)."""
    return "".join(type_text.split()).lower()


@dataclass(frozen=True)
class ConstraintPlan:
    """Databricks DDL declaring the models' keys, and the foreign keys left as logical join keys (with why)."""

    statements: list[str]
    logical_keys: list[str]


def constraint_ddl(models: Mapping[str, GoldModel], resolve: Callable[[str], str]) -> ConstraintPlan:
    """Idempotent DDL for PRIMARY KEY / FOREIGN KEY informational constraints of `models`; `resolve` turns a
    registry key (`gold.<table>`) into the full table name.

    Order: drop this kit's foreign keys, then per table set the key columns NOT NULL and (re)create the primary
    key, then create the foreign keys, so parents' keys exist before they are referenced. Constraint names are
    `<table>_pk` and `<table>_fk_<n>`.
    """
    drops, keys, fks, logical = [], [], [], []
    for model in models.values():
        name = resolve(model.key)
        for number, fk in enumerate(model.foreign_keys, start=1):
            constraint = f"{model.table}_fk_{number}"
            drops.append(f"alter table {name} drop constraint if exists {constraint}")
            parent = models.get(fk.references)
            if parent is None or tuple(fk.ref_columns) != parent.primary_key:
                parent_key = list(parent.primary_key) if parent else "unknown"
                logical.append(
                    f"{model.table}({', '.join(fk.columns)}) -> {fk.references}({', '.join(fk.ref_columns)}): "
                    f"not the parent's primary key {parent_key}, kept as a logical join key"
                )
                continue
            fks.append(
                f"alter table {name} add constraint {constraint} foreign key ({_columns(fk.columns)}) "
                f"references {resolve(parent.key)} ({_columns(fk.ref_columns)}) not enforced"
            )
        keys.append(f"alter table {name} drop constraint if exists {model.table}_pk cascade")
        keys.extend(f"alter table {name} alter column {io.quote_identifier(c)} set not null" for c in model.primary_key)
        keys.append(
            f"alter table {name} add constraint {model.table}_pk primary key ({_columns(model.primary_key)}) not enforced"
        )
    return ConstraintPlan(statements=drops + keys + fks, logical_keys=logical)


def _columns(names: tuple[str, ...]) -> str:
    return ", ".join(io.quote_identifier(n) for n in names)


def apply_constraints(spark: SparkSession, config: Config, table_keys: list[str]) -> ConstraintPlan:
    """Declare the constraints of the gold tables in `table_keys` on Databricks (locally: nothing to run).

    Only tables that exist are constrained; a foreign key is declared only when both tables are in the list.
    """
    if config.is_local:
        return ConstraintPlan(statements=[], logical_keys=[])
    chosen = {k.removeprefix("gold."): m for k, m in load_models().items() if f"gold.{k}" in table_keys}
    plan = constraint_ddl(chosen, lambda key: tables.full_name(config, key))
    for statement in plan.statements:
        spark.sql(statement)
    return plan
