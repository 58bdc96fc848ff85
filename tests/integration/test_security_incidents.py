"""The security incidents public detection packs alert on reach gold and the semantic layer of the ci account
whole: every permission change, secret read and temporary credential of a burst, by its user, in its hour
(ground truth written by the simulator)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from hm_utils import io, semantic, sources

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def latest(account, config) -> dict[str, dict]:
    """The latest incident of each type, with `details` parsed."""
    frame = pd.read_parquet(sources.simulated_folder(config) / "_ground_truth" / "incidents")
    rows = frame.sort_values("start_time").to_dict("records")
    return {row["incident_type"]: {**row, "details": json.loads(row["details"])} for row in rows}


def _events(spark, config, incident, condition: str):
    """fct_audit_events rows of the incident's user within its start and end, filtered by `condition`."""
    from pyspark.sql import functions as F

    return (
        io.read_table(spark, config, "gold.fct_audit_events")
        .where(F.col("user_email") == incident["details"]["user"])
        .where(F.col("event_time").between(F.lit(incident["start_time"]), F.lit(incident["end_time"])))
        .where(condition)
    )


def test_a_permission_change_burst_is_listed_change_by_change(spark, config, latest):
    burst = latest["permission_change_burst"]
    day = burst["start_time"].date()
    frame = semantic.call("get_permission_changes", spark=spark, config=config, start_date=day, end_date=day)
    mine = frame[(frame.changed_by == burst["details"]["user"]) & frame.event_time.between(
        burst["start_time"].tz_localize(None), burst["end_time"].tz_localize(None)
    )]  # fmt: skip
    assert len(mine) == burst["magnitude"] > 25 and set(mine.change_type) == {"permission"}


def test_a_secret_enumeration_reads_every_secret_once(spark, config, latest):
    enumeration = latest["secret_enumeration"]
    reads = _events(spark, config, enumeration, "action_name = 'getSecret'").select(
        "request_params.scope", "request_params.key"
    )
    assert reads.count() == reads.distinct().count() == enumeration["magnitude"] >= 10


def test_a_mass_securable_access_touches_every_table_once(spark, config, latest):
    access = latest["mass_securable_access"]
    credentials = _events(spark, config, access, "action_name = 'generateTemporaryTableCredential'")
    securables = credentials.select("securable_full_name").distinct()
    assert credentials.count() == securables.count() == access["magnitude"] > 20
