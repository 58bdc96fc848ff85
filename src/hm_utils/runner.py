"""`hm run`: execute the steps of the YAML run plan with papermill, one run folder per run.

Every executed notebook is kept in `<runs>/<run_id>/`, with `run.json` saying how the run ended
(`running` while it runs, then `ok`, `failed` with the step, or `interrupted`) and the output of the
notebook kernels' processes in `kernels.log`. A run holds the engine home's run lock
(:mod:`hm_utils.locking`), so a second run waits or stops with the holder named. A failed step stops
the run with one short message (what, where, what to do) and the executed notebook, which holds the
full trace; warnings the step logged are shown under its line. Steps are idempotent, so a run that
was killed midway completes when `hm run` is started again.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hm_utils import clock, errors, locking, runlog
from hm_utils.config import Config, overrides_json
from hm_utils.errors import ConfigError, StepFailedError
from hm_utils.plan import Step, load_plan

KERNEL_LOG = "kernels.log"
_WARNING_LINE = re.compile(r"^(?:WARNING|ERROR) hm_utils[\w.]*: (?P<message>.+)$")
_MESSAGE_LINES = 12  # at most this many lines of a step's error on the console
_SAMPLE_CHARS = 160  # of the sample row shown per failed rule


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
    status: str = "running"  # running | ok | failed | interrupted
    failed_step: str | None = None  # the step that failed, or was running when the run was interrupted
    started_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    ended_at: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def select_steps(
    steps: list[Step], only: list[str] | None = None, from_step: str | None = None, job: str | None = None
) -> list[Step]:
    """The steps to run for `--only` / `--from` / `--job`; a ConfigError listing the names when one is unknown.

    `--only` picks steps of any job; otherwise the steps of `job` (the first job's when None)."""
    names = [step.name for step in steps]
    jobs = list(dict.fromkeys(step.job for step in steps))
    if job is not None and job not in jobs:
        raise ConfigError(f"no job '{job}' in the run plan", where="--job", fix=f"use one of {jobs}")
    if not only and jobs:
        steps = [step for step in steps if step.job == (job or jobs[0])]
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
    job: str | None = None,
    wait_seconds: float = 0,
    command: str = "hm run",
) -> RunResult:
    """Run the selected steps in order under the run lock; raise StepFailedError at the first failure.

    `wait_seconds`: how long to wait for another run of this engine home to finish (else RunLockedError)."""
    steps = select_steps(load_plan(config), only, from_step, job)
    with locking.run_lock(config, command, wait_seconds), _sigterm_interrupts():
        run_id = new_run_id()
        folder = config.path("runs") / run_id
        folder.mkdir(parents=True, exist_ok=True)
        result = RunResult(run_id, folder, [])
        _write_summary(result)
        progress(f"run {run_id} ({config.env}) → {folder}")
        try:
            _run_steps(config, steps, result, progress)
            result.status = "ok"
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM (the command then exits with 130)
            result.status = "interrupted"
            during = f"during step '{result.failed_step}'" if result.failed_step else "between steps"
            progress(f"interrupted {during}; run.json records it")
            raise
        except BaseException:
            result.status = "failed"
            raise
        finally:
            result.ended_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
            _write_summary(result)
    latest = config.path("runs") / "latest"
    latest.unlink(missing_ok=True)
    latest.symlink_to(folder.name)
    return result


def _run_steps(config: Config, steps: list[Step], result: RunResult, progress: Callable[[str], None]) -> None:
    overrides = overrides_text(config)
    for number, step in enumerate(steps, start=1):
        output = result.folder / f"{number:02d}_{step.name}.ipynb"
        label = f"[{number}/{len(steps)}] {step.name:<18}"
        if not step.applies(config):
            result.steps.append(StepResult(step.name, step.notebook, str(output), "skipped", 0.0))
            progress(f"{label} skipped (only when {step.when})")
            continue
        started = time.perf_counter()
        started_at = clock.now(config)
        result.failed_step = step.name  # until it ends well
        parameters = {"env": config.env, "overrides": overrides, "run_id": result.run_id, **step.parameters}
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
            runlog.record_step(
                config, result.run_id, step.name, step.notebook, "failed", started_at, seconds, error.what
            )
            progress(f"{label} FAILED after {seconds:.1f} s")
            _show_warnings(output, progress)
            raise
        seconds = time.perf_counter() - started
        result.steps.append(StepResult(step.name, step.notebook, str(output), "ok", seconds))
        runlog.record_step(config, result.run_id, step.name, step.notebook, "ok", started_at, seconds)
        result.failed_step = None
        progress(f"{label} ok ({seconds:.1f} s)")
        _show_warnings(output, progress)
        _write_summary(result)


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM ends a run as Ctrl-C does (run.json then says `interrupted`), in the main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _show_warnings(notebook: Path, progress: Callable[[str], None]) -> None:
    """The warnings a step logged (source-shape problems, rows held back), under its line."""
    for message in step_warnings(notebook):
        progress(f"      ! {message}")


def step_warnings(notebook: Path) -> list[str]:
    """The `WARNING hm_utils...` lines an executed notebook's cells wrote, in order, without repeats."""
    import nbformat

    try:
        executed = nbformat.read(notebook, as_version=4)
    except (OSError, ValueError):
        return []
    found: list[str] = []
    for cell in executed.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                for line in str(output.get("text", "")).splitlines():
                    match = _WARNING_LINE.match(line.strip())
                    if match and match.group("message") not in found:
                        found.append(match.group("message"))
    return found


def execute_notebook(
    config: Config, notebook: str, output: Path, parameters: dict[str, Any], *, what: str, rerun: str
) -> None:
    """Run `notebook` (relative to the project root) with papermill into `output`.

    A failing cell raises StepFailedError naming `what`, the error in a few lines (its cause, where
    and what to do when the package raised it), the executed notebook and the `rerun` command."""
    import papermill

    try:
        with (output.parent / KERNEL_LOG).open("ab") as kernel_log:
            papermill.execute_notebook(
                str(config.root / notebook),
                str(output),
                parameters=parameters,
                kernel_name=str(config.get("run.kernel", "python3")),
                cwd=str(config.root),
                progress_bar=False,
                log_output=False,
                kernel_manager_class=notebook_kernel_manager(kernel_log),
            )
    except papermill.PapermillExecutionError as exc:
        raise step_error(config, what, exc.ename, exc.evalue, output, exc.exec_count or exc.cell_index, rerun) from None


def step_error(
    config: Config, what: str, ename: str, evalue: str, output: Path, cell: int | None, rerun: str
) -> StepFailedError:
    """The short error of a failed step: the package's own what/where/what-to-do when it raised one,
    a lost engine connection in words, else the error's first lines without the JVM stack."""
    notebook = f"{output} (cell {cell}; the full trace is there)"
    explained = errors.parse_rendered(evalue)
    if explained is not None:
        cause, where, fix = explained
        return StepFailedError(
            f"{what} failed: {_cut(cause)}",
            where=where,
            fix=f"{fix}; then `{rerun}`" if fix else f"fix the cause, then `{rerun}`",
            notebook=notebook,
        )
    if errors.is_connection_loss(evalue) and not config.is_local:
        return StepFailedError(
            f"{what} failed: lost the connection to Databricks",
            where="spark.databricks (profile, cluster) in params",
            fix=f"check the cluster or serverless compute and the network, then `{rerun}`",
            notebook=notebook,
        )
    if errors.is_connection_loss(evalue):
        from hm_utils.engine import LocalEngine

        engine = LocalEngine(config)
        state = "it has stopped" if not engine.status().running else "it did not answer"
        return StepFailedError(
            f"{what} failed: lost the connection to the local Spark engine at {engine.url} ({state})",
            where=f"engine log {engine.log_file}",
            fix=f"read the end of the engine log; `hm spark status`, then `{rerun}` (it starts the engine)",
            notebook=notebook,
        )
    return StepFailedError(
        f"{what} failed: {ename}: {_cut(errors.spark_summary(evalue))}",
        where=None,
        fix=f"open the executed notebook to see the cell and the trace; fix, then `{rerun}`",
        notebook=notebook,
    )


def _cut(text: str) -> str:
    """At most `_MESSAGE_LINES` lines, with one short sample row per failure (the notebook has them all)."""
    lines: list[str] = []
    for line in text.splitlines():
        if line.lstrip().startswith("sample: "):
            if lines and lines[-1].lstrip().startswith("sample: "):
                continue
            line = line if len(line) <= _SAMPLE_CHARS else line[:_SAMPLE_CHARS] + "..."
        lines.append(line)
    return "\n".join([*lines[:_MESSAGE_LINES], *(["..."] if len(lines) > _MESSAGE_LINES else [])])


def notebook_kernel_manager(kernel_log=None) -> type:
    """The kernel manager of `hm run`: kernels on Unix sockets whose process output goes to `kernel_log`.

    Over TCP (the default) a kernel's traffic, code and outputs included, is readable by anyone on
    the machine, and ipykernel warns about it at every start; a socket file is private to the user.
    What a kernel process writes itself (ipykernel's own log, native libraries) belongs to the run's
    log: cell outputs are in the executed notebook, and the console keeps only the run's progress."""
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

        async def start_kernel(self, **kw: Any) -> None:
            if kernel_log is not None:
                kw.setdefault("stdout", kernel_log)
                kw.setdefault("stderr", kernel_log)
            await super().start_kernel(**kw)

    return NotebookKernelManager


def overrides_text(config: Config) -> str:
    """The config's overrides as the `overrides` notebook parameter (a JSON object: any value survives)."""
    return overrides_json(config.overrides)


def _write_summary(result: RunResult) -> None:
    summary = {
        "run_id": result.run_id,
        "status": result.status,
        "ok": result.ok,
        "failed_step": result.failed_step,
        "pid": os.getpid(),
        "started_at": result.started_at,
        "ended_at": result.ended_at,
        "steps": [asdict(step) for step in result.steps],
    }
    (result.folder / "run.json").write_text(json.dumps(summary, indent=2))
