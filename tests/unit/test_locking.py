"""The run lock: one writer per engine home, the holder named, its child processes writing under it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from hm_utils import config as config_module
from hm_utils import locking
from hm_utils.locking import RunLockedError


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.delenv("HM_SET", raising=False)
    monkeypatch.delenv(locking.TOKEN_VARIABLE, raising=False)
    return config_module.load("ci", {"paths.home": str(tmp_path / "home")})


def _holder_process(config, seconds: float) -> subprocess.Popen:
    """Another process holding the lock for `seconds` (it prints a line once it holds it)."""
    code = (
        "import sys, time\n"
        "from hm_utils import config, locking\n"
        f"cfg = config.load('ci', {{'paths.home': {str(config.home)!r}}})\n"
        "with locking.run_lock(cfg, 'hm run --env ci'):\n"
        "    print('held', flush=True)\n"
        f"    time.sleep({seconds})\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_second_writer_stops_at_once_naming_the_holder(config):
    holder = _holder_process(config, 30)
    try:
        started = time.monotonic()
        with pytest.raises(RunLockedError) as raised, locking.run_lock(config, "hm run"):
            pass
        assert time.monotonic() - started < 5
        message = str(raised.value)
        assert f"pid {holder.pid} on " in message and "hm run --env ci" in message and "started 20" in message
        assert "--wait" in raised.value.fix and raised.value.exit_code == 75
        assert locking.holder(config).pid == holder.pid
    finally:
        holder.kill()
        holder.wait()


def test_a_waiting_writer_runs_once_the_holder_is_done(config):
    holder = _holder_process(config, 2)
    try:
        with locking.run_lock(config, "second", wait_seconds=60) as me:
            assert me.pid == os.getpid()
            assert locking.holder(config).command == "second"
    finally:
        holder.wait()
    assert locking.holder(config) is None


def test_a_killed_holder_leaves_no_lock(config):
    holder = _holder_process(config, 60)
    holder.kill()
    holder.wait()
    with locking.run_lock(config, "after the crash"):
        pass


def test_child_processes_of_the_holder_write_under_its_lock_and_strangers_do_not(config):
    write = (
        "from hm_utils import config, locking\n"
        f"cfg = config.load('ci', {{'paths.home': {str(config.home)!r}}})\n"
        "with locking.writing(cfg):\n"
        "    print('wrote')\n"
    )
    with locking.run_lock(config, "hm run"):
        child = subprocess.run([sys.executable, "-c", write], capture_output=True, text=True, check=False)
        assert child.stdout.strip() == "wrote", child.stderr
        stranger_env = {key: value for key, value in os.environ.items() if key != locking.TOKEN_VARIABLE}
        stranger = subprocess.run(
            [sys.executable, "-c", write], capture_output=True, text=True, check=False, env=stranger_env
        )
        assert stranger.returncode != 0 and "another run is writing to this engine home" in stranger.stderr


def test_threads_of_one_writer_share_its_hold(config):
    holds = []

    def write():
        with locking.writing(config):
            holds.append(locking.holder(config).pid)
            time.sleep(0.2)

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert holds == [os.getpid()] * 4
    assert locking.holder(config) is None
