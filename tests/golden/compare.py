"""Compare an executed notebook with its golden copy the way nbval does, without running it a second time.

The notebook under test is the real one (reports/, notebooks/), executed by papermill; its golden copy in this
folder holds the expected outputs. Cells are paired by position and must have the same source (except the
parameters papermill injects); outputs are compared after nbval's own stream coalescing and the regexes of
tests/golden/sanitize.cfg, skipping what nbval skips (metadata, execution counts, images) and the cells tagged
`nbval-ignore-output` or `nbval-skip`. Set HM_UPDATE_GOLDEN=1 to write the executed notebook as the new golden
copy instead (then review the diff before committing it).
"""

from __future__ import annotations

import difflib
import os
from collections import defaultdict
from pathlib import Path

import nbformat
from nbval.plugin import coalesce_streams, find_comment_markers, find_metadata_tags, get_sanitize_patterns

GOLDEN = Path(__file__).resolve().parent
SKIPPED_KEYS = {"metadata", "traceback", "prompt_number", "output_type", "name", "execution_count", "image/png"}
SKIPPED_KEYS |= {"image/jpeg", "application/vnd.jupyter.widget-view+json"}
INJECTED = "injected-parameters"


def _patterns() -> list[tuple[str, str]]:
    return get_sanitize_patterns((GOLDEN / "sanitize.cfg").read_text())


def _sanitize(text: object, patterns: list[tuple[str, str]]) -> object:
    import re

    if not isinstance(text, str):
        return text
    for regex, replacement in patterns:
        text = re.sub(regex, replacement, text)
    return text


def _comparable(outputs: list, patterns: list[tuple[str, str]]) -> dict[str, list]:
    """nbval's view of a cell's outputs: values per output key (data flattened by MIME type), sanitized."""
    flat: dict[str, list] = defaultdict(list)
    for output in coalesce_streams([nbformat.from_dict(dict(o)) for o in outputs]):
        if output.output_type == "stream":
            flat[output.name].append(_sanitize(output.text, patterns))
            continue
        for key, value in output.items():
            if key == "data":
                for mime, content in value.items():
                    if mime not in SKIPPED_KEYS:
                        flat[mime].append(_sanitize(content, patterns))
            elif key not in SKIPPED_KEYS:
                flat[key].append(_sanitize(value, patterns))
    return dict(flat)


def _ignored(cell) -> bool:
    options = {**dict(find_metadata_tags(cell.metadata)), **dict(find_comment_markers(cell.source))}
    return options.get("check") is False or bool(options.get("skip"))


def differences(executed: Path, golden: Path) -> list[str]:
    """What differs between the executed notebook and its golden copy (empty when they match)."""
    patterns = _patterns()
    test = [c for c in nbformat.read(executed, as_version=4).cells if c.cell_type == "code"]
    reference = [c for c in nbformat.read(golden, as_version=4).cells if c.cell_type == "code"]
    if len(test) != len(reference):
        return [f"{len(test)} code cells, the golden copy has {len(reference)}: regenerate it (HM_UPDATE_GOLDEN=1)"]
    found = []
    for number, (ran, expected) in enumerate(zip(test, reference, strict=True)):
        injected = INJECTED in ran.metadata.get("tags", [])
        if not injected and ran.source != expected.source:
            found.append(f"cell {number}: the source changed; regenerate the golden copy (HM_UPDATE_GOLDEN=1)")
            continue
        if injected or _ignored(expected):
            continue
        got, want = _comparable(ran.outputs, patterns), _comparable(expected.outputs, patterns)
        if got != want:
            found.append(f"cell {number} ({ran.source.splitlines()[0][:60]!r}):\n" + _diff(want, got))
    return found


def _diff(want: dict[str, list], got: dict[str, list]) -> str:
    lines = []
    for key in sorted(set(want) | set(got)):
        if want.get(key) != got.get(key):
            before = "\n".join(map(str, want.get(key, []))).splitlines()
            after = "\n".join(map(str, got.get(key, []))).splitlines()
            lines.append(f"  {key}:")
            lines.extend("    " + line for line in list(difflib.unified_diff(before, after, "golden", "now", n=1))[:40])
    return "\n".join(lines)


def write_golden(executed: Path, golden: Path) -> None:
    """The executed notebook as the golden copy, without papermill's record of this machine's paths."""
    notebook = nbformat.read(executed, as_version=4)
    for key in ("input_path", "output_path"):
        notebook.metadata.get("papermill", {}).pop(key, None)
    nbformat.write(notebook, golden)


def check(executed: Path, golden: Path) -> list[str]:
    """:func:`differences`, or with HM_UPDATE_GOLDEN=1 write the executed notebook as the golden one (no differences)."""
    if os.environ.get("HM_UPDATE_GOLDEN") == "1":
        write_golden(executed, golden)
        return []
    return differences(executed, golden)
