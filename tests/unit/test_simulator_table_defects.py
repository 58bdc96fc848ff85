"""Table-level defects of the simulator (late source, volume drop, distribution shift): what the ground truth
says happened is what the tables show."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from hm_utils.simulator import SimulationOptions, simulate
from hm_utils.simulator.common import Window
from hm_utils.simulator.defects import LATE_SOURCE_HOURS, SHIFT_FACTOR, VOLUME_DROP_SHARE, late_source_outages


def _truth(folder, kind):
    frame = pd.read_parquet(folder / "_ground_truth" / "defects")
    return frame[frame.defect_type == kind]


def test_a_volume_drop_day_keeps_about_the_stated_share_of_its_weekday(default_account):
    folder, _ = default_account
    for drop in _truth(folder, "volume_drop").itertuples():
        schema, table = drop.table.split(".")
        frame = pd.read_parquet(folder / schema / table)
        column = "request_time" if table == "endpoint_usage" else "event_time"
        daily = frame.groupby(frame[column].dt.date).size()
        day = pd.Timestamp(drop.key_value).date()
        same_weekday = [
            daily.get(day - timedelta(weeks=k)) for k in (1, 2, 3) if day - timedelta(weeks=k) in daily.index
        ]
        same_weekday = sorted(same_weekday)[-2:]  # the usual days, whatever else happened on one of them
        if same_weekday:
            ratio = daily.get(day, 0) / (sum(same_weekday) / len(same_weekday))
            assert abs(ratio - (1 - VOLUME_DROP_SHARE)) < 0.2, (drop.table, day, ratio)


def test_a_distribution_shift_day_multiplies_produced_rows(default_account):
    folder, _ = default_account
    history = pd.read_parquet(folder / "query" / "history", columns=["start_time", "produced_rows"])
    median = history.groupby(history.start_time.dt.date).produced_rows.median()
    shifted = [pd.Timestamp(d).date() for d in _truth(folder, "distribution_shift").key_value]
    assert shifted
    for day in shifted:
        usual = median.drop(index=shifted, errors="ignore").median()
        assert median[day] > usual * SHIFT_FACTOR / 5


def test_a_late_source_holds_its_rows_until_the_outage_ends(tmp_path):
    base = SimulationOptions(
        workspaces=2, days=8, scale=0.002, seed=3, end=datetime(2026, 11, 30, 6, 0), incidents=False
    )
    table, start_us, end_us = late_source_outages(base, Window.from_options(base))[-1]
    start = datetime(1970, 1, 1) + timedelta(microseconds=start_us)
    during = SimulationOptions(**{**base.__dict__, "end": start + timedelta(hours=LATE_SOURCE_HOURS - 6)})
    simulate(tmp_path, during)
    schema, name = table.split(".")
    column = "request_time" if name == "endpoint_usage" else "event_time"
    held = pd.read_parquet(tmp_path / schema / name)[column].dt.tz_localize(None).max()
    assert (
        held < start and _truth(tmp_path, "late_source").key_value.str.startswith(start.strftime("%Y-%m-%dT%H")).any()
    )
    simulate(tmp_path, SimulationOptions(**{**base.__dict__, "end": start + timedelta(hours=LATE_SOURCE_HOURS + 3)}))
    assert pd.read_parquet(tmp_path / schema / name)[column].dt.tz_localize(None).max() > start + timedelta(
        hours=LATE_SOURCE_HOURS - 6
    )
