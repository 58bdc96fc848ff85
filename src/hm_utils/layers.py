"""The pipeline layers in dependency order, as Python calls (the notebooks call the same functions).

Used by the benchmark and the test suite to build an account without notebook kernels.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# (layer, module, function); each function takes (spark, config, run_id) and returns a report.
LAYER_STEPS: list[tuple[str, str, str]] = [
    ("bronze", "hm_utils.bronze", "ingest_all"),
    ("silver", "hm_utils.silver", "build_silver"),
    ("gold", "hm_utils.gold", "build_gold"),
    ("semantic", "hm_utils.semantic", "deploy_step"),
    ("monitoring", "hm_utils.monitoring", "run_step"),
]


@dataclass
class LayerResult:
    layer: str
    seconds: float
    report: Any


# Every schema a build writes (the `schemas.<layer>` of params), the simulated source's excepted.
LAYER_SCHEMAS = ("bronze", "silver", "gold", "monitoring", "semantic", "ops", "ml")


def drop_layer_schemas(spark, config) -> None:
    """Start from empty layers: drop every layer's schema (bronze's watermarks in ops included, and the ML
    layer's features and predictions, which describe the account they were built from)."""
    for layer in LAYER_SCHEMAS:
        spark.sql(f"drop schema if exists {config.catalog}.{config.require(f'schemas.{layer}')} cascade")


def build_layers(
    spark, config, run_id: str, until: str | None = None, on_done: Callable[[LayerResult], None] | None = None
) -> list[LayerResult]:
    """Run every layer in order (up to and including `until`), timing each."""
    results = []
    for layer, module_name, function_name in LAYER_STEPS:
        function = getattr(importlib.import_module(module_name), function_name)
        started = time.perf_counter()
        report = function(spark, config, run_id)
        result = LayerResult(layer, time.perf_counter() - started, report)
        results.append(result)
        if on_done:
            on_done(result)
        if layer == until:
            break
    return results
