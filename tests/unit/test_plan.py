"""The run plan's jobs: task defaults and overrides, dependencies per environment, job selection, bad plans."""

from __future__ import annotations

import shutil

import pytest

from hm_utils import config as config_module
from hm_utils import plan, runner
from hm_utils.errors import ConfigError


@pytest.fixture
def config(monkeypatch):
    monkeypatch.delenv("HM_SET", raising=False)
    return config_module.load("ci")


def _with_plan(tmp_path, config, text: str):
    shutil.copytree(config.root / "params", tmp_path / "params")
    (tmp_path / "notebooks").symlink_to(config.root / "notebooks")
    (tmp_path / "params" / "run_plan.yml").write_text(text)
    return config_module.load("ci", root=tmp_path)


def test_steps_take_the_jobs_task_defaults_unless_they_set_their_own(config):
    steps = {step.name: step for step in plan.load_plan(config)}
    assert steps["bronze"].job == "pipeline" and steps["bronze"].retries == 1 and steps["bronze"].timeout_minutes == 120
    assert steps["silver"].retries == 0  # a failed quality gate is not retried


def test_a_step_waits_for_the_previous_step_that_applies(config):
    job = plan.main_job(config)
    assert job.dependencies(config)["bronze"] == ("simulate",)
    remote = config.with_overrides({"target": "databricks", "source.kind": "system"})
    graph = job.dependencies(remote)
    assert "simulate" not in graph and graph["bronze"] == () and graph["silver"] == ("bronze",)


def test_a_second_job_runs_only_when_named(tmp_path, config):
    text = (
        "jobs:\n  main: {schedule: '0 6 * * *'}\n  alerts: {schedule: '*/15 * * * *'}\n"
        "steps:\n  - {name: bronze, notebook: notebooks/01_bronze_ingest.ipynb}\n"
        "  - {name: silver, notebook: notebooks/02_silver_validate.ipynb}\n"
        "  - {name: check, notebook: notebooks/04_semantic_deploy.ipynb, job: alerts}\n"
    )
    local = _with_plan(tmp_path, config, text)
    steps = plan.load_plan(local)
    assert [s.name for s in runner.select_steps(steps)] == ["bronze", "silver"]
    assert [s.name for s in runner.select_steps(steps, job="alerts")] == ["check"]
    assert [s.name for s in runner.select_steps(steps, only=["check"])] == ["check"]
    with pytest.raises(ConfigError, match="no job 'nightly'"):
        runner.select_steps(steps, job="nightly")
    assert plan.load_jobs(local)["alerts"].dependencies(local) == {"check": ()}


def test_explicit_after_replaces_the_previous_step(tmp_path, config):
    text = (
        "jobs:\n  main: {schedule: '0 6 * * *'}\nsteps:\n"
        "  - {name: a, notebook: notebooks/01_bronze_ingest.ipynb}\n"
        "  - {name: b, notebook: notebooks/02_silver_validate.ipynb}\n"
        "  - {name: c, notebook: notebooks/03_gold_build.ipynb, after: [a]}\n"
    )
    local = _with_plan(tmp_path, config, text)
    assert plan.main_job(local).dependencies(local) == {"a": (), "b": ("a",), "c": ("a",)}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps:\n  - {name: a, notebook: notebooks/01_bronze_ingest.ipynb}\n", "declares no job"),
        (
            "jobs: {main: {schedule: 'daily'}}\nsteps:\n  - {name: a, notebook: notebooks/01_bronze_ingest.ipynb}\n",
            "five-field cron",
        ),
        (
            "jobs: {main: {schedule: '0 6 1 * 1'}}\nsteps:\n  - {name: a, notebook: notebooks/01_bronze_ingest.ipynb}\n",
            "both the day of month and the day of week",
        ),
        (
            "jobs: {main: {schedule: '0 6 * * *'}}\nsteps:\n  - {name: a, notebook: notebooks/01_bronze_ingest.ipynb,"
            " job: other}\n",
            "job 'other', which is not declared",
        ),
        (
            "jobs: {main: {schedule: '0 6 * * *'}, spare: {schedule: '0 7 * * *'}}\nsteps:\n"
            "  - {name: a, notebook: notebooks/01_bronze_ingest.ipynb}\n",
            "job 'spare' has no step",
        ),
        (
            "jobs: {main: {schedule: '0 6 * * *'}}\nsteps:\n  - {name: a, notebook: notebooks/01_bronze_ingest.ipynb,"
            " after: [b]}\n  - {name: b, notebook: notebooks/02_silver_validate.ipynb}\n",
            "not an earlier step",
        ),
        (
            "jobs: {main: {schedule: '0 6 * * *'}}\nsteps:\n  - {name: a, notebook: notebooks/01_bronze_ingest.ipynb,"
            " retries: -1}\n",
            "retries must be a whole number",
        ),
        (
            "jobs: {main: {schedule: '0 6 * * *'}}\nsteps:\n  - {name: a, notebook: notebooks/01_bronze_ingest.ipynb,"
            " retry: 2}\n",
            "unknown step keys",
        ),
    ],
)
def test_a_bad_plan_says_what_and_where(tmp_path, config, text, message):
    with pytest.raises(ConfigError, match=message) as raised:
        plan.load_jobs(_with_plan(tmp_path, config, text))
    assert "run_plan.yml" in (raised.value.where or "")
