"""`hm bench`: simulate one day at a given scale and time it through every pipeline layer.

The benchmark uses its own engine home (`.hm-bench`, hence its own port) so it never touches the
account of `hm run`, starts that engine fresh, and samples the resident memory of the engine
JVM and of this process every 0.2 s to report the peak, over the whole run and per step.
Scale 1.0 is one working day of a large account: about 500,000 usage rows, 50,000 job-run
timeline rows, 1,000,000 audit rows, 100,000 queries. The simulated day is the latest weekday
before today: the simulator makes weekends quieter (about half the rows), so a bench run on a
Sunday would otherwise measure a Saturday and report a figure not comparable with Friday's.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import date, datetime, timedelta
from typing import Any

import psutil

from hm_utils import clock, layers, simulation, sources
from hm_utils import config as config_module
from hm_utils.config import Config

BENCH_OVERRIDES = {
    "paths.home": ".hm-bench",
    "paths.runs": ".hm-bench/runs",
    "paths.site": ".hm-bench/_site",
    "spark.local.driver_memory": "6g",
}


class PeakMemory:
    """Samples the memory of this process and of a process tree (the engine) in the background.

    The engine's figure is the resident memory (RSS) of its root process (the JVM) plus the private
    memory (USS) of its child processes. A child's RSS would count the pages it shares with the JVM:
    the JVM starts helpers (Hadoop's `chmod`, via `jspawnhelper`) by forking, and for a moment the
    fork shows the whole JVM as resident, which would count the JVM twice.
    """

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.engine_pid: int | None = None
        self.peak_engine = 0
        self.peak_client = 0
        self.step = "start"  # the peaks are also kept per step: set this when a step begins
        self.by_step: dict[str, dict[str, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = psutil.Process(os.getpid())
        while not self._stop.is_set():
            client, engine = me.memory_info().rss, 0
            if self.engine_pid:
                try:
                    root = psutil.Process(self.engine_pid)
                    engine = root.memory_info().rss + sum(_private_memory(p) for p in root.children(recursive=True))
                except psutil.Error:
                    pass
            self.peak_client, self.peak_engine = max(self.peak_client, client), max(self.peak_engine, engine)
            step = self.by_step.setdefault(self.step, {"engine": 0, "client": 0})
            step["engine"], step["client"] = max(step["engine"], engine), max(step["client"], client)
            self._stop.wait(self.interval)


def _private_memory(process: psutil.Process) -> int:
    """Unique set size of a process (0 when it ended meanwhile)."""
    try:
        return process.memory_full_info().uss
    except psutil.Error:
        return 0


def latest_working_day(today: date) -> date:
    """The latest Monday-to-Friday strictly before `today`: the day the bench simulates."""
    day = today - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def run_benchmark(
    scale: float, workspaces: int, overrides: list[str] | None = None, progress=lambda message: None
) -> dict[str, Any]:
    """Simulate the latest working day at `scale`, build every layer, and return rows, seconds and peak memory."""
    from hm_utils.engine import LocalEngine
    from hm_utils.spark import get_spark

    extra = {**BENCH_OVERRIDES, **config_module.parse_overrides(overrides)}
    config = config_module.load("local", extra)
    engine = LocalEngine(config)
    engine.stop()
    day = latest_working_day(clock.today(config))
    options = simulation.options_from_config(
        config,
        workspaces=workspaces,
        days=2,  # the simulation's days run up to its end's day: `day` whole, and none of the next
        scale=scale,
        end=datetime.combine(day + timedelta(days=1), datetime.min.time()),
        defects=True,
        incidents=False,
    )
    steps: dict[str, dict[str, float]] = {}
    with PeakMemory() as memory:
        memory.step = "engine_start"
        started = time.perf_counter()
        engine.ensure_running()
        memory.engine_pid = engine.status().pid
        spark = get_spark(config)
        spark.sql("select 1").collect()
        steps["engine_start"] = {"seconds": round(time.perf_counter() - started, 2)}
        progress(f"engine started in {steps['engine_start']['seconds']} s")
        layers.drop_layer_schemas(spark, config)  # every run measures a first (full) build

        started = time.perf_counter()
        memory.step = "simulate"
        sim = simulation.run_simulation(config, options, spark=spark)
        steps["simulate"] = _step(time.perf_counter() - started, sum(sim.rows.values()))
        source_rows = sum(sim.rows.values())
        progress(f"simulated {source_rows:,} rows in {steps['simulate']['seconds']} s")

        order = [layer for layer, _, _ in layers.LAYER_STEPS]
        following = dict(zip(order, [*order[1:], "end"], strict=True))
        memory.step = order[0]

        def layer_done(result: layers.LayerResult) -> None:
            progress(f"{result.layer} in {result.seconds:.1f} s")
            memory.step = following[result.layer]

        for result in layers.build_layers(spark, config, "bench", on_done=layer_done):
            steps[result.layer] = _step(result.seconds, source_rows)
    spark.stop()  # before the server: an open session retries against a stopped server for minutes at exit
    engine.stop()
    return {
        "scale": scale,
        "workspaces": workspaces,
        "day": day.isoformat(),
        "rows": dict(sorted(sim.rows.items())),
        "source_rows": source_rows,
        "steps": steps,
        "bronze_through_gold_seconds": round(
            sum(v["seconds"] for k, v in steps.items() if k in ("bronze", "silver", "gold")), 2
        ),
        "peak_memory_mb": {"engine": round(memory.peak_engine / 2**20), "client": round(memory.peak_client / 2**20)},
        "peak_memory_mb_by_step": {
            step: {process: round(peak / 2**20) for process, peak in peaks.items()}
            for step, peaks in memory.by_step.items()
            if step in steps
        },
        "machine": {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30)},
    }


def run_latency_benchmark(
    workspaces: int = 10, days: int = 90, scale: float = 0.005, overrides: list[str] | None = None, progress=print
) -> dict[str, Any]:
    """Build a `workspaces` × `days` simulated account and time every semantic function (p50/p95)."""
    from hm_utils import semantic

    engine, spark, config, usage_rows = _bench_account(workspaces, days, scale, overrides, "bench-latency", progress)
    figures = semantic.latency_benchmark(spark, config)
    spark.stop()  # before the server (see run_benchmark)
    engine.stop()
    return {"workspaces": workspaces, "days": days, "scale": scale, "usage_rows": usage_rows, **figures}


def run_alerts_benchmark(
    workspaces: int = 10, days: int = 90, scale: float = 0.005, overrides: list[str] | None = None, progress=print
) -> dict[str, Any]:
    """Build a `workspaces` × `days` simulated account and time evaluation cycles of every alert.

    A first cycle runs every alert once on the fresh engine (reported as `first_cycle_s`); then
    `alerts.benchmark_cycles` cycles (each a later evaluation time, every alert forced, state and history
    written to the ops tables, nothing delivered). The engine's JVM compiles the query planner's hot code
    over its first cycles, so the early cycles are slower than those of an engine that has been
    evaluating alerts for a while (the alerts job's engine): the figures of a warm engine (`warm_*`,
    per-alert p50/p95) come from the later half of the cycles, and `cycle_s` lists every cycle."""
    import statistics

    import numpy as np

    from hm_utils.alerts import evaluation, store

    engine, spark, config, usage_rows = _bench_account(workspaces, days, scale, overrides, "bench-alerts", progress)
    ops = store.SparkStore(spark, config)
    runner = evaluation.spark_runner(spark, config)
    start = clock.now(config).replace(minute=0, second=0, microsecond=0)
    first = evaluation.run_cycle(config, ops, runner, start, deliver=False, force=True)
    progress(f"first cycle: {first.summary()}")
    cycles = []
    for number in range(1, int(config.get("alerts.benchmark_cycles", 10)) + 1):
        cycles.append(
            evaluation.run_cycle(config, ops, runner, start + timedelta(hours=number), deliver=False, force=True)
        )
        progress(f"cycle {number}: {cycles[-1].summary()}")
    spark.stop()  # before the server (see run_benchmark)
    engine.stop()
    warm = cycles[len(cycles) // 2 :]
    per_alert = {alert_id: [c.query_seconds[alert_id] for c in warm] for alert_id in warm[0].query_seconds}
    samples = [seconds for times in per_alert.values() for seconds in times]
    return {
        "workspaces": workspaces,
        "days": days,
        "scale": scale,
        "usage_rows": usage_rows,
        "alerts": len(per_alert),
        "distinct_queries": len({evaluation.render_query(d, config) for d in evaluation.load_definitions()}),
        "threads": int(config.get("alerts.evaluation_threads", 3)),
        "first_cycle_s": first.seconds,
        "cycle_s": [c.seconds for c in cycles],
        "warm_cycles": f"{len(cycles) - len(warm) + 1}-{len(cycles)}",
        "warm_cycle_s": [c.seconds for c in warm],
        "warm_cycle_median_s": round(statistics.median(c.seconds for c in warm), 2),
        "warm_queries_median_s": round(statistics.median(c.queries_wall_seconds for c in warm), 2),
        "alert_p50_s": round(float(np.percentile(samples, 50)), 3),
        "alert_p95_s": round(float(np.percentile(samples, 95)), 3),
        "per_alert_median_s": dict(
            sorted(((k, round(statistics.median(v), 3)) for k, v in per_alert.items()), key=lambda item: -item[1])
        ),
        "firing": len(cycles[-1].firing),
    }


def _bench_account(workspaces: int, days: int, scale: float, overrides: list[str] | None, run_id: str, progress):
    """The bench engine with a freshly simulated and built `workspaces` × `days` account."""
    from hm_utils.engine import LocalEngine
    from hm_utils.spark import get_spark

    config = config_module.load("local", {**BENCH_OVERRIDES, **config_module.parse_overrides(overrides)})
    engine = LocalEngine(config)
    engine.ensure_running()
    spark = get_spark(config)
    layers.drop_layer_schemas(spark, config)  # every run measures a first (full) build
    options = simulation.options_from_config(config, workspaces=workspaces, days=days, scale=scale)
    sim = simulation.run_simulation(config, options, spark=spark)
    progress(f"simulated {sum(sim.rows.values()):,} rows; building the layers")
    layers.build_layers(spark, config, run_id, on_done=lambda r: progress(f"{r.layer} in {r.seconds:.1f} s"))
    # the account's rows, not this simulation's: a bench home kept from an earlier run is only extended
    usage_rows = sources.read_source(spark, config, "source.billing_usage").count()
    return engine, spark, config, usage_rows


def _step(seconds: float, rows: int) -> dict[str, float]:
    return {"seconds": round(seconds, 2), "rows_per_second": round(rows / seconds) if seconds else 0}


def gold_totals_query(table: str, decimal_columns: list[str]) -> str:
    """One row for `table`: its row count and the exact sum of each decimal column (costs, quantities)."""
    from hm_utils.io import quote_identifier

    sums = "".join(
        f", cast(sum({quote_identifier(c)}) as string) as {quote_identifier(c)}" for c in sorted(decimal_columns)
    )
    return f"select count(*) as row_count{sums} from {table}"


def gold_totals(config: Config) -> dict[str, dict[str, Any]]:
    """Rows and decimal totals of every table in the gold schema of this engine home, by table name.

    Two checkouts that built the same account must give identical figures when a change keeps what the kit
    computes; the gold schema is listed from the catalog, so a table one side lacks shows as well."""
    from pyspark.sql.types import DecimalType

    from hm_utils import tables
    from hm_utils.spark import get_spark

    spark = get_spark(config)
    schema = f"{config.catalog}.{tables.schema_name(config, 'gold')}"
    names = sorted(
        row["tableName"] for row in spark.sql(f"show tables in {schema}").collect() if not row["isTemporary"]
    )
    totals = {}
    for name in names:
        table = f"{schema}.{name}"
        decimals = [f.name for f in spark.table(table).schema.fields if isinstance(f.dataType, DecimalType)]
        totals[name] = spark.sql(gold_totals_query(table, decimals)).collect()[0].asDict()
    return totals


def format_table(figures: dict[str, Any]) -> str:
    """Human-readable version of the figures."""
    lines = [
        f"scale {figures['scale']} · {figures['workspaces']} workspaces · day {figures['day']}"
        f" · {figures['source_rows']:,} source rows"
    ]
    by_step = figures.get("peak_memory_mb_by_step", {})
    for name, step in figures["steps"].items():
        rate = f"{step['rows_per_second']:>12,} rows/s" if "rows_per_second" in step else ""
        peak = f" · peak engine {by_step[name]['engine']:,} MB" if name in by_step else ""
        lines.append(f"  {name:<14} {step['seconds']:>8.1f} s {rate}{peak}")
    lines.append(f"  bronze→gold    {figures['bronze_through_gold_seconds']:>8.1f} s")
    memory = figures["peak_memory_mb"]
    lines.append(f"  peak memory    engine {memory['engine']:,} MB · client {memory['client']:,} MB")
    return "\n".join(lines)


_CLASSIC_SESSION = """
import time; t = time.perf_counter()
from pyspark.sql import SparkSession
spark = SparkSession.builder.master("local[*]").config("spark.ui.enabled", "false").getOrCreate()
spark.range(1).count(); print(time.perf_counter() - t)
"""
_CONNECT_SESSION = """
import sys, time; t = time.perf_counter()
from pyspark.sql import SparkSession
spark = SparkSession.builder.remote(sys.argv[1]).getOrCreate()
spark.range(1).count(); print(time.perf_counter() - t)
"""


def measure_engine_startup(repeats: int = 3) -> dict[str, Any]:
    """Why the local engine is a Spark Connect server: start-up cost of each option, in seconds.

    - classic: a new Python process creating its own local JVM session (what each papermill
      notebook would pay without a shared engine), up to its first query;
    - connect_server_cold: starting the shared server once;
    - connect_client: a new Python process connecting to the running server, up to its first query.
    """
    import subprocess
    import sys

    from hm_utils.engine import LocalEngine

    def timed(script: str, *args: str) -> float:
        result = subprocess.run(
            [sys.executable, "-c", script, *args], capture_output=True, text=True, check=True, timeout=600
        )
        return float(result.stdout.strip().splitlines()[-1])

    config = config_module.load("local", BENCH_OVERRIDES)
    engine = LocalEngine(config)
    engine.stop()
    started = time.perf_counter()
    engine.ensure_running()
    cold = time.perf_counter() - started
    try:
        classic = [timed(_CLASSIC_SESSION) for _ in range(repeats)]
        client = [timed(_CONNECT_SESSION, engine.url) for _ in range(repeats)]
    finally:
        engine.stop()
    return {
        "classic_session_seconds": sorted(classic)[len(classic) // 2],
        "connect_server_cold_seconds": round(cold, 2),
        "connect_client_seconds": sorted(client)[len(client) // 2],
        "repeats": repeats,
    }
