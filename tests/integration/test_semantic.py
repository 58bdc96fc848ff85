"""The semantic layer on the simulated ci account: every function and view runs, and the injected incidents
show up where they should (ground truth written by the simulator)."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest

from hm_utils import clock, semantic, sources, tables
from hm_utils.semantic import assets, genie, query

pytestmark = [pytest.mark.engine, pytest.mark.calendar]


def _incidents(config) -> list[dict]:
    """Every injected incident, oldest first, with `details` parsed and dates as `date`."""
    frame = pd.read_parquet(sources.simulated_folder(config) / "_ground_truth" / "incidents")
    rows = frame.sort_values("start_time").to_dict("records")
    for row in rows:
        row["details"] = json.loads(row["details"] or "{}")
        row["start_date"] = pd.Timestamp(row["start_time"]).date()
        row["end_date"] = pd.Timestamp(row["end_time"]).date()
    return rows


@pytest.fixture(scope="module")
def truth(account, config):
    """The latest injected incident of each type (a type recurs; the latest is the one the functions'
    default periods up to now see)."""
    return {row["incident_type"]: row for row in _incidents(config)}


@pytest.fixture(scope="module")
def call(account, spark, config):
    def run(name, **params):
        return semantic.call(name, spark=spark, config=config, **params)

    return run


def test_deploy_created_everything_and_a_second_deploy_changes_nothing(account, spark, config):
    first = account["semantic"]
    wanted = set(assets.function_names()) | set(assets.metric_view_names())
    assert set(first.created + first.changed + first.unchanged) == wanted
    again = semantic.deploy(spark, config, "test-redeploy")
    assert set(again.unchanged) == wanted and not again.created and not again.changed and not again.removed


@pytest.mark.parametrize("name", assets.function_names())
def test_every_function_runs_with_its_defaults_and_returns_its_declared_columns(call, config, name):
    frame = call(name)
    assert list(frame.columns) == [c.name for c in assets.function_spec(config, name).columns]
    if query.ORDER_COLUMN in frame.columns and len(frame):
        assert list(frame[query.ORDER_COLUMN]) == list(range(1, len(frame) + 1))


@pytest.mark.parametrize("name", assets.function_names())
def test_every_parameter_and_column_comment_is_readable_back(spark, config, name):
    text = "\n".join(spark.sql(f"describe function extended {assets.qualified(config, name)}").toPandas().iloc[:, 0])
    spec = assets.function_spec(config, name)
    assert f"Comment:       {spec.comment}" in text or spec.comment in text
    for item in (*spec.params, *spec.columns):
        assert f"'{item.comment}'" in text, f"{name}: comment of {item.name} not stored"


def test_acceptance_query_lists_the_failure_streak(account, spark, config, truth):
    streak = truth["failure_streak"]
    frame = spark.sql(
        f"select * from {assets.qualified(config, 'get_failed_jobs')}({clock.sql_today(config)} - interval 7 days, {clock.sql_today(config)})"
    ).toPandas()
    row = frame[frame.job_id == streak["entity_id"]]
    assert len(row) == 1
    assert int(row.max_consecutive_failures.iloc[0]) >= streak["magnitude"]
    assert streak["details"]["termination_code"] in row.termination_codes.iloc[0]


def test_brute_force_burst_in_failed_logins(call, truth):
    burst = truth["brute_force_login"]
    frame = call("get_failed_logins", start_date=burst["start_date"] - timedelta(days=1))
    top = frame.iloc[0]
    assert top.user_email == burst["details"]["user"] and top.source_ip_address == burst["details"]["source_ip"]
    assert top.failed_logins >= burst["magnitude"]
    ips = call("get_access_by_ip", start_date=burst["start_date"] - timedelta(days=1))
    assert ips.iloc[0].source_ip_address == burst["details"]["source_ip"]


def test_cost_spike_in_cost_anomalies(call, truth):
    spike = truth["cost_spike"]
    frame = call("get_cost_anomalies", start_date=spike["start_date"] - timedelta(days=3), end_date=spike["end_date"])
    hit = frame[
        (frame.workspace_id == spike["workspace_id"])
        & (frame.sku_name == spike["entity_id"])
        & (frame.usage_date == spike["start_date"])
    ]
    assert len(hit) == 1 and hit.ratio_to_baseline.iloc[0] > 2


def test_admin_grant_in_permission_changes_and_off_hours(call, truth):
    grant = truth["admin_privilege_grant"]
    frame = call("get_permission_changes", start_date=grant["start_date"], end_date=grant["end_date"], admin_only=True)
    of_target = frame[frame.target == grant["entity_id"]]
    granted = of_target[of_target.is_admins_group]
    assert set(grant["details"]["actions"]) <= set(granted.action_name)
    assert granted.is_off_hours.all() and set(granted.changed_by) == {grant["details"]["granted_by"]}
    # the target's other changes that day, if any, are routine group memberships: never admin rights
    routine = of_target[~of_target.is_admins_group]
    assert routine.action_name.isin(["addPrincipalToGroup", "removePrincipalFromGroup"]).all()
    off = call("get_off_hours_access", start_date=grant["start_date"], end_date=grant["end_date"])
    actor = off[off.user_email == grant["details"]["granted_by"]]
    assert len(actor) and actor.sensitive_off_hours_events.sum() >= 2


def test_mass_download_in_download_activity(call, truth):
    burst = truth["mass_download"]
    frame = call("get_download_activity", start_date=burst["start_date"], end_date=burst["end_date"])
    assert frame.iloc[0].user_email == burst["details"]["user"]
    assert frame.iloc[0].downloads >= burst["magnitude"]


def test_secret_enumeration_in_secret_access(call, truth):
    burst = truth["secret_enumeration"]
    frame = call("get_secret_access", start_date=burst["start_date"], end_date=burst["end_date"])
    assert list(frame.user_email) == [burst["details"]["user"]], "routine reads stay below 10 secrets an hour"
    assert frame.iloc[0].distinct_secrets == burst["magnitude"] and frame.iloc[0].workspace_id == burst["workspace_id"]


def test_mass_securable_access_in_temporary_credentials(call, truth):
    burst = truth["mass_securable_access"]
    frame = call("get_temporary_credentials", start_date=burst["start_date"], end_date=burst["end_date"])
    assert list(frame.user_email) == [burst["details"]["user"]], "routine credentials stay below 20 tables an hour"
    assert frame.iloc[0].distinct_securables == burst["magnitude"]


def test_idle_and_oversized_clusters(call, truth):
    idle, over = truth["idle_cluster"], truth["oversized_cluster"]
    frame = call("get_idle_clusters", start_date=idle["start_date"], end_date=idle["end_date"])
    row = frame[frame.cluster_id == idle["entity_id"]]
    assert len(row) == 1 and row.severity.iloc[0] == "critical" and row.idle_share.iloc[0] > 0.8
    frame = call("get_oversized_clusters", start_date=over["start_date"], end_date=over["end_date"])
    assert frame.iloc[0].cluster_id == over["entity_id"]
    assert frame.iloc[0].max_workers >= over["details"]["workers"] and frame.iloc[0].suggested_workers < 8


def test_warehouse_queueing(call, truth):
    queue = truth["warehouse_queueing"]
    frame = call(
        "get_warehouse_queueing", start_date=queue["start_date"] - timedelta(days=2), end_date=queue["end_date"]
    )
    top = frame.iloc[0]
    assert top.warehouse_id == queue["entity_id"] and top.query_date == queue["start_date"] and top.is_queueing
    assert top.queued_statements >= queue["details"]["queued_statements"]


def test_duration_regression(call, truth):
    regression = truth["duration_regression"]
    frame = call("get_duration_regressions")
    row = frame[frame.job_id == regression["entity_id"]]
    assert len(row) == 1 and row.ratio.iloc[0] >= 1.5


def test_runaway_run_in_slow_jobs_and_sla_breaches(call, truth):
    runaway = truth["runaway_job"]
    start = runaway["start_date"] - timedelta(days=1)
    slow = call("get_slow_jobs", start_date=start)
    assert slow.iloc[0].job_id == runaway["entity_id"] and slow.iloc[0].longest_run_id == runaway["details"]["run_id"]
    # the runaway ran in one attempt: its running time is its wall-clock time
    assert slow.iloc[0].longest_active_run_id == runaway["details"]["run_id"]
    assert slow.iloc[0].max_active_minutes == pytest.approx(runaway["magnitude"] * 60, abs=1)
    breaches = call("get_sla_breaches", start_date=start)
    assert breaches.iloc[0].run_id == runaway["details"]["run_id"] and breaches.iloc[0].target_source == "default"


def test_stale_table_in_table_freshness(call, config):
    """The tables of the incidents still going on now (they may overlap) are stale for as long as they
    have not been written, once that is well past their usual interval (three days for a daily writer)."""
    now = pd.Timestamp(clock.now(config), tz="UTC")
    ongoing = [
        row
        for row in _incidents(config)
        if row["incident_type"] == "stale_table"
        and row["start_time"] <= now - pd.Timedelta(days=3)
        and now < row["end_time"]
    ]
    frame = call("get_table_freshness", only_stale=True)
    assert ongoing, "a stale-table incident lasts longer than its period: one is always going on"
    for stale in ongoing:
        row = frame[frame.table_full_name == stale["entity_id"]]
        assert len(row) == 1 and row.writer_job_id.iloc[0] == stale["details"]["job_id"]
        unwritten_hours = (now - stale["start_time"]).total_seconds() / 3600
        assert row.hours_since_last_write.iloc[0] >= unwritten_hours - 24
    everything = call("get_table_freshness")
    assert len(everything) > len(frame) and not everything[~everything.is_stale].empty


def test_a_table_written_on_weekdays_only_is_not_stale_over_the_weekend(call, spark, config):
    """A weekday-only writer (run by hand on a weekend now and then) leaves its table unwritten from Friday to
    Monday: its rhythm, not staleness. On the last Sunday of the account those tables get a weekend more before
    they count as stale."""
    now = clock.now(config).date()
    sunday = now - timedelta(days=(now.weekday() + 1) % 7 or 7)
    start = sunday - timedelta(days=30)
    weekday_tables = query.fetch(
        spark,
        f"select target_table_full_name as table_full_name "
        f"from {tables.full_name(config, 'gold.fct_table_lineage')} "
        f"where is_write and job_id is not null and event_date between '{start}' and '{sunday}' "
        f"group by target_table_full_name "
        f"having count(distinct event_date) >= 10 "
        f"and 10 * count(distinct case when dayofweek(event_date) in (1, 7) then event_date end) "
        f"<= count(distinct event_date)",
        {},
    ).table_full_name
    frame = call("get_table_freshness", start_date=start, end_date=sunday)
    rows = frame[frame.table_full_name.isin(set(weekday_tables))]
    assert not rows.empty, "the account has jobs that run on weekdays only"
    expected = (3 * rows.usual_interval_hours).clip(lower=36) + 48
    assert list(rows.stale_threshold_hours) == pytest.approx(list(expected))
    assert not rows.is_stale.any(), rows[rows.is_stale][["table_full_name", "hours_since_last_write"]]


def test_incident_timeline_and_mttr_see_the_streak_and_the_burst(call, truth):
    streak, burst, download = truth["failure_streak"], truth["brute_force_login"], truth["mass_download"]
    timeline = call("get_incident_timeline", start_date=min(streak["start_date"], download["start_date"]))
    assert {"job_failure", "failed_login_burst", "admin_change", "download_burst"} <= set(timeline.category)
    assert burst["entity_id"] in set(timeline[timeline.category == "failed_login_burst"].entity_id)
    assert streak["entity_id"] in set(timeline[timeline.category == "job_failure"].entity_id)
    mttr = call("get_mttr")
    row = mttr[mttr.job_id == streak["entity_id"]]
    assert len(row) == 1 and row.failed_runs.iloc[0] >= streak["magnitude"]


def test_injection_is_a_value(call):
    everyone = call("get_failed_jobs", start_date="2000-01-01")
    assert len(everyone) > 0
    assert call("get_failed_jobs", start_date="2000-01-01", workspace="x' OR 1=1 --").empty
    assert call("get_identity_activity", identity="' OR ''='").empty


def test_workspace_filter_takes_an_id_or_a_name_and_costs_nothing_when_omitted(call, spark, config):
    workspaces = spark.sql(
        f"select workspace_id, workspace_name from {tables.full_name(config, 'gold.dim_workspace')} where is_current"
    ).collect()
    everyone = call("get_sku_cost_breakdown", start_date="2000-01-01")
    per_workspace = [call("get_sku_cost_breakdown", start_date="2000-01-01", workspace=w[0]) for w in workspaces]
    total = sum(float(frame["list_cost"].sum()) for frame in per_workspace)
    assert total == pytest.approx(float(everyone["list_cost"].sum()), abs=1e-4) and total > 0
    by_name = call("get_sku_cost_breakdown", start_date="2000-01-01", workspace=workspaces[0][1])
    pd.testing.assert_frame_equal(by_name, per_workspace[0])
    # the join that resolves a workspace name drops out of the plan when no workspace is given
    call_sql, args = query.call_sql("get_sku_cost_breakdown", config)
    plan = spark.sql(f"explain {call_sql}", args=args).collect()[0][0]
    filtered_sql, filtered_args = query.call_sql("get_sku_cost_breakdown", config, workspace=workspaces[0][1])
    filtered_plan = spark.sql(f"explain {filtered_sql}", args=filtered_args).collect()[0][0]
    assert "dim_workspace" not in plan and "dim_workspace" in filtered_plan


def test_fetch_binds_values_and_leaves_analysis_to_the_one_execution(spark):
    relation = query._lazy_sql(spark, "select * from hm_no_such_schema.hm_no_such_table", {})
    assert relation is not None, "on Spark Connect the call is built without a first round trip"
    with pytest.raises(Exception, match="TABLE_OR_VIEW_NOT_FOUND"):  # the error comes with the execution
        relation.toPandas()
    rows = query.fetch(spark, "select :value as value, :day as day", {"value": "x' OR 1=1 --", "day": 3})
    assert rows.to_dict("records") == [{"value": "x' OR 1=1 --", "day": 3}]


def test_fetch_falls_back_to_spark_sql_when_the_connect_plan_class_differs(spark, monkeypatch):
    import pyspark.sql.connect.plan as plan

    class OtherSQL:  # a client release whose SQL relation takes other arguments
        def __init__(self, query: str) -> None:
            self.query = query

    monkeypatch.setattr(plan, "SQL", lambda *args: OtherSQL(*args))
    assert query._lazy_sql(spark, "select 1", {}) is None
    assert query.fetch(spark, "select :day as day", {"day": 3}).to_dict("records") == [{"day": 3}]


def test_a_changed_signature_redeploys(spark, config, tmp_path, monkeypatch):
    """Deploy into a scratch semantic and ops schema: create, change the parameters, redeploy, call."""
    scratch = config.with_overrides({"schemas.semantic": "hm_semantic_sigtest", "schemas.ops": "hm_ops_sigtest"})
    functions, views = tmp_path / "functions", tmp_path / "views"
    functions.mkdir(), views.mkdir()
    monkeypatch.setattr(assets, "FUNCTIONS_DIR", functions)
    monkeypatch.setattr(assets, "METRIC_VIEWS_DIR", views)
    header = "create or replace function {semantic}.get_probe("
    body = ") returns table (n bigint comment 'n') comment 'probe' return select count(*) as n from {gold.dim_date} where {cond}"
    (functions / "get_probe.sql").write_text(
        header + "y int default 2000 comment 'year'" + body.replace("{cond}", "year >= y")
    )
    try:
        assert semantic.deploy(spark, scratch, "sig-1").created == ["get_probe"]
        assert semantic.deploy(spark, scratch, "sig-2").unchanged == ["get_probe"]
        (functions / "get_probe.sql").write_text(
            header
            + "y int default 2000 comment 'year', m int default 13 comment 'month'"
            + body.replace("{cond}", "year >= y and month < m")
        )
        assert semantic.deploy(spark, scratch, "sig-3").changed == ["get_probe"]
        assert semantic.call("get_probe", spark=spark, config=scratch, y=1900, m=1).n.iloc[0] == 0
        (functions / "get_probe.sql").unlink()
        assert semantic.deploy(spark, scratch, "sig-4").removed == ["get_probe"]
        assert not spark.catalog.functionExists(assets.qualified(scratch, "get_probe"))
    finally:
        spark.sql("drop schema if exists spark_catalog.hm_semantic_sigtest cascade")
        spark.sql("drop schema if exists spark_catalog.hm_ops_sigtest cascade")


@pytest.mark.parametrize("name", assets.metric_view_names())
def test_every_metric_view_answers_all_its_measures(account, spark, config, name):
    """With rows, except a view over the MLflow runs: no model is trained on the test account
    (test_monitoring_account.py asks those views with a trained model)."""
    spec = assets.metric_view_spec(config, name)
    dims, measures = assets.metric_view_fields(spec)
    frame = semantic.metric(name, measures, [dims[0]], spark=spark, config=config)
    over_models = spec["source"] == tables.full_name(config, "ops.mlflow_runs")
    assert list(frame.columns) == [dims[0], *measures] and (len(frame) > 0 or over_models)


def test_metric_views_see_the_incidents(account, spark, config, truth):
    burst, streak = truth["brute_force_login"], truth["failure_streak"]
    daily = semantic.metric(
        "mv_security_daily",
        ["failed_logins"],
        ["event_date"],
        {"event_date": burst["start_date"]},
        spark=spark,
        config=config,
    )
    assert daily.failed_logins.iloc[0] >= burst["magnitude"]
    runs = semantic.metric(
        "mv_job_runs",
        ["failed_runs"],
        ["job_id"],
        {"job_id": streak["entity_id"], "run_date": streak["start_date"]},
        spark=spark,
        config=config,
    )
    assert runs.failed_runs.iloc[0] >= streak["magnitude"]
    assert semantic.metric(
        "mv_cost_daily",
        ["total_list_cost"],
        ["workspace_name"],
        {"workspace_name": "x' OR 1=1 --"},
        spark=spark,
        config=config,
    ).empty


def test_the_metric_view_select_works_in_plain_sql(account, spark, config):
    frame = spark.sql(
        f"select workspace_name, measure(total_list_cost) from {assets.qualified(config, 'mv_cost_daily')} group by all"
    ).toPandas()
    assert len(frame) >= 2 and frame.iloc[:, 1].astype(float).sum() > 0


@pytest.mark.parametrize("domain", [d for d in genie.space_names() if genie.load_space(d)["status"] == "active"])
def test_every_genie_example_answers_on_its_asset(account, spark, config, domain):
    """Each example runs and returns rows on the simulated account: an empty answer teaches Genie nothing.
    The exceptions: a question about more workspaces than this account has (lateral movement needs 5 workspaces,
    the default account's incident has them; the test account has 2); examples about trained models
    (`requires_models`: tests/integration/test_monitoring_account.py runs them with one model and with none);
    examples whose healthy answer is "nothing" (`empty_when` says when) must run but may be empty."""

    def needs_more_workspaces(example):
        wanted = int(example.get("args", {}).get("min_workspaces", 5))  # the function's default threshold
        return example.get("function") == "get_cross_workspace_activity" and wanted > config.get(
            "simulation.workspaces"
        )

    empty = [
        example["question"]
        for example in genie.load_space(domain)["examples"]
        if spark.sql(genie.example_sql(config, example)).limit(1).count() == 0
        and not needs_more_workspaces(example)
        and not example.get("requires_models")
        and not example.get("empty_when")
    ]
    assert not empty, f"examples of {domain} that return no rows on the simulated account: {empty}"


@pytest.mark.slow
def test_latency_benchmark_covers_every_function(account, spark, config):
    figures = semantic.latency_benchmark(spark, config, repeats=1)
    assert figures["functions"] == len(assets.function_names()) == len(figures["per_function_s"])
    assert figures["calls"] == figures["functions"]
    for timings in (figures, figures["first_call"]):
        assert 0 < timings["p50_s"] <= timings["p95_s"] <= timings["max_s"]
        assert timings["slowest"] in figures["per_function_s"]


def test_billing_freshness_is_the_day_before_the_latest_usage_end_in_the_source_files(account, config):
    """The report period's default end: computed here from the simulator's files, not from gold."""
    import pyarrow.parquet as pq

    folder = sources.simulated_folder(config)
    usage = pq.read_table(folder / "billing" / "usage", columns=["record_id", "usage_end_time"]).to_pandas()
    defects = pd.read_parquet(folder / "_ground_truth" / "defects")
    broken = set(
        defects[(defects["table"] == "billing.usage") & (defects["defect_type"] != "duplicate_row")]["key_value"]
    )
    usage = usage[
        ~usage["record_id"].isin(broken) & (usage["usage_end_time"] <= pd.Timestamp(clock.now(config), tz="UTC"))
    ]
    latest_end = pd.Timestamp(usage["usage_end_time"].max())
    [row] = semantic.call("get_data_freshness", dataset_name="billing usage", config=config).to_dict("records")
    assert pd.Timestamp(row["latest_complete_day"]).date() == latest_end.date() - timedelta(days=1)
    assert row["days_old"] == (clock.today(config) - pd.Timestamp(row["latest_complete_day"]).date()).days
