"""Column names and expressions shared by the gold domain modules."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column

INGESTED = "_hm_ingested_at"
"""Silver's arrival time of a row; the event facts carry its latest value as their refresh watermark."""


def seconds_between(start: str, end: str) -> Column:
    """Whole seconds from timestamp column `start` to `end`."""
    from pyspark.sql import functions as F

    return F.unix_timestamp(F.col(end)) - F.unix_timestamp(F.col(start))
