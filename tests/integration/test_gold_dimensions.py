"""Gold dimensions on tiny hand-made frames: SCD2 versions and the kind of a cluster."""

from __future__ import annotations

import pytest

from hm_utils.gold import dimensions

from .gold_frames import WS, clusters_dim, system_frame, ts

pytestmark = pytest.mark.engine


def test_scd2_versions_close_each_version_at_the_next_change(spark):
    rows = [
        {"workspace_id": WS, "job_id": "j1", "name": name, "change_time": ts(0, day=day)}
        for name, day in (("old", 1), ("renamed", 5), ("latest", 9))
    ]
    rows.append({"workspace_id": WS, "job_id": "j2", "name": "only", "change_time": ts(0, day=2)})
    dim = {
        (r.job_id, r.job_name): r
        for r in dimensions.dim_job_frame(system_frame(spark, "lakeflow.jobs", rows)).collect()
    }
    assert dim[("j1", "old")].valid_to == ts(0, day=5) and not dim[("j1", "old")].is_current
    assert dim[("j1", "renamed")].valid_to == ts(0, day=9)
    assert dim[("j1", "latest")].valid_to is None and dim[("j1", "latest")].is_current
    assert dim[("j2", "only")].is_current and dim[("j2", "only")].tags == {}


def test_cluster_kind_comes_from_cluster_source(spark):
    dim = {
        r.cluster_id: r
        for r in clusters_dim(
            spark, [("a", "UI"), ("b", "API"), ("c", "JOB"), ("d", "PIPELINE"), ("e", "SQL")]
        ).collect()
    }
    assert {k: (v.compute_kind, v.is_all_purpose) for k, v in dim.items()} == {
        "a": ("ALL_PURPOSE", True),
        "b": ("ALL_PURPOSE", True),
        "c": ("JOB", False),
        "d": ("PIPELINE", False),
        "e": ("OTHER", False),
    }
