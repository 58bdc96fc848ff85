"""Gold on the simulated ci account (built once by the `account` fixture): every run once, repairs, the injected
incidents found with the simulator's ground truth (failure streak cost, runaway run, security events), every key
test passing, and rerun idempotency."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from hm_utils import clock, gold, io, sources
from hm_utils.gold import models

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def incidents(account, config) -> dict[str, pd.Series]:
    """The latest injected incident of each type; job incidents whose cost is final by now (the last
    usage row of their runs has arrived), so their cost can be compared with gold's."""
    truth = pd.read_parquet(sources.simulated_folder(config) / "_ground_truth" / "incidents")
    now = pd.Timestamp(clock.now(config), tz="UTC")

    def settled(row) -> bool:
        final = details(row).get("cost_final_at")
        return final is None or pd.Timestamp(final, tz="UTC") <= now

    rows = sorted(truth.itertuples(), key=lambda row: row.start_time)
    return {row.incident_type: row for row in rows if settled(row)}


def details(incident) -> dict:
    return json.loads(incident.details)


def test_every_source_run_appears_exactly_once(spark, config, account):
    from pyspark.sql import functions as F

    timeline = io.read_table(spark, config, "silver.lakeflow_job_run_timeline")
    runs = io.read_table(spark, config, "gold.fct_job_runs")
    source_keys = timeline.select("workspace_id", "run_id").distinct()
    gold_keys = runs.select("workspace_id", "run_id")
    assert runs.count() == gold_keys.distinct().count() == source_keys.count() > 0
    assert source_keys.exceptAll(gold_keys).count() == 0
    assert gold_keys.exceptAll(source_keys).count() == 0
    assert runs.where(F.col("start_time") > F.col("end_time")).count() == 0


def test_repairs_are_terminal_slices_minus_one(spark, config, account):
    from pyspark.sql import functions as F

    terminal = (
        io.read_table(spark, config, "silver.lakeflow_job_run_timeline")
        .where(F.col("result_state").isNotNull())
        .groupBy("workspace_id", "run_id")
        .agg((F.count(F.lit(1)) - 1).alias("expected"))
    )
    joined = terminal.join(io.read_table(spark, config, "gold.fct_job_runs"), ["workspace_id", "run_id"])
    assert joined.where(F.col("repairs") != F.col("expected")).count() == 0
    assert joined.where(F.col("expected") > 0).count() > 0, "the ci account should contain repaired runs"


def test_failure_streak_cost_equals_the_simulated_cost(spark, config, incidents):
    from pyspark.sql import functions as F

    streak = details(incidents["failure_streak"])
    runs = io.read_table(spark, config, "gold.fct_job_runs").where(F.col("run_id").isin(streak["run_ids"])).collect()
    assert len(runs) == len(streak["run_ids"])
    assert {(r.result_state, r.termination_code) for r in runs} == {
        (streak["result_state"], streak["termination_code"])
    }
    expected = streak["list_cost_usd" if config.get("gold.price_field") == "default" else "effective_list_cost_usd"]
    assert float(sum(r.failed_list_cost for r in runs)) == pytest.approx(expected, abs=1e-4)
    assert float(sum(r.dbus for r in runs)) == pytest.approx(streak["total_dbus"], abs=1e-6)
    daily = io.read_table(spark, config, "gold.agg_daily_jobs").where(
        (F.col("job_id") == incidents["failure_streak"].entity_id) & (F.col("failures") >= len(runs))
    )
    assert daily.count() >= 1


def test_runaway_run_split_into_hourly_slices_is_one_long_run(spark, config, incidents):
    from pyspark.sql import functions as F

    runaway = incidents["runaway_job"]
    [run] = (
        io.read_table(spark, config, "gold.fct_job_runs").where(F.col("run_id") == details(runaway)["run_id"]).collect()
    )
    expected_seconds = (runaway.end_time - runaway.start_time).total_seconds()
    assert run.duration_seconds == pytest.approx(expected_seconds, abs=1)
    assert run.slice_count >= int(expected_seconds // 3600)
    assert (run.result_state, run.is_completed, run.attempts) == ("SUCCEEDED", True, 1)
    assert float(run.dbus) == pytest.approx(details(runaway)["total_dbus"], abs=1e-6)


def test_security_flags_find_the_injected_incidents(spark, config, incidents):
    from pyspark.sql import functions as F

    events = io.read_table(spark, config, "gold.fct_audit_events")

    def within(incident):
        return F.col("event_time").between(F.lit(incident.start_time), F.lit(incident.end_time))

    brute = incidents["brute_force_login"]
    failed = events.where(
        F.col("is_failed_login")
        & (F.col("user_email") == details(brute)["user"])
        & within(brute)
        & (F.col("source_ip_address") == details(brute)["source_ip"])
    )
    assert failed.count() == details(brute)["count"]

    grant = incidents["admin_privilege_grant"]
    admin = events.where(
        F.col("is_admin_change") & (F.col("request_params")["targetUserName"] == grant.entity_id) & within(grant)
    )
    assert sorted(r.action_name for r in admin.collect()) == sorted(details(grant)["actions"])

    download = incidents["mass_download"]
    downloads = events.where(
        F.col("is_download") & (F.col("user_email") == details(download)["user"]) & within(download)
    )
    assert downloads.count() == int(download.magnitude)

    day = io.read_table(spark, config, "gold.agg_daily_security").where(
        (F.col("event_date") == F.lit(brute.start_time.date())) & (F.col("workspace_id") == brute.workspace_id)
    )
    assert day.first().failed_logins >= details(brute)["count"]


def test_every_key_test_passes_and_is_recorded_with_the_quality_results(spark, config, account):
    from pyspark.sql import functions as F

    outcomes = account["gold"].key_tests
    assert [o.describe() for o in outcomes if not o.passed and o.test.severity == "blocking"] == []
    # Foreign keys are warnings because a real account breaks two of them too: the task timeline of a job run
    # still going on at the snapshot arrives before its job run (the job timeline lags more), and usage is
    # billed to pipelines that lakeflow.pipelines does not list (online tables, ingestion gateways).
    explained = {("fct_task_runs", "fct_job_runs"), ("fct_usage_hourly", "dim_pipeline")}
    failed = [o for o in outcomes if not o.passed]
    assert {o.test.test_type for o in failed} <= {"relationships"}, [o.describe() for o in failed]
    assert {(o.test.table, o.test.name.rsplit("-> ", 1)[1].rstrip(")")) for o in failed} <= explained
    tested = {o.test.table for o in outcomes}
    assert tested == set(models.load_models())
    kinds = {o.test.test_type for o in outcomes}
    assert kinds == {"not_null", "unique", "relationships", "scd2_one_current", "scd2_no_overlap"}
    recorded = (
        io.read_table(spark, config, "ops.quality_results")
        .where((F.col("run_id") == "test-build") & F.col("table_key").startswith("gold."))
        .count()
    )
    assert recorded == len(outcomes)


def _fingerprint(spark, config, table: str) -> tuple:
    from pyspark.sql import functions as F

    df = io.read_table(spark, config, f"gold.{table}")
    hashed = F.xxhash64(F.to_json(F.struct(*df.columns))).cast("decimal(38,0)")
    return tuple(df.agg(F.count(F.lit(1)), F.sum(hashed)).first())


def test_rebuilding_the_facts_changes_nothing(spark, config, account):
    facts = [name for name, model in models.load_models().items() if model.domain not in ("dimensions", "cost")]
    before = {table: _fingerprint(spark, config, table) for table in facts}
    builds = {b.key: b for b in gold.build_tables(spark, config, "test-rerun", facts)}
    assert {table: _fingerprint(spark, config, table) for table in facts} == before
    by_watermark = [name for name in facts if models.get_model(name).watermark]
    assert by_watermark and {builds[f"gold.{name}"].mode for name in by_watermark} == {"unchanged"}
