"""The local engine itself: a running engine has the kit's settings, and a torn class archive does not stop it."""

from __future__ import annotations

import pytest

from hm_utils import config as config_module


def test_the_running_engine_has_the_kit_settings(spark):
    assert spark.conf.get("spark.sql.codegen.cache.maxEntries") == "5000"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.conf.get("spark.buffer.pageSize") == "1m"


def test_engine_starts_without_an_unreadable_class_archive_and_removes_it(tmp_path, monkeypatch):
    """A torn archive makes the JVM exit at once; the engine deletes it and starts plainly."""
    from hm_utils import spark as spark_module

    recorded = spark_module.class_archive()
    if not recorded.is_file():
        pytest.skip("no recorded class archive to tear: `hm spark prepare` (make setup) records it")
    archive = tmp_path / "torn.jsa"
    with recorded.open("rb") as whole:
        archive.write_bytes(whole.read(1 << 20))  # the first MB: a valid header over missing regions
    monkeypatch.setattr(spark_module, "class_archive", lambda: archive)
    engine = spark_module.LocalEngine(
        config_module.load("ci", {"paths.home": str(tmp_path / "home"), "spark.local.port": spark_module.free_port()})
    )
    try:
        assert engine.ensure_running().running
        assert not archive.exists()
    finally:
        engine.stop()
