"""Where system tables come from: Databricks' `system` catalog, the local simulated account, or an
export folder laid out as `<schema>/<table>/` parquet files (`hm run --source parquet:DIR`)."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from hm_utils import tables
from hm_utils.config import Config
from hm_utils.errors import ConfigError
from hm_utils.io import sql_string

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)


def parse_source_option(value: str) -> dict[str, str | None]:
    """`simulated`, `system` or `parquet:DIR` → the `source.kind` / `source.path` overrides."""
    kind, _, path = value.partition(":")
    if kind not in ("simulated", "system", "parquet") or (kind == "parquet") != bool(path):
        raise ConfigError(
            f"unknown source '{value}'",
            where="--source",
            fix="use simulated, system, or parquet:DIR (a folder of <schema>/<table>/ parquet files)",
        )
    return {"source.kind": kind, "source.path": str(Path(path).resolve()) if path else None}


def simulated_folder(config: Config) -> Path:
    """Where `hm simulate` writes the local simulated account."""
    return config.home / "simulated"


SIMULATION_STAMP = "_simulation.json"  # written by the simulator: the account a folder holds and its end


def describe_source(config: Config) -> str:
    """Where the source rows come from; stored in bronze's `_hm_source`.

    Bronze reloads a table whole when this changes. A simulated account is identified by the
    account in its stamp (seed, size, first day...), not by its end: appending a day keeps the
    source the same, so bronze ingests only the new rows.
    """
    kind = config.get("source.kind")
    if kind == "parquet":
        return f"parquet:{config.get('source.path')}"
    if kind == "simulated":
        folder = simulated_folder(config)
        stamp = folder / SIMULATION_STAMP
        account = json.loads(stamp.read_text()).get("account") if stamp.is_file() else None
        digest = hashlib.sha1(json.dumps(account, sort_keys=True).encode()).hexdigest()[:12] if account else "unstamped"
        return f"simulated:{folder}#{digest}"
    return f"system:{config.get('source.system_catalog')}"


def system_table_folder(folder: Path, system_table: str) -> Path:
    schema, table = system_table.split(".")
    return folder / schema / table


def register_simulated(spark: SparkSession, config: Config, folder: Path | None = None) -> list[str]:
    """Expose the simulated parquet folders as tables (`<simulated schema>_<schema>.<table>`)."""
    folder = folder or simulated_folder(config)
    registered = []
    for key in tables.keys(config, "source"):
        spec = tables.get_spec(config, key)
        data = system_table_folder(folder, str(spec.system_table))
        name = tables.full_name(config, key)
        spark.sql(f"create schema if not exists {tables.schema_of(config, key)}")
        spark.sql(f"drop table if exists {name}")
        if any(data.glob("*.parquet")):
            spark.sql(f"create table {name} using parquet location {sql_string(str(data))}")
            registered.append(name)
    return registered


def local_size_bytes(config: Config, key: str) -> int:
    """Bytes of the parquet files behind a source table in a local folder (simulated or parquet
    export); 0 for the Databricks `system` catalog or a table the folder lacks."""
    kind = config.get("source.kind")
    if kind == "system":
        return 0
    folder = simulated_folder(config) if kind == "simulated" else _export_folder(config)
    data = system_table_folder(folder, str(tables.get_spec(config, key).system_table))
    return sum(part.stat().st_size for part in data.glob("**/*.parquet"))


def _export_folder(config: Config) -> Path:
    """The folder of a `parquet:DIR` source."""
    return Path(str(config.get("source.path")))


def read_source(spark: SparkSession, config: Config, key: str) -> DataFrame | None:
    """The source system table behind `key`, or None when the source does not have it."""
    spec = tables.get_spec(config, key)
    if config.get("source.kind") == "parquet":
        data = system_table_folder(_export_folder(config), str(spec.system_table))
        if not any(data.glob("**/*.parquet")):
            return None
        return spark.read.parquet(str(data))
    name = tables.full_name(config, key)
    if not spark.catalog.tableExists(name):
        return None
    return spark.table(name)
