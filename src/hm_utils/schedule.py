"""Local scheduled runs: the run plan's job schedules as crontab lines or systemd user timers.

Every scheduled line runs `hm schedule run <job>`, which runs `hm run --job <job>` (so a run still holding
the engine's state makes the next one wait or stop with a message, as any `hm run` does), keeps its output
in `<runs>/scheduled/` and appends one line per run to the ops run log (`<runs>/<run.log>`, JSON lines):
job, environment, start, end, exit status, log file and run folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from hm_utils import cron, plan
from hm_utils.config import Config
from hm_utils.errors import HealthMonitorError

SYSTEMD_FOLDER = Path("~/.config/systemd/user")
_RUN_FOLDER = re.compile(r"executed notebooks in (\S+)")


@dataclass(frozen=True)
class Schedule:
    """One job's local schedule: when, and the command that runs it."""

    job: str
    env: str
    cron: str
    timezone: str
    command: str
    marker: str  # identifies the lines this checkout and environment installed

    @property
    def unit(self) -> str:
        """The systemd unit name: job, environment and a digest of the checkout's folder."""
        return f"hm-{self.env}-{self.job}-{hashlib.sha256(self.marker.encode()).hexdigest()[:6]}"


def schedules(config: Config) -> list[Schedule]:
    """The schedule of every job of the run plan for this checkout and environment."""
    hm = Path(sys.executable).with_name("hm")
    root = config.root
    return [
        Schedule(
            job=job.name,
            env=config.env,
            cron=job.schedule,
            timezone=job.timezone,
            command=f"cd {shlex.quote(str(root))} && {shlex.quote(str(hm))} schedule run {job.name} --env {config.env}",
            marker=f"hm {root} {config.env} {job.name}",
        )
        for job in plan.load_jobs(config).values()
    ]


def crontab_text(items: list[Schedule]) -> str:
    """Crontab lines. Cron reads them in the machine's time zone (see :func:`time_zone_note`)."""
    from crontab import CronTab

    tab = CronTab(tab="")
    for item in items:
        tab.new(command=item.command, comment=item.marker).setall(item.cron)
    return tab.render().lstrip("\n")


def time_zone_note(items: list[Schedule]) -> str | None:
    """A warning when cron would run the lines in another time zone than the schedules are written in."""
    local = time.strftime("%Z")
    same = {local, "UTC"} if local in ("UTC", "GMT") else {local}
    zones = sorted({item.timezone for item in items} - same)
    if not zones:
        return None
    return (
        f"cron runs these lines in the machine's time zone ({local}), the schedules are in {', '.join(zones)}: "
        "shift the hours, or use the systemd timers, which keep the time zone"
    )


def systemd_units(item: Schedule) -> dict[str, str]:
    """The service and timer unit files (name → text) of one schedule."""
    service = (
        f"[Unit]\nDescription=Health Monitor: scheduled run of job {item.job} ({item.marker})\n\n"
        f"[Service]\nType=oneshot\nExecStart=/bin/sh -c {shlex.quote(item.command)}\n"
    )
    timer = (
        f"[Unit]\nDescription=Health Monitor: schedule of job {item.job}\n\n"
        f"[Timer]\nOnCalendar={cron.systemd_calendar(item.cron, item.timezone)}\nPersistent=true\n\n"
        "[Install]\nWantedBy=timers.target\n"
    )
    return {f"{item.unit}.service": service, f"{item.unit}.timer": timer}


def install_crontab(items: list[Schedule]) -> str:
    """Write the lines into the user's crontab, replacing the lines this checkout installed before."""
    from crontab import CronTab

    try:
        tab = CronTab(user=True)
        for item in items:
            tab.remove_all(comment=item.marker)
            tab.new(command=item.command, comment=item.marker).setall(item.cron)
        tab.write()
    except OSError as error:
        raise HealthMonitorError(
            f"cannot update the user's crontab ({error})",
            where="the `crontab` command",
            fix="install cron (e.g. `sudo apt-get install cron`), or use `hm schedule --install --systemd`",
        ) from error
    return "the user's crontab (`crontab -l` shows it)"


def install_systemd(items: list[Schedule], folder: Path = SYSTEMD_FOLDER) -> str:
    """Write user timer units; systemd picks them up after `systemctl --user daemon-reload`."""
    target = folder.expanduser()
    target.mkdir(parents=True, exist_ok=True)
    for item in items:
        for name, text in systemd_units(item).items():
            (target / name).write_text(text)
    timers = " ".join(f"{item.unit}.timer" for item in items)
    return f"{target} (then: systemctl --user daemon-reload && systemctl --user enable --now {timers})"


@dataclass(frozen=True)
class ScheduledRun:
    """One line of the ops run log."""

    job: str
    env: str
    started: str
    finished: str
    seconds: float
    exit_status: int
    log: str
    run_folder: str | None


def run_job(config: Config, job: str) -> ScheduledRun:
    """Run `hm run --job <job>` for this environment, its output in a log file, and record it in the run log."""
    runs = config.path("runs")
    folder = runs / "scheduled"
    folder.mkdir(parents=True, exist_ok=True)
    started = datetime.now(timezone.utc)
    log = folder / f"{job}-{started.strftime('%Y%m%dT%H%M%SZ')}.log"
    command = [sys.executable, "-m", "hm_utils.cli", "run", "--env", config.env, "--job", job]
    clock = time.perf_counter()
    with log.open("w") as output:
        status = subprocess.run(
            command, cwd=config.root, stdout=output, stderr=subprocess.STDOUT, env=os.environ.copy(), check=False
        ).returncode
    found = _RUN_FOLDER.search(log.read_text())
    record = ScheduledRun(
        job=job,
        env=config.env,
        started=started.isoformat(timespec="seconds"),
        finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        seconds=round(time.perf_counter() - clock, 1),
        exit_status=status,
        log=str(log),
        run_folder=found.group(1) if found else None,
    )
    with run_log_path(config).open("a") as handle:
        handle.write(json.dumps(asdict(record)) + "\n")
    return record


def run_log_path(config: Config) -> Path:
    return config.path("runs") / str(config.get("run.log", "run_log.jsonl"))


def read_run_log(config: Config, last: int = 10) -> list[ScheduledRun]:
    """The last `last` scheduled runs, oldest first."""
    path = run_log_path(config)
    if not path.is_file():
        return []
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    return [ScheduledRun(**json.loads(line)) for line in lines[-last:]]
