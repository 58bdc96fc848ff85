"""Run configuration: params/base.yml, then params/<env>.yml, then command-line overrides.

Config flows one way (STYLE rule 2): files → `HM_SET` / `--set key.sub=value` overrides →
notebook parameters → :func:`load`. Notebooks call :func:`load` and never read YAML themselves.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hm_utils import settings
from hm_utils.errors import ConfigError
from hm_utils.settings import OverrideText

ENVIRONMENTS = ("local", "dev", "prod", "ci")
TARGETS = ("local", "databricks")
SOURCE_KINDS = ("simulated", "system", "parquet")


def project_root() -> Path:
    """The folder that holds `params/base.yml`: $HM_PROJECT_ROOT, the cwd or a parent, or the repo."""
    if os.environ.get("HM_PROJECT_ROOT"):
        return Path(os.environ["HM_PROJECT_ROOT"]).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "params" / "base.yml").is_file():
            return folder
    repo = Path(__file__).resolve().parents[2]
    if (repo / "params" / "base.yml").is_file():
        return repo
    raise ConfigError(
        "cannot find params/base.yml",
        where=str(here),
        fix="run from the project folder or set HM_PROJECT_ROOT to it",
    )


@dataclass(frozen=True)
class Config:
    """Merged parameters of one environment, with typed accessors for the common ones."""

    env: str
    data: dict[str, Any]
    root: Path
    overrides: dict[str, Any] = field(default_factory=dict)

    def get(self, dotted: str, default: Any = None) -> Any:
        """Value at a dotted path such as `spark.local.port`, or `default` when absent."""
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return node

    def require(self, dotted: str) -> Any:
        """Value at a dotted path; a ConfigError naming the key when it is missing."""
        value = self.get(dotted)
        if value is None:
            raise ConfigError(
                f"parameter '{dotted}' is not set",
                where=f"params/base.yml + params/{self.env}.yml",
                fix=f"add it to params/{self.env}.yml or pass --set {dotted}=VALUE",
            )
        return value

    @property
    def target(self) -> str:
        return str(self.data["target"])

    @property
    def is_local(self) -> bool:
        return self.target == "local"

    @property
    def catalog(self) -> str:
        return str(self.data["catalog"])

    def path(self, key: str) -> Path:
        """A `paths.<key>` folder, resolved against the project root."""
        value = Path(str(self.require(f"paths.{key}")))
        return value if value.is_absolute() else (self.root / value).resolve()

    @property
    def home(self) -> Path:
        return self.path("home")

    def with_overrides(self, overrides: Mapping[str, Any]) -> Config:
        """A copy with more dotted overrides applied (validated again)."""
        merged = {**self.overrides, **overrides}
        return load(self.env, merged, root=self.root)


def parse_overrides(items: Sequence[str] | str | None) -> dict[str, Any]:
    """Overrides from the command line, HM_SET or the `overrides` notebook parameter.

    Accepted: `["a.b=1", "c=x"]`, `"a.b=1;c=x"`, or a JSON object `'{"a.b": 1, "c": "x"}'` (what `hm run`
    passes to its notebooks, so that a value may hold any character). KEY=VALUE values stay text
    (:class:`OverrideText`) until :func:`load` reads them as their key's type.
    """
    if not items:
        return {}
    if isinstance(items, str):
        if items.strip().startswith("{"):
            return _json_overrides(items)
        items = [item for item in items.split(";") if item.strip()]
    parsed: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"override '{item}' is not KEY=VALUE",
                where="--set / HM_SET",
                fix="write it as section.key=value, e.g. --set simulation.days=30",
            )
        parsed[key.strip()] = OverrideText(raw.strip()) if raw.strip() else None
    return parsed


def overrides_json(overrides: Mapping[str, Any]) -> str:
    """Overrides as the JSON object :func:`parse_overrides` reads back with their types."""
    return json.dumps(dict(overrides), default=str, sort_keys=True) if overrides else ""


def _json_overrides(text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"overrides are not a valid JSON object: {exc}",
            where="overrides parameter / HM_SET",
            fix='pass {"section.key": value, ...} or section.key=value pairs separated by semicolons',
        ) from exc
    if not isinstance(parsed, dict):
        raise ConfigError("overrides must be a JSON object", where="overrides parameter / HM_SET", fix="use {...}")
    return parsed


def load(
    env: str | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | str | None = None,
    root: Path | None = None,
) -> Config:
    """Merge base.yml, <env>.yml, $HM_SET and `overrides`; validate; return the Config.

    `env` defaults to $HM_ENV, then `local`. Every key must exist in params/base.yml (which is the
    schema of the settings) and hold a value of its type; :mod:`hm_utils.settings` says more.
    """
    env = env or os.environ.get("HM_ENV") or "local"
    if env not in ENVIRONMENTS:
        raise ConfigError(
            f"unknown environment '{env}'",
            where="--env / HM_ENV",
            fix=f"use one of {', '.join(ENVIRONMENTS)}",
        )
    root = root or project_root()
    base = _read_yaml(root / "params" / "base.yml")
    data = base
    env_file = root / "params" / f"{env}.yml"
    if env_file.is_file():
        env_data = _read_yaml(env_file)
        settings.check_file(env_data, base, f"params/{env}.yml")
        data = _deep_merge(data, env_data)
    from_environment = parse_overrides(os.environ.get("HM_SET"))
    given = dict(overrides) if isinstance(overrides, Mapping) else parse_overrides(overrides)
    applied: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for source, values in (("HM_SET", from_environment), ("--set", given)):
        for dotted, value in values.items():
            applied[dotted] = settings.check_override(dotted, value, base, source)
            sources[dotted] = source
    for dotted, value in applied.items():
        _set_dotted(data, dotted, value)
    config = Config(env=env, data=data, root=root, overrides=applied)
    settings.check_values(config, base, sources)
    _validate(config)
    return config


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"missing config file {path.name}", where=str(path), fix="restore it from git") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"invalid YAML: {getattr(exc, 'problem', exc)}", where=where, fix="fix the syntax") from exc
    if not isinstance(loaded, dict):
        raise ConfigError("top level must be a mapping", where=str(path), fix="write key: value pairs")
    return loaded


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    parts = settings.split_key(dotted)
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(
                f"cannot set '{dotted}': '{part}' is a value, not a section",
                where="--set / HM_SET",
                fix="check the key against params/base.yml",
            )
        node = child
    node[parts[-1]] = value


def _validate(config: Config) -> None:
    if config.target not in TARGETS:
        raise ConfigError(
            f"target '{config.target}' is not one of {', '.join(TARGETS)}",
            where=f"params/{config.env}.yml: target",
            fix="set target: local or target: databricks",
        )
    kind = config.get("source.kind")
    if kind not in SOURCE_KINDS:
        raise ConfigError(
            f"source.kind '{kind}' is not one of {', '.join(SOURCE_KINDS)}",
            where=f"params/{config.env}.yml: source.kind",
            fix="use simulated, system, or parquet (with source.path)",
        )
    if kind == "parquet" and not config.get("source.path"):
        raise ConfigError(
            "source.kind is parquet but source.path is empty",
            where="source.path",
            fix="pass --source parquet:DIR or set source.path",
        )
    if kind == "simulated" and not config.is_local:
        raise ConfigError(
            "the simulated source only exists on the local engine",
            where=f"params/{config.env}.yml: source.kind",
            fix="use source.kind: system on Databricks, or target: local",
        )
    for layer in ("bronze", "silver", "gold", "semantic", "ops", "simulated"):
        if not config.get(f"schemas.{layer}"):
            raise ConfigError(
                f"schemas.{layer} is not set", where="params/base.yml: schemas", fix="name a schema for it"
            )
