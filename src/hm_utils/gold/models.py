"""Gold models: the star schema declared in `src/hm_utils/gold_models/<table>.yml`, one file per table.

A model gives the table's grain, an LLM-friendly comment, its columns (Spark type, comment, nullability),
primary key and foreign keys (format: header of dim_job.yml). This module loads and validates the models
(without Spark), conforms a built DataFrame to its model (exact columns, order and types), writes it through
`io.write_table` with the column comments, and generates the Databricks DDL that declares the keys as
informational constraints.

Foreign keys whose referenced columns are the parent's whole primary key become FOREIGN KEY constraints. A
reference to the business key of an SCD2 dimension (e.g. facts → dim_job on (workspace_id, job_id), whose primary
key also has valid_from) is a logical join key: Databricks only accepts references to a primary key, so it is
documented in the model and reported by :func:`constraint_ddl` as not declared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
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
_MODEL_FIELDS = {"table", "kind", "grain", "comment", "primary_key", "foreign_keys", "columns"}
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

    @property
    def key(self) -> str:
        """The registry key, `gold.<table>`."""
        return f"gold.{self.table}"

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def column_comments(self) -> dict[str, str]:
        return {column.name: column.comment for column in self.columns}

    def ddl_schema(self) -> str:
        """The model's columns as a Spark DDL schema string (for empty DataFrames)."""
        return ", ".join(f"`{column.name}` {column.type}" for column in self.columns)


def load_models() -> dict[str, GoldModel]:
    """All gold models by table name, parsed from the packaged YAML files (a ConfigError names the file)."""
    return dict(_load_models())


@cache
def _load_models() -> tuple[tuple[str, GoldModel], ...]:
    folder = resources.files("hm_utils").joinpath("gold_models")
    models = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yml"):
            model = parse_model(entry.read_text("utf-8"), source=f"src/hm_utils/gold_models/{entry.name}")
            models.append((model.table, model))
    return tuple(models)


def get_model(table: str) -> GoldModel:
    """The model of one gold table (`fct_usage_hourly` or `gold.fct_usage_hourly`)."""
    name = table.removeprefix("gold.")
    models = load_models()
    if name not in models:
        raise ConfigError(
            f"no gold model '{name}'",
            where="src/hm_utils/gold_models/",
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
    missing = {"table", "kind", "grain", "primary_key", "columns"} - set(raw)
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
    )


def validate_models(models: Mapping[str, GoldModel], config: Config | None = None) -> list[str]:
    """Problems of the models, one readable line each (empty when all is well); no Spark needed.

    Checks: kind, grain and comments present; unique column names; types parse; primary key columns exist and
    are not nullable; foreign keys name existing tables and columns of matching count; with `config`, each model
    has a registry entry `gold.<table>` with the same primary key and each gold registry entry has a model.
    """
    problems: list[str] = []
    for name, model in models.items():
        where = model.source
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
        if name != model.table:
            problems.append(f"{where}: file holds table '{model.table}', expected '{name}'")
    if config is not None:
        problems.extend(_registry_problems(models, config))
    return problems


def _registry_problems(models: Mapping[str, GoldModel], config: Config) -> list[str]:
    problems = []
    registry = {key: spec for key, spec in tables.load_registry(config).items() if spec.layer == "gold"}
    for model in models.values():
        spec = registry.get(model.key)
        if spec is None:
            problems.append(f"{model.source}: no registry entry {model.key} in params/tables.yml")
        elif tuple(spec.primary_key) != model.primary_key:
            problems.append(
                f"{model.source}: primary key {list(model.primary_key)} differs from the registry's "
                f"{list(spec.primary_key)} ({model.key})"
            )
    for key in registry:
        if key.removeprefix("gold.") not in models:
            problems.append(f"params/tables.yml: {key} has no model src/hm_utils/gold_models/{key[5:]}.yml")
    return problems


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


def empty_frame(spark: SparkSession, model: GoldModel) -> DataFrame:
    """An empty DataFrame with the model's schema."""
    return spark.createDataFrame([], model.ddl_schema())


def write_model(
    spark: SparkSession, config: Config, table: str, df: DataFrame, mode: str = "overwrite", *, where: str | None = None
) -> io.WriteResult:
    """Conform `df` to the model of `table` and write it with the model's column and table comments."""
    model = get_model(table)
    comments = model.column_comments if _comments_missing(spark, config, model) else None
    result = io.write_table(spark, config, model.key, conform(df, model), mode, where=where, column_comments=comments)
    if model.comment:
        spark.sql(f"comment on table {tables.full_name(config, model.key)} is {io.sql_string(model.comment)}")
    return result


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
