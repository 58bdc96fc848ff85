"""The ML declarations: feature tables (`features/*.yml`) and models (`models/*.yml`), loaded and validated.

Each file is data read here and nowhere else; training, scoring, the run plan and the docs take the list of
models from this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any

import yaml

from hm_utils.errors import ConfigError

ROLES = ("key", "time", "feature", "label")
_FEATURE_FIELDS = {"table", "reads", "builder", "time", "grain", "columns"}
_MODEL_FIELDS = {
    "name", "domain", "purpose", "reads", "estimator", "features", "label", "params", "holdout_days", "metric",
    "baseline", "predictions",
}  # fmt: skip


@dataclass(frozen=True)
class FeatureColumn:
    name: str
    type: str
    role: str
    comment: str


@dataclass(frozen=True)
class FeatureTable:
    """One feature table: built by `builder` from the gold tables it `reads`, ordered by `time`."""

    table: str
    reads: tuple[str, ...]
    builder: str
    time: str
    grain: str
    columns: tuple[FeatureColumn, ...]
    source: str

    @property
    def key(self) -> str:
        return f"ml.{self.table}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass(frozen=True)
class ModelSpec:
    """One model: its feature table, estimator class, features, label, parameters and promotion metric."""

    name: str
    domain: str
    purpose: str
    reads: str
    estimator: str
    features: tuple[str, ...]
    label: str
    holdout_days: int
    metric: str
    higher_is_better: bool
    baseline: str
    predictions: str
    source: str
    params: dict[str, Any] = field(default_factory=dict)


def _files(folder: str) -> list[tuple[str, str]]:
    root = resources.files("hm_utils.ml").joinpath(folder)
    return sorted((entry.name, entry.read_text()) for entry in root.iterdir() if entry.name.endswith(".yml"))


def _parse(text: str, source: str, allowed: set[str]) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", where=source, fix="fix the syntax") from exc
    unknown, missing = set(raw) - allowed, allowed - set(raw) - {"params"}
    if unknown or missing:
        raise ConfigError(
            f"fields unknown {sorted(unknown)} / missing {sorted(missing)}",
            where=source,
            fix=f"use exactly the fields {sorted(allowed)}",
        )
    return raw


@cache
def feature_tables() -> dict[str, FeatureTable]:
    """Every feature table by name."""
    found = {}
    for name, text in _files("features"):
        source = f"src/hm_utils/ml/features/{name}"
        raw = _parse(text, source, _FEATURE_FIELDS)
        columns = tuple(FeatureColumn(**column) for column in raw["columns"])
        bad = [c.name for c in columns if c.role not in ROLES]
        if bad:
            raise ConfigError(f"columns {bad} have no valid role", where=source, fix=f"use one of {ROLES}")
        found[raw["table"]] = FeatureTable(
            raw["table"], tuple(raw["reads"]), raw["builder"], raw["time"], raw["grain"], columns, source
        )
    return found


@cache
def models() -> dict[str, ModelSpec]:
    """Every model by name, checked against its feature table."""
    found = {}
    tables = feature_tables()
    for name, text in _files("models"):
        source = f"src/hm_utils/ml/models/{name}"
        raw = _parse(text, source, _MODEL_FIELDS)
        metric = raw["metric"]
        spec = ModelSpec(
            name=raw["name"],
            domain=raw["domain"],
            purpose=raw["purpose"],
            reads=raw["reads"],
            estimator=raw["estimator"],
            features=tuple(raw["features"]),
            label=raw["label"],
            holdout_days=int(raw["holdout_days"]),
            metric=metric["name"],
            higher_is_better=bool(metric["higher_is_better"]),
            baseline=raw["baseline"],
            predictions=raw["predictions"],
            source=source,
            params=dict(raw.get("params") or {}),
        )
        table = tables.get(spec.reads.removeprefix("ml."))
        if table is None:
            raise ConfigError(f"reads unknown feature table {spec.reads}", where=source, fix="declare it in features/")
        unknown = [c for c in (*spec.features, spec.label) if c not in table.column_names and c != "series_id"]
        if unknown:
            raise ConfigError(f"columns {unknown} are not in {spec.reads}", where=source, fix="fix the column names")
        found[spec.name] = spec
    return found


@cache
def output_tables() -> dict[str, tuple[FeatureColumn, ...]]:
    """The columns of every output table (predictions, evaluation) by table name (`outputs/*.yml`)."""
    found = {}
    for name, text in _files("outputs"):
        raw = _parse(text, f"src/hm_utils/ml/outputs/{name}", {"table", "grain", "columns"})
        found[raw["table"]] = tuple(FeatureColumn(role="output", **column) for column in raw["columns"])
    return found


def table_columns(table: str) -> tuple[FeatureColumn, ...]:
    """Declared columns of an ML table (feature or output)."""
    if table in feature_tables():
        return feature_tables()[table].columns
    return output_tables()[table]


def get_model(name: str) -> ModelSpec:
    """The model called `name`; a ConfigError listing the declared models otherwise."""
    declared = models()
    if name not in declared:
        raise ConfigError(
            f"no model '{name}'", where="src/hm_utils/ml/models/", fix=f"use one of {', '.join(sorted(declared))}"
        )
    return declared[name]


def configured(spec: ModelSpec, config) -> ModelSpec:
    """`spec` with the run's overrides of its params (`ml.model_params.<model>` in params), e.g. the discount
    of commitment_recommender; a ConfigError for a param the model does not have."""
    overrides = (config.get("ml.model_params") or {}).get(spec.name) or {}
    unknown = sorted(set(overrides) - set(spec.params))
    if unknown:
        raise ConfigError(
            f"ml.model_params.{spec.name} sets unknown params {unknown}",
            where="params (ml.model_params)",
            fix=f"use params of {spec.source}: {', '.join(sorted(spec.params))}",
        )
    return replace(spec, params={**spec.params, **overrides}) if overrides else spec
