"""The table registry: every table declared once, resolved by key.

Source, bronze, silver and ops tables are declared in params/tables.yml; gold tables by their models
(`src/hm_utils/gold_models/<table>.yml`, read through :mod:`hm_utils.gold.models`). A key is
`<layer>.<name>` (for example `bronze.billing_usage`). :func:`full_name` turns it into `catalog.schema.table`
for the configured target; no other code spells table names.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from hm_utils.config import Config
from hm_utils.errors import ConfigError

LAYERS = ("source", "bronze", "silver", "gold", "ops", "monitoring", "ml")
_FIELDS = {"name", "system_table", "upstream", "primary_key", "incremental", "cluster_by", "comment"}


@dataclass(frozen=True)
class TableSpec:
    """One registry entry."""

    key: str
    layer: str
    name: str
    comment: str
    primary_key: tuple[str, ...] = ()
    incremental: str | None = None
    cluster_by: tuple[str, ...] = ()
    system_table: str | None = None
    upstream: str | None = None


def registry_path(config: Config) -> Path:
    return config.root / "params" / "tables.yml"


def load_registry(config: Config) -> dict[str, TableSpec]:
    """All registry entries by key, validated (a ConfigError names the entry and the problem), plus the
    monitors' output tables, which their declarations define (hm_utils.monitoring.declarations)."""
    return {**_load(registry_path(config)), **_monitor_outputs()}


@lru_cache(maxsize=1)
def _monitor_outputs() -> dict[str, TableSpec]:
    from hm_utils.monitoring.declarations import output_specs

    return {
        key: TableSpec(key=key, layer="monitoring", name=name, comment=comment)
        for key, (name, comment) in output_specs().items()
    }


@lru_cache(maxsize=8)
def _load(path: Path) -> dict[str, TableSpec]:
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML in the table registry: {exc}", where=str(path), fix="fix the syntax") from exc
    specs: dict[str, TableSpec] = {}
    for layer, entries in raw.items():
        if layer not in LAYERS:
            raise ConfigError(f"unknown layer '{layer}'", where=str(path), fix=f"use one of {', '.join(LAYERS)}")
        if layer == "gold" and entries:
            raise ConfigError(
                "gold tables are declared by their models, not in the registry file",
                where=f"{path}: gold",
                fix="move each entry's fields into src/hm_utils/gold_models/<table>.yml and remove the gold section",
            )
        for name, entry in (entries or {}).items():
            specs[f"{layer}.{name}"] = _spec(layer, name, entry or {}, path)
    specs.update(_gold_specs())
    for spec in specs.values():
        if spec.upstream and spec.upstream not in specs:
            raise ConfigError(
                f"table {spec.key} names upstream '{spec.upstream}', which is not declared",
                where=str(path),
                fix="declare the upstream table or fix the key",
            )
    return {key: _inherit(spec, specs) for key, spec in specs.items()}


def _spec(layer: str, name: str, entry: dict[str, Any], path: Path) -> TableSpec:
    where = f"{path}: {layer}.{name}"
    unknown = set(entry) - _FIELDS
    if unknown:
        raise ConfigError(
            f"table {layer}.{name} has unknown field(s) {', '.join(sorted(map(str, unknown)))}",
            where=where,
            fix=f"use only {', '.join(sorted(_FIELDS))}; quote a comment that contains ', ' or ': '",
        )
    if not entry.get("comment"):
        raise ConfigError(f"table {layer}.{name} has no comment", where=where, fix="add a one-line comment")
    if layer == "source" and not entry.get("system_table"):
        raise ConfigError(
            f"source table {name} has no system_table", where=where, fix="add system_table: <schema>.<table>"
        )
    for list_field in ("primary_key", "cluster_by"):
        if entry.get(list_field) is not None and not isinstance(entry[list_field], list):
            raise ConfigError(f"{list_field} must be a list", where=where, fix=f"write {list_field}: [col, ...]")
    return TableSpec(
        key=f"{layer}.{name}",
        layer=layer,
        name=str(entry.get("name", name)),
        comment=str(entry["comment"]),
        primary_key=tuple(entry.get("primary_key") or ()),
        incremental=entry.get("incremental"),
        cluster_by=tuple(entry.get("cluster_by") or ()),
        system_table=entry.get("system_table"),
        upstream=entry.get("upstream"),
    )


def _gold_specs() -> dict[str, TableSpec]:
    """One registry entry per gold model: its name, comment, keys, clustering and main input."""
    from hm_utils.gold.models import load_models  # the models module reads the registry itself

    return {
        model.key: TableSpec(
            key=model.key,
            layer="gold",
            name=model.table,
            comment=model.comment,
            primary_key=model.primary_key,
            cluster_by=model.cluster_by,
            upstream=model.main_input,
        )
        for model in load_models().values()
    }


def _inherit(spec: TableSpec, specs: dict[str, TableSpec]) -> TableSpec:
    if spec.layer != "bronze" or not spec.upstream:
        return spec
    upstream = specs[spec.upstream]
    return TableSpec(
        **{
            **spec.__dict__,
            "primary_key": spec.primary_key or upstream.primary_key,
            "incremental": spec.incremental or upstream.incremental,
        }
    )


def get_spec(config: Config, key: str) -> TableSpec:
    """The registry entry for `key`; a ConfigError listing near keys when it is unknown."""
    registry = load_registry(config)
    if key not in registry:
        near = [k for k in registry if k.split(".")[-1] == key.split(".")[-1] or k.startswith(key.split(".")[0])]
        raise ConfigError(
            f"no table '{key}' in the registry",
            where=str(registry_path(config)),
            fix=f"declare it there; keys look like {', '.join(sorted(near)[:5]) or 'bronze.billing_usage'}",
        )
    return registry[key]


def keys(config: Config, layer: str) -> list[str]:
    """Registry keys of one layer, in declaration order."""
    return [key for key, spec in load_registry(config).items() if spec.layer == layer]


def schema_name(config: Config, layer: str) -> str:
    """The schema of a layer: `schemas.<layer>` from params."""
    return str(config.require(f"schemas.{layer}"))


def full_name(config: Config, key: str) -> str:
    """`catalog.schema.table` for a registry key on the configured target and source."""
    spec = get_spec(config, key)
    if spec.layer == "source":
        system_schema, system_table = str(spec.system_table).split(".")
        if config.get("source.kind") == "system":
            return f"{config.require('source.system_catalog')}.{system_schema}.{system_table}"
        return f"{config.catalog}.{schema_name(config, 'simulated')}_{system_schema}.{system_table}"
    return f"{config.catalog}.{schema_name(config, spec.layer)}.{spec.name}"


def schema_of(config: Config, key: str) -> str:
    """`catalog.schema` that holds a registry table."""
    return full_name(config, key).rsplit(".", 1)[0]
