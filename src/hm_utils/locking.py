"""One writer at a time per engine home: the run lock.

`hm run` holds the lock for the whole run (:func:`run_lock`), and its notebook kernels write under
it (they inherit the holder's token through the environment). Any other process that writes, such
as a JupyterLab notebook or `hm simulate`, holds it for each write (:func:`writing`, called by
:func:`hm_utils.io.write_table`). A second writer waits up to the seconds it was given, else stops
with a :class:`RunLockedError` naming the holder: pid, host, start time and command. Readers
(`hm sql`, notebooks, reports reading tables) never take the lock and keep working during a run.

The lock is an advisory `flock` on `<home>/run.lock`, released by the kernel when its holder exits
however it exits, so a killed run never leaves a stale lock; the file's text names the holder.

    from hm_utils import locking

    with locking.run_lock(config, "hm schedule nightly", wait_seconds=600):
        ...  # write to this home's tables
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from hm_utils.config import Config
from hm_utils.errors import HealthMonitorError

TOKEN_VARIABLE = "HM_RUN_LOCK"  # `<lock file>|<token>`: set for the holder's children (notebook kernels)
_POLL_SECONDS = 0.5


class RunLockedError(HealthMonitorError):
    """Another process holds the run lock of this engine home."""

    exit_code = 75  # EX_TEMPFAIL: try again later


@dataclass(frozen=True)
class Holder:
    """Who holds a run lock."""

    pid: int
    host: str
    started_at: str
    command: str
    token: str = ""

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}, started {self.started_at}: {self.command}"


def lock_file(config: Config) -> Path:
    return config.home / "run.lock"


def holder(config: Config) -> Holder | None:
    """The current holder of the lock, None when it is free."""
    return _current_holder(lock_file(config))


@contextmanager
def run_lock(config: Config, command: str, wait_seconds: float = 0) -> Iterator[Holder]:
    """Hold this home's run lock; wait up to `wait_seconds` for it, then raise RunLockedError.

    Re-entrant within a process (its threads share the hold); child processes started inside
    (notebook kernels) write under it without taking it again (see :func:`writing`)."""
    path = lock_file(config)
    me = _acquire(path, command, wait_seconds)
    try:
        yield me
    finally:
        _release(path)


@contextmanager
def writing(config: Config, wait_seconds: float = 0) -> Iterator[None]:
    """Write under this home's run lock: inside the holder's run (this process holds it, or the
    process that started this one does), or holding it for the duration of the block."""
    path = lock_file(config)
    if _inherited(path):
        yield
        return
    with run_lock(config, _this_command(), wait_seconds):
        yield


@dataclass
class _Hold:
    """This process's hold on one lock file, shared by its threads and nested uses."""

    handle: TextIO
    holder: Holder
    previous_token: str | None
    count: int = 0


_HOLDS: dict[str, _Hold] = {}
_HOLDS_LOCK = threading.Lock()


def _acquire(path: Path, command: str, wait_seconds: float) -> Holder:
    with _HOLDS_LOCK:
        hold = _HOLDS.get(str(path))
        if hold is None:
            handle = _locked_handle(path, wait_seconds)
            me = Holder(
                pid=os.getpid(),
                host=socket.gethostname(),
                started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                command=command,
                token=secrets.token_hex(8),
            )
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(asdict(me)))
            handle.flush()
            hold = _HOLDS[str(path)] = _Hold(handle, me, os.environ.get(TOKEN_VARIABLE))
            os.environ[TOKEN_VARIABLE] = f"{path}|{me.token}"
        hold.count += 1
        return hold.holder


def _release(path: Path) -> None:
    with _HOLDS_LOCK:
        hold = _HOLDS[str(path)]
        hold.count -= 1
        if hold.count:
            return
        del _HOLDS[str(path)]
        if hold.previous_token is None:
            os.environ.pop(TOKEN_VARIABLE, None)
        else:
            os.environ[TOKEN_VARIABLE] = hold.previous_token
        hold.handle.seek(0)
        hold.handle.truncate()
        fcntl.flock(hold.handle, fcntl.LOCK_UN)
        hold.handle.close()


def _locked_handle(path: Path, wait_seconds: float) -> TextIO:
    """The lock file opened and locked, after waiting up to `wait_seconds`; RunLockedError else."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    deadline = time.monotonic() + wait_seconds
    while not _try_lock(handle):
        if time.monotonic() >= deadline:
            handle.close()
            current = _read_holder(path)
            raise RunLockedError(
                "another run is writing to this engine home"
                + (f": {current.describe()}" if current else " (its holder is not recorded)"),
                where=str(path),
                fix="wait for it to finish, or pass --wait SECONDS to queue behind it; "
                "queries (hm sql, notebooks) keep working meanwhile",
            )
        time.sleep(_POLL_SECONDS)
    return handle


def _current_holder(path: Path) -> Holder | None:
    if not path.exists():
        return None
    with path.open("a+") as handle:
        if _try_lock(handle):
            fcntl.flock(handle, fcntl.LOCK_UN)
            return None
    return _read_holder(path)


def _inherited(path: Path) -> bool:
    """Whether this process runs inside the current holder's run: its token came with the environment
    and the holder still holds the lock (a killed holder leaves its token in the file, not the lock)."""
    held_path, _, token = os.environ.get(TOKEN_VARIABLE, "").rpartition("|")
    if held_path != str(path) or not token:
        return False
    current = _current_holder(path)
    return current is not None and current.token == token


def _this_command() -> str:
    """How the holder is named to a writer kept waiting: its command line, or what kind of kernel it is."""
    if not sys.argv or not sys.argv[0]:
        return "python"
    if "ipykernel" in sys.argv[0]:
        return "a notebook kernel (JupyterLab or papermill)"
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])


def _try_lock(handle: TextIO) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read_holder(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text() or "null")
        return Holder(**data) if isinstance(data, dict) else None
    except (OSError, json.JSONDecodeError, TypeError):
        return None
