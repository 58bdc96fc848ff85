"""hm_utils.simulator: schemas, determinism, incidents with evidence, cross-table consistency."""

import json
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from hm_utils import system_schema as ss
from hm_utils.simulator import INCIDENT_TYPES, SimulationOptions, simulate
from hm_utils.simulator.defects import DRIFT_COLUMN

END = datetime(2026, 11, 25, 6, 0)
BASE = dict(workspaces=2, days=21, end=END, seed=7, scale=0.002)


def read(out, key):
    schema, table = key.split(".", 1)
    return ds.dataset(out / schema / table, format="parquet").to_table()


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    summary = simulate(out, SimulationOptions(**BASE))
    return out, summary


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    out = tmp_path_factory.mktemp("clean")
    simulate(out, SimulationOptions(**{**BASE, "defects": False}))
    return out


def simple_strings(table: pa.Table) -> dict[str, str]:
    return {f.name: ss.arrow_to_spark_simple(f.type) for f in table.schema}


@pytest.mark.parametrize("key", ss.SYSTEM_TABLES)
def test_schema_equals_reference_without_defects(clean, key):
    assert simple_strings(read(clean, key)) == ss.spark_simple_string(key)


@pytest.mark.parametrize("key", ss.SYSTEM_TABLES)
def test_schema_with_defects_only_adds_the_drift_column(sim, key):
    got = simple_strings(read(sim[0], key))
    expected = ss.spark_simple_string(key)
    if key == "query.history":
        assert list(got)[-1] == DRIFT_COLUMN
        got.pop(DRIFT_COLUMN)
    assert got == expected and list(got) == list(expected)


def test_summary_counts_rows(sim):
    out, summary = sim
    assert summary.rows["billing.usage"] == read(out, "billing.usage").num_rows > 0
    assert summary.incidents == read(out, "_ground_truth.incidents").num_rows


def test_deterministic(tmp_path):
    opts = SimulationOptions(**{**BASE, "days": 5})
    simulate(tmp_path / "a", opts)
    simulate(tmp_path / "b", opts)
    for key in [*ss.SYSTEM_TABLES, "_ground_truth.incidents", "_ground_truth.defects"]:
        assert read(tmp_path / "a", key).equals(read(tmp_path / "b", key)), key


def incidents(out):
    """The latest incident of each type (records are sorted by id: type, then start)."""
    table = read(out, "_ground_truth.incidents").to_pylist()
    return {r["incident_type"]: r for r in sorted(table, key=lambda r: r["incident_id"])}


def test_every_incident_type_inside_window_and_the_weekly_ones_in_the_last_week(sim):
    found = incidents(sim[0])
    # a user active in 5+ workspaces needs 5 workspaces: this account has 2
    assert set(found) == set(INCIDENT_TYPES) - {"cross_workspace_activity"}
    start = (END - timedelta(days=BASE["days"] - 1)).date()
    for kind, record in found.items():
        assert start <= record["start_time"].date() <= END.date(), kind
        assert record["start_time"].replace(tzinfo=None) <= END, kind
    week = END - timedelta(days=7)
    for kind in ("brute_force_login", "admin_privilege_grant", "mass_download", "failure_streak"):
        assert found[kind]["start_time"].replace(tzinfo=None) >= week, kind


def test_failure_streak_runs_fail_on_final_slice_and_cost_matches(sim):
    out = sim[0]
    record = incidents(out)["failure_streak"]
    details = json.loads(record["details"])
    runs = read(out, "lakeflow.job_run_timeline").to_pandas()
    final = runs[runs.run_id.isin(details["run_ids"]) & runs.result_state.notna()]
    assert len(details["run_ids"]) >= 3
    assert set(final.run_id) == set(details["run_ids"])
    assert (final.result_state == "FAILED").all() and (final.termination_code == "DRIVER_ERROR").all()
    usage = read(out, "billing.usage").to_pandas()
    prices = read(out, "billing.list_prices").to_pandas()
    mine = usage[usage.usage_metadata.map(lambda m: m["job_run_id"] in details["run_ids"])]
    cost = Decimal(0)
    for _, row in mine.iterrows():
        p = prices[
            (prices.sku_name == row.sku_name)
            & (prices.price_start_time <= row.usage_start_time)
            & (prices.price_end_time.isna() | (prices.price_end_time >= row.usage_end_time))
        ]
        assert len(p) == 1
        cost += row.usage_quantity * p.iloc[0].pricing["default"]
    if datetime.fromisoformat(details["cost_final_at"]) <= END:  # every usage row of the runs has arrived
        assert float(cost) == pytest.approx(details["list_cost_usd"], abs=1e-6)
        assert float(mine.usage_quantity.sum()) == pytest.approx(details["total_dbus"])
    else:
        assert float(mine.usage_quantity.sum()) <= details["total_dbus"] + 1e-9


def test_brute_force_and_mass_download_evidence(sim):
    out = sim[0]
    found = incidents(out)
    audit = read(out, "access.audit").to_pandas()
    bf = json.loads(found["brute_force_login"]["details"])
    hits = audit[(audit.source_ip_address == bf["source_ip"])]
    assert len(hits) >= 30
    assert hits.action_name.isin(["login", "tokenLogin", "samlLogin", "oidcBrowserLogin"]).all()
    assert hits.response.map(lambda r: r["status_code"] in (401, 403)).all()
    assert hits.event_time.max() - hits.event_time.min() < np.timedelta64(1, "h")
    dl = json.loads(found["mass_download"]["details"])
    user_dl = audit[audit.user_identity.map(lambda u: u["email"] == dl["user"]) & audit.action_name.isin(dl["actions"])]
    per_hour = user_dl.groupby(user_dl.event_time.dt.floor("h")).size()
    assert per_hour.max() >= 100
    grant = audit[audit.request_params.map(lambda p: dict(p or []).get("targetGroupName") == "admins")]
    assert len(grant) >= 1 and (grant.audit_level == "ACCOUNT_LEVEL").all() and (grant.workspace_id == "0").all()


def test_cost_spike_is_several_times_median(sim):
    record = incidents(sim[0])["cost_spike"]
    assert record["magnitude"] >= 3


def test_cluster_queueing_runaway_regression_stale_evidence(sim):
    out = sim[0]
    found = incidents(out)
    assert found["idle_cluster"]["magnitude"] < 8
    assert found["oversized_cluster"]["magnitude"] < 15
    clusters = read(out, "compute.clusters").to_pandas()
    big = clusters[clusters.cluster_id == found["oversized_cluster"]["entity_id"]]
    assert big.worker_count.max() == json.loads(found["oversized_cluster"]["details"])["workers"]
    assert found["runaway_job"]["magnitude"] >= 10
    assert found["duration_regression"]["magnitude"] >= 2
    assert found["stale_table"]["magnitude"] >= 5
    history = read(out, "query.history").to_pandas()
    queued = history[history.compute.map(lambda c: c["warehouse_id"]) == found["warehouse_queueing"]["entity_id"]]
    assert (queued.waiting_at_capacity_duration_ms >= 60_000).sum() >= 30


def test_a_stale_table_is_not_written_while_its_job_is_paused(sim):
    """Not by its schedule and not by a manual run: the ground truth says the table went unwritten."""
    out = sim[0]
    lineage = read(out, "access.table_lineage").to_pandas()
    stale = [r for r in read(out, "_ground_truth.incidents").to_pylist() if r["incident_type"] == "stale_table"]
    assert stale
    for record in stale:
        written = lineage[
            (lineage.target_table_full_name == record["entity_id"])
            & (lineage.event_time > record["start_time"])
            & (lineage.event_time < record["end_time"])
        ]
        assert written.empty, record["entity_id"]


def test_cross_table_consistency(clean):
    usage = read(clean, "billing.usage")
    meta = usage["usage_metadata"].combine_chunks()
    run_ids = set(pc.drop_null(meta.field("job_run_id")).to_pylist())
    timeline = read(clean, "lakeflow.job_run_timeline")
    assert run_ids and run_ids <= set(timeline["run_id"].to_pylist())
    assert pc.all(pc.is_valid(pc.drop_null(meta.field("job_id")))).as_py()
    warehouses = set(read(clean, "compute.warehouses")["warehouse_id"].to_pylist())
    history = read(clean, "query.history")
    assert set(pc.drop_null(history["compute"].combine_chunks().field("warehouse_id")).to_pylist()) <= warehouses
    assert set(pc.drop_null(meta.field("warehouse_id")).to_pylist()) <= warehouses
    clusters = set(read(clean, "compute.clusters")["cluster_id"].to_pylist())
    assert set(pc.drop_null(meta.field("cluster_id")).to_pylist()) <= clusters
    assert set(read(clean, "compute.node_timeline")["cluster_id"].to_pylist()) <= clusters
    lineage = read(clean, "access.table_lineage")
    statements = set(pc.drop_null(lineage["statement_id"]).to_pylist())
    assert statements and statements <= set(history["statement_id"].to_pylist())
    skus = set(read(clean, "billing.list_prices")["sku_name"].to_pylist())
    assert set(usage["sku_name"].to_pylist()) <= skus


def test_result_state_only_on_final_slices(clean):
    df = read(clean, "lakeflow.job_run_timeline").to_pandas().sort_values(["run_id", "period_start_time"])
    assert (df.period_end_time >= df.period_start_time).all()
    assert (df.period_end_time - df.period_start_time <= np.timedelta64(1, "h")).all()
    terminal = df.result_state.notna()
    assert (terminal == df.termination_code.notna()).all()
    nxt = df.groupby("run_id").period_start_time.shift(-1)
    inner = nxt.notna() & (nxt == df.period_end_time)  # a slice followed directly by another of the run
    assert not (terminal & inner).any()
    repaired = df[terminal].groupby("run_id").size()
    assert (repaired > 1).any(), "some runs are repaired (several terminal rows)"
    assert (df.trigger_type == "ONETIME_RETRY").any()


def test_corrections_negate_originals(clean):
    df = read(clean, "billing.usage").to_pandas()
    assert df.record_id.is_unique
    retractions = df[df.record_type == "RETRACTION"]
    assert len(retractions) > 0
    originals = df[df.record_type == "ORIGINAL"]
    keys = ["workspace_id", "sku_name", "usage_start_time"]
    merged = retractions.merge(originals, on=keys, suffixes=("_r", "_o"))
    matched = merged[merged.usage_quantity_r == -merged.usage_quantity_o]
    assert len(matched.drop_duplicates("record_id_r")) == len(retractions)
    assert (matched.ingestion_date_r > matched.ingestion_date_o).all()
    assert (df.usage_quantity.map(lambda q: q.as_tuple().exponent >= -18)).all()


def test_extending_the_end_keeps_earlier_originals(tmp_path):
    opts = dict(BASE, days=6, incidents=False, defects=False)
    simulate(tmp_path / "a", SimulationOptions(**opts))
    simulate(tmp_path / "b", SimulationOptions(**{**opts, "days": 7, "end": END + timedelta(days=1)}))
    a = read(tmp_path / "a", "billing.usage").to_pandas()
    b = read(tmp_path / "b", "billing.usage").to_pandas()
    a = a[a.record_type == "ORIGINAL"].set_index("record_id").sort_index()
    b = b[b.record_id.isin(a.index)].set_index("record_id").sort_index()
    assert len(a) > 0 and list(a.index) == list(b.index)
    assert (a.usage_quantity == b.usage_quantity).all()


def test_defect_ground_truth(sim):
    defects = read(sim[0], "_ground_truth.defects").to_pandas()
    assert {"duplicate_row", "null_key", "negative_duration", "unknown_sku", "schema_drift", "malformed_struct"} <= set(
        defects.defect_type
    )
    usage = read(sim[0], "billing.usage")
    assert usage["record_id"].null_count == (defects.defect_type == "null_key").sum() >= 1
    history = read(sim[0], "query.history")
    assert pc.min(history["total_duration_ms"]).as_py() < 0


def test_unique_keys_are_unique_without_defects(tmp_path):
    """record_id / event_id / statement_id identify one row each (the pipeline deduplicates on them)."""
    import pyarrow.parquet as pq

    from hm_utils.simulator import SimulationOptions, simulate

    simulate(tmp_path, SimulationOptions(workspaces=10, days=1, scale=0.3, seed=5, defects=False, end=END))
    for folder, key in [
        ("billing/usage", "record_id"),
        ("access/table_lineage", "record_id"),
        ("access/column_lineage", "record_id"),
        ("access/audit", "event_id"),
        ("query/history", "statement_id"),
    ]:
        ids = pq.read_table(tmp_path / folder, columns=[key]).column(key).to_pylist()
        assert len(ids) == len(set(ids)), f"{folder}.{key} repeats"


def test_the_next_day_appends_exactly_what_a_fresh_account_shows(tmp_path):
    """Simulating a day later appends only the rows that became visible since (late rows and corrections
    included): the appended folder and a folder written whole at the later end hold the same rows."""
    opts = dict(BASE, days=5)
    simulate(tmp_path / "a", SimulationOptions(**opts))
    before = {key: read(tmp_path / "a", key) for key in ("billing.usage", "_ground_truth.incidents")}
    later = SimulationOptions(**{**opts, "end": END + timedelta(days=1)})
    summary = simulate(tmp_path / "a", later)
    assert summary.appended_after == END
    simulate(tmp_path / "b", SimulationOptions(**{**opts, "days": 6, "end": END + timedelta(days=1)}))
    for key in [
        "billing.usage",
        "access.audit",
        "lakeflow.job_run_timeline",
        "compute.clusters",
        "_ground_truth.incidents",
    ]:
        a, b = read(tmp_path / "a", key), read(tmp_path / "b", key)
        sort = [(name, "ascending") for name in a.schema.names if not pa.types.is_nested(a.schema.field(name).type)]
        assert a.sort_by(sort).equals(b.sort_by(sort)), key
    usage = read(tmp_path / "a", "billing.usage")
    old_ids = set(before["billing.usage"]["record_id"].to_pylist())
    assert old_ids <= set(usage["record_id"].to_pylist())
    assert set(before["_ground_truth.incidents"]["incident_id"].to_pylist()) <= set(
        read(tmp_path / "a", "_ground_truth.incidents")["incident_id"].to_pylist()
    )
