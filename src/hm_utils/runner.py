"""`hm run`: execute the steps of the YAML run plan with papermill, one run folder per run.

Every executed notebook is kept in `<runs>/<run_id>/`, with `run.json` summarising the steps.
A failed step stops the run with the notebook, the cell and the error. Steps are idempotent, so
a run that was killed midway completes when `hm run` is started again.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from hm_utils import runlog
from hm_utils.config import Config
from hm_utils.errors import ConfigError, StepFailedError


@dataclass(frozen=True)
class Step:
    """One notebook of the run plan."""

    name: str
    notebook: str
    parameters: dict[str, Any] = field(default_factory=dict)
    when: dict[str, Any] = field(default_factory=dict)

    def applies(self, config: Config) -> bool:
        """Whether the step's `when` conditions (dotted param → value) hold for this config."""
        return all(config.get(key) == value for key, value in self.when.items())


@dataclass
class StepResult:
    name: str
    notebook: str
    output: str
    status: str
    seconds: float
    error: str | None = None


@dataclass
class RunResult:
    run_id: str
    folder: Path
    steps: list[StepResult]

    @property
    def ok(self) -> bool:
        return all(step.status in ("ok", "skipped") for step in self.steps)


def load_plan(config: Config) -> list[Step]:
    """The steps of `run.plan` (params/run_plan.yml), validated."""
    path = config.root / str(config.get("run.plan", "params/run_plan.yml"))
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the run plan: {exc}", where=str(path), fix="restore it from git") from exc
    steps = []
    for index, entry in enumerate(raw.get("steps") or []):
        where = f"{path}: steps[{index}]"
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("notebook"):
            raise ConfigError("a step needs a name and a notebook", where=where, fix="add name: and notebook:")
        if not (config.root / entry["notebook"]).is_file():
            raise ConfigError(f"notebook {entry['notebook']} does not exist", where=where, fix="fix the path")
        steps.append(Step(entry["name"], entry["notebook"], entry.get("parameters") or {}, entry.get("when") or {}))
    names = [step.name for step in steps]
    if len(set(names)) != len(names):
        raise ConfigError("step names must be unique", where=str(path), fix="rename the duplicate step")
    return steps


def select_steps(steps: list[Step], only: list[str] | None = None, from_step: str | None = None) -> list[Step]:
    """The steps to run for `--only` / `--from`; a ConfigError listing the names when one is unknown."""
    names = [step.name for step in steps]
    for name in [*(only or []), *([from_step] if from_step else [])]:
        if name not in names:
            raise ConfigError(f"no step '{name}' in the run plan", where="--only / --from", fix=f"use one of {names}")
    if only:
        return [step for step in steps if step.name in only]
    if from_step:
        return steps[names.index(from_step) :]
    return steps


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def run_plan(
    config: Config,
    only: list[str] | None = None,
    from_step: str | None = None,
    progress: Callable[[str], None] = print,
) -> RunResult:
    """Run the selected steps in order; raise StepFailedError at the first failure."""
    steps = select_steps(load_plan(config), only, from_step)
    run_id = new_run_id()
    folder = config.path("runs") / run_id
    folder.mkdir(parents=True, exist_ok=True)
    result = RunResult(run_id, folder, [])
    overrides = overrides_text(config)
    progress(f"run {run_id} ({config.env}) → {folder}")
    for number, step in enumerate(steps, start=1):
        output = folder / f"{number:02d}_{step.name}.ipynb"
        label = f"[{number}/{len(steps)}] {step.name:<18}"
        if not step.applies(config):
            result.steps.append(StepResult(step.name, step.notebook, str(output), "skipped", 0.0))
            progress(f"{label} skipped (only when {step.when})")
            continue
        started = time.perf_counter()
        started_at = datetime.now(timezone.utc).replace(tzinfo=None)
        parameters = {"env": config.env, "overrides": overrides, "run_id": run_id, **step.parameters}
        try:
            execute_notebook(
                config,
                step.notebook,
                output,
                parameters,
                what=f"step '{step.name}'",
                rerun=f"hm run --from {step.name}",
            )
        except StepFailedError as error:
            seconds = time.perf_counter() - started
            result.steps.append(StepResult(step.name, step.notebook, str(output), "failed", seconds, error.what))
            _write_summary(result)
            runlog.record_step(config, run_id, step.name, step.notebook, "failed", started_at, seconds, error.what)
            progress(f"{label} FAILED after {seconds:.1f} s")
            raise
        seconds = time.perf_counter() - started
        result.steps.append(StepResult(step.name, step.notebook, str(output), "ok", seconds))
        runlog.record_step(config, run_id, step.name, step.notebook, "ok", started_at, seconds)
        progress(f"{label} ok ({seconds:.1f} s)")
        _write_summary(result)
    _write_summary(result)
    latest = config.path("runs") / "latest"
    latest.unlink(missing_ok=True)
    latest.symlink_to(folder.name)
    return result


def execute_notebook(
    config: Config, notebook: str, output: Path, parameters: dict[str, Any], *, what: str, rerun: str
) -> None:
    """Run `notebook` (relative to the project root) with papermill into `output`.

    A failing cell raises StepFailedError naming `what`, the cell, the error and the `rerun` command.
    """
    import papermill

    try:
        papermill.execute_notebook(
            str(config.root / notebook),
            str(output),
            parameters=parameters,
            kernel_name=str(config.get("run.kernel", "python3")),
            cwd=str(config.root),
            progress_bar=False,
            log_output=False,
            kernel_manager_class=notebook_kernel_manager(),
        )
    except papermill.PapermillExecutionError as exc:
        raise StepFailedError(
            f"{what} failed in cell {exc.exec_count or exc.cell_index}: {exc.ename}: {exc.evalue}",
            where=f"{notebook} (executed copy: {output})",
            fix=f"open the executed notebook to see the cell; fix, then `{rerun}`",
        ) from None


def notebook_kernel_manager() -> type:
    """The kernel manager of `hm run`: kernels on Unix sockets, shut down without an interrupt.

    Over TCP (the default) a kernel's traffic, code and outputs included, is readable by anyone on
    the machine, and ipykernel warns about it at every start; a socket file is private to the user.

    jupyter_client interrupts (SIGINT) a kernel before asking it to shut down, so that a running
    cell cannot block the request. Papermill shuts a kernel down only after its last cell, and
    ipykernel answers the request on its control thread even while a cell runs, so the interrupt
    serves nothing here; when it landed while the kernel was still finishing a message (now and
    then, after the silver step), ipykernel printed "ERROR | KeyboardInterrupt caught in kernel."
    amid the output of `hm run`."""
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets import CaselessStrEnum, default

    class NotebookKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc")

        @default("ip")
        def _socket_prefix(self) -> str:  # the sockets are `<prefix>-<n>`
            runtime = Path(jupyter_runtime_dir())
            runtime.mkdir(parents=True, exist_ok=True)
            return str(runtime / f"hm-kernel-{secrets.token_hex(6)}")

        async def _async_interrupt_kernel(self) -> None:
            if not self.shutting_down:
                await super()._async_interrupt_kernel()

    return NotebookKernelManager


def overrides_text(config: Config) -> str:
    """The config's overrides as the `overrides` notebook parameter: `a.b=1;c=x`."""
    return ";".join(
        f"{key}={yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()}"
        for key, value in config.overrides.items()
    )


def _write_summary(result: RunResult) -> None:
    summary = {"run_id": result.run_id, "ok": result.ok, "steps": [asdict(step) for step in result.steps]}
    (result.folder / "run.json").write_text(json.dumps(summary, indent=2))
