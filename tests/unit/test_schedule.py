"""Local schedules: crontab lines and systemd timers from the run plan, their installation, and scheduled runs
recorded in the run log with their exit status (a real `hm run` of a probe notebook; no engine)."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import nbformat
import pytest
from crontab import CronTab

from hm_utils import config as config_module
from hm_utils import schedule

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(monkeypatch):
    monkeypatch.delenv("HM_SET", raising=False)
    return config_module.load("local")


def test_one_crontab_line_per_job_running_hm_schedule_run(config):
    items = schedule.schedules(config)
    text = schedule.crontab_text(items)
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == len(items) == 3  # the pipeline, the frequent alert evaluation and the weekly training
    parsed = {entry.comment: entry for entry in CronTab(tab=text)}
    pipeline, alerts = parsed[f"hm {ROOT} local pipeline"], parsed[f"hm {ROOT} local alerts"]
    training = parsed[f"hm {ROOT} local training"]
    assert training.is_valid() and str(training.slices) == "5 4 * * 0"
    assert training.command.endswith("schedule run training --env local")
    assert pipeline.is_valid() and str(pipeline.slices) == "0 6 * * *"
    assert f"cd {ROOT} &&" in pipeline.command and pipeline.command.endswith("schedule run pipeline --env local")
    assert alerts.is_valid() and str(alerts.slices) == "*/15 * * * *"
    assert alerts.command.endswith("schedule run alerts --env local")


def test_systemd_units_keep_the_time_zone(config):
    units = schedule.systemd_units(schedule.schedules(config)[0])
    timer = next(text for name, text in units.items() if name.endswith(".timer"))
    service = next(text for name, text in units.items() if name.endswith(".service"))
    assert "OnCalendar=*-*-* 06:00:00 UTC" in timer and "Persistent=true" in timer
    assert "schedule run pipeline --env local" in service


def test_install_systemd_writes_the_units(config, tmp_path):
    items = schedule.schedules(config)
    message = schedule.install_systemd(items, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        name for item in items for name in schedule.systemd_units(item)
    )
    assert "systemctl --user enable --now" in message


def test_install_crontab_replaces_its_own_lines_and_keeps_others(config, tmp_path, monkeypatch):
    """python-crontab through a stand-in `crontab` command that keeps the table in a file."""
    import crontab as crontab_module

    table = tmp_path / "table"
    table.write_text("MAILTO=me\n15 1 * * * backup.sh\n")
    fake = tmp_path / "crontab"
    fake.write_text(f'#!/bin/sh\nif [ "$1" = "-l" ]; then cat {table}; else cat "$1" > {table}; fi\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(crontab_module, "CRON_COMMAND", str(fake))
    items = schedule.schedules(config)
    schedule.install_crontab(items)
    schedule.install_crontab(items)  # again: still one line per job
    text = table.read_text()
    assert "15 1 * * * backup.sh" in text and "MAILTO=me" in text
    assert text.count("schedule run pipeline") == 1


def _probe_project(tmp_path: Path, code: str) -> config_module.Config:
    """A project whose run plan has one job `probe` running a notebook of `code`."""
    shutil.copytree(ROOT / "params", tmp_path / "params")
    (tmp_path / "notebooks").mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [
        nbformat.v4.new_code_cell('env = "ci"\noverrides = ""\nrun_id = ""', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(code),
    ]
    nbformat.write(notebook, tmp_path / "notebooks" / "probe.ipynb")
    (tmp_path / "params" / "run_plan.yml").write_text(
        "jobs: {probe: {schedule: '*/5 * * * *'}}\nsteps:\n  - {name: probe, notebook: notebooks/probe.ipynb}\n"
    )
    return config_module.load("ci", {"paths.runs": str(tmp_path / "runs")}, root=tmp_path)


@pytest.mark.slow
def test_scheduled_runs_land_in_the_run_log_with_their_exit_status(tmp_path):
    config = _probe_project(tmp_path, "print('probe ran')")
    ok = schedule.run_job(config, "probe")
    assert ok.exit_status == 0 and ok.run_folder and Path(ok.run_folder).is_dir()
    assert "done in" in Path(ok.log).read_text()
    failing = _probe_project(tmp_path / "second", "raise RuntimeError('scheduled failure')")
    failed = schedule.run_job(failing, "probe")
    assert failed.exit_status != 0 and "scheduled failure" in Path(failed.log).read_text()
    logged = schedule.read_run_log(config) + schedule.read_run_log(failing)
    assert [(r.job, r.exit_status == 0) for r in logged] == [("probe", True), ("probe", False)]
