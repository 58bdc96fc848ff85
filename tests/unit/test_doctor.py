"""`hm doctor` for Databricks environments: each missing requirement named with its fix (no workspace)."""

from __future__ import annotations

import importlib.util

import pytest

from hm_utils import config as config_module
from hm_utils import doctor


@pytest.fixture
def dev(monkeypatch):
    monkeypatch.delenv("HM_SET", raising=False)
    return config_module.load("dev")


@pytest.fixture
def connect_installed(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: object() if name == "databricks.connect" else real(name)
    )
    monkeypatch.setattr(doctor.importlib.metadata, "version", lambda name: "17.0.1")


def _by_name(checks):
    return {check.name: check for check in checks}


def test_nothing_configured_names_every_missing_piece(dev, tmp_path):
    checks = _by_name(
        doctor.remote_checks(dev.with_overrides({"spark.databricks.serverless": False}), {"HOME": str(tmp_path)})
    )
    assert not checks["databricks-connect"].ok and ".[databricks]" in checks["databricks-connect"].fix
    assert not checks["credentials"].ok and "databricks auth login" in checks["credentials"].fix
    assert not checks["compute"].ok and "serverless" in checks["compute"].fix


def test_connect_beside_pyspark_is_a_conflict(dev, tmp_path, connect_installed):
    checks = _by_name(doctor.remote_checks(dev, {"HOME": str(tmp_path)}))  # this environment has pyspark
    assert not checks["databricks-connect"].ok and "pip uninstall pyspark" in checks["databricks-connect"].fix


def test_a_profile_with_host_and_token_is_enough(dev, tmp_path):
    (tmp_path / ".databrickscfg").write_text("[hm]\nhost = https://adb-1.azuredatabricks.net\ntoken = dapi-x\n")
    config = dev.with_overrides({"spark.databricks.profile": "hm"})
    checks = _by_name(doctor.remote_checks(config, {"HOME": str(tmp_path)}))
    assert checks["credentials"].ok and "profile hm" in checks["credentials"].found
    assert checks["compute"].ok and checks["compute"].found == "serverless"


def test_a_missing_profile_section_is_reported(dev, tmp_path):
    (tmp_path / ".databrickscfg").write_text("[other]\nhost = https://x\ntoken = y\n")
    checks = _by_name(
        doctor.remote_checks(dev.with_overrides({"spark.databricks.profile": "hm"}), {"HOME": str(tmp_path)})
    )
    assert not checks["credentials"].ok and "profile hm" in checks["credentials"].found


def test_environment_variables_and_a_cluster(dev, tmp_path):
    environ = {
        "HOME": str(tmp_path),
        "DATABRICKS_HOST": "https://x",
        "DATABRICKS_TOKEN": "t",
        "DATABRICKS_CLUSTER_ID": "0101-abc",
    }
    checks = _by_name(doctor.remote_checks(dev.with_overrides({"spark.databricks.serverless": False}), environ))
    assert checks["credentials"].ok and checks["compute"].found == "cluster 0101-abc"


def test_cluster_and_serverless_together_is_refused(dev, tmp_path):
    config = dev.with_overrides({"spark.databricks.cluster_id": "0101-abc", "spark.databricks.serverless": True})
    check = _by_name(doctor.remote_checks(config, {"HOME": str(tmp_path)}))["compute"]
    assert not check.ok and "both" in check.found


class _Session:
    """Answers a query on every system table except the ones in `denied`."""

    def __init__(self, denied):
        self.denied = denied

    def sql(self, text):
        if any(name in text for name in self.denied):
            raise PermissionError("[INSUFFICIENT_PERMISSIONS] User does not have USE SCHEMA on Schema 'system.access'")
        return self

    def collect(self):
        return []


def test_system_tables_without_access_say_which_grant_is_missing(dev):
    checks = doctor.system_table_checks(_Session(["system.access."]), dev)
    missing = [check for check in checks if not check.ok]
    assert missing and all(check.name.startswith("system.access.") for check in missing)
    assert "grant use schema, select on schema system.access" in missing[0].fix
    assert "INSUFFICIENT_PERMISSIONS" in missing[0].found
    lines = doctor.format_checks(checks)
    assert any(line.startswith("MISSING system.access.audit") for line in lines)
