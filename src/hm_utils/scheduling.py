"""Run interdependent table builds a few at a time, the most urgent first (silver and gold use it).

A build graph maps each build to the builds whose tables it reads. `run_in_dependency_order` starts
a build only after those, keeps up to `parallelism` running on a thread pool (one Spark Connect
session serves them side by side), and of the builds ready to start picks the one with the highest
priority. `urgency` is that priority: first the longest chain of builds that wait for a build, then
its input bytes plus the largest such figure among the builds that wait for it. So a chain of builds
(gold's dim_sku → usage facts → job runs → agg_daily_jobs) starts early, and a large build, with the
small ones it waits for, does not run alone at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from graphlib import TopologicalSorter
from typing import Any, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


def urgency(graph: dict[K, set[K]], sizes: dict[K, int]) -> dict[K, tuple[int, int]]:
    """Each build's priority: (the longest chain of builds waiting for it, its critical-path size), where the
    critical-path size is its own size plus the largest critical-path size among the builds that read it."""
    order = list(TopologicalSorter(graph).static_order())
    depth = dict.fromkeys(order, 0)
    size = dict.fromkeys(order, 0)
    for key in reversed(order):  # readers before what they read
        size[key] += sizes.get(key, 0)
        for dependency in graph.get(key, ()):
            depth[dependency] = max(depth[dependency], depth[key] + 1)
            size[dependency] = max(size[dependency], size[key])
    return {key: (depth[key], size[key]) for key in order}


def run_in_dependency_order(
    graph: dict[K, set[K]],
    work: Callable[[K], T],
    parallelism: int,
    priority: Callable[[K], Any],
    thread_name_prefix: str = "build",
) -> dict[K, T]:
    """`work(key)` for every key of `graph`, a key only after its dependencies, `parallelism` at a time;
    of the keys ready to start, the one with the highest `priority` first. A failing build's error is
    raised once the builds already running have finished."""
    sorter = TopologicalSorter(graph)
    sorter.prepare()
    slots = max(1, parallelism)
    results: dict[K, T] = {}
    ready: list[K] = []
    with ThreadPoolExecutor(max_workers=slots, thread_name_prefix=thread_name_prefix) as pool:
        running: dict[Future[T], K] = {}
        while sorter.is_active():
            ready = sorted([*ready, *sorter.get_ready()], key=priority)
            while ready and len(running) < slots:
                key = ready.pop()
                running[pool.submit(work, key)] = key
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                key = running.pop(future)
                results[key] = future.result()
                sorter.done(key)
    return results
