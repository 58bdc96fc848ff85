"""The run plan (params/run_plan.yml): the jobs, their steps and schedules, declared once.

`hm run` executes a job's steps with papermill, `hm deploy` generates the Databricks bundle's jobs from
them (one task per step) and `hm schedule` the local crontab / systemd timers. A step belongs to the
job named by its `job:` (the first job when it names none) and runs after the step before it in the same
job, or after the steps listed in `after:`. A step with `databricks_run_job:` runs its notebook locally but,
on Databricks, triggers that job (which runs the same notebook) and waits for it: the pipeline's alerts step
goes through the alerts job, whose runs queue one at a time, so two evaluations never overlap there either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hm_utils import cron
from hm_utils.config import Config
from hm_utils.errors import ConfigError

_JOB_FIELDS = {"description", "schedule", "timezone", "timeout_minutes", "task_defaults"}
_STEP_FIELDS = {
    "name", "notebook", "parameters", "when", "job", "after", "retries", "timeout_minutes", "databricks_run_job"
}  # fmt: skip
_TASK_DEFAULT_FIELDS = {"retries", "timeout_minutes"}


@dataclass(frozen=True)
class Step:
    """One notebook of the run plan: a papermill run locally, a task of its job on Databricks."""

    name: str
    notebook: str
    parameters: dict[str, Any] = field(default_factory=dict)
    when: dict[str, Any] = field(default_factory=dict)
    job: str = ""
    after: tuple[str, ...] | None = None  # None: the step before it in its job
    retries: int = 0
    timeout_minutes: int = 0  # 0: no timeout
    databricks_run_job: str = ""  # on Databricks: trigger this job (same notebook) instead of running the notebook

    def applies(self, config: Config) -> bool:
        """Whether the step's `when` conditions (dotted param → value) hold for this config."""
        return all(config.get(key) == value for key, value in self.when.items())


@dataclass(frozen=True)
class Job:
    """A group of steps run together on one schedule (cron, five fields, in `timezone`)."""

    name: str
    description: str
    schedule: str
    timezone: str
    timeout_minutes: int
    steps: tuple[Step, ...]

    def dependencies(self, config: Config) -> dict[str, tuple[str, ...]]:
        """The steps that apply to `config`, each with the steps it waits for (those that apply too)."""
        chosen = [step for step in self.steps if step.applies(config)]
        names = {step.name for step in chosen}
        graph: dict[str, tuple[str, ...]] = {}
        previous: str | None = None
        for step in chosen:
            before = step.after if step.after is not None else ((previous,) if previous else ())
            graph[step.name] = tuple(name for name in before if name in names)
            previous = step.name
        return graph


def plan_path(config: Config) -> Path:
    return config.root / str(config.get("run.plan", "params/run_plan.yml"))


def load_plan(config: Config) -> list[Step]:
    """Every step of the run plan in file order, validated."""
    return [step for job in load_jobs(config).values() for step in job.steps]


def load_jobs(config: Config) -> dict[str, Job]:
    """The jobs of the run plan, in file order, each with its steps; the first is the main job."""
    path = plan_path(config)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the run plan: {exc}", where=str(path), fix="restore it from git") from exc
    declared = raw.get("jobs") or {}
    if not declared:
        raise ConfigError("the run plan declares no job", where=f"{path}: jobs", fix="declare the main job under jobs:")
    steps: dict[str, list[Step]] = {name: [] for name in declared}
    main = next(iter(declared))
    for index, entry in enumerate(raw.get("steps") or []):
        step = _parse_step(config, entry, f"{path}: steps[{index}]", main, declared)
        steps[step.job].append(step)
    jobs = {name: _parse_job(name, spec, tuple(steps[name]), f"{path}: jobs.{name}") for name, spec in declared.items()}
    _check_names(jobs, path)
    return jobs


def main_job(config: Config) -> Job:
    """The job `hm run` and `make run` run by default: the first one declared."""
    return next(iter(load_jobs(config).values()))


def _parse_step(config: Config, entry: Any, where: str, main: str, jobs: dict[str, Any]) -> Step:
    if not isinstance(entry, dict) or not entry.get("name") or not entry.get("notebook"):
        raise ConfigError("a step needs a name and a notebook", where=where, fix="add name: and notebook:")
    unknown = set(entry) - _STEP_FIELDS
    if unknown:
        raise ConfigError(f"unknown step keys {sorted(unknown)}", where=where, fix=f"use only {sorted(_STEP_FIELDS)}")
    if not (config.root / entry["notebook"]).is_file():
        raise ConfigError(f"notebook {entry['notebook']} does not exist", where=where, fix="fix the path")
    job = entry.get("job") or main
    if job not in jobs:
        raise ConfigError(f"step names job '{job}', which is not declared", where=where, fix=f"use one of {list(jobs)}")
    defaults = (jobs[job] or {}).get("task_defaults") or {}
    after = entry.get("after")
    return Step(
        name=str(entry["name"]),
        notebook=str(entry["notebook"]),
        parameters=entry.get("parameters") or {},
        when=entry.get("when") or {},
        job=job,
        after=None if after is None else tuple(after if isinstance(after, list) else [after]),
        retries=_count(entry.get("retries", defaults.get("retries", 0)), "retries", where),
        timeout_minutes=_count(
            entry.get("timeout_minutes", defaults.get("timeout_minutes", 0)), "timeout_minutes", where
        ),
        databricks_run_job=str(entry.get("databricks_run_job") or ""),
    )


def _parse_job(name: str, spec: Any, steps: tuple[Step, ...], where: str) -> Job:
    spec = spec or {}
    unknown = set(spec) - _JOB_FIELDS
    if unknown:
        raise ConfigError(f"unknown job keys {sorted(unknown)}", where=where, fix=f"use only {sorted(_JOB_FIELDS)}")
    unknown = set(spec.get("task_defaults") or {}) - _TASK_DEFAULT_FIELDS
    if unknown:
        raise ConfigError(
            f"unknown task_defaults keys {sorted(unknown)}", where=where, fix=f"use {sorted(_TASK_DEFAULT_FIELDS)}"
        )
    if not steps:
        raise ConfigError(f"job '{name}' has no step", where=where, fix=f"add steps with job: {name}, or remove it")
    schedule = str(spec.get("schedule") or "")
    cron.check(schedule, f"{where}.schedule")
    return Job(
        name=name,
        description=str(spec.get("description") or name),
        schedule=schedule,
        timezone=str(spec.get("timezone") or "UTC"),
        timeout_minutes=_count(spec.get("timeout_minutes", 0), "timeout_minutes", where),
        steps=steps,
    )


def _check_names(jobs: dict[str, Job], path: Path) -> None:
    names = [step.name for job in jobs.values() for step in job.steps]
    if len(set(names)) != len(names):
        raise ConfigError("step names must be unique", where=str(path), fix="rename the duplicate step")
    for job in jobs.values():
        own = [step.name for step in job.steps]
        for step in job.steps:
            if step.databricks_run_job:
                _check_run_job(step, jobs, f"{path}: steps.{step.name}.databricks_run_job")
            for name in step.after or ():
                if name not in own or own.index(name) >= own.index(step.name):
                    raise ConfigError(
                        f"step '{step.name}' runs after '{name}', which is not an earlier step of job '{job.name}'",
                        where=f"{path}: steps.{step.name}.after",
                        fix="name earlier steps of the same job (jobs trigger each other only by schedule)",
                    )


def _check_run_job(step: Step, jobs: dict[str, Job], where: str) -> None:
    """The job a step triggers on Databricks is another job that runs the step's notebook."""
    target = jobs.get(step.databricks_run_job)
    if target is None or target.name == step.job:
        raise ConfigError(
            f"step '{step.name}' triggers job '{step.databricks_run_job}', which is not another declared job",
            where=where,
            fix=f"name one of {[name for name in jobs if name != step.job]}",
        )
    if not any(other.notebook == step.notebook and other.parameters == step.parameters for other in target.steps):
        raise ConfigError(
            f"step '{step.name}' runs {step.notebook} locally but job '{target.name}' has no step running it"
            " with the same parameters, so Databricks would do something else",
            where=where,
            fix=f"add a step with notebook: {step.notebook} to job '{target.name}', or remove databricks_run_job",
        )


def _count(value: Any, what: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{what} must be a whole number >= 0, got {value!r}", where=where, fix="fix the value")
    return value
