"""Structure rules for every committed notebook: title and purpose first, one parameters cell papermill can read,
no functions or classes, no outputs, no table names written out."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("reports/*.ipynb")])


def _ids(paths):
    return [str(path.relative_to(ROOT)) for path in paths]


def test_there_are_notebooks():
    assert any(path.parent.name == "notebooks" for path in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_exactly_one_parameters_cell(path):
    notebook = nbformat.read(path, as_version=4)
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged 'parameters'"
    assert tagged[0].cell_type == "code"
    names = {target.id for node in ast.parse(tagged[0].source).body for target in getattr(node, "targets", [])}
    assert {"env", "overrides", "run_id"} <= names, f"{path.name}: parameters must include env, overrides, run_id"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_papermill_can_read_every_parameter(path):
    """papermill skips a parameter whose line holds a second '=' (e.g. in its help comment)."""
    from papermill.translators import PythonTranslator

    notebook = nbformat.read(path, as_version=4)
    tagged = next(cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", []))
    assigned = [line.split("=")[0].strip() for line in tagged.source.splitlines() if "=" in line]
    assert [parameter.name for parameter in PythonTranslator.inspect(tagged)] == assigned


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_title_and_purpose_first(path):
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), f"{path.name}: no H1 title first"
    assert len([line for line in first.source.splitlines() if line.strip()]) >= 2, f"{path.name}: no purpose line"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_functions_or_classes(path):
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(source)):
            assert not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)), (
                f"{path.name}: logic belongs in hm_utils, not in a notebook"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_without_outputs(path):
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name}: strip outputs (nbstripout)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_table_name_literals(path):
    text = path.read_text()
    for schema in (
        "hm_bronze.",
        "hm_silver.",
        "hm_gold.",
        "hm_semantic.",
        "hm_ops.",
        "system.billing",
        "system.access",
    ):
        assert schema not in text, f"{path.name}: refer to tables by registry key, not '{schema}'"
