"""tests/unit starts no engine: the engine fixtures fail here, and so does starting a JVM in any other way.

A test that needs Spark or the built account belongs in tests/integration.
"""

from __future__ import annotations

import os
import subprocess

import pytest

JVM_LAUNCHERS = {"java", "spark-submit", "spark-class", "pyspark"}


def _refuse(*_args, **_kwargs):
    pytest.fail("tests/unit starts no engine: move this test to tests/integration")


@pytest.fixture(scope="session")
def spark():
    _refuse()


@pytest.fixture(scope="session")
def account():
    _refuse()


@pytest.fixture(scope="session")
def published_site():
    _refuse()


class _NoJvmPopen(subprocess.Popen):
    def __init__(self, args, *more, **kwargs):
        program = args[0] if isinstance(args, (list, tuple)) else str(args).split()[0]
        if os.path.basename(str(program)) in JVM_LAUNCHERS:
            _refuse()
        super().__init__(args, *more, **kwargs)


@pytest.fixture(autouse=True)
def _no_jvm(monkeypatch):
    monkeypatch.setattr(subprocess, "Popen", _NoJvmPopen)
