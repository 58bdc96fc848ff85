"""Gold model YAML files: structure, comments, keys and the generated Databricks constraint DDL (no Spark)."""

from __future__ import annotations

import pytest

from hm_utils import config as config_module
from hm_utils import tables
from hm_utils.errors import ConfigError
from hm_utils.gold import models


@pytest.fixture(scope="module")
def cfg():
    return config_module.load("ci")


@pytest.fixture(scope="module")
def all_models():
    return models.load_models()


def test_every_model_is_valid_and_matches_the_registry(all_models, cfg):
    problems = models.validate_models(all_models, cfg)
    assert problems == [], "\n".join(problems)


def test_every_column_of_every_model_has_a_comment(all_models):
    missing = [f"{m.table}.{c.name}" for m in all_models.values() for c in m.columns if not c.comment.strip()]
    assert missing == []


def test_cost_tables_are_declared(all_models):
    for table in (
        "dim_date",
        "dim_workspace",
        "dim_sku",
        "dim_identity",
        "fct_usage_hourly",
        "fct_cost_allocation",
        "fct_usage_daily",
        "fct_cost_by_tag",
        "agg_daily_cost",
    ):
        assert table in all_models
        assert tables.get_spec(config_module.load("ci"), f"gold.{table}").primary_key == all_models[table].primary_key


def _model(text: str):
    return models.parse_model(text, source="test.yml")


BASE = """
table: parent
kind: dimension
grain: one row per thing
primary_key: [id]
columns:
  - {name: id, type: string, nullable: false, comment: The id.}
"""


def test_validation_reports_missing_comment_bad_type_and_dangling_keys():
    child = _model("""
table: child
kind: fact
grain: one row per event
primary_key: [event_id]
foreign_keys:
  - {columns: [parent_id], references: parent, ref_columns: [id]}
  - {columns: [ghost], references: nowhere, ref_columns: [id]}
  - {columns: [parent_id], references: parent, ref_columns: [nope]}
columns:
  - {name: event_id, type: string, comment: 'Nullable key column.'}
  - {name: parent_id, type: string, comment: ''}
  - {name: amount, type: 'decimal(38', comment: Broken type.}
""")
    problems = "\n".join(models.validate_models({"parent": _model(BASE), "child": child}))
    assert "event_id must be declared nullable: false" in problems
    assert "column parent_id has no comment" in problems
    assert "unparsable type 'decimal(38'" in problems
    assert "column(s) ['ghost'] not in the table" in problems
    assert "no gold model 'nowhere'" in problems
    assert "referenced column(s) ['nope'] not in parent" in problems


def test_unquoted_comment_with_a_comma_is_reported_with_a_hint():
    with pytest.raises(ConfigError) as error:
        _model(BASE + "  - {name: x, type: int, comment: one, two}\n")
    assert "must be quoted" in str(error.value)


def test_constraint_ddl_declares_keys_and_keeps_scd2_references_logical():
    parent = _model(BASE)
    scd2 = _model("""
table: history
kind: dimension
grain: one row per version
primary_key: [id, valid_from]
columns:
  - {name: id, type: string, nullable: false, comment: The id.}
  - {name: valid_from, type: timestamp, nullable: false, comment: Start.}
""")
    child = _model("""
table: child
kind: fact
grain: one row per event
primary_key: [event_id, day]
foreign_keys:
  - {columns: [parent_id], references: parent, ref_columns: [id]}
  - {columns: [parent_id], references: history, ref_columns: [id]}
columns:
  - {name: event_id, type: string, nullable: false, comment: Event.}
  - {name: day, type: date, nullable: false, comment: Day.}
  - {name: parent_id, type: string, comment: Parent.}
""")
    plan = models.constraint_ddl({"parent": parent, "history": scd2, "child": child}, lambda key: f"cat.gold.{key[5:]}")
    text = "\n".join(plan.statements)
    child_table = "cat.gold.child"
    assert f"alter table {child_table} alter column `event_id` set not null" in text
    assert f"alter table {child_table} add constraint child_pk primary key (`event_id`, `day`) not enforced" in text
    assert (
        f"alter table {child_table} add constraint child_fk_1 foreign key (`parent_id`) "
        "references cat.gold.parent (`id`) not enforced"
    ) in text
    assert "child_fk_2 foreign key" not in text
    assert plan.logical_keys == [
        "child(parent_id) -> history(id): not the parent's primary key ['id', 'valid_from'], kept as a logical join key"
    ]
    # Idempotent and ordered: drops first, every primary key before any foreign key.
    first_fk = next(i for i, s in enumerate(plan.statements) if "foreign key" in s)
    last_pk = max(i for i, s in enumerate(plan.statements) if "primary key" in s)
    assert last_pk < first_fk
    assert plan.statements[0].startswith(f"alter table {child_table} drop constraint if exists child_fk_1")


def test_constraint_ddl_of_the_real_models_declares_every_primary_key(cfg, all_models):
    plan = models.constraint_ddl(all_models, lambda key: tables.full_name(cfg, key))
    declared = [s for s in plan.statements if "primary key" in s and "add constraint" in s]
    assert len(declared) == len(all_models)
    assert any("fct_usage_hourly_fk" in s and "dim_sku" in s for s in plan.statements)


def test_the_gold_build_plan_builds_every_model_once_after_the_tables_it_reads(config):
    from hm_utils import gold
    from hm_utils.gold import cost, operations

    graph, builds, inputs = gold.build_plan(None, config, "plan")
    assert set(graph) == set(builds) == set(inputs)
    produced = [table for node in graph for table in (cost.USAGE_TABLES if node == gold.USAGE_FACTS else [node])]
    assert sorted(produced) == sorted(models.load_models())
    assert all(dependency in graph for dependencies in graph.values() for dependency in dependencies)
    assert graph[gold.USAGE_FACTS] == {"dim_sku", "dim_workspace"}
    assert graph["fct_job_runs"] == {"dim_cluster", gold.USAGE_FACTS}
    assert graph["agg_daily_jobs"] == {"fct_job_runs", "dim_job"}
    assert graph["agg_daily_security"] == {"fct_audit_events"}
    from_silver = {spec.table for spec in operations.DATED_TABLES if not spec.input_name.startswith("gold.")}
    assert {node for node, reads in graph.items() if not reads} >= from_silver
    assert inputs[gold.USAGE_FACTS] == "silver.billing_usage"
