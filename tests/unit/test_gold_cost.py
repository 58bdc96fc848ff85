"""Gold cost settings that need no engine: the discount factor."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hm_utils.errors import ConfigError
from hm_utils.gold import cost


def test_discount_factor_is_exact_and_validated(config):
    assert cost.discount_factor(config.with_overrides({"gold.discount_pct": 12.5})) == Decimal("0.875")
    with pytest.raises(ConfigError, match="outside 0-100"):
        cost.discount_factor(config.with_overrides({"gold.discount_pct": 120}))
