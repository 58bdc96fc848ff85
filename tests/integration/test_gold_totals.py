"""`hm bench --gold-totals` on the ci account: every gold model's table is listed with its row count and the
exact sum of every decimal column, equal to what pandas computes from the table's own rows."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hm_utils import benchmark, io
from hm_utils.gold import models

pytestmark = pytest.mark.engine


def test_gold_totals_list_every_gold_table_with_its_rows_and_exact_decimal_sums(account, spark, config):
    totals = benchmark.gold_totals(config)
    assert set(models.load_models()) <= set(totals)
    usage = io.read_table(spark, config, "gold.fct_usage_daily").select("list_cost").toPandas()["list_cost"]
    assert totals["fct_usage_daily"]["row_count"] == len(usage) > 0
    assert Decimal(totals["fct_usage_daily"]["list_cost"]) == sum(usage.dropna(), Decimal(0))
    assert Decimal(totals["fct_usage_daily"]["list_cost"]) > 0
