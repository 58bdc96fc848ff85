"""Gold model YAML files: structure, comments, keys, the build fields and graph derived from them, the builders
reading exactly what their models declare, and the generated Databricks constraint DDL (no Spark)."""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest
import yaml

from hm_utils import config as config_module
from hm_utils import tables
from hm_utils.errors import ConfigError
from hm_utils.gold import build, models


@pytest.fixture(scope="module")
def cfg():
    return config_module.load("ci")


@pytest.fixture(scope="module")
def all_models():
    return models.load_models()


def test_every_model_is_valid(all_models, cfg):
    problems = models.validate_models(all_models, cfg)
    assert problems == [], "\n".join(problems)


def test_every_column_of_every_model_has_a_comment(all_models):
    missing = [f"{m.table}.{c.name}" for m in all_models.values() for c in m.columns if not c.comment.strip()]
    assert missing == []


def test_each_gold_table_is_declared_once_by_its_model_and_the_registry_follows(all_models, cfg):
    registry_file = yaml.safe_load(tables.registry_path(cfg).read_text())
    assert not registry_file.get("gold"), "gold entries belong in src/hm_utils/gold_models/"
    gold = {key: spec for key, spec in tables.load_registry(cfg).items() if spec.layer == "gold"}
    assert sorted(gold) == sorted(model.key for model in all_models.values())
    for model in all_models.values():
        spec = gold[model.key]
        assert (spec.primary_key, spec.comment, spec.cluster_by) == (model.primary_key, model.comment, model.cluster_by)
        assert tables.full_name(cfg, model.key) == f"spark_catalog.hm_gold.{model.table}"


def _reads_in(function) -> set[str]:
    """The registry keys a builder passes to inputs.read(...), from its source."""
    tree = ast.parse(inspect.getsource(function))
    return {
        node.args[0].value if isinstance(node.args[0], ast.Constant) else ast.unparse(node.args[0])
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "read"
    }


def test_each_builder_reads_exactly_the_tables_its_model_declares(all_models):
    for name, model in all_models.items():
        read = _reads_in(build.builder(model))
        assert read == set(model.reads), f"{name}: reads {sorted(read)}, model declares {sorted(model.reads)}"


def test_the_domain_modules_hold_exactly_one_builder_per_model(all_models):
    for domain, names in models.by_domain().items():
        module = importlib.import_module(f"hm_utils.gold.{domain}")
        builders = sorted(
            n.removeprefix("build_") for n, f in vars(module).items() if n.startswith("build_") and callable(f)
        )
        assert builders == names, domain


def test_the_build_graph_is_derived_from_the_reads(all_models):
    graph = build.plan(all_models)
    assert set(graph) == set(all_models)
    assert graph["fct_usage_hourly"] == {"dim_sku"}
    assert graph["fct_cost_allocation"] == {"fct_usage_hourly"}
    assert graph["fct_job_runs"] == {"dim_cluster", "fct_cost_allocation"}
    assert graph["agg_daily_jobs"] == {"fct_job_runs", "dim_job"}
    assert graph["agg_daily_security"] == {"fct_audit_events"}
    assert all(not reads for name, reads in graph.items() if name.startswith("dim_"))


def test_refresh_by_date_tables_say_how_their_dates_are_found(all_models):
    by_date = {name: m for name, m in all_models.items() if m.refresh == "by_date"}
    assert {"fct_usage_hourly", "fct_queries", "fct_audit_events", "agg_daily_security"} <= set(by_date)
    follows = {name for name, m in by_date.items() if m.watermark is None}
    assert follows == {"fct_cost_allocation", "fct_usage_daily", "fct_cost_by_tag", "agg_daily_cost"}
    assert all(all_models[name].main_input == "gold.fct_usage_hourly" for name in follows)
    assert (
        models.lookback_days(config_module.load("ci", {"gold.lookback_days": 4}), all_models["fct_usage_hourly"]) == 4
    )
    assert models.lookback_days(config_module.load("ci"), all_models["fct_queries"]) == 0


def test_a_builder_reading_an_undeclared_table_is_stopped_before_it_reads(cfg, all_models):
    inputs = build.Inputs(None, cfg, "r", all_models["fct_queries"])
    with pytest.raises(ConfigError, match="does not list"):
        inputs.read("silver.access_audit")


def _model(text: str):
    return models.parse_model(text, source="test.yml")


BUILD = """
domain: dimensions
reads: [silver.billing_usage]
refresh: whole
"""

BASE = (
    """
table: parent
kind: dimension
grain: one row per thing
primary_key: [id]
"""
    + BUILD
    + """columns:
  - {name: id, type: string, nullable: false, comment: The id.}
"""
)


def test_validation_reports_missing_comment_bad_type_and_dangling_keys():
    child = _model(
        BUILD
        + """
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
"""
    )
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
    scd2 = _model(
        BUILD
        + """
table: history
kind: dimension
grain: one row per version
primary_key: [id, valid_from]
columns:
  - {name: id, type: string, nullable: false, comment: The id.}
  - {name: valid_from, type: timestamp, nullable: false, comment: Start.}
"""
    )
    child = _model(
        BUILD
        + """
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
"""
    )
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


def test_validation_reports_inconsistent_build_fields():
    def problems(extra: str, table: str = "parent") -> str:
        text = BASE.replace("table: parent", f"table: {table}").replace(BUILD, "") + extra
        model = _model(text)
        return "\n".join(models.validate_models({table: model}))

    assert "no function build_parent in hm_utils.gold.nowhere" in problems(
        "domain: nowhere\nreads: [silver.billing_usage]\nrefresh: whole\n"
    )
    by_date = problems("domain: dimensions\nreads: [silver.billing_usage]\nrefresh: by_date\ndate_column: day\n")
    assert "date_column 'day' is not a column" in by_date
    assert "needs a watermark, or a by_date gold table as its first read" in by_date
    assert "only apply to refresh: by_date" in problems(
        "domain: dimensions\nreads: [silver.billing_usage]\nrefresh: whole\nwatermark: id\n"
    )
    assert "not a silver registry table or a gold model" in problems(
        "domain: dimensions\nreads: [bronze.billing_usage]\nrefresh: whole\n"
    )


def test_validation_reports_a_cycle_between_gold_reads():
    def model(table: str, reads: str):
        return _model(
            BASE.replace("table: parent", f"table: {table}").replace(
                "reads: [silver.billing_usage]", f"reads: [{reads}]"
            )
        )

    found = models.validate_models({"a": model("a", "gold.b"), "b": model("b", "gold.a")})
    assert any("cycle" in problem for problem in found)


def test_a_model_without_its_build_fields_is_rejected():
    with pytest.raises(ConfigError, match=r"missing \['domain', 'reads', 'refresh'\]"):
        _model(BASE.replace(BUILD, ""))
