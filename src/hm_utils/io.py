"""The only module that reads and writes tables: parquet locally, Delta on Databricks.

Write modes, the same in both places:
- `overwrite`: the table becomes `df`.
- `append`: `df` is added to the table.
- `upsert`: rows of `df` replace the rows with the same `keys`, new keys are added (MERGE on Delta).
- `replace_where`: rows matching the SQL predicate `where` are replaced by `df` (Delta `replaceWhere`).

A table whose registry entry has `cluster_by` columns is written with its rows sorted by them
(within each file), so a filter on them, such as a date range, reads only the matching parquet pages
(locally, through the page indexes) or files (Delta data skipping on Databricks).

Locally every write produces a complete new version folder next to the current one and then
switches the table to it with one catalog update (`ALTER TABLE ... SET LOCATION`). A write that
dies midway leaves the previous version readable. After a write, older versions are removed except
the one just replaced (queries already reading it finish) and any version another writer is still
creating (it holds a lock on its `.v-*.writing` marker); an orphan of a write that died is removed by
the next write. Local writes also hold the engine home's run lock (:mod:`hm_utils.locking`).
On Delta each write is one transaction and old files stay until VACUUM, which gives the same guarantees.
"""

from __future__ import annotations

import fcntl
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hm_utils import locking, tables
from hm_utils.config import Config
from hm_utils.errors import ConfigError, TableNotFoundError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

WRITE_MODES = ("overwrite", "append", "upsert", "replace_where")
_VERSION_PREFIX = "v-"


@dataclass(frozen=True)
class WriteResult:
    """What a write did: the table, the mode and the row count of the table afterwards."""

    key: str
    table: str
    mode: str
    rows: int


def sql_string(value: str) -> str:
    """A SQL string literal for `value` (for DDL text such as comments, never for data)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_identifier(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def table_exists(spark: SparkSession, config: Config, key: str) -> bool:
    return bool(spark.catalog.tableExists(tables.full_name(config, key)))


def read_table(spark: SparkSession, config: Config, key: str) -> DataFrame:
    """The table behind a registry key; a TableNotFoundError that says which step creates it."""
    name = tables.full_name(config, key)
    if not spark.catalog.tableExists(name):
        raise TableNotFoundError(
            f"table {name} ({key}) does not exist yet",
            where=f"registry key {key}",
            fix=_missing_table_fix(config, key),
        )
    return spark.table(name)


def _missing_table_fix(config: Config, key: str) -> str:
    layer = key.split(".")[0]
    if layer == "source":
        if config.get("source.kind") == "simulated":
            return "run `hm simulate` (or `hm run`, whose plan starts with it) to create the simulated account"
        return "check that this system table is enabled in the account (`system` catalog grants)"
    return f"run the step that builds the {layer} layer first, e.g. `hm run --from {layer}`"


def ensure_schema(spark: SparkSession, config: Config, key: str) -> None:
    spark.sql(f"create schema if not exists {tables.schema_of(config, key)}")


def _ensure_schema_once(spark: SparkSession, config: Config, key: str) -> None:
    """ensure_schema, skipped when this session already created or found the schema (saves a catalog
    round trip per write); a schema dropped meanwhile is found missing by the write and created then."""
    marker = (getattr(spark, "session_id", id(spark)), tables.schema_of(config, key))
    if marker not in _SCHEMAS_SEEN:
        ensure_schema(spark, config, key)
        _SCHEMAS_SEEN.add(marker)


_SCHEMAS_SEEN: set[tuple[str | int, str]] = set()


def write_table(
    spark: SparkSession,
    config: Config,
    key: str,
    df: DataFrame,
    mode: str = "overwrite",
    *,
    keys: Sequence[str] | None = None,
    where: str | None = None,
    column_comments: Mapping[str, str] | None = None,
    parquet_options: Mapping[str, str] | None = None,
) -> WriteResult:
    """Write `df` to the registry table `key` with one of :data:`WRITE_MODES`.

    `parquet_options` are parquet writer settings for the local parquet version (for example
    `{"parquet.enable.dictionary": "false"}`); Delta on Databricks keeps its own defaults."""
    spec = tables.get_spec(config, key)
    if mode not in WRITE_MODES:
        raise ConfigError(f"unknown write mode '{mode}'", where=f"write to {key}", fix=f"use one of {WRITE_MODES}")
    keys = list(keys or spec.primary_key)
    if mode == "upsert" and not keys:
        raise ConfigError(
            f"upsert into {key} needs key columns", where="params/tables.yml", fix="declare its primary_key"
        )
    if mode == "replace_where" and not where:
        raise ConfigError("replace_where needs a where predicate", where=f"write to {key}", fix="pass where=...")
    _ensure_schema_once(spark, config, key)
    name = tables.full_name(config, key)
    if spec.cluster_by:  # rows sorted by the filter columns: readers skip the pages/files outside a filter
        df = df.sortWithinPartitions(*spec.cluster_by)
    if config.is_local:
        args = (spark, config, name, df, mode, keys, where, spec.comment, column_comments or {}, parquet_options or {})
        with locking.writing(config):
            try:
                rows = _write_local(*args)
            except Exception as exc:  # the schema was dropped since this session saw it: create it, write again
                if "SCHEMA_NOT_FOUND" not in str(exc):
                    raise
                ensure_schema(spark, config, key)
                rows = _write_local(*args)
    else:
        _write_delta(spark, config, name, df, mode, keys, where)
        _apply_comments(spark, name, spec.comment, column_comments or {})
        rows = int(spark.table(name).count())
    return WriteResult(key=key, table=name, mode=mode, rows=rows)


def _write_delta(
    spark: SparkSession, config: Config, name: str, df: DataFrame, mode: str, keys: list[str], where: str | None
) -> None:
    """Write with Delta: MERGE for upserts, replaceWhere, append or overwrite; one transaction each."""
    exists = spark.catalog.tableExists(name)
    if mode == "upsert" and exists:
        view = f"hm_upsert_{uuid.uuid4().hex[:12]}"
        df.createOrReplaceTempView(view)
        spark.sql(merge_statement(name, view, keys))
        spark.catalog.dropTempView(view)
        return
    writer = df.write.format("delta")
    if mode == "replace_where" and exists:
        writer.mode("overwrite").option("replaceWhere", where).option("mergeSchema", "true").saveAsTable(name)
    elif mode == "append" and exists:
        writer.mode("append").option("mergeSchema", "true").saveAsTable(name)
    else:
        writer.mode("overwrite").option("overwriteSchema", "true").saveAsTable(name)


def merge_statement(name: str, source: str, keys: Sequence[str]) -> str:
    """The Delta MERGE of an upsert: rows of `source` replace the rows of `name` with the same `keys` (NULL keys
    equal), new keys are inserted."""
    condition = " and ".join(f"t.{quote_identifier(k)} <=> s.{quote_identifier(k)}" for k in keys)
    return (
        f"merge into {name} t using {source} s on {condition} "
        "when matched then update set * when not matched then insert *"
    )


def _write_local(
    spark: SparkSession,
    config: Config,
    name: str,
    df: DataFrame,
    mode: str,
    keys: list[str],
    where: str | None,
    table_comment: str,
    column_comments: Mapping[str, str],
    parquet_options: Mapping[str, str],
) -> int:
    """Write a new parquet version and switch the table to it (comments go into the CREATE).

    Returns the table's row count, observed while the version is written (no second pass)."""
    exists = spark.catalog.tableExists(name)
    incoming = df
    if exists and mode != "overwrite":
        current = spark.table(name)
        if mode == "append":
            kept = current
        elif mode == "upsert":
            kept = _anti_join(current, incoming, keys)
        else:
            kept = current.where(f"not coalesce(({where}), false)")
        df = kept.unionByName(incoming, allowMissingColumns=True)
    table_root = _table_root(config, name)
    version = table_root / f"{_VERSION_PREFIX}{time.time_ns()}-{uuid.uuid4().hex[:8]}"
    with _creating(version):
        return _write_version(spark, name, df, exists, version, table_comment, column_comments, parquet_options)


def _write_version(
    spark: SparkSession,
    name: str,
    df: DataFrame,
    exists: bool,
    version: Path,
    table_comment: str,
    column_comments: Mapping[str, str],
    parquet_options: Mapping[str, str],
) -> int:
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    written = df.schema  # what the parquet files hold (nullability aside, which the catalog ignores)
    counted = Observation(f"hm_write_{uuid.uuid4().hex[:12]}")
    df.observe(counted, F.count(F.lit(1)).alias("rows")).write.options(**parquet_options).mode("error").parquet(
        str(version)
    )
    current = spark.table(name).schema if exists else None
    previous = _location(spark, name) if exists else None
    if current is not None and _same_schema(current, written):
        spark.sql(f"alter table {name} set location {sql_string(str(version))}")
        _update_column_comments(spark, name, current, column_comments)
    else:
        if exists:
            spark.sql(f"drop table {name}")
        columns = ", ".join(
            f"{quote_identifier(field.name)} {field.dataType.simpleString()}"
            + (f" comment {sql_string(column_comments[field.name])}" if field.name in column_comments else "")
            for field in written.fields
        )
        spark.sql(
            f"create table {name} ({columns}) using parquet "
            f"comment {sql_string(table_comment)} location {sql_string(str(version))}"
        )
    _remove_old_versions(version.parent, keep={version.name, previous})
    return int(counted.get["rows"])


@contextmanager
def _creating(version: Path) -> Iterator[None]:
    """Mark `version` as being created (a locked `.v-*.writing` file beside it) for the block."""
    marker = _marker(version)
    marker.parent.mkdir(parents=True, exist_ok=True)
    with marker.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            marker.unlink(missing_ok=True)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_old_versions(table_root: Path, keep: set[str | None]) -> None:
    """Remove the versions of a table but `keep` (the current one and the one it replaced: queries
    already reading that one finish) and those another writer is creating; orphans of dead writes go."""
    for old in table_root.glob(f"{_VERSION_PREFIX}*"):
        if old.name not in keep and not _being_created(old):
            shutil.rmtree(old, ignore_errors=True)
    for marker in table_root.glob(f".{_VERSION_PREFIX}*.writing"):
        _being_created(table_root / marker.name.removeprefix(".").removesuffix(".writing"))


def _being_created(version: Path) -> bool:
    """Whether a live writer is creating `version`; a marker its dead writer left is removed."""
    marker = _marker(version)
    try:
        handle = marker.open("r")
    except FileNotFoundError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        marker.unlink(missing_ok=True)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def _marker(version: Path) -> Path:
    return version.parent / f".{version.name}.writing"


def _location(spark: SparkSession, name: str) -> str | None:
    """The folder name of the version a local table points at."""
    for row in spark.sql(f"describe table extended {name}").collect():
        if row["col_name"] == "Location":
            return Path(str(row["data_type"]).removeprefix("file:")).name
    return None


def _update_column_comments(spark: SparkSession, name: str, schema, column_comments: Mapping[str, str]) -> None:
    """ALTER only the column comments that differ from the catalog's."""
    for field in schema.fields:
        wanted = column_comments.get(field.name)
        if wanted is not None and field.metadata.get("comment") != wanted:
            spark.sql(f"alter table {name} alter column {quote_identifier(field.name)} comment {sql_string(wanted)}")


def _anti_join(current: DataFrame, incoming: DataFrame, keys: list[str]) -> DataFrame:
    """Rows of `current` whose key (nulls equal) is not among `incoming`'s keys."""
    from pyspark.sql import functions as F

    incoming_keys = incoming.select(*keys).distinct().alias("incoming")
    condition = None
    for key in keys:
        part = F.col(f"current.{key}").eqNullSafe(F.col(f"incoming.{key}"))
        condition = part if condition is None else condition & part
    return current.alias("current").join(incoming_keys, on=condition, how="left_anti").select("current.*")


def local_size_bytes(config: Config, key: str) -> int:
    """Bytes of the parquet files of a local table's newest version folder (a size for ordering work,
    found without a Spark call); 0 on Databricks or for a table not written yet."""
    if not config.is_local:
        return 0
    versions = sorted(_table_root(config, tables.full_name(config, key)).glob(f"{_VERSION_PREFIX}*"))
    return sum(part.stat().st_size for part in versions[-1].glob("*.parquet")) if versions else 0


def _table_root(config: Config, name: str) -> Path:
    _, schema, table = name.split(".")
    return config.home / "warehouse" / "tables" / schema / table


def _same_schema(left, right) -> bool:
    return [(f.name, f.dataType.simpleString()) for f in left.fields] == [
        (f.name, f.dataType.simpleString()) for f in right.fields
    ]


def _apply_comments(spark: SparkSession, name: str, table_comment: str, column_comments: Mapping[str, str]) -> None:
    existing = [field.name for field in spark.table(name).schema.fields]
    for statement in comment_statements(name, table_comment, column_comments, existing):
        spark.sql(statement)


def comment_statements(
    name: str, table_comment: str, column_comments: Mapping[str, str], columns: Sequence[str]
) -> list[str]:
    """The Delta table's comment and the comments of those of its `columns` that have one."""
    statements = [f"comment on table {name} is {sql_string(table_comment)}"]
    statements += [
        f"alter table {name} alter column {quote_identifier(column)} comment {sql_string(column_comments[column])}"
        for column in columns
        if column in column_comments
    ]
    return statements
