"""`hm lab`: JupyterLab on the project, its kernels on the same environment and engine as `hm run`.

The kernels are this Python (the kit's environment); they inherit HM_ENV, HM_SET and HM_PROJECT_ROOT, so a notebook
that calls `hm_utils.notebook.start` or `hm_utils.reports.open_report` without an `env` loads the same config and
reaches the same local engine (started first, so the first cell does not wait for it). The starter notebook
`notebooks/explore.ipynb` opens first.
"""

from __future__ import annotations

import os
import subprocess
import sys

from hm_utils import runner
from hm_utils.config import Config

STARTER = "notebooks/explore.ipynb"


def lab_command(config: Config, port: int | None = None, open_browser: bool = True) -> tuple[list[str], dict[str, str]]:
    """The JupyterLab command line and environment for `config` (nothing is started)."""
    argv = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={config.root}", STARTER]
    if port is not None:
        argv.append(f"--ServerApp.port={port}")
    if not open_browser:
        argv.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers often run as root; Jupyter refuses it unless asked
        argv.append("--allow-root")
    env = {
        **os.environ,
        "HM_ENV": config.env,
        "HM_SET": runner.overrides_text(config),
        "HM_PROJECT_ROOT": str(config.root),
    }
    return argv, env


def open_lab(config: Config, port: int | None = None, open_browser: bool = True) -> int:
    """Start the local engine (when the target is local), then JupyterLab until it is stopped; its exit code."""
    if config.is_local:
        from hm_utils.engine import LocalEngine

        LocalEngine(config).ensure_running()
    argv, env = lab_command(config, port, open_browser)
    return subprocess.run(argv, env=env, cwd=config.root, check=False).returncode
