"""The benchmark's peak-memory sampler counts what the engine really holds."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from hm_utils.benchmark import PeakMemory

MB = 2**20


def _wait_for_peak(memory: PeakMemory, at_least: int, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while memory.peak_engine < at_least and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (Linux/macOS)")
def test_a_forked_helper_does_not_count_the_pages_it_shares_with_the_engine():
    ballast = bytearray(300 * MB)  # resident: every page written
    for offset in range(0, len(ballast), 4096):
        ballast[offset] = 1
    child = os.fork()
    if child == 0:  # the helper: shares the parent's pages, as a JVM fork before exec does
        time.sleep(3)
        os._exit(0)
    try:
        with PeakMemory(interval=0.05) as memory:
            memory.engine_pid = os.getpid()
            time.sleep(1.0)
        own = psutil.Process().memory_info().rss
        assert memory.peak_engine >= 300 * MB
        assert memory.peak_engine < own + 100 * MB  # an RSS sum would be about 2 x own
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        del ballast


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (Linux/macOS)")
def test_private_memory_of_a_child_process_counts():
    child = os.fork()
    if child == 0:  # a worker that allocates its own memory after the fork
        own = bytearray(200 * MB)
        for offset in range(0, len(own), 4096):
            own[offset] = 1
        time.sleep(5)
        os._exit(0)
    try:
        base = psutil.Process().memory_info().rss
        with PeakMemory(interval=0.05) as memory:
            memory.engine_pid = os.getpid()
            _wait_for_peak(memory, base + 190 * MB)
        assert memory.peak_engine >= base + 190 * MB
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
