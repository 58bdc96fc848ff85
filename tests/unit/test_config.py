"""Config loading: file precedence, overrides, and errors that say what, where and what to do."""

from __future__ import annotations

import pytest

from hm_utils import config as config_module
from hm_utils.errors import ConfigError


def test_env_file_overrides_base(monkeypatch):
    monkeypatch.delenv("HM_SET", raising=False)
    base = config_module.load("local")
    ci = config_module.load("ci")
    assert base.get("paths.home") == ".hm"
    assert ci.get("paths.home") == ".hm-ci"
    assert ci.get("simulation.days") == 21
    assert ci.get("schemas.gold") == base.get("schemas.gold")  # untouched keys come from base


def test_overrides_beat_files_and_are_typed(monkeypatch):
    monkeypatch.setenv("HM_SET", "simulation.days=5;simulation.seed=9")
    config = config_module.load("ci", ["simulation.days=3", "source.kind=parquet", "source.path=/tmp/x"])
    assert config.get("simulation.days") == 3  # explicit override wins over HM_SET
    assert config.get("simulation.seed") == 9  # HM_SET wins over the files
    assert config.get("source.kind") == "parquet"


def test_paths_resolve_against_project_root(monkeypatch):
    monkeypatch.delenv("HM_SET", raising=False)
    config = config_module.load("ci")
    assert config.home == (config.root / ".hm-ci").resolve()


@pytest.mark.parametrize(
    ("env", "overrides", "message"),
    [
        ("nope", None, "unknown environment"),
        ("ci", ["target=cloud"], "target 'cloud'"),
        ("ci", ["source.kind=parquet"], "source.path is empty"),
        ("ci", ["source.kind=s3"], "source.kind 's3'"),
        ("ci", ["target=databricks"], "simulated source only exists"),
        ("ci", ["days"], "not KEY=VALUE"),
        ("ci", ["simulation.days.x=1"], "is a value, not a section"),
    ],
)
def test_bad_config_gives_clear_error(monkeypatch, env, overrides, message):
    monkeypatch.delenv("HM_SET", raising=False)
    with pytest.raises(ConfigError) as raised:
        config_module.load(env, overrides)
    assert message in str(raised.value)
    assert "what to do:" in str(raised.value)


def test_invalid_yaml_names_file_and_line(tmp_path):
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "base.yml").write_text("target: local\nschemas: [unclosed\n")
    with pytest.raises(ConfigError) as raised:
        config_module.load("local", root=tmp_path)
    assert "base.yml:" in raised.value.where


def test_require_names_missing_key(monkeypatch):
    monkeypatch.delenv("HM_SET", raising=False)
    config = config_module.load("ci")
    with pytest.raises(ConfigError, match="'nothing.here' is not set"):
        config.require("nothing.here")
