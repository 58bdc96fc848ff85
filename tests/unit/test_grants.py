"""Unity Catalog grants of the three roles (generated SQL, no workspace)."""

from __future__ import annotations

import pytest

from hm_utils import config as config_module
from hm_utils import grants
from hm_utils.errors import ConfigError


@pytest.fixture
def prod(monkeypatch):
    monkeypatch.delenv("HM_SET", raising=False)
    return config_module.load("prod")


def _statements(config, title_start: str) -> list[str]:
    return next(s.statements for s in grants.grant_sections(config) if s.title.startswith(title_start))


def test_readers_get_the_semantic_layer_only(prod):
    readers = _statements(prod, "readers")
    assert readers == [
        "grant use catalog on catalog `hm_prod` to `health-monitor-readers`",
        "grant use schema, select, execute on schema `hm_prod`.`hm_semantic` to `health-monitor-readers`",
    ]
    everything = grants.render(grants.grant_sections(prod))
    for layer in ("hm_bronze", "hm_silver", "hm_gold", "hm_ops"):
        assert not [line for line in everything.splitlines() if layer in line and "health-monitor-readers" in line]


def test_analysts_query_gold_and_semantic_without_writing(prod):
    analysts = _statements(prod, "analysts")
    assert "grant use schema, select, execute on schema `hm_prod`.`hm_gold` to `health-monitor-analysts`" in analysts
    assert not any("modify" in s or "create" in s or "silver" in s for s in analysts)


def test_service_principal_writes_every_layer_and_reads_the_declared_system_schemas(prod):
    writer = _statements(prod, "the kit's service principal")
    for layer in grants.LAYERS:
        schema = prod.get(f"schemas.{layer}")
        assert f"grant {grants.WRITER_PRIVILEGES} on schema `hm_prod`.`{schema}` to `health-monitor-sp`" in writer
    system = [s for s in writer if "`system`." in s]
    assert [s.split("`system`.")[1].split("`")[1] for s in system] == grants.system_schemas(prod)
    assert {"billing", "access", "lakeflow"} <= set(grants.system_schemas(prod))
    assert not any("all privileges" in s for s in writer)


def test_the_script_creates_schemas_first_and_masks_last(prod):
    titles = [section.title for section in grants.grant_sections(prod)]
    assert titles[0].startswith("schemas") and titles[-1] == "column masks on gold"
    assert grants.render(grants.grant_sections(prod)).count(";") == sum(
        len(s.statements) for s in grants.grant_sections(prod)
    )


def test_no_group_named_is_an_error_with_the_fix(prod):
    bare = prod.with_overrides({"access.readers": [], "access.analysts": [], "access.service_principal": None})
    with pytest.raises(ConfigError, match="no group or principal") as raised:
        grants.grant_sections(bare)
    assert "access.readers" in raised.value.fix


def test_grants_are_not_run_on_the_local_engine(monkeypatch):
    monkeypatch.delenv("HM_SET", raising=False)
    local = config_module.load("local", {"access.readers": ["r"]})
    with pytest.raises(ConfigError, match="Unity Catalog"):
        grants.apply(None, local, grants.grant_sections(local))
