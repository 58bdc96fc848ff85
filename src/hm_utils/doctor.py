"""`hm doctor` for a Databricks environment: what a remote run needs, each item found or missing with the fix.

A remote run needs Databricks Connect (in an environment without pyspark), credentials (a
`~/.databrickscfg` profile or the `DATABRICKS_*` variables), compute (a cluster id or serverless, not both)
and, once connected, read access to the system tables the source declares.
"""

from __future__ import annotations

import configparser
import importlib.metadata
import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hm_utils import tables
from hm_utils.config import Config


@dataclass(frozen=True)
class Check:
    """One requirement: what it is, whether it is met, what was found, and what to do when it is not."""

    name: str
    ok: bool
    found: str
    fix: str = ""


def remote_checks(config: Config, environ: Mapping[str, str] | None = None) -> list[Check]:
    """The checks that need no connection: package, credentials, compute."""
    environ = os.environ if environ is None else environ
    profile_name, profile = _profile(config, environ)
    return [
        _package_check(),
        _credentials_check(environ, profile_name, profile),
        _compute_check(config, environ, profile),
    ]


def _package_check() -> Check:
    if importlib.util.find_spec("databricks.connect") is None:
        return Check(
            "databricks-connect",
            False,
            "not installed",
            "in a separate environment whose Python matches the cluster's runtime: "
            "`python -m venv .venv-remote && .venv-remote/bin/pip install -e '.[databricks]'`",
        )
    version = importlib.metadata.version("databricks-connect")
    try:
        importlib.metadata.distribution("pyspark")
    except importlib.metadata.PackageNotFoundError:
        return Check("databricks-connect", True, f"databricks-connect {version}")
    return Check(
        "databricks-connect",
        False,
        f"databricks-connect {version} next to a separately installed pyspark (they overwrite each other)",
        "`pip uninstall pyspark pyspark-connect`, then `pip install --force-reinstall databricks-connect`",
    )


def _profile(config: Config, environ: Mapping[str, str]) -> tuple[str, dict[str, str] | None]:
    """The profile the SDK would use (params, then DATABRICKS_CONFIG_PROFILE, then DEFAULT) and its settings."""
    name = config.get("spark.databricks.profile") or environ.get("DATABRICKS_CONFIG_PROFILE") or "DEFAULT"
    path = Path(environ.get("DATABRICKS_CONFIG_FILE") or Path(environ.get("HOME", "~")) / ".databrickscfg").expanduser()
    parser = configparser.ConfigParser()
    if path.is_file():
        parser.read(path)
    if name == "DEFAULT":
        return name, dict(parser.defaults()) or None
    return name, dict(parser[name]) if parser.has_section(name) else None


def _credentials_check(environ: Mapping[str, str], profile_name: str, profile: dict[str, str] | None) -> Check:
    host = environ.get("DATABRICKS_HOST") or (profile or {}).get("host")
    secret = (
        environ.get("DATABRICKS_TOKEN")
        or (environ.get("DATABRICKS_CLIENT_ID") and environ.get("DATABRICKS_CLIENT_SECRET"))
        or {"token", "client_secret", "auth_type", "azure_client_secret"} & set(profile or {})
    )
    source = f"profile {profile_name}" if profile else "DATABRICKS_* variables"
    if host and secret:
        return Check("credentials", True, f"{host} ({source})")
    missing = "a workspace host" if not host else "a token or OAuth client (or auth_type)"
    return Check(
        "credentials",
        False,
        f"no {missing} in profile {profile_name} or the DATABRICKS_* variables",
        "`databricks auth login --host <workspace-url>` (writes a profile), then set spark.databricks.profile "
        "in params/<env>.yml; or export DATABRICKS_HOST and DATABRICKS_TOKEN",
    )


def _compute_check(config: Config, environ: Mapping[str, str], profile: dict[str, str] | None) -> Check:
    cluster = config.get("spark.databricks.cluster_id") or environ.get("DATABRICKS_CLUSTER_ID")
    cluster = cluster or (profile or {}).get("cluster_id")
    serverless = bool(config.get("spark.databricks.serverless")) or "auto" in (
        environ.get("DATABRICKS_SERVERLESS_COMPUTE_ID"),
        (profile or {}).get("serverless_compute_id"),
    )
    if cluster and config.get("spark.databricks.cluster_id") and config.get("spark.databricks.serverless"):
        return Check(
            "compute",
            False,
            f"both cluster {cluster} and serverless are set",
            f"set spark.databricks.serverless: false, or remove cluster_id, in params/{config.env}.yml",
        )
    if cluster:
        return Check("compute", True, f"cluster {cluster}")
    if serverless:
        return Check("compute", True, "serverless")
    return Check(
        "compute",
        False,
        "no cluster id and serverless is off",
        f"set spark.databricks.serverless: true (or cluster_id) in params/{config.env}.yml, "
        "or export DATABRICKS_CLUSTER_ID / DATABRICKS_SERVERLESS_COMPUTE_ID=auto",
    )


def system_table_checks(spark, config: Config) -> list[Check]:
    """Read access to each system table the source declares (a zero-row query each)."""
    checks = []
    for key in tables.keys(config, "source"):
        name = tables.full_name(config, key)
        try:
            spark.sql(f"select * from {name} limit 0").collect()
        except Exception as error:  # noqa: BLE001 - any refusal is reported, with the grant that fixes it
            schema = name.rsplit(".", 1)[0]
            first_line = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
            checks.append(
                Check(
                    name,
                    False,
                    first_line,
                    f"ask a metastore admin: `grant use catalog on catalog {schema.split('.')[0]} to <you>; "
                    f"grant use schema, select on schema {schema} to <you>` (or enable that system schema)",
                )
            )
        else:
            checks.append(Check(name, True, "readable"))
    return checks


def format_checks(checks: list[Check]) -> list[str]:
    lines = []
    for check in checks:
        lines.append(f"{'ok     ' if check.ok else 'MISSING'} {check.name}: {check.found}")
        if not check.ok:
            lines.append(f"        what to do: {check.fix}")
    return lines
