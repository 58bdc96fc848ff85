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


def test_what_a_kernel_process_writes_itself_goes_to_the_run_log_not_the_console(tmp_path, config, capfd):
    """ipykernel's own log lines (such as the one an interrupt at shutdown prints) stay off `hm run`'s output."""
    _run_probe(tmp_path, config, "import os\nos.write(2, b'kernel process noise\\n')")
    assert "kernel process noise" not in capfd.readouterr().err
    assert "kernel process noise" in (tmp_path / runner.KERNEL_LOG).read_text()


def _rendered(error) -> str:
    return str(error)  # what a notebook reports as the error's value


def test_a_step_failing_on_a_kit_error_shows_its_what_where_and_fix(tmp_path, config):
    from hm_utils.errors import QualityGateError

    raised = QualityGateError("1 rule failed\nsilver.x: rule failed on 3 of 3 rows", where="silver.x", fix="look")
    error = runner.step_error(
        config, "step 'silver'", "QualityGateError", _rendered(raised), tmp_path / "02.ipynb", 4, "hm run --from silver"
    )
    assert error.what == "step 'silver' failed: 1 rule failed\nsilver.x: rule failed on 3 of 3 rows"
    assert error.where == "silver.x" and error.fix == "look; then `hm run --from silver`"
    assert error.render().endswith(f"executed notebook: {tmp_path / '02.ipynb'} (cell 4; the full trace is there)")


def test_a_failed_gate_shows_one_short_sample_row_per_rule(tmp_path, config):
    from hm_utils.errors import QualityGateError

    samples = [f'    sample: {{"row": {index}, "text": "{"x" * 300}"}}' for index in range(3)]
    what = "\n".join(["2 rules failed", "t: a failed", "    cause: c", *samples, "t: b failed", *samples])
    error = runner.step_error(
        config, "step 'silver'", "QualityGateError", str(QualityGateError(what, where="t", fix="f")), tmp_path, 1, "-"
    )
    lines = error.what.splitlines()
    assert [line.split(":")[0].strip() for line in lines] == [
        "step 'silver' failed",
        "t",
        "cause",
        "sample",
        "t",
        "sample",
    ]
    assert all(len(line) <= 170 for line in lines)


def test_a_step_failing_in_spark_shows_the_error_without_the_jvm_stack(tmp_path, config):
    evalue = (
        '[CAST_INVALID_INPUT] The value \'n/a\' of the type "STRING" cannot be cast to "DECIMAL(38,18)".\n'
        "JVM stacktrace:\norg.apache.spark.SparkNumberFormatException\n"
        + "\n".join(f"\tat org.apache.spark.Frame{i}(Frame.scala:{i})" for i in range(60))
    )
    error = runner.step_error(config, "step 'gold'", "NumberFormatException", evalue, tmp_path / "x.ipynb", 2, "-")
    assert "CAST_INVALID_INPUT" in error.what and "JVM" not in error.render() and "Frame" not in error.render()


def test_a_lost_engine_is_named_as_such(tmp_path, config):
    evalue = '<_MultiThreadedRendezvous: StatusCode.UNAVAILABLE details = "failed to connect to all addresses"'
    error = runner.step_error(config, "step 'gold'", "SparkConnectGrpcException", evalue, tmp_path / "x", 1, "R")
    assert error.what.startswith("step 'gold' failed: lost the connection to the local Spark engine at sc://")
    assert "`hm spark status`, then `R`" in error.fix


def test_warnings_a_step_logged_are_collected_once_in_order(tmp_path):
    import nbformat

    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="WARNING hm_utils.bronze: first\nINFO x: no\n"),
        nbformat.v4.new_output("stream", name="stdout", text="WARNING hm_utils.bronze: not stderr\n"),
        nbformat.v4.new_output("stream", name="stderr", text="WARNING hm_utils.silver: second\n"),
        nbformat.v4.new_output("stream", name="stderr", text="WARNING hm_utils.bronze: first\n"),
    ]
    notebook.cells = [cell]
    nbformat.write(notebook, tmp_path / "step.ipynb")
    assert runner.step_warnings(tmp_path / "step.ipynb") == ["first", "second"]
