"""HTML pieces of a report page: KPI tiles, formatted tables, notes and the attention list.

Each helper returns a :class:`Block` (an HTML string that notebooks display as rich output), styled by
templates/site/report.css in both renderers. All text is escaped; numbers are formatted by
`hm_utils.formatting` for the report's currency.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from hm_utils import formatting
from hm_utils.reports.attention import Attention

NUMERIC_KINDS = ("money", "count", "percent", "decimal", "duration")
# Extra output type of the headline tiles: the raw values, read back from the executed notebook by publish
# (renderers ignore it; the HTML twin is what readers see).
HEADLINES_MIME = "application/vnd.hm.headlines+json"


class Block(str):
    """HTML that Jupyter displays as HTML (and nbconvert/Quarto pass through unchanged)."""

    def _repr_html_(self) -> str:
        return str(self)

    def __repr__(self) -> str:  # the plain-text twin of the HTML output: short, not a second copy
        return f"<HTML block, {len(self):,} characters>"


def join(*blocks: Any) -> Block:
    """Several blocks (HTML strings, or objects with `_repr_html_` such as charts) as one output."""
    return Block("\n".join(block._repr_html_() if hasattr(block, "_repr_html_") else str(block) for block in blocks))


def note(text: str) -> Block:
    return Block(f'<p class="hm-note">{html.escape(text)}</p>')


def empty(text: str) -> Block:
    """The no-data message that replaces a table or chart."""
    return Block(f'<p class="hm-empty">{html.escape(text)}</p>')


def banner(text: str) -> Block:
    return Block(f'<div class="hm-banner" role="status">{html.escape(text)}</div>')


def context(lines: Iterable[str]) -> Block:
    """The small grey lines under a page title: period, scope, prices."""
    return Block('<p class="hm-context">' + "<br>".join(html.escape(line) for line in lines) + "</p>")


@dataclass(frozen=True)
class Kpi:
    """One headline tile. `key` and `value` become data attributes (the browser test reads them)."""

    label: str
    text: str
    note: str = ""
    tone: str = ""  # "good", "bad" or "" (colours the note)
    key: str | None = None
    value: float | None = None


class Headlines:
    """KPI tiles that also carry their raw values as HEADLINES_MIME output."""

    def __init__(self, tiles: Block, values: list[dict]) -> None:
        self.tiles = tiles
        self.values = values

    def __repr__(self) -> str:
        return ", ".join(f"{value['label']}: {value['text']}" for value in self.values)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/html": str(self.tiles), HEADLINES_MIME: {"headlines": self.values}}


def kpis(items: Iterable[Kpi]) -> Block:
    tiles = []
    for item in items:
        attrs = ""
        if item.key:
            raw = "" if item.value is None or pd.isna(item.value) else repr(float(item.value))
            attrs = f' data-headline="{html.escape(item.key, quote=True)}" data-value="{raw}"'
        tone = f" {item.tone}" if item.tone in ("good", "bad") else ""
        tiles.append(
            f'<div class="hm-kpi"{attrs}><div class="hm-kpi-label">{html.escape(item.label)}</div>'
            f'<div class="hm-kpi-value">{html.escape(item.text)}</div>'
            f'<div class="hm-kpi-note{tone}">{html.escape(item.note)}</div></div>'
        )
    return Block('<div class="hm-kpis">' + "".join(tiles) + "</div>")


def table(
    frame: pd.DataFrame | None,
    columns: Mapping[str, tuple[str, str]],
    *,
    caption: str | None = None,
    top: int = 10,
    currency: str = "USD",
    empty_message: str = "No rows in this period.",
) -> Block:
    """The first `top` rows of `frame`, columns {name: (header, kind)} formatted by kind (see formatting.KINDS)."""
    if frame is None or frame.empty:
        head = f"<p><strong>{html.escape(caption)}</strong></p>" if caption else ""
        return Block(head + empty(empty_message))
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise KeyError(f"table columns {missing} not in the result ({list(frame.columns)})")
    head = "".join(
        f'<th class="{"num" if kind in NUMERIC_KINDS else "text"}" scope="col">{html.escape(label)}</th>'
        for label, kind in columns.values()
    )
    rows = []
    for record in frame.head(top).to_dict("records"):
        cells = "".join(
            f'<td class="{"num" if kind in NUMERIC_KINDS else "text"}">'
            f"{html.escape(formatting.format_value(record[name], kind, currency))}</td>"
            for name, (_, kind) in columns.items()
        )
        rows.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    more = ""
    if len(frame) > top:
        more = f'<p class="hm-table-more">Showing {top} of {len(frame):,} rows.</p>'
    return Block(
        f'<table class="hm-table">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>{more}'
    )


def attention_list(items: Iterable[Attention], currency: str = "USD", empty_message: str = "") -> Block:
    """The ordered "what needs attention" list: risk badge, what, impact, and the function with the detail."""
    entries = []
    for item in items:
        impact = (
            f" · <strong>{html.escape(formatting.money(item.impact_usd, currency))}</strong>" if item.impact_usd else ""
        )
        entries.append(
            f'<li><span class="hm-risk {item.risk}">{item.risk}</span>{html.escape(item.title)}{impact}'
            f'<br><span class="hm-note">{html.escape(item.detail)} Detail: '
            f'<span class="hm-fn">{html.escape(item.function)}</span></span></li>'
        )
    if not entries:
        return empty(empty_message or "Nothing needs attention in this period.")
    return Block('<ol class="hm-attention">' + "".join(entries) + "</ol>")
