"""The benchmark measures comparable days, and its peak-memory sampler counts what the engine really holds.

The "engine" here is a small Python process started by the test (the test process itself may have
other children, such as the local Spark engine of the session).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date

import psutil
import pytest

from hm_utils.benchmark import PeakMemory, latest_working_day

MB = 2**20

_ENGINE = """
import os, sys, time
ballast = bytearray(int(sys.argv[1]) * 2**20)
for offset in range(0, len(ballast), 4096):
    ballast[offset] = 1  # resident
child = os.fork()
if child == 0:
    if sys.argv[2] == "private":  # a worker with memory of its own
        own = bytearray(200 * 2**20)
        for offset in range(0, len(own), 4096):
            own[offset] = 1
    time.sleep(30)  # "shared": a helper that only shares the parent's pages, as a JVM fork before exec does
    os._exit(0)
print("ready", flush=True)
time.sleep(30)
"""


def _start_engine(ballast_mb: int, child_kind: str) -> subprocess.Popen:
    engine = subprocess.Popen(
        [sys.executable, "-c", _ENGINE, str(ballast_mb), child_kind], stdout=subprocess.PIPE, text=True
    )
    assert engine.stdout.readline().strip() == "ready"
    return engine


def _stop(engine: subprocess.Popen) -> None:
    for process in psutil.Process(engine.pid).children(recursive=True):
        process.kill()
    engine.kill()
    engine.wait()


def _peak(engine: subprocess.Popen, at_least: int, seconds: float = 5.0) -> int:
    with PeakMemory(interval=0.05) as memory:
        memory.engine_pid = engine.pid
        deadline = time.monotonic() + seconds
        while memory.peak_engine < at_least and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
    return memory.peak_engine


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (Linux/macOS)")
def test_a_forked_helper_does_not_count_the_pages_it_shares_with_the_engine():
    engine = _start_engine(300, "shared")
    try:
        rss = psutil.Process(engine.pid).memory_info().rss
        peak = _peak(engine, 300 * MB)
        assert peak >= 300 * MB
        assert peak < rss + 100 * MB  # the sum of RSS would be about 2 x rss
    finally:
        _stop(engine)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (Linux/macOS)")
def test_private_memory_of_a_child_process_counts():
    engine = _start_engine(50, "private")
    try:
        rss = psutil.Process(engine.pid).memory_info().rss
        peak = _peak(engine, rss + 190 * MB)
        assert peak >= rss + 190 * MB
    finally:
        _stop(engine)


def test_peaks_are_also_kept_for_the_step_that_was_running():
    engine = _start_engine(300, "shared")
    try:
        with PeakMemory(interval=0.05) as memory:
            memory.step = "before"
            time.sleep(0.3)
            memory.step, memory.engine_pid = "during", engine.pid
            time.sleep(0.5)
        assert memory.by_step["before"]["engine"] == 0
        assert memory.by_step["during"]["engine"] >= 300 * MB
        assert memory.by_step["during"]["engine"] == memory.peak_engine
        assert max(peaks["client"] for peaks in memory.by_step.values()) == memory.peak_client
    finally:
        _stop(engine)


@pytest.mark.parametrize(
    ("today", "simulated"),
    [
        (date(2026, 11, 28), date(2026, 11, 27)),  # Saturday: Friday, as on any weekday
        (date(2026, 11, 29), date(2026, 11, 27)),  # Sunday: Friday, not the quiet Saturday
        (date(2026, 11, 30), date(2026, 11, 27)),  # Monday: Friday, not Sunday
        (date(2026, 12, 2), date(2026, 12, 1)),  # Wednesday: Tuesday
    ],
)
def test_bench_simulates_the_latest_working_day(today, simulated):
    assert latest_working_day(today) == simulated
