"""Genie spaces: one YAML definition per domain (`genie/<domain>.yml`), exported as `serialized_space` JSON.

A definition names the gold tables (registry keys), metric views and table functions the space may use,
its instructions, and example questions, each answered by ONE named asset:
`{question, function, args}` (args are SQL expressions, bound as named arguments) or
`{question, metric_view, measures, dimensions, where}`. The example SQL is generated from that, so
every example runs (tests/unit/test_genie*.py execute each one) and becomes a trusted example and a
benchmark question in the export. The export follows the Genie API's serialized_space version 2
(text fields as lists of lines, 32-hex ids, lists sorted by id). On Databricks, :func:`deploy_spaces`
creates or updates the spaces through the REST API; stub domains (status: stub) are exported but not deployed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from hm_utils import tables
from hm_utils.config import Config
from hm_utils.errors import ConfigError
from hm_utils.semantic import assets

GENIE_DIR = assets.PACKAGE / "genie"
SAMPLE_QUESTIONS = 5  # shown on the space's start page
_API = "/api/2.0/genie/spaces"


def space_names() -> list[str]:
    """Domains with a space definition, sorted."""
    return sorted(path.stem for path in GENIE_DIR.glob("*.yml"))


def load_space(domain: str) -> dict[str, Any]:
    """The raw definition of one domain, checked: every example names exactly one asset the space lists."""
    path = GENIE_DIR / f"{domain}.yml"
    if not path.is_file():
        raise ConfigError(
            f"no Genie space '{domain}'", where=str(GENIE_DIR), fix=f"use one of {', '.join(space_names())}"
        )
    space = yaml.safe_load(path.read_text()) or {}
    for key in ("title", "description", "status", "instructions"):
        if not space.get(key):
            raise ConfigError(f"Genie space {domain} has no {key}", where=str(path), fix=f"add {key}:")
    functions, views = set(space.get("functions") or []), set(space.get("metric_views") or [])
    unknown = (functions - set(assets.function_names())) | (views - set(assets.metric_view_names()))
    if unknown:
        raise ConfigError(
            f"Genie space {domain} names unknown assets {sorted(unknown)}",
            where=str(path),
            fix="fix the name or add the function / metric view file",
        )
    for example in space.get("examples") or []:
        asset = example_asset(example)
        if asset not in functions | views:
            raise ConfigError(
                f"example '{example.get('question')}' uses {asset}, which space {domain} does not list",
                where=str(path),
                fix="add the asset to functions/metric_views or change the example",
            )
    return space


def example_asset(example: dict[str, Any]) -> str:
    """The one function or metric view that answers an example question."""
    named = [example[key] for key in ("function", "metric_view") if example.get(key)]
    if len(named) != 1:
        raise ConfigError(
            f"example '{example.get('question')}' must name exactly one function or metric_view",
            where=str(GENIE_DIR),
            fix="set either function: or metric_view:",
        )
    return str(named[0])


def example_sql(config: Config, example: dict[str, Any]) -> str:
    """The SQL that answers an example question with its asset (qualified for `config`)."""
    if example.get("function"):
        name = example["function"]
        known = assets.function_spec(config, name).param_names
        args = example.get("args") or {}
        unknown = sorted(set(args) - set(known))
        if unknown:
            raise ConfigError(
                f"example '{example['question']}' passes unknown arguments {unknown} to {name}",
                where=str(GENIE_DIR),
                fix=f"use {', '.join(known)}",
            )
        arguments = ", ".join(f"{key} => {value}" for key, value in args.items())
        return assets.render(f"select * from {assets.qualified(config, name)}({arguments})", config, str(GENIE_DIR))
    view = example["metric_view"]
    dims_known, measures_known = assets.metric_view_fields(assets.metric_view_spec(config, view))
    dims, measures = list(example.get("dimensions") or []), list(example.get("measures") or [])
    bad = [d for d in dims if d not in dims_known] + [m for m in measures if m not in measures_known]
    if bad or not measures:
        raise ConfigError(
            f"example '{example['question']}' uses unknown or no measures/dimensions {bad} of {view}",
            where=str(GENIE_DIR),
            fix=f"dimensions: {dims_known}; measures: {measures_known}",
        )
    select = ", ".join([*dims, *(f"measure({m}) as {m}" for m in measures)])
    sql = f"select {select} from {assets.qualified(config, view)}"
    if example.get("where"):
        sql += f" where {example['where']}"
    if dims:
        sql += f" group by all order by {', '.join(example.get('order_by') or dims)}"
    return assets.render(sql, config, str(GENIE_DIR))


def _id(*parts: str) -> str:
    return hashlib.md5("\x1f".join(parts).encode()).hexdigest()


def _lines(text: str) -> list[str]:
    lines = text.strip().splitlines()
    return [line + "\n" for line in lines[:-1]] + lines[-1:]


def serialized_space(config: Config, domain: str) -> dict[str, Any]:
    """The Genie `serialized_space` (version 2) of one domain for `config`'s catalog and schemas."""
    space = load_space(domain)
    examples = [{**e, "sql": example_sql(config, e)} for e in space.get("examples") or []]
    table_sources = [
        {"identifier": tables.full_name(config, key), "description": [tables.get_spec(config, key).comment]}
        for key in space.get("tables") or []
    ] + [
        {
            "identifier": assets.qualified(config, view),
            "description": [" ".join(str(assets.metric_view_spec(config, view).get("comment", "")).split())],
        }
        for view in space.get("metric_views") or []
    ]
    instructions = space["instructions"]
    if space["status"] == "stub":
        instructions += "\nNot available yet. Missing:\n" + "\n".join(
            f"- {item}" for item in space.get("missing") or []
        )
    body: dict[str, Any] = {
        "version": 2,
        "config": {
            "sample_questions": sorted(
                (
                    {"id": _id(domain, "sample", e["question"]), "question": [e["question"]]}
                    for e in examples[:SAMPLE_QUESTIONS]
                ),
                key=lambda item: item["id"],
            )
        },
        "data_sources": {"tables": sorted(table_sources, key=lambda item: item["identifier"])},
        "instructions": {
            "text_instructions": [{"id": _id(domain, "text"), "content": _lines(instructions)}],
            "example_question_sqls": sorted(
                (
                    {"id": _id(domain, "example", e["question"]), "question": [e["question"]], "sql": _lines(e["sql"])}
                    for e in examples
                ),
                key=lambda item: item["id"],
            ),
            "sql_functions": sorted(
                (
                    {"id": _id(domain, "function", name), "identifier": assets.qualified(config, name)}
                    for name in space.get("functions") or []
                ),
                key=lambda item: item["id"],
            ),
        },
        "benchmarks": {
            "questions": sorted(
                (
                    {
                        "id": _id(domain, "benchmark", e["question"]),
                        "question": [e["question"]],
                        "answer": [{"format": "SQL", "content": _lines(e["sql"])}],
                    }
                    for e in examples
                ),
                key=lambda item: item["id"],
            )
        },
    }
    return body


def space_payload(config: Config, domain: str) -> dict[str, Any]:
    """Body of `POST /api/2.0/genie/spaces` (and PATCH) for one domain."""
    space = load_space(domain)
    prefix = config.get("semantic.genie.title_prefix") or ""
    return {
        "title": f"{prefix} · {space['title']}".strip(" ·"),
        "description": " ".join(str(space["description"]).split()),
        "warehouse_id": config.get("semantic.genie.warehouse_id"),
        "parent_path": config.get("semantic.genie.parent_path"),
        "serialized_space": json.dumps(serialized_space(config, domain), sort_keys=True),
    }


def export_spaces(config: Config, out_dir: Path) -> list[Path]:
    """Write `<domain>.geniespace.json` (the serialized_space, as bundles' `file_path` expects) per domain."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for domain in space_names():
        path = out_dir / f"{domain}.geniespace.json"
        path.write_text(json.dumps(serialized_space(config, domain), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def deploy_spaces(config: Config, client: Any = None) -> list[str]:
    """Create or update every active space on Databricks (matched by title); the titles deployed.

    `client` is a `databricks.sdk.WorkspaceClient` (one is created from the environment when None).
    """
    if client is None:
        from databricks.sdk import WorkspaceClient

        client = WorkspaceClient()
    existing = {
        space.get("title"): space.get("space_id")
        for space in (client.api_client.do("GET", _API) or {}).get("spaces", [])
    }
    deployed = []
    for domain in space_names():
        if load_space(domain)["status"] == "stub":
            continue
        payload = space_payload(config, domain)
        space_id = existing.get(payload["title"])
        if space_id:
            client.api_client.do("PATCH", f"{_API}/{space_id}", body=payload)
        else:
            client.api_client.do("POST", _API, body=payload)
        deployed.append(payload["title"])
    return deployed
