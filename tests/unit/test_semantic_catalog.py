"""The semantic catalog: every table function and metric view under a domain, with what it is best for."""

from __future__ import annotations

from hm_utils import config as config_module
from hm_utils import semantic
from hm_utils.semantic import assets


def test_every_function_and_metric_view_is_listed_under_a_domain_with_what_it_is_for():
    catalog = semantic.catalog(config_module.load("ci"))
    assert set(catalog[catalog["kind"] == "function"]["name"]) == set(assets.function_names())
    assert set(catalog[catalog["kind"] == "metric view"]["name"]) == set(assets.metric_view_names())
    assert (catalog["about"].str.len() > 20).all()
    cost = catalog[(catalog["domain"] == "Cost") & (catalog["name"] == "get_daily_cost_summary")]
    assert cost["about"].iloc[0].startswith('"what did we spend each day')  # the BEST FOR part of its comment
