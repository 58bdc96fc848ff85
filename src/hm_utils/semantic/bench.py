"""Latency of the semantic layer: every table function called with its default arguments (`hm bench`)."""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING, Any

from hm_utils.config import Config
from hm_utils.semantic import assets, query

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def latency_benchmark(spark: SparkSession, config: Config, repeats: int | None = None) -> dict[str, Any]:
    """p50/p95/max seconds per call over all functions (defaults) on a warm engine, and of the first calls.

    A first pass calls every function once: those are the first calls of a freshly built account, slower
    while the engine's JVM compiles the code paths the functions share (reported as `first_call`). Then
    `repeats` passes (default `semantic.benchmark_repeats`, 3) call every function again, one after the other, as a dashboard or report would on a
    running engine; p50/p95/max and each function's median come from these. A call is timed until its rows
    are in pandas. Returns {"functions", "calls", "p50_s", "p95_s", "max_s", "slowest", "per_function_s",
    "first_call": {"p50_s", "p95_s", "max_s", "slowest"}}.
    """
    repeats = int(config.get("semantic.benchmark_repeats", 3)) if repeats is None else repeats
    calls = {name: query.call_sql(name, config) for name in assets.function_names()}
    first_calls = {name: _timed_fetch(spark, sql, args) for name, (sql, args) in calls.items()}
    per_function: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, (sql, args) in calls.items():
            per_function[name].append(_timed_fetch(spark, sql, args))
    return {
        "functions": len(calls),
        "calls": sum(len(times) for times in per_function.values()),
        **_percentiles(per_function),
        "per_function_s": dict(
            sorted(
                ((name, _round(statistics.median(times))) for name, times in per_function.items()),
                key=lambda item: -item[1],
            )
        ),
        "first_call": _percentiles({name: [seconds] for name, seconds in first_calls.items()}),
    }


def _timed_fetch(spark: SparkSession, sql: str, args: dict[str, Any]) -> float:
    began = time.perf_counter()
    query.fetch(spark, sql, args)
    return time.perf_counter() - began


def _percentiles(times_by_function: dict[str, list[float]]) -> dict[str, Any]:
    import numpy as np

    samples = [seconds for times in times_by_function.values() for seconds in times]
    slowest = max(times_by_function, key=lambda name: statistics.median(times_by_function[name]), default=None)
    return {
        "p50_s": _round(np.percentile(samples, 50)),
        "p95_s": _round(np.percentile(samples, 95)),
        "max_s": _round(max(samples)),
        "slowest": slowest,
    }


def _round(seconds: float) -> float:
    return round(float(seconds), 3)
