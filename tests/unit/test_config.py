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


def test_each_engine_home_gets_its_own_port(tmp_path):
    from hm_utils.spark import HOME_PORTS, LocalEngine

    def port(home):
        return LocalEngine(config_module.load("ci", {"paths.home": str(home)})).port

    first, second = port(tmp_path / "a" / ".hm"), port(tmp_path / "b" / ".hm")
    assert first != second and first in HOME_PORTS and second in HOME_PORTS
    assert port(tmp_path / "a" / ".hm") == first  # stable for the same folder
    assert LocalEngine(config_module.load("ci", {"spark.local.port": 15099})).port == 15099  # params still win


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


def _server_settings(overrides: dict) -> tuple[list[str], dict[str, str]]:
    from hm_utils.spark import LocalEngine

    command = LocalEngine(config_module.load("local", overrides)).command()
    return command, dict(command[index + 1].split("=", 1) for index, item in enumerate(command) if item == "--conf")


def test_engine_settings_from_params_reach_the_server_command_line():
    command, settings = _server_settings(
        {
            "spark.local.java_options": "-XX:+UseParallelGC",
            "spark.local.conf": {"spark.sql.adaptive.enabled": False},
            "spark.local.driver_memory": "3g",
            "spark.local.log_level": "info",
        }
    )
    assert command[command.index("--driver-memory") + 1] == "3g"
    assert settings["spark.sql.adaptive.enabled"] == "false"
    assert settings["spark.driver.extraJavaOptions"].endswith("-XX:+UseParallelGC")
    assert settings["spark.log.level"] == "INFO"


def test_engine_java_flags_from_conf_join_the_catalog_flags_instead_of_replacing_them():
    flags = _server_settings({"spark.local.conf": {"spark.driver.extraJavaOptions": "-Dmine=1"}})[1][
        "spark.driver.extraJavaOptions"
    ]
    assert "-Dderby.system.home=" in flags and "-Duser.timezone=UTC" in flags and flags.endswith("-Dmine=1")


def test_engine_keeps_compiled_code_small_pages_and_skips_the_metastore_proxy_unless_params_say_otherwise():
    settings = _server_settings({})[1]
    assert int(settings["spark.sql.codegen.cache.maxEntries"]) >= 1000
    assert settings["spark.hadoop.hive.metastore.fastpath"] == "true"
    assert settings["spark.buffer.pageSize"] == "1m"
    overridden = _server_settings({"spark.local.conf": {"spark.sql.codegen.cache.maxEntries": 100}})[1]
    assert overridden["spark.sql.codegen.cache.maxEntries"] == "100"


def test_engine_logs_warnings_only_by_default():
    assert _server_settings({})[1]["spark.log.level"] == "WARN"


def test_a_stopped_engine_started_by_this_process_is_not_seen_alive():
    """Its exit leaves a zombie that signal 0 still reaches; stop() would wait its full 30 s for it."""
    import subprocess
    import time

    from hm_utils.spark import _pid_alive

    process = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while _pid_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert time.monotonic() < deadline, "an exited child is still reported alive"


def test_engine_maps_the_class_archive_once_recorded_and_records_one_only_when_asked(tmp_path, monkeypatch):
    from hm_utils import spark as spark_module

    archive = tmp_path / "engine.jsa"
    monkeypatch.setattr(spark_module, "class_archive", lambda: archive)
    engine = spark_module.LocalEngine(config_module.load("local", {}))

    def flags() -> str:
        command = engine.command()
        return next(item for item in command if item.startswith("spark.driver.extraJavaOptions="))

    assert "SharedArchiveFile" not in flags()  # nothing recorded yet: a plain start
    archive.write_bytes(b"x")
    assert f"-XX:SharedArchiveFile={archive}" in flags()
    engine.record_archive = tmp_path / "engine.recording"
    assert f"-XX:ArchiveClassesAtExit={engine.record_archive}" in flags() and "SharedArchiveFile" not in flags()
