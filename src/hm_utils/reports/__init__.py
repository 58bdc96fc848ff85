"""The health report site: report notebooks executed by papermill, rendered by Quarto or nbconvert.

- :func:`publish`: execute `reports/<page>.ipynb` for a period into the run folder, render the site to
  `paths.site`, compute the headline numbers, write `publish.json`; returns a :class:`PublishResult`;
- :func:`open_report`: first call of a report notebook (period, scope, semantic-layer calls);
- :mod:`hm_utils.reports.blocks`: KPI tiles, tables, notes and the attention list;
- :mod:`hm_utils.reports.attention`: ranking of the executive "what needs attention" findings.
Charts come from :mod:`hm_utils.charts` (static SVG, offline).
"""

from hm_utils.reports.page import ALL_ROWS, Period, Report, open_report, resolve_period
from hm_utils.reports.site import PublishResult, load_site, publish, render_site

__all__ = [
    "ALL_ROWS",
    "Period",
    "PublishResult",
    "Report",
    "load_site",
    "open_report",
    "publish",
    "render_site",
    "resolve_period",
]
