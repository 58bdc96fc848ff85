"""Gold key tests on tiny hand-made tables with broken keys: each test counts exactly the rows or keys at fault."""

from __future__ import annotations

from datetime import datetime

import pytest

from hm_utils.gold import keys, models

pytestmark = pytest.mark.engine

BUILD = "domain: dimensions\nreads: [silver.billing_usage]\nrefresh: whole\n"
HISTORY = models.parse_model(
    BUILD
    + """
table: history
kind: dimension
grain: one row per version
primary_key: [id, valid_from]
columns:
  - {name: id, type: string, nullable: false, comment: Id.}
  - {name: valid_from, type: timestamp, nullable: false, comment: Start.}
  - {name: valid_to, type: timestamp, comment: End.}
  - {name: is_current, type: boolean, nullable: false, comment: Latest.}
""",
    "history.yml",
)
EVENTS = models.parse_model(
    BUILD
    + """
table: events
kind: fact
grain: one row per event
primary_key: [event_id]
foreign_keys:
  - {columns: [history_id], references: history, ref_columns: [id]}
columns:
  - {name: event_id, type: string, nullable: false, comment: Id.}
  - {name: history_id, type: string, comment: Parent.}
""",
    "events.yml",
)


def day(n: int) -> datetime:
    return datetime(2026, 1, n)


@pytest.fixture(scope="module")
def outcomes(spark):
    spark.createDataFrame(
        [
            ("a", day(1), day(5), False),
            ("a", day(5), None, True),  # a: fine
            ("b", day(1), None, True),
            ("b", day(3), None, True),  # b: two current versions, and the first overlaps the second
            ("c", day(1), day(9), False),
            ("c", day(4), day(6), False),  # c: overlapping closed versions, none current (allowed)
        ],
        "id string, valid_from timestamp, valid_to timestamp, is_current boolean",
    ).createOrReplaceTempView("hm_keys_history")
    spark.createDataFrame(
        [("e1", "a"), ("e2", "b"), ("e2", "a"), (None, "a"), ("e4", "ghost"), ("e5", None)],
        "event_id string, history_id string",
    ).createOrReplaceTempView("hm_keys_events")
    both = {"history": HISTORY, "events": EVENTS}
    found = {}
    for name, model in both.items():
        counts = spark.sql(keys.table_query(model, both, lambda key: f"hm_keys_{key[5:]}")).first()
        for test in keys.key_tests(model, both):
            found[f"{name}.{test.name}"] = (counts[f"{test.label}_unexpected"], counts[f"{test.label}_elements"])
    return found


def test_primary_key_tests_count_null_and_duplicated_rows(outcomes):
    assert outcomes["events.not_null(event_id)"] == (1, 6)
    assert outcomes["events.unique(event_id)"] == (2, 6)  # both rows of e2
    assert outcomes["history.unique(id, valid_from)"] == (0, 6)


def test_relationships_count_orphans_and_skip_rows_without_a_key(outcomes):
    assert outcomes["events.relationships(history_id -> history)"] == (1, 5)  # ghost; e5 has no parent key


def test_scd2_tests_find_two_current_versions_and_overlaps(outcomes):
    assert outcomes["history.scd2_one_current(id)"] == (1, 3)  # b
    assert outcomes["history.scd2_no_overlap(id)"] == (2, 6)  # b's first version, c's first version
