"""What the semantic layer offers, by domain: every table function and metric view with what it is best for.

The domains are the Genie spaces (`genie/<domain>.yml`), which list the functions and metric views of each; an asset
that several spaces list appears once per domain. No Spark needed.
"""

from __future__ import annotations

import re

import pandas as pd

from hm_utils.config import Config
from hm_utils.semantic import assets, genie

_BEST_FOR = re.compile(r"BEST FOR:\s*(.*?)\s*(?:NOT FOR:|$)", re.DOTALL)


def catalog(config: Config) -> pd.DataFrame:
    """One row per (domain, asset): domain, kind (function | metric view), name and `about` (for a function what
    its comment says it is best for, for a metric view its comment's first sentence), sorted by domain, kind, name."""
    rows = []
    for domain in genie.space_names():
        space = genie.load_space(domain)
        for name in space.get("functions") or []:
            rows.append((space["title"], "function", name, _best_for(assets.function_spec(config, name).comment)))
        for name in space.get("metric_views") or []:
            comment = str(assets.metric_view_spec(config, name).get("comment") or "")
            rows.append((space["title"], "metric view", name, comment.split(". ")[0].strip()))
    frame = pd.DataFrame(rows, columns=["domain", "kind", "name", "about"])
    return frame.sort_values(["domain", "kind", "name"], ignore_index=True)


def _best_for(comment: str) -> str:
    found = _BEST_FOR.search(comment or "")
    return found.group(1).strip() if found else (comment or "").split(". ")[0]
