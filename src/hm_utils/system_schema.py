"""Schemas of the Databricks system tables, read from the packaged `reference/system_tables.yaml`.

Gives each table's columns as Spark DDL, as a pyarrow schema (via a small parser of Spark type
strings) and as Spark `simpleString()` text, so simulator output can be checked without Spark.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import pyarrow as pa
import yaml

_SIMPLE_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "bigint": pa.int64(),
    "int": pa.int32(),
    "smallint": pa.int16(),
    "tinyint": pa.int8(),
    "double": pa.float64(),
    "float": pa.float32(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "binary": pa.binary(),
}
_SPARK_NAMES = {str(arrow): spark for spark, arrow in _SIMPLE_TYPES.items()}


def _normalise(type_text: str) -> str:
    return "".join(type_text.split()).lower()


@cache
def _reference() -> dict[str, Any]:
    text = resources.files("hm_utils").joinpath("reference/system_tables.yaml").read_text("utf-8")
    return yaml.safe_load(text)


@cache
def _tables() -> dict[str, list[tuple[str, str]]]:
    tables: dict[str, list[tuple[str, str]]] = {}
    for full_name, spec in _reference().items():
        if not full_name.startswith("system."):
            continue
        columns = []
        for column in spec["columns"]:
            type_text = column.get("suggested_simulator_type") or column["type"]
            columns.append((column["name"], _normalise(type_text)))
        tables[full_name.removeprefix("system.")] = columns
    return tables


SYSTEM_TABLES: list[str] = list(_tables())
"""Table keys such as "billing.usage", in reference order."""


def table_columns(table: str) -> list[tuple[str, str]]:
    """(column name, Spark type string) pairs of `table` (e.g. "billing.usage"), in order."""
    try:
        return list(_tables()[table])
    except KeyError:
        raise KeyError(f"unknown system table {table!r}; known: {', '.join(SYSTEM_TABLES)}") from None


def table_description(table: str) -> str:
    """The reference's one-line description of `table`."""
    return str(_reference()[f"system.{table}"].get("description", ""))


def spark_type_ddl(table: str) -> str:
    """A "`col` type, `col` type" DDL string for Spark's `StructType.fromDDL`."""
    return ", ".join(f"`{name}` {type_text}" for name, type_text in table_columns(table))


def spark_simple_string(table: str) -> dict[str, str]:
    """Column → type as Spark's `DataType.simpleString()` prints it."""
    return {name: arrow_to_spark_simple(parse_spark_type(t)) for name, t in table_columns(table)}


def arrow_schema(table: str) -> pa.Schema:
    """The pyarrow schema of `table` (timestamps as UTC microseconds, decimals as decimal128)."""
    return pa.schema([pa.field(name, parse_spark_type(t)) for name, t in table_columns(table)])


def parse_spark_type(type_text: str) -> pa.DataType:
    """Parse a Spark SQL type string (struct<>, map<>, array<>, decimal(p,s), primitives)."""
    text = _normalise(type_text)
    arrow_type, end = _parse(text, 0)
    if end != len(text):
        raise ValueError(f"trailing text in Spark type {type_text!r} at {end}")
    return arrow_type


def _parse(text: str, pos: int) -> tuple[pa.DataType, int]:
    if text.startswith("struct<", pos):
        pos += len("struct<")
        fields = []
        while text[pos] != ">":
            colon = text.index(":", pos)
            name = text[pos:colon].strip("`")
            field_type, pos = _parse(text, colon + 1)
            fields.append(pa.field(name, field_type))
            if text[pos] == ",":
                pos += 1
        return pa.struct(fields), pos + 1
    if text.startswith("map<", pos):
        key_type, pos = _parse(text, pos + len("map<"))
        value_type, pos = _parse(text, pos + 1)  # skip ","
        return pa.map_(key_type, value_type), pos + 1
    if text.startswith("array<", pos):
        item_type, pos = _parse(text, pos + len("array<"))
        return pa.list_(item_type), pos + 1
    if text.startswith("decimal(", pos):
        close = text.index(")", pos)
        precision, scale = (int(part) for part in text[pos + len("decimal(") : close].split(","))
        return pa.decimal128(precision, scale), close + 1
    end = pos
    while end < len(text) and text[end].isalnum():
        end += 1
    word = text[pos:end]
    if word not in _SIMPLE_TYPES:
        raise ValueError(f"unsupported Spark type {word!r} in {text!r}")
    return _SIMPLE_TYPES[word], end


def arrow_to_spark_simple(arrow_type: pa.DataType) -> str:
    """Spark `simpleString()` of the Spark type that `arrow_type` maps to."""
    if pa.types.is_struct(arrow_type):
        inner = ",".join(
            f"{arrow_type.field(i).name}:{arrow_to_spark_simple(arrow_type.field(i).type)}"
            for i in range(arrow_type.num_fields)
        )
        return f"struct<{inner}>"
    if pa.types.is_map(arrow_type):
        key = arrow_to_spark_simple(arrow_type.key_type)
        return f"map<{key},{arrow_to_spark_simple(arrow_type.item_type)}>"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return f"array<{arrow_to_spark_simple(arrow_type.value_type)}>"
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp" if arrow_type.tz else "timestamp_ntz"
    if pa.types.is_large_string(arrow_type):
        return "string"
    try:
        return _SPARK_NAMES[str(arrow_type)]
    except KeyError:
        raise ValueError(f"no Spark equivalent for arrow type {arrow_type}") from None
