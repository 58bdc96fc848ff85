"""Personal data for readers: email and IP addresses shown as pseudonyms, the same locally and on Databricks.

A pseudonym is `user-<10 hex>` for an email and `ip-<10 hex>` for an IP address: the start of the SHA-256
of the lower-cased value. The same person keeps the same pseudonym on every page and in every table, so
counts of distinct users and joins still work; the address itself is not shown. A pseudonym is not
encryption: someone who already knows an address can compute its pseudonym.

Locally the reports apply it (:func:`for_readers`, when `privacy.mask_personal_data` is on). On Databricks
the gold columns listed in `privacy.personal_columns` get a Unity Catalog column mask
(:func:`mask_statements`) that gives readers the same pseudonyms and analysts and the kit's service
principal the values; the semantic layer reads gold, so its outputs are masked for readers too.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pandas as pd

from hm_utils import io, tables
from hm_utils.config import Config

DIGITS = 10
EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
IPV4 = r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV6 = (
    r"(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,7}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?"
)
_KINDS = (("user", EMAIL), ("ip", IPV4), ("ip", IPV6))
_ANYWHERE = re.compile("|".join(f"(?P<{kind}{n}>(?<![\\w.:@-]){p}(?![\\w.:@-]))" for n, (kind, p) in enumerate(_KINDS)))
MASK_FUNCTION = "hm_mask_personal"
MAP_MASK_FUNCTION = "hm_mask_personal_map"


def pseudonym(kind: str, value: str) -> str:
    """`user-…` or `ip-…` for an address (:func:`pseudonym_sql` computes the same in SQL)."""
    return f"{kind}-{hashlib.sha256(value.lower().encode()).hexdigest()[:DIGITS]}"


def mask_text(text: str) -> str:
    """`text` with every email and IP address in it replaced by its pseudonym."""
    return _ANYWHERE.sub(lambda match: pseudonym(match.lastgroup.rstrip("0123456789"), match.group()), text)


def mask_value(value: Any) -> Any:
    """A cell masked: strings (and lists or dicts of them) with addresses replaced; anything else unchanged."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: mask_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(mask_value(item) for item in value)
    return value


def mask_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text columns show pseudonyms instead of emails and IP addresses."""
    masked = frame.copy()
    for column in masked.columns:
        if masked[column].dtype == object or isinstance(masked[column].dtype, pd.StringDtype):
            masked[column] = masked[column].map(mask_value, na_action="ignore")
    return masked


def for_readers(config: Config, frame: pd.DataFrame) -> pd.DataFrame:
    """What a report shows: `frame` masked when `privacy.mask_personal_data` is on."""
    return mask_frame(frame) if config.get("privacy.mask_personal_data") else frame


def pseudonym_sql(value: str) -> str:
    """SQL of the pseudonym of the whole value `value` (an expression), NULL and non-addresses unchanged."""
    cases = " ".join(
        f"when {value} rlike {io.sql_string('^(?:' + pattern + ')$')} "
        f"then concat('{kind}-', left(sha2(lower({value}), 256), {DIGITS}))"
        for kind, pattern in _KINDS
    )
    return f"case {cases} else {value} end"


def mask_functions(config: Config) -> list[str]:
    """Databricks SQL of the two mask functions (string and map<string,string> columns), in the gold schema:
    analysts and the service principal see values, everyone else pseudonyms."""
    exempt = [f"is_account_group_member({io.sql_string(group)})" for group in config.get("access.analysts") or []]
    if config.get("access.service_principal"):
        exempt.append(f"session_user() = {io.sql_string(str(config.get('access.service_principal')))}")
    sees_values = " or ".join(exempt) or "false"
    schema = tables.schema_name(config, "gold")
    comment = "Emails and IP addresses as pseudonyms (user-/ip- and a hash) except for analysts and the kit."
    return [
        f"create or replace function {config.catalog}.{schema}.{MASK_FUNCTION}(value string)\n"
        f"returns string\ncomment {io.sql_string(comment)}\n"
        f"return case when {sees_values} then value else {pseudonym_sql('value')} end",
        f"create or replace function {config.catalog}.{schema}.{MAP_MASK_FUNCTION}(value map<string, string>)\n"
        f"returns map<string, string>\ncomment {io.sql_string(comment + ' Applied to every map value.')}\n"
        f"return case when {sees_values} then value else transform_values(value, (k, v) -> {pseudonym_sql('v')}) end",
    ]


def mask_statements(config: Config, column_types: dict[str, dict[str, str]]) -> list[str]:
    """`alter table … set mask` for every column of `privacy.personal_columns`; `column_types` gives each gold
    table's column types (registry key → column → type), which choose the string or the map function."""
    schema = f"{config.catalog}.{tables.schema_name(config, 'gold')}"
    statements = []
    for key, columns in (config.get("privacy.personal_columns") or {}).items():
        for column in columns:
            kind = column_types[key][column]
            function = MAP_MASK_FUNCTION if kind.replace(" ", "").startswith("map<") else MASK_FUNCTION
            statements.append(
                f"alter table {tables.full_name(config, key)} alter column {io.quote_identifier(column)} "
                f"set mask {schema}.{function}"
            )
    return statements
