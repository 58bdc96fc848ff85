"""The main job through papermill: every step notebook runs, a rerun changes no table, a run
killed midway completes on the next run, and the `hm` command line works as documented."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hm_utils import io, plan, runner, tables

pytestmark = [pytest.mark.engine, pytest.mark.slow]

HM = [sys.executable, "-m", "hm_utils.cli"]


def _hm(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*HM, *args], capture_output=True, text=True, timeout=timeout, check=False)


def _layer_counts(spark, config) -> dict[str, int]:
    counts = {}
    for layer in ("bronze", "silver", "gold"):
        for key in tables.keys(config, layer):
            if io.table_exists(spark, config, key):
                counts[key] = int(io.read_table(spark, config, key).count())
    return counts


def test_hm_run_executes_every_step_and_a_rerun_changes_nothing(spark, config, account):
    before = _layer_counts(spark, config)
    result = runner.run_plan(config, progress=lambda message: None)
    assert result.ok, [(s.name, s.error) for s in result.steps if s.status == "failed"]
    for step in result.steps:
        assert Path(step.output).is_file(), f"executed notebook of {step.name} not kept"
    summary = json.loads((result.folder / "run.json").read_text())
    main_job = next(iter(plan.load_jobs(config).values()))
    assert [s["name"] for s in summary["steps"]] == [s.name for s in main_job.steps]
    assert _layer_counts(spark, config) == before


def test_killed_run_completes_on_the_next_run(spark, config, account):
    runs = config.path("runs")
    earlier = set(runs.glob("*/01_bronze.ipynb"))
    process = subprocess.Popen(
        [*HM, "run", "--env", "ci", "--only", "bronze"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not set(runs.glob("*/01_bronze.ipynb")) - earlier:
        time.sleep(0.5)
    time.sleep(4)  # inside the bronze step, with writes in flight
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    # the killed run's kernel lives on until it notices its parent is gone (about a second) and holds the run
    # lock meanwhile: the rerun queues behind it as a user would, then finds the lock free
    rerun = _hm("run", "--env", "ci", "--only", "bronze", "--wait", "120")
    assert rerun.returncode == 0, rerun.stderr
    for key in tables.keys(config, "source"):
        source = io.read_table(spark, config, key).count()
        assert io.read_table(spark, config, "bronze." + key.split(".", 1)[1]).count() == source, key


def test_cli_help_lists_the_commands():
    result = _hm("--help")
    assert result.returncode == 0
    for command in ("run", "sql", "simulate", "bench", "spark", "alerts"):
        assert command in result.stdout


def test_hm_sql_prints_csv_and_json(spark):
    csv = _hm("sql", "--env", "ci", "select 1 as x")
    assert csv.returncode == 0, csv.stderr
    assert csv.stdout.split() == ["x", "1"]
    records = _hm("sql", "--env", "ci", "--json", "select 1 as x, 'a' as y")
    assert json.loads(records.stdout) == [{"x": 1, "y": "a"}]


def test_cli_errors_are_messages_not_tracebacks(spark):
    result = _hm("sql", "--env", "ci", "select * from no_such_table")
    assert result.returncode == 2
    assert "TABLE_OR_VIEW_NOT_FOUND" in result.stderr and "Traceback" not in result.stderr
    result = _hm("run", "--env", "ci", "--only", "nope")
    assert result.returncode == 2 and "no step 'nope'" in result.stderr


def test_simulate_export_has_the_reference_layout(tmp_path):
    result = _hm(
        "simulate", "--out", str(tmp_path), "--workspaces", "2", "--days", "3", "--seed", "7", "--format", "parquet"
    )
    assert result.returncode == 0, result.stderr
    assert any((tmp_path / "billing" / "usage").glob("*.parquet"))
    assert any((tmp_path / "access" / "audit").glob("*.parquet"))
