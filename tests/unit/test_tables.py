"""The table registry: validation and name resolution for every target and source."""

from __future__ import annotations

import shutil

import pytest

from hm_utils import config as config_module
from hm_utils import system_schema, tables
from hm_utils.errors import ConfigError


@pytest.fixture
def local(monkeypatch):
    monkeypatch.delenv("HM_SET", raising=False)
    return config_module.load("ci")


def test_every_entry_is_valid_and_resolves(local):
    registry = tables.load_registry(local)
    assert registry, "the registry is empty"
    for key, spec in registry.items():
        assert spec.comment, key
        name = tables.full_name(local, key)
        assert name.count(".") == 2 and name.startswith("spark_catalog."), name


def test_every_system_table_of_the_reference_has_a_source_and_a_bronze_entry(local):
    declared = {tables.get_spec(local, key).system_table for key in tables.keys(local, "source")}
    wanted = set(system_schema.SYSTEM_TABLES) - {
        "storage.predictive_optimization_operations_history",
        "ai_gateway.usage",
    }
    assert wanted <= declared
    for key in tables.keys(local, "source"):
        assert "bronze." + key.split(".", 1)[1] in tables.load_registry(local)


def test_bronze_inherits_key_and_watermark_from_its_source(local):
    spec = tables.get_spec(local, "bronze.billing_usage")
    assert spec.primary_key == ("record_id",)
    assert spec.incremental == "ingestion_date"


def test_names_per_target_and_source(local):
    assert tables.full_name(local, "bronze.billing_usage") == "spark_catalog.hm_bronze.billing_usage"
    assert tables.full_name(local, "source.billing_usage") == "spark_catalog.hm_system_billing.usage"
    remote = local.with_overrides({"target": "databricks", "catalog": "main", "source.kind": "system"})
    assert tables.full_name(remote, "source.billing_usage") == "system.billing.usage"
    assert tables.full_name(remote, "bronze.billing_usage") == "main.hm_bronze.billing_usage"


def test_unknown_key_suggests_near_keys(local):
    with pytest.raises(ConfigError) as raised:
        tables.full_name(local, "bronze.billing_usag")
    assert "bronze." in raised.value.fix


def test_entry_without_comment_is_rejected(tmp_path, local):
    shutil.copytree(local.root / "params", tmp_path / "params")
    (tmp_path / "params" / "tables.yml").write_text("bronze:\n  thing: {primary_key: [id]}\n")
    with pytest.raises(ConfigError, match="has no comment"):
        tables.load_registry(config_module.load("ci", root=tmp_path))


def test_dangling_upstream_is_rejected(tmp_path, local):
    shutil.copytree(local.root / "params", tmp_path / "params")
    (tmp_path / "params" / "tables.yml").write_text("bronze:\n  thing: {upstream: source.nothing, comment: x}\n")
    with pytest.raises(ConfigError, match="not declared"):
        tables.load_registry(config_module.load("ci", root=tmp_path))


def test_unquoted_comment_with_a_comma_is_rejected(tmp_path, local):
    shutil.copytree(local.root / "params", tmp_path / "params")
    (tmp_path / "params" / "tables.yml").write_text(
        "ops:\n  thing: {primary_key: [id], comment: Runs, steps and more.}\n"
    )
    with pytest.raises(ConfigError, match="unknown field") as raised:
        tables.load_registry(config_module.load("ci", root=tmp_path))
    assert "quote" in raised.value.fix
