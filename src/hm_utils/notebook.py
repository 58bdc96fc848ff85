"""What every step notebook calls first: its parameters, config and Spark session.

Papermill injects typed values after the cell tagged `parameters`. On Databricks the same
notebook runs as a job task and its parameters arrive as widget values, which are always
strings: :func:`start` reads them and converts each one to the type of the notebook's default.
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hm_utils import config as config_module
from hm_utils.config import Config
from hm_utils.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass
class StepContext:
    """The resolved parameters, config and (connected on first use) session of one notebook run."""

    params: dict[str, Any]
    config: Config
    run_id: str
    _spark: SparkSession | None = None

    @property
    def spark(self) -> SparkSession:
        if self._spark is None:
            from hm_utils.spark import get_spark

            self._spark = get_spark(self.config)
        return self._spark


def _dbutils() -> Any | None:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return None if shell is None else shell.user_ns.get("dbutils")


def coerce(name: str, raw: str, default: Any) -> Any:
    """A widget string converted to the type of the notebook default."""
    try:
        if isinstance(default, bool):
            if raw.strip().lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(raw)
            return raw.strip().lower() in ("true", "1", "yes")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, (list, dict)):
            return json.loads(raw) if raw.strip() else type(default)()
    except ValueError as exc:
        raise ConfigError(
            f"parameter '{name}' = {raw!r} is not a {type(default).__name__}",
            where="notebook widget / job parameter",
            fix=f"pass a {type(default).__name__} value",
        ) from exc
    return raw


def widget_text(value: Any) -> str:
    """A parameter value as a widget (or job parameter) string: JSON for lists and dicts, else str();
    :func:`coerce` turns it back into the value."""
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def widget_values(defaults: dict[str, Any]) -> dict[str, Any]:
    """On Databricks: each parameter from its widget (typed); elsewhere: the defaults as given."""
    dbutils = _dbutils()
    if dbutils is None:
        return dict(defaults)
    values = {}
    for name, default in defaults.items():
        dbutils.widgets.text(name, widget_text(default))
        values[name] = coerce(name, dbutils.widgets.get(name), default)
    return values


def start(**parameters: Any) -> StepContext:
    """Resolve parameters (`env`, `overrides`, `run_id` and the step's own) and load the config."""
    params = widget_values(parameters)
    # the step's own progress at INFO; libraries (Great Expectations registers hundreds of INFO lines
    # on import) only from WARNING, so the executed notebook shows what the step did
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", force=True)
    logging.getLogger("hm_utils").setLevel(logging.INFO)
    # tqdm (imported by Great Expectations) warns in every kernel without ipywidgets; no progress bars are shown
    warnings.filterwarnings("ignore", message="IProgress not found")
    config = config_module.load(params.get("env") or None, params.get("overrides") or None)
    return StepContext(params=params, config=config, run_id=str(params.get("run_id") or "interactive"))
