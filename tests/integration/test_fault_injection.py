"""Fault injection: what a user sees when a run meets a hostile but realistic situation, and that nothing
is lost or silently changed.

One small export (2 workspaces x 5 days) is simulated once and built once in-process (the undisturbed
baseline). Each case then either ends with gold identical to the baseline, or fails with the expected
message and the previous state intact. Cases run `hm run` as a user would only where the console or
the processes are the point; each state has its own schemas on the shared test engine.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hm_utils import bronze, clock, engine, io, layers, locking, simulation, tables

pytestmark = pytest.mark.engine

HM = [sys.executable, "-m", "hm_utils.cli"]
STEPS = ["--only", "bronze", "--only", "silver", "--only", "gold"]
FAILURE_LINES = 25  # a failed step's console output stays short: no JVM stack


def _schemas(name: str) -> dict[str, str]:
    return {f"schemas.{layer}": f"hm_fi_{name}_{layer}" for layer in layers.LAYER_SCHEMAS}


def _state(config, name: str, export: Path, **more):
    """The config of one fault case's state: its own schemas, reading `export`."""
    return config.with_overrides({"source.kind": "parquet", "source.path": str(export), **_schemas(name), **more})


def _set_args(name: str, runs: Path) -> list[str]:
    args = [f"paths.runs={runs}", *(f"{key}={value}" for key, value in _schemas(name).items())]
    return [item for arg in args for item in ("--set", arg)]


def _hm(*args: str, timeout: float = 900, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*HM, *args], capture_output=True, text=True, timeout=timeout, check=False, env=env)


def _run_args(name: str, export: Path, runs: Path) -> list[str]:
    return ["run", "--env", "ci", "--source", f"parquet:{export}", *STEPS, *_set_args(name, runs)]


def _gold(spark, config) -> dict[str, list[str]]:
    """Every gold table as its sorted rows (JSON), for exact comparison; without the `_hm_` columns,
    which say when a row was ingested."""
    from pyspark.sql import functions as F

    snapshot = {}
    for key in tables.keys(config, "gold"):
        if io.table_exists(spark, config, key):
            frame = io.read_table(spark, config, key)
            columns = [name for name in frame.columns if not name.startswith("_hm_")]
            rows = frame.select(F.to_json(F.struct(*columns)).alias("row")).collect()
            snapshot[key] = sorted(row["row"] for row in rows)
    return snapshot


def _usage(export: Path) -> pa.Table:
    return pq.read_table(export / "billing" / "usage")


def _replace_table(export: Path, system_table: str, table: pa.Table) -> None:
    folder = export / Path(*system_table.split("."))
    shutil.rmtree(folder)
    folder.mkdir(parents=True)
    pq.write_table(table, folder / "part-0.parquet")


def _copies(table: pa.Table, count: int, **changes) -> pa.Table:
    """`count` rows of `table` as new records (fresh record_id) with `changes` applied to every column named."""
    rows = table.slice(0, count)
    rows = rows.set_column(
        rows.schema.get_field_index("record_id"), "record_id", pa.array([str(uuid.uuid4()) for _ in range(count)])
    )
    for column, values in changes.items():
        index = rows.schema.get_field_index(column)
        rows = rows.set_column(index, column, pa.array(values, rows.schema.field(index).type))
    return rows


@pytest.fixture(scope="module")
def export(tmp_path_factory, config) -> Path:
    folder = tmp_path_factory.mktemp("export")
    simulation.run_simulation(config, simulation.options_from_config(config, workspaces=2, days=5), folder)
    return folder


@pytest.fixture(scope="module")
def baseline(spark, config, export):
    """Gold of an undisturbed in-process build of the export; the fault cases' states are dropped after."""
    state = _state(config, "base", export)
    layers.drop_layer_schemas(spark, state)
    layers.build_layers(spark, state, "fi-baseline", until="gold")
    yield _gold(spark, state)
    for name in ("base", "conc", "poison", "absent"):
        case = _state(config, name, export)
        layers.drop_layer_schemas(spark, case)
        for layer in layers.LAYER_SCHEMAS:
            shutil.rmtree(config.home / "warehouse" / "tables" / f"hm_fi_{name}_{layer}", ignore_errors=True)


@pytest.fixture(scope="module")
def settled(spark, config, export, baseline, tmp_path_factory):
    """Case 1, whose state the source-shape cases reuse: two `hm run` at once on one state. The second
    stops at once naming the first; a reader keeps working; gold ends identical to the baseline."""
    runs = tmp_path_factory.mktemp("runs")
    args = _run_args("conc", export, runs)
    first = subprocess.Popen([*HM, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while locking.holder(config) is None and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.2)
    second = _hm(*args, timeout=120)
    reader = _hm("sql", "--env", "ci", "select count(*) as n from range(3)", timeout=120)
    still_running = first.poll() is None
    output, _ = first.communicate(timeout=900)
    assert first.returncode == 0, output
    return {"second": second, "reader": reader, "first_pid": first.pid, "overlapped": still_running}


def test_two_runs_at_once_the_second_stops_naming_the_first_and_gold_is_as_undisturbed(
    spark, config, export, baseline, settled
):
    second, reader = settled["second"], settled["reader"]
    assert settled["overlapped"], "the first run ended before the second and the reader were tried"
    assert second.returncode == 75, second.stderr
    assert f"error: another run is writing to this engine home: pid {settled['first_pid']} on " in second.stderr
    assert "hm run --env ci --source parquet:" in second.stderr and "--wait SECONDS" in second.stderr
    assert reader.returncode == 0 and reader.stdout.split() == ["n", "3"], reader.stderr
    assert _gold(spark, _state(config, "conc", export)) == baseline


def test_future_ancient_and_malformed_rows_are_held_or_quarantined_and_gold_is_unchanged(
    spark, config, export, baseline, tmp_path
):
    poisoned = tmp_path / "poisoned"
    shutil.copytree(export, poisoned)
    usage = _usage(export)
    future = _copies(usage, 1, ingestion_date=[date(2099, 1, 1)])  # a delivery dated in 2099
    implausible = _copies(usage.slice(1), 3, usage_date=[date(2099, 6, 30), date(1970, 1, 1), date(1, 1, 1)])
    malformed = _copies(usage.slice(4), 3)
    as_text = pa.schema([f.with_type(pa.string()) if f.name == "usage_quantity" else f for f in usage.schema])
    parts = [table.cast(as_text) for table in (usage, future, implausible)]
    quantity = malformed.schema.get_field_index("usage_quantity")
    parts.append(malformed.cast(as_text).set_column(quantity, "usage_quantity", pa.array(["n/a"] * 3)))
    _replace_table(poisoned, "billing.usage", pa.concat_tables(parts))

    title = "Health; Monitor #1: nightly"  # a --set value with `;`, `#` and `: ` reaches every step
    run = _hm(*_run_args("poison", poisoned, tmp_path / "runs"), "--set", f"semantic.genie.title_prefix={title}")
    assert run.returncode == 0, run.stdout + run.stderr
    now = f"{clock.now(config):%Y-%m-%d %H:%M} UTC"
    assert (
        f"! source.billing_usage: 1 row(s) dated after the run's time ({now}), up to 2099-01-01, are held back"
        in run.stdout
    )
    assert "! silver.billing_usage: 3 of " in run.stdout
    assert "rows failed cast_to_type(usage_quantity as decimal(38,18)): quarantined" in run.stdout
    assert "rows failed expect_column_values_to_be_between(plausible_usage_date): quarantined" in run.stdout

    state = _state(config, "poison", poisoned)
    assert _gold(spark, state) == baseline  # dim_date included: the year-1 and 2099 rows stretch nothing
    quarantine = io.read_table(spark, state, "silver.quarantine").where("table_key = 'silver.billing_usage'")
    reasons = {row["business_key"]: row["rule"] for row in quarantine.collect()}
    for record in malformed.column("record_id").to_pylist():
        assert reasons[json.dumps({"record_id": record}, separators=(",", ":"))].startswith(
            "cast_to_type(usage_quantity as decimal(38,18)): 'n/a'"
        )
    for record in implausible.column("record_id").to_pylist():
        assert "plausible_usage_date" in reasons[json.dumps({"record_id": record}, separators=(",", ":"))]

    # the watermark stayed at the run's time: the next delivery is read, the 2099 one when its time comes
    ingested = io.read_table(spark, state, "bronze.billing_usage")
    held = future.column("record_id")[0].as_py()
    assert ingested.where(f"record_id = '{held}'").isEmpty()
    later = _copies(usage.slice(8), 1, ingestion_date=[clock.today(config)])
    later = later.cast(as_text)
    pq.write_table(later, poisoned / "billing" / "usage" / "part-1.parquet")
    bronze.ingest_table(spark, state, "source.billing_usage", "fi-next")
    arrived = later.column("record_id")[0].as_py()
    assert not io.read_table(spark, state, "bronze.billing_usage").where(f"record_id = '{arrived}'").isEmpty()
    bronze.ingest_table(
        spark, state.with_overrides({"clock.now": "2099-01-02 00:00"}), "source.billing_usage", "fi-2099"
    )
    assert not io.read_table(spark, state, "bronze.billing_usage").where(f"record_id = '{held}'").isEmpty()


def _assert_failed_in_silver_with_state_intact(spark, run, state, gold_before, cause: str) -> None:
    console = run.stdout + run.stderr
    assert run.returncode == 2, console
    assert "silver             FAILED" in run.stdout
    assert "error: step 'silver' failed: " in run.stderr and " blocking expectation(s) failed" in run.stderr
    assert f"cause: {cause}" in run.stderr
    assert "executed notebook: " in run.stderr and "02_silver.ipynb (cell " in run.stderr
    assert "hm run --from silver" in run.stderr
    assert "JVM stacktrace" not in console and "Traceback" not in console
    assert len(run.stderr.splitlines()) <= FAILURE_LINES, run.stderr
    assert _gold(spark, state) == gold_before  # gold never read the suspect data


def test_a_missing_column_an_empty_table_and_an_absent_one_are_reported_by_their_cause(
    spark, config, export, baseline, settled, tmp_path
):
    broken = tmp_path / "misshapen"
    shutil.copytree(export, broken)
    _replace_table(broken, "billing.usage", _usage(export).drop_columns(["usage_quantity"]))
    events = pq.read_table(export / "compute" / "warehouse_events")
    _replace_table(broken, "compute.warehouse_events", events.slice(0, 0))
    shutil.rmtree(broken / "billing" / "list_prices")
    run = _hm(*_run_args("conc", broken, tmp_path / "runs"))
    assert "! schema drift in source.billing_usage: column(s) usage_quantity missing from the source" in run.stdout
    assert (
        f"! source table compute.warehouse_events has no rows in parquet:{broken}: bronze.compute_warehouse_events"
        " is empty" in run.stdout
    )
    absent = f"! source table billing.list_prices is not available from parquet:{broken}; bronze.billing_list_prices"
    assert f"{absent} keeps the " in run.stdout  # the prices it had
    _assert_failed_in_silver_with_state_intact(
        spark,
        run,
        _state(config, "conc", export),
        baseline,
        "column usage_quantity is missing from the source table billing.usage",
    )


def test_a_table_a_rule_reads_that_came_out_empty_is_named_as_the_cause(spark, config, export, baseline, tmp_path):
    """A new state without prices: every usage row has an unknown SKU, and the error says why."""
    from hm_utils import silver
    from hm_utils.errors import QualityGateError

    broken = tmp_path / "absent-table"
    shutil.copytree(export, broken)
    shutil.rmtree(broken / "billing" / "list_prices")
    state = _state(config, "absent", broken)
    billing = ["billing_usage", "billing_list_prices", "lakeflow_job_run_timeline"]
    bronze.ingest_all(spark, state, "fi-absent", only=[f"source.{name}" for name in billing])
    with pytest.raises(QualityGateError) as raised:
        silver.build_silver(spark, state, "fi-absent", only=[f"silver.{name}" for name in reversed(billing)])
    assert "silver.billing_usage: unexpected_rows_expectation(known_sku) failed on" in raised.value.what
    assert (
        "cause: silver.billing_list_prices, which this rule reads, is empty: its source table billing.list_prices is "
        "absent or empty (see the bronze step's warnings)" in raised.value.what
    )


@pytest.mark.parametrize(
    ("override", "message", "fix"),
    [
        ("gold.nonsense=1", "error: unknown setting 'gold.nonsense'", "check the name"),
        ("gold.discount_pc=50", "error: unknown setting 'gold.discount_pc'", "did you mean 'gold.discount_pct'?"),
        (
            "gold.discount_pct=abc",
            "error: setting gold.discount_pct = 'abc' is not a number",
            "--set gold.discount_pct=",
        ),
    ],
)
def test_unknown_mistyped_and_ill_typed_settings_stop_the_run_before_it_starts(tmp_path, override, message, fix):
    run = _hm("run", "--env", "ci", "--set", override, "--set", f"paths.runs={tmp_path}", timeout=120)
    assert run.returncode == 2
    assert run.stderr.startswith(message) and fix in run.stderr and "Traceback" not in run.stderr
    assert not list(tmp_path.iterdir()), "a run started"


def _stale_home(tmp_path: Path, name: str) -> Path:
    """An engine home whose pid file names a process that no longer exists."""
    home = tmp_path / name
    (home / "engine").mkdir(parents=True)
    gone = subprocess.Popen(["true"])
    gone.wait()
    (home / "engine" / "server.pid").write_text(json.dumps({"pid": gone.pid, "started": time.time() - 60}))
    return home


def test_a_stale_pid_file_with_the_port_held_by_another_engine_is_refused_at_once(spark, config, tmp_path):
    ci_engine = engine.LocalEngine(config)
    home = _stale_home(tmp_path, "other-checkout")
    started = time.monotonic()
    other = ("--env", "ci", "--set", f"paths.home={home}", "--set", f"spark.local.port={ci_engine.port}")
    try:
        query = _hm("sql", *other, "select 1", timeout=60)
    finally:  # had the ci engine died, the query would have started one for this home: never leave it running
        _hm("spark", "down", *other, timeout=60)
    assert time.monotonic() - started < 30
    assert query.returncode == 2
    assert (
        f"error: port {ci_engine.port} of this checkout's engine is taken by the Spark engine of another engine home "
        f"({ci_engine.home}, pid {ci_engine.status().pid})" in query.stderr
    )
    assert "--set spark.local.port=N" in query.stderr
    assert not (home / "engine" / "server.pid").exists(), "the stale pid file was not cleaned"


def test_a_stale_pid_file_with_the_port_held_by_an_unrelated_server_neither_hangs_nor_kills_it(tmp_path):
    port = engine.free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while engine.describe_port_holder(port) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        home = _stale_home(tmp_path, "unrelated")
        settings = ["--env", "ci", "--set", f"paths.home={home}", "--set", f"spark.local.port={port}"]
        started = time.monotonic()
        query = _hm("sql", *settings, "select 1", timeout=60)
        assert time.monotonic() - started < 30
        assert query.returncode == 2
        assert f"error: port {port} of this checkout's engine is taken by pid {server.pid} (" in query.stderr
        (home / "engine" / "server.pid").write_text(json.dumps({"pid": server.pid}))  # now naming the server
        down = _hm("spark", "down", *settings, timeout=60)
        assert down.returncode == 0 and down.stdout.strip() == "not running"
        assert server.poll() is None, "hm spark down signalled a process that is not the engine"
    finally:
        server.kill()
        server.wait()


def test_an_engine_killed_mid_step_fails_the_run_within_a_minute(config, export, tmp_path):
    home, runs = tmp_path / "doomed", tmp_path / "runs"
    args = ["run", "--env", "ci", "--source", f"parquet:{export}", *STEPS]
    args += ["--set", f"paths.home={home}", "--set", f"paths.runs={runs}", "--set", "spark.local.driver_memory=1g"]
    run = subprocess.Popen([*HM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 600
        while not (home / "warehouse" / "tables" / "hm_bronze").exists() and time.monotonic() < deadline:
            assert run.poll() is None, run.communicate()
            time.sleep(0.1)
        pid = json.loads((home / "engine" / "server.pid").read_text())["pid"]
        os.killpg(pid, signal.SIGKILL)  # the JVM dies while bronze writes
        killed = time.monotonic()
        stdout, stderr = run.communicate(timeout=120)
        assert time.monotonic() - killed < 60
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 2, stdout + stderr
    assert "bronze             FAILED" in stdout
    url = engine.LocalEngine(config.with_overrides({"paths.home": str(home)})).url
    assert f"error: step 'bronze' failed: lost the connection to the local Spark engine at {url} (it has stopped)" in (
        stderr
    )
    assert "`hm spark status`, then `hm run --from bronze`" in stderr
    assert "JVM stacktrace" not in stderr and "Traceback" not in stderr
    summary = json.loads(next(runs.glob("*/run.json")).read_text())
    assert (summary["status"], summary["failed_step"], summary["ok"]) == ("failed", "bronze", False)


def test_an_interrupted_run_says_so_in_its_summary(tmp_path):
    import nbformat

    notebook = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    notebook.cells = [nbformat.v4.new_code_cell("import time\ntime.sleep(120)")]
    nbformat.write(notebook, tmp_path / "wait.ipynb")
    (tmp_path / "plan.yml").write_text(
        f'jobs:\n  waiting: {{schedule: "0 6 * * *"}}\nsteps:\n  - {{name: wait, notebook: {tmp_path / "wait.ipynb"}}}\n'
    )
    runs = tmp_path / "runs"
    run = subprocess.Popen(
        [*HM, "run", "--env", "ci", "--set", f"run.plan={tmp_path / 'plan.yml'}", "--set", f"paths.runs={runs}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(runs.glob("*/01_wait.ipynb")) and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.2)
    assert run.poll() is None, run.communicate()
    time.sleep(2)  # inside the step
    run.send_signal(signal.SIGTERM)
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 130, stdout + stderr
    assert stdout.strip().endswith("interrupted during step 'wait'; run.json records it")
    summary = json.loads(next(runs.glob("*/run.json")).read_text())
    assert (summary["status"], summary["failed_step"], summary["ok"]) == ("interrupted", "wait", False)


def test_a_wrong_java_home_fails_doctor_and_the_start_and_keeps_the_class_archive(tmp_path, config):
    archive = engine.class_archive()
    before = archive.stat().st_mtime_ns if archive.exists() else None
    missing = {**os.environ, "JAVA_HOME": str(tmp_path / "no-jdk")}
    doctor = _hm("doctor", "--env", "ci", env=missing, timeout=60)
    assert doctor.returncode == 2
    assert doctor.stderr.startswith(f"error: JAVA_HOME has no bin/java: {tmp_path / 'no-jdk'}/bin/java does not exist")

    broken = tmp_path / "broken-jdk"  # says it is Java 17, but cannot start anything
    (broken / "bin").mkdir(parents=True)
    (broken / "bin" / "java").write_text(
        '#!/bin/sh\nif [ "$1" = "-version" ]; then echo \'openjdk version "17.0.9"\' >&2; exit 0; fi\n'
        "echo 'Error: could not create the Java Virtual Machine.' >&2\nexit 1\n"
    )
    (broken / "bin" / "java").chmod(0o755)
    home = tmp_path / "home"
    up = _hm("spark", "up", "--env", "ci", "--set", f"paths.home={home}", env={**os.environ, "JAVA_HOME": str(broken)})
    assert up.returncode == 2
    assert up.stderr.startswith("error: the local Spark engine exited during start-up (code ")
    assert f"where: {home / 'engine' / 'server.log'}" in up.stderr and "Traceback" not in up.stderr
    assert (archive.stat().st_mtime_ns if archive.exists() else None) == before, "the shared class archive changed"
    assert not (home / "engine" / "server.pid").exists()


def test_an_engine_starts_without_a_torn_class_archive_and_leaves_it_in_place(config, tmp_path, monkeypatch):
    """A torn archive crashes the JVM at start: the engine starts without it and never deletes a shared file."""
    recorded = engine.class_archive()
    if not recorded.is_file():
        pytest.skip("no recorded class archive to tear: `hm spark prepare` (make setup) records it")
    torn = tmp_path / "torn.jsa"
    with recorded.open("rb") as whole:
        torn.write_bytes(whole.read(1 << 20))  # the first MB: a valid header over missing regions
    monkeypatch.setattr(engine, "class_archive", lambda: torn)
    doomed = engine.LocalEngine(
        config.with_overrides(
            {
                "paths.home": str(tmp_path / "home"),
                "spark.local.port": engine.free_port(),
                "spark.local.driver_memory": "1g",
            }
        )
    )
    try:
        assert doomed.ensure_running().running
        assert torn.exists()
    finally:
        doomed.stop()
