"""Run plan parsing, step selection, and the kernels notebooks run on."""

from __future__ import annotations

import shutil

import pytest

from hm_utils import config as config_module
from hm_utils import runner
from hm_utils.errors import ConfigError


@pytest.fixture
def config(monkeypatch):
    monkeypatch.delenv("HM_SET", raising=False)
    return config_module.load("ci")


def test_plan_starts_with_simulate_then_bronze(config):
    names = [step.name for step in runner.load_plan(config)]
    assert names[:2] == ["simulate", "bronze"]


def test_simulate_only_applies_to_the_simulated_source(config):
    simulate = runner.load_plan(config)[0]
    assert simulate.applies(config)
    assert not simulate.applies(config.with_overrides({"source.kind": "parquet", "source.path": "/tmp/x"}))


def test_only_and_from_select_steps(config):
    steps = runner.load_plan(config)
    assert [s.name for s in runner.select_steps(steps, only=["bronze"])] == ["bronze"]
    assert [s.name for s in runner.select_steps(steps, from_step="bronze")][0] == "bronze"
    with pytest.raises(ConfigError, match="no step 'gild'"):
        runner.select_steps(steps, from_step="gild")


def test_plan_with_missing_notebook_is_rejected(tmp_path, config):
    shutil.copytree(config.root / "params", tmp_path / "params")
    (tmp_path / "params" / "run_plan.yml").write_text(
        "jobs: {main: {schedule: '0 6 * * *'}}\nsteps:\n  - {name: x, notebook: notebooks/none.ipynb}\n"
    )
    with pytest.raises(ConfigError, match="does not exist"):
        runner.load_plan(config_module.load("ci", root=tmp_path))


def _run_probe(tmp_path, config, code: str):
    """Execute a one-cell notebook of `code` the way `hm run` does; return the executed notebook."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(code)]
    source = tmp_path / "probe.ipynb"
    nbformat.write(notebook, source)
    output = tmp_path / "probe.out.ipynb"
    runner.execute_notebook(config, str(source), output, {}, what="probe", rerun="-")
    return nbformat.read(output, 4)


def test_notebooks_run_on_a_kernel_over_unix_sockets_not_plain_tcp(tmp_path, config, capfd):
    """A TCP kernel's code and outputs are readable by any local user, and ipykernel warns at each start."""
    executed = _run_probe(
        tmp_path,
        config,
        "from ipykernel.connect import get_connection_info\nprint(get_connection_info(unpack=True)['transport'])",
    )
    assert executed.cells[0].outputs[0]["text"].strip() == "ipc"
    assert "without encryption" not in capfd.readouterr().err


def test_kernels_are_shut_down_without_an_interrupt(tmp_path, config):
    """An interrupt at shutdown made ipykernel print `ERROR | KeyboardInterrupt caught` in `hm run`."""
    marker = tmp_path / "interrupted"
    _run_probe(  # once the cell ends, the kernel handles SIGINT by writing the marker
        tmp_path,
        config,
        "import pathlib\n"
        "def on_interrupt(signum, frame):\n"
        f"    pathlib.Path({str(marker)!r}).write_text('SIGINT')\n"
        "get_ipython().kernel.saved_sigint_handler = on_interrupt",
    )
    assert not marker.exists()
