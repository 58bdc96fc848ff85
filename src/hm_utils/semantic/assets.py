"""The semantic layer's source files: SQL table functions and metric-view YAML, rendered for a target.

Placeholder scheme (the only one used in `sql/functions/*.sql` and `sql/metric_views/*.yml`):
- `{semantic}` → `catalog.schema` where functions and metric views live (`schemas.semantic`);
- `{<layer>.<table>}` → the registry table, e.g. `{gold.fct_job_runs}` (via :func:`hm_utils.tables.full_name`);
- `{sla_default_minutes}`, `{sla_targets}`, `{sensitive_table_regex}`, `{currency_code}` → values from params
  `semantic:` baked in at deploy time (a number, an inline relation `(job_key, target_minutes)`, a string
  literal, the currency code used by metric-view formats);
- `{today}`, `{now}` → `current_date()`, `current_timestamp()`, or the instant pinned by `clock.now` as a
  literal (so a pinned run's default windows do not move with the calendar).
Rendering happens on the text before anything parses it, so a YAML value such as `source: {gold.x}`
becomes a plain scalar. An unknown placeholder is a ConfigError naming the file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hm_utils import clock, tables
from hm_utils.config import Config
from hm_utils.errors import ConfigError
from hm_utils.io import quote_identifier, sql_string

PACKAGE = Path(__file__).resolve().parents[1]
FUNCTIONS_DIR = PACKAGE / "sql" / "functions"
METRIC_VIEWS_DIR = PACKAGE / "sql" / "metric_views"

_PLACEHOLDER = re.compile(r"\{([a-z_]+)(?:\.([a-z0-9_]+))?\}")
METRIC_V01_KEYS = ("version", "source", "filter", "dimensions", "measures")


# ---------------------------------------------------------------------------------------------- rendering


def semantic_schema(config: Config) -> str:
    """`catalog.schema` of the semantic layer."""
    return f"{config.catalog}.{tables.schema_name(config, 'semantic')}"


def qualified(config: Config, name: str) -> str:
    """Full name of a semantic object (function or metric view)."""
    return f"{semantic_schema(config)}.{name}"


def _sla_targets(config: Config) -> str:
    jobs = config.get("semantic.sla.jobs") or {}
    if not isinstance(jobs, dict):
        raise ConfigError(
            "semantic.sla.jobs must map a job id or name to minutes",
            where="params: semantic.sla.jobs",
            fix="write jobs: {'<job id or name>': 45}",
        )
    if not jobs:
        return "(select cast(null as string) as job_key, cast(null as int) as target_minutes where false)"
    rows = ", ".join(f"({sql_string(str(key))}, {int(minutes)})" for key, minutes in sorted(jobs.items()))
    return f"(select job_key, target_minutes from values {rows} as sla(job_key, target_minutes))"


_SNIPPETS: dict[str, Callable[[Config], str]] = {
    "semantic": semantic_schema,
    "sla_default_minutes": lambda c: str(int(c.get("semantic.sla.default_minutes", 60))),
    "sla_targets": _sla_targets,
    "sensitive_table_regex": lambda c: sql_string(str(c.get("semantic.sensitive_table_regex", "(?i)pii"))),
    "currency_code": lambda c: str(c.get("semantic.currency_code", "USD")),
    "today": clock.sql_today,
    "now": clock.sql_now,
}


def render(text: str, config: Config, where: str) -> str:
    """`text` with every placeholder replaced for `config` (see the module docstring)."""

    def replace(match: re.Match[str]) -> str:
        head, tail = match.group(1), match.group(2)
        if tail is None and head in _SNIPPETS:
            return _SNIPPETS[head](config)
        if tail is not None and head in tables.LAYERS:
            return tables.full_name(config, f"{head}.{tail}")
        raise ConfigError(
            f"unknown placeholder {match.group(0)}",
            where=where,
            fix=f"use {{<layer>.<table>}} from params/tables.yml or one of {{{'}, {'.join(_SNIPPETS)}}}",
        )

    return _PLACEHOLDER.sub(replace, text)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------- functions


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: str | None
    comment: str | None


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    comment: str | None


@dataclass(frozen=True)
class FunctionSpec:
    """A parsed `CREATE FUNCTION ... RETURNS TABLE` statement."""

    name: str
    params: tuple[Param, ...]
    columns: tuple[Column, ...]
    comment: str | None
    text: str = field(repr=False)

    @property
    def param_names(self) -> list[str]:
        return [p.name for p in self.params]


def function_names() -> list[str]:
    """Names of all table functions (one file each), sorted."""
    return sorted(path.stem for path in FUNCTIONS_DIR.glob("*.sql"))


def function_path(name: str) -> Path:
    path = FUNCTIONS_DIR / f"{name}.sql"
    if not path.is_file():
        near = [n for n in function_names() if n.split("_")[1:2] == name.split("_")[1:2]][:8]
        raise ConfigError(
            f"no semantic function '{name}'",
            where=str(FUNCTIONS_DIR),
            fix=f"use one of the functions there, e.g. {', '.join(near or function_names()[:8])}",
        )
    return path


def render_function(config: Config, name: str) -> str:
    """The deployable `create or replace function` text of one function."""
    path = function_path(name)
    return render(path.read_text(), config, str(path)).strip().rstrip(";") + "\n"


def function_spec(config: Config, name: str) -> FunctionSpec:
    """Parameters, returned columns and comment of a function, parsed from its rendered text."""
    return _parse_function(render_function(config, name), name)


def _parse_function(text: str, name: str) -> FunctionSpec:
    header = re.search(r"create\s+or\s+replace\s+function\s+([\w.`]+)\s*\(", text, re.IGNORECASE)
    if not header or header.group(1).split(".")[-1].strip("`") != name:
        raise ConfigError(
            f"function file {name}.sql does not start with `create or replace function {{semantic}}.{name}(`",
            where=str(FUNCTIONS_DIR / f"{name}.sql"),
            fix="rename the file or the function",
        )
    params_text, pos = _balanced(text, header.end() - 1)
    returns = re.compile(r"\s*returns\s+table\s*\(", re.IGNORECASE).match(text, pos)
    if not returns:
        raise ConfigError(
            f"function {name} has no `returns table (...)`", where=f"{name}.sql", fix="declare the columns"
        )
    columns_text, pos = _balanced(text, returns.end() - 1)
    comment = re.compile(r"\s*comment\s+('(?:[^'\\]|\\.)*')", re.IGNORECASE).match(text, pos)
    params = tuple(_param(part) for part in _split_top_level(params_text))
    columns = tuple(_column(part) for part in _split_top_level(columns_text))
    return FunctionSpec(
        name=name, params=params, columns=columns, comment=_unquote(comment.group(1)) if comment else None, text=text
    )


def _balanced(text: str, open_at: int) -> tuple[str, int]:
    """Content between the parenthesis at `open_at` and its match, and the index after the match."""
    depth, i, quote = 0, open_at, None
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return text[open_at + 1 : i], i + 1
        i += 1
    raise ConfigError("unbalanced parentheses in a function header", where=text[:80], fix="close every parenthesis")


def _split_top_level(text: str) -> list[str]:
    parts, depth, quote, start, i = [], 0, None, 0, 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


_COMMENT_TAIL = re.compile(r"\s+comment\s+('(?:[^'\\]|\\.)*')\s*$", re.IGNORECASE | re.DOTALL)


def _param(text: str) -> Param:
    comment = _COMMENT_TAIL.search(text)
    body = text[: comment.start()] if comment else text
    name, rest = body.split(None, 1)
    default = re.search(r"\s+default\s+", " " + rest, re.IGNORECASE)
    type_text = (" " + rest)[: default.start()].strip() if default else rest.strip()
    return Param(
        name=name.strip("`"),
        type=type_text.lower(),
        default=(" " + rest)[default.end() :].strip() if default else None,
        comment=_unquote(comment.group(1)) if comment else None,
    )


def _column(text: str) -> Column:
    comment = _COMMENT_TAIL.search(text)
    body = text[: comment.start()] if comment else text
    name, type_text = body.split(None, 1)
    return Column(
        name=name.strip("`"), type=type_text.strip().lower(), comment=_unquote(comment.group(1)) if comment else None
    )


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


# ---------------------------------------------------------------------------------------------- metric views


def metric_view_names() -> list[str]:
    """Names of all metric views (one YAML file each), sorted."""
    return sorted(path.stem for path in METRIC_VIEWS_DIR.glob("*.yml"))


def metric_view_path(name: str) -> Path:
    path = METRIC_VIEWS_DIR / f"{name}.yml"
    if not path.is_file():
        raise ConfigError(
            f"no metric view '{name}'", where=str(METRIC_VIEWS_DIR), fix=f"use one of {', '.join(metric_view_names())}"
        )
    return path


def metric_view_spec(config: Config, name: str) -> dict[str, Any]:
    """The canonical spec 1.1 definition of a metric view, placeholders rendered."""
    path = metric_view_path(name)
    return _load_yaml(render(path.read_text(), config, str(path)), str(path))


def _load_yaml(text: str, where: str) -> dict[str, Any]:
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid metric view YAML: {exc}", where=where, fix="fix the syntax") from exc
    if not isinstance(spec, dict) or "source" not in spec:
        raise ConfigError("a metric view needs at least version, source and measures", where=where, fix="add them")
    return spec


def metric_view_fields(spec: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Dimension names and measure names of a spec."""
    return [d["name"] for d in spec.get("dimensions", [])], [m["name"] for m in spec.get("measures", [])]


def local_metric_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec 0.1 form that open-source Spark 4.2+ accepts, derived from a 1.1 spec.

    Only version/source/filter/dimensions/measures with name/expr are kept. Joins are folded into a
    SQL source: `select source.*, struct(<join>.*) as <join> from <source> as source left join ...`, so
    an expression such as `job.job_name` resolves to the struct field exactly as it resolves to the joined
    column on Databricks. Comments go to the DDL column list instead (see :func:`metric_view_ddl`).
    """
    source = str(spec["source"])
    joins = spec.get("joins") or []
    if joins:
        source_sql = f"({source})" if " " in source.strip() else source
        selects = ["source.*"] + [f"struct({join['name']}.*) as {join['name']}" for join in joins]
        froms = [f"{source_sql} as source"] + [
            f"left join {join['source']} as {join['name']} on {join.get('on') or join.get(True)}" for join in joins
        ]
        source = f"select {', '.join(selects)} from {' '.join(froms)}"
    local: dict[str, Any] = {"version": "0.1", "source": source}
    if spec.get("filter"):
        local["filter"] = spec["filter"]
    local["dimensions"] = [{"name": d["name"], "expr": d["expr"]} for d in spec.get("dimensions", [])]
    local["measures"] = [{"name": m["name"], "expr": m["expr"]} for m in spec.get("measures", [])]
    return local


def metric_view_ddl(config: Config, name: str) -> str:
    """`create or replace view ... with metrics language yaml` for the configured target.

    Databricks gets the canonical spec 1.1 YAML (comments, display names, synonyms, formats, joins);
    the local engine gets the spec 0.1 form with the comments moved to the DDL column list.
    """
    spec = metric_view_spec(config, name)
    full = qualified(config, name)
    comment = sql_string(" ".join(str(spec.get("comment", name)).split()))
    if not config.is_local:
        body = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=1000)
        return f"create or replace view {full}\nwith metrics\nlanguage yaml\ncomment {comment}\nas $$\n{body}$$"
    columns = ",\n  ".join(
        f"{quote_identifier(item['name'])} comment {sql_string(' '.join(str(item.get('comment', '')).split()))}"
        for item in [*spec.get("dimensions", []), *spec.get("measures", [])]
    )
    body = yaml.safe_dump(local_metric_spec(spec), sort_keys=False, allow_unicode=True, width=1000)
    return f"create or replace view {full} (\n  {columns}\n)\nwith metrics\nlanguage yaml\ncomment {comment}\nas $$\n{body}$$"
