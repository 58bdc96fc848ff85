"""The SQL of the code paths that differ on Databricks, as the Databricks target generates it: Delta MERGE,
table and column comments, informational key constraints and metric views in YAML 1.1."""

from __future__ import annotations

import pytest
import yaml

from hm_utils import config as config_module
from hm_utils import io, tables
from hm_utils.gold import models
from hm_utils.semantic import assets


@pytest.fixture
def databricks(monkeypatch):
    monkeypatch.delenv("HM_SET", raising=False)
    return config_module.load("prod")


def test_upserts_merge_on_the_null_safe_key(databricks):
    name = tables.full_name(databricks, "ops.step_log")
    assert name == "hm_prod.hm_ops.step_log"
    assert io.merge_statement(name, "hm_upsert_1", ["run_id", "step"]) == (
        "merge into hm_prod.hm_ops.step_log t using hm_upsert_1 s on t.`run_id` <=> s.`run_id` and t.`step` <=> s.`step` "
        "when matched then update set * when not matched then insert *"
    )


def test_comments_are_set_for_the_table_and_its_existing_columns(databricks):
    statements = io.comment_statements(
        "hm_prod.hm_gold.dim_job", "Jobs' history.", {"job_id": "Job's id.", "gone": "dropped"}, ["job_id", "name"]
    )
    assert statements == [
        "comment on table hm_prod.hm_gold.dim_job is 'Jobs\\' history.'",
        "alter table hm_prod.hm_gold.dim_job alter column `job_id` comment 'Job\\'s id.'",
    ]


def test_gold_keys_are_informational_constraints_on_the_target_catalog(databricks):
    plan = models.constraint_ddl(models.load_models(), lambda key: tables.full_name(databricks, key))
    text = "\n".join(plan.statements)
    assert (
        "alter table hm_prod.hm_gold.dim_identity add constraint dim_identity_pk primary key (`identity`) not enforced"
        in text
    )
    assert all(s.startswith("alter table hm_prod.hm_gold.") for s in plan.statements)


def test_metric_views_use_yaml_1_1_with_comments_on_databricks(databricks):
    ddl = assets.metric_view_ddl(databricks, "mv_cost_daily")
    assert ddl.startswith("create or replace view hm_prod.hm_semantic.mv_cost_daily\nwith metrics\nlanguage yaml")
    spec = yaml.safe_load(ddl.split("$$")[1])
    assert str(spec["version"]) == "1.1"
    assert all("comment" in field for field in spec["dimensions"] + spec["measures"])
