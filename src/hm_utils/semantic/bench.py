"""Latency of the semantic layer: every table function called with its default arguments (`hm bench`)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from hm_utils.config import Config
from hm_utils.semantic import assets, query

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def latency_benchmark(spark: SparkSession, config: Config, repeats: int = 2) -> dict[str, Any]:
    """p50/p95/max seconds per call over all functions (defaults), after one warm-up call each.

    Each function is called `repeats` times after the warm-up; a call is timed until its rows are in
    pandas. Returns {"functions", "calls", "p50_s", "p95_s", "max_s", "slowest", "per_function_s"}.
    """
    import numpy as np

    per_function: dict[str, float] = {}
    samples: list[float] = []
    for name in assets.function_names():
        sql, args = query.call_sql(name, config)
        query.fetch(spark, sql, args)  # warm-up: analysis, plan and file listing caches
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            query.fetch(spark, sql, args)
            times.append(time.perf_counter() - began)
        samples.extend(times)
        per_function[name] = round(float(np.median(times)), 3)
    return {
        "functions": len(per_function),
        "calls": len(samples),
        "p50_s": round(float(np.percentile(samples, 50)), 3),
        "p95_s": round(float(np.percentile(samples, 95)), 3),
        "max_s": round(max(samples), 3),
        "slowest": max(per_function, key=per_function.get) if per_function else None,
        "per_function_s": dict(sorted(per_function.items(), key=lambda item: -item[1])),
    }
