"""The local engine's lifecycle without a JVM: its port, command line, pid file checks, Java checks
and the fail-fast client policy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from hm_utils import config as config_module
from hm_utils import engine as engine_module
from hm_utils.engine import HOME_PORTS, LocalEngine
from hm_utils.errors import EngineError


@pytest.fixture(autouse=True)
def _no_hm_set(monkeypatch):
    monkeypatch.delenv("HM_SET", raising=False)


def _engine(tmp_path, **overrides) -> LocalEngine:
    return LocalEngine(config_module.load("ci", {"paths.home": str(tmp_path / "home"), **overrides}))


def _server_settings(overrides: dict) -> tuple[list[str], dict[str, str]]:
    command = LocalEngine(config_module.load("local", overrides)).command()
    return command, dict(command[index + 1].split("=", 1) for index, item in enumerate(command) if item == "--conf")


def test_each_engine_home_gets_its_own_port(tmp_path):
    def port(home):
        return LocalEngine(config_module.load("ci", {"paths.home": str(home)})).port

    first, second = port(tmp_path / "a" / ".hm"), port(tmp_path / "b" / ".hm")
    assert first != second and first in HOME_PORTS and second in HOME_PORTS
    assert port(tmp_path / "a" / ".hm") == first  # stable for the same folder
    assert LocalEngine(config_module.load("ci", {"spark.local.port": 15099})).port == 15099  # params still win


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


def test_every_spark_setting_of_the_params_reaches_the_command_line_and_one_more_adds_to_them():
    base = config_module.load("local").get("spark.local.conf")
    settings = _server_settings({"spark.local.conf.spark.sql.adaptive.enabled": False})[1]
    for key, value in base.items():
        assert settings[key] == (str(value).lower() if isinstance(value, bool) else str(value)), key
    assert settings["spark.sql.adaptive.enabled"] == "false"


def test_engine_java_flags_from_conf_join_the_catalog_flags_instead_of_replacing_them():
    flags = _server_settings({"spark.local.conf": {"spark.driver.extraJavaOptions": "-Dmine=1"}})[1][
        "spark.driver.extraJavaOptions"
    ]
    assert "-Dderby.system.home=" in flags and "-Duser.timezone=UTC" in flags and flags.endswith("-Dmine=1")


def test_the_server_carries_the_home_it_serves(tmp_path):
    engine = _engine(tmp_path)
    assert f"{engine_module.HOME_CONF}={engine.home}" in engine.command()


def test_engine_maps_the_class_archive_once_recorded_and_records_one_only_when_asked(tmp_path, monkeypatch):
    archive = tmp_path / "engine.jsa"
    monkeypatch.setattr(engine_module, "class_archive", lambda: archive)
    engine = LocalEngine(config_module.load("local", {}))

    def flags() -> str:
        return next(item for item in engine.command() if item.startswith("spark.driver.extraJavaOptions="))

    assert "SharedArchiveFile" not in flags()  # nothing recorded yet: a plain start
    archive.write_bytes(b"x")
    assert f"-XX:SharedArchiveFile={archive}" in flags()
    engine.map_archive = False  # after a start that failed with it: the next start goes without it
    assert "SharedArchiveFile" not in flags() and archive.exists()
    engine.record_archive = tmp_path / "engine.recording"
    assert f"-XX:ArchiveClassesAtExit={engine.record_archive}" in flags() and "SharedArchiveFile" not in flags()


def _sleeper(*marks: str) -> subprocess.Popen:
    """A harmless process whose command line carries `marks` (as an engine's carries its --conf)."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", *marks], start_new_session=True)


@pytest.mark.parametrize(
    ("marks", "record"),
    [
        ((), lambda pid: str(pid)),  # an old-style pid file left by a crash, its pid now another program's
        (  # the engine's command line, but the process started after the pid file's engine
            (engine_module.CONNECT_SERVER_CLASS, "{home_conf}={home}"),
            lambda pid: json.dumps({"pid": pid, "started": time.time() - 3600}),
        ),
    ],
)
def test_a_pid_file_naming_another_process_is_stale_and_that_process_is_never_signalled(tmp_path, marks, record):
    engine = _engine(tmp_path)
    engine.state_dir.mkdir(parents=True)
    bystander = _sleeper(*(mark.format(home_conf=engine_module.HOME_CONF, home=engine.home) for mark in marks))
    try:
        engine.pid_file.write_text(record(bystander.pid))
        status = engine.status()
        assert not status.running and status.stale_pid == bystander.pid
        assert "stale pid file" in status.describe()
        assert engine.stop() is False
        time.sleep(0.3)
        assert bystander.poll() is None, "hm spark down signalled a process that is not the engine"
        assert not engine.pid_file.exists(), "the stale pid file stays"
    finally:
        bystander.kill()
        bystander.wait()


def test_stop_signals_only_the_verified_engine_process(tmp_path):
    """A process with this home's engine command line and the recorded start time is the engine."""
    import psutil

    engine = _engine(tmp_path)
    engine.state_dir.mkdir(parents=True)
    fake = _sleeper(engine_module.CONNECT_SERVER_CLASS, f"{engine_module.HOME_CONF}={engine.home}")
    other_home = _sleeper(engine_module.CONNECT_SERVER_CLASS, f"{engine_module.HOME_CONF}={tmp_path / 'other'}")
    try:
        engine.pid_file.write_text(
            json.dumps({"pid": other_home.pid, "started": psutil.Process(other_home.pid).create_time()})
        )
        assert engine.stop() is False and other_home.poll() is None  # another home's engine is left alone
        engine.pid_file.write_text(json.dumps({"pid": fake.pid, "started": psutil.Process(fake.pid).create_time()}))
        assert engine.stop(timeout=5) is True
        assert not psutil.pid_exists(fake.pid) and not engine.pid_file.exists()
    finally:
        for process in (fake, other_home):
            process.kill()
            process.wait()


def test_an_exited_engine_started_by_this_process_is_not_seen_alive(tmp_path):
    """Its exit leaves a zombie that signals and psutil still reach; stop() would wait for it."""
    import psutil

    engine = _engine(tmp_path)
    engine.state_dir.mkdir(parents=True)
    process = subprocess.Popen(["sleep", "0"])
    engine.pid_file.write_text(json.dumps({"pid": process.pid, "started": psutil.Process(process.pid).create_time()}))
    time.sleep(0.5)
    started = time.monotonic()
    assert engine.stop() is False
    assert time.monotonic() - started < 5


def test_a_port_held_by_an_unrelated_server_is_refused_at_once_naming_the_holder(tmp_path):
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        engine = _engine(tmp_path, **{"spark.local.port": port})
        engine.state_dir.mkdir(parents=True)
        engine.pid_file.write_text(json.dumps({"pid": 999_999_999, "started": 1.0}))  # stale: no such process
        started = time.monotonic()
        with pytest.raises(EngineError) as raised:
            engine.ensure_running()
        assert time.monotonic() - started < 10
        assert f"port {port}" in raised.value.what and f"pid {os.getpid()}" in raised.value.what
        assert "spark.local.port" in raised.value.fix
        assert not engine.pid_file.exists(), "the stale pid file stays"


@pytest.fixture
def fake_java(tmp_path):
    """A JAVA_HOME whose bin/java reports the version written to `version`."""

    def make(version: str):
        home = tmp_path / f"jdk-{version}"
        (home / "bin").mkdir(parents=True)
        java = home / "bin" / "java"
        java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2024-01-16' >&2\n")
        java.chmod(0o755)
        return home

    return make


def test_the_java_checked_is_the_one_of_java_home_as_spark_submit_uses_it(monkeypatch, fake_java):
    monkeypatch.setenv("JAVA_HOME", str(fake_java("21.0.2")))
    assert engine_module.check_java()[0] == 21
    monkeypatch.setenv("JAVA_HOME", str(fake_java("11.0.22")))
    with pytest.raises(EngineError, match="needs Java 17 or newer, and .* is Java 11"):
        engine_module.check_java()


def test_a_java_home_without_java_fails_the_check_even_with_a_java_on_path(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    with pytest.raises(EngineError) as raised:
        engine_module.check_java()
    assert "JAVA_HOME has no bin/java" in raised.value.what and "unset it" in raised.value.fix


def test_a_lost_engine_is_given_up_after_the_connection_timeout():
    """Spark Connect's own policy waits about ten minutes for a server that is gone."""
    from hm_utils.spark import fail_fast_policy

    policy = fail_fast_policy(config_module.load("ci", {"spark.local.connection_timeout_seconds": 10}))
    state, waited = policy.to_state(), 0.0
    while (wait := state.next_attempt()) is not None:
        waited += wait / 1000
    assert 9 <= waited <= 12
