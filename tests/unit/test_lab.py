"""`hm lab`: the JupyterLab command and the environment its kernels inherit (nothing is started here)."""

from __future__ import annotations

from hm_utils import config as config_module
from hm_utils import lab


def test_lab_opens_the_starter_notebook_at_the_project_root(monkeypatch):
    monkeypatch.delenv("HM_SET", raising=False)
    config = config_module.load("ci", ["simulation.days=5"])
    argv, env = lab.lab_command(config, port=9999, open_browser=False)
    assert argv[1:3] == ["-m", "jupyterlab"] and lab.STARTER in argv
    assert f"--ServerApp.root_dir={config.root}" in argv and "--ServerApp.port=9999" in argv and "--no-browser" in argv
    assert (config.root / lab.STARTER).is_file()
    # kernels load the same config: environment, overrides and project
    assert (env["HM_ENV"], env["HM_PROJECT_ROOT"]) == ("ci", str(config.root))
    assert config_module.parse_overrides(env["HM_SET"]) == {"simulation.days": 5}


def test_a_kernel_environment_loads_the_config_lab_was_opened_with(monkeypatch):
    config = config_module.load("ci", ["simulation.days=5"])
    _, env = lab.lab_command(config)
    for name in ("HM_ENV", "HM_SET", "HM_PROJECT_ROOT"):
        monkeypatch.setenv(name, env[name])
    seen = config_module.load(None)
    assert (seen.env, seen.get("simulation.days"), seen.home) == ("ci", 5, config.home)
