"""Least privilege on Unity Catalog: the grants of the kit's three roles and the masks of personal data.

- readers (`access.readers`): the health reports and the semantic layer (table functions, metric views),
  nothing below it; emails and IP addresses reach them as pseudonyms (:mod:`hm_utils.privacy`);
- analysts (`access.analysts`): also query gold, with the values;
- the kit's service principal (`access.service_principal`): reads the system tables the source declares
  and writes every layer.
`hm grants --target prod --dry-run` prints the SQL, `hm grants --target prod` runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from hm_utils import io, privacy, tables
from hm_utils.config import Config
from hm_utils.errors import ConfigError

LAYERS = ("bronze", "silver", "gold", "semantic", "monitoring", "ops", "ml")
# What the service principal does in each layer: read it, write tables, create views and functions (and
# register models in the ML layer's schema, the Unity Catalog registry of hm_utils.ml).
WRITER_PRIVILEGES = "use schema, select, modify, create table, create function, execute"
MODEL_PRIVILEGES = "create model"
READER_PRIVILEGES = "use schema, select, execute"  # metric views are selected, table functions executed


@dataclass(frozen=True)
class Section:
    """A titled group of statements (one role, or the masks)."""

    title: str
    statements: list[str]


def _principal(name: str) -> str:
    return io.quote_identifier(name)


def _schema(config: Config, layer: str) -> str:
    return f"{io.quote_identifier(config.catalog)}.{io.quote_identifier(tables.schema_name(config, layer))}"


def system_schemas(config: Config) -> list[str]:
    """The schemas of Databricks' `system` catalog that the source reads, from the table registry."""
    found = {str(tables.get_spec(config, key).system_table).split(".")[0] for key in tables.keys(config, "source")}
    return sorted(found)


def grant_sections(config: Config) -> list[Section]:
    """Every statement for `config`'s catalog: schemas, the three roles' grants, the mask functions and masks."""
    readers = list(config.get("access.readers") or [])
    analysts = list(config.get("access.analysts") or [])
    writer = config.get("access.service_principal")
    if not (readers or analysts or writer):
        raise ConfigError(
            f"no group or principal is named for env {config.env}",
            where=f"params/{config.env}.yml: access",
            fix="name access.readers, access.analysts and access.service_principal",
        )
    catalog = io.quote_identifier(config.catalog)
    sections = [
        Section("schemas of every layer", [f"create schema if not exists {_schema(config, la)}" for la in LAYERS])
    ]
    reader_grants = []
    for group in readers:
        reader_grants.append(f"grant use catalog on catalog {catalog} to {_principal(group)}")
        reader_grants.append(
            f"grant {READER_PRIVILEGES} on schema {_schema(config, 'semantic')} to {_principal(group)}"
        )
    sections.append(Section("readers: the reports and the semantic layer (personal data masked)", reader_grants))
    analyst_grants = []
    for group in analysts:
        analyst_grants.append(f"grant use catalog on catalog {catalog} to {_principal(group)}")
        for layer in ("gold", "semantic", "monitoring"):  # monitoring: the <table>_profile/_drift_metrics tables
            analyst_grants.append(
                f"grant {READER_PRIVILEGES} on schema {_schema(config, layer)} to {_principal(group)}"
            )
    sections.append(Section("analysts: gold, the semantic layer and the monitors' tables", analyst_grants))
    if writer:
        principal = _principal(str(writer))
        system = io.quote_identifier(str(config.get("source.system_catalog") or "system"))
        writes = [f"grant use catalog, create schema on catalog {catalog} to {principal}"]
        writes += [f"grant {WRITER_PRIVILEGES} on schema {_schema(config, la)} to {principal}" for la in LAYERS]
        writes.append(f"grant {MODEL_PRIVILEGES} on schema {_schema(config, 'ml')} to {principal}")
        writes.append(f"grant use catalog on catalog {system} to {principal}")
        writes += [
            f"grant use schema, select on schema {system}.{io.quote_identifier(name)} to {principal}"
            for name in system_schemas(config)
        ]
        sections.append(Section("the kit's service principal: reads system tables, writes every layer", writes))
    sections.append(Section("mask functions (readers see pseudonyms)", privacy.mask_functions(config)))
    sections.append(Section("column masks on gold", privacy.mask_statements(config, gold_column_types())))
    return sections


def gold_column_types() -> dict[str, dict[str, str]]:
    """Registry key → column → declared type, for every gold model."""
    from hm_utils.gold import models

    return {model.key: {c.name: c.type for c in model.columns} for model in models.load_models().values()}


def render(sections: list[Section]) -> str:
    """The statements as one SQL script with a comment per section."""
    parts = []
    for section in sections:
        parts.append(f"-- {section.title}")
        parts += [f"{statement};" for statement in section.statements] or ["-- (none)"]
        parts.append("")
    return "\n".join(parts)


def apply(spark, config: Config, sections: list[Section], progress=print) -> int:
    """Run the statements on Databricks; masks only on gold tables that exist. The number run."""
    if config.is_local:
        raise ConfigError(
            "grants and masks apply to Unity Catalog; the local engine has none",
            where=f"env {config.env} (target local)",
            fix="use --target dev or --target prod, or --dry-run to print the SQL",
        )
    count = 0
    for section in sections:
        progress(f"-- {section.title}")
        for statement in section.statements:
            if statement.startswith("alter table") and not spark.catalog.tableExists(statement.split()[2]):
                progress(f"skipped (table not built yet): {statement}")
                continue
            spark.sql(statement)
            count += 1
    return count
