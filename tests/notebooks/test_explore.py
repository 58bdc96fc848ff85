"""The JupyterLab path on the ci account: the starter notebook runs through papermill (catalog by domain, a chart,
the drill from the spend headline down to job and task rows), and a kernel started the way `hm lab` starts them
reaches the engine with the same config."""

from __future__ import annotations

import nbformat
import pytest

from hm_utils import lab, runner

pytestmark = [pytest.mark.engine, pytest.mark.slow]


def _outputs(cell) -> str:
    return "\n".join(
        str(output.get("text", "")) + "\n".join(str(v) for v in output.get("data", {}).values())
        for output in cell.outputs
    )


@pytest.fixture(scope="module")
def explored(account, config, report_period, tmp_path_factory):
    executed = tmp_path_factory.mktemp("explore") / "explore.ipynb"
    start, end = report_period
    parameters = {"env": "ci", "start_date": start, "end_date": end}
    runner.execute_notebook(config, lab.STARTER, executed, parameters, what="the starter notebook", rerun="pytest")
    return [cell for cell in nbformat.read(executed, as_version=4).cells if cell.cell_type == "code"]


def test_the_starter_notebook_lists_assets_by_domain_and_draws_a_chart(explored):
    text = "\n".join(_outputs(cell) for cell in explored)
    for domain in ("Cost", "Performance", "Reliability", "Security"):
        assert domain in text
    assert "get_daily_cost_summary" in text and "<svg" in text and "Spend Nov 19 – Nov 28, 2026" in text


def test_the_drill_reaches_rows_at_every_step(explored):
    drill = [cell for cell in explored if "semantic.call(" in cell.source]
    assert len(drill) == 3
    for cell in drill:
        shown = _outputs(cell)
        assert "Empty DataFrame" not in shown and "<table" in shown, cell.source


def test_a_kernel_started_like_hm_lab_reaches_the_engine_with_the_same_config(spark, config):
    from jupyter_client.manager import start_new_kernel

    _, env = lab.lab_command(config)
    manager, client = start_new_kernel(kernel_name="python3", env=env, cwd=str(config.root))
    try:
        code = (
            "from hm_utils import notebook\nctx = notebook.start()\nprint(ctx.config.env, ctx.spark.range(3).count())"
        )
        seen: list[str] = []
        reply = client.execute_interactive(
            code, timeout=300, output_hook=lambda m: seen.append(m["content"].get("text", ""))
        )
        assert reply["content"]["status"] == "ok", reply["content"]
        assert "ci 3" in "".join(seen)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
