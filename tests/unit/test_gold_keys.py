"""Gold key tests generated from the models: which tests, their severity and their SQL (no Spark; the tests run
on data in tests/integration/test_gold_keys.py and on the ci account in test_gold_account.py)."""

from __future__ import annotations

from hm_utils.gold import keys, models


def _tests_by_name(table: str) -> dict[str, keys.KeyTest]:
    found = keys.key_tests(models.load_models(), lambda key: f"cat.gold.{key[5:]}")
    return {test.name: test for test in found if test.table == table}


def test_every_primary_key_is_tested_unique_and_not_null_and_blocks():
    found = keys.key_tests(models.load_models(), lambda key: key)
    for name, model in models.load_models().items():
        label = ", ".join(model.primary_key)
        mine = {t.name: t for t in found if t.table == name}
        assert {f"not_null({label})", f"unique({label})"} <= set(mine), name
        assert mine[f"unique({label})"].severity == "blocking"


def test_foreign_keys_become_relationship_warnings_on_the_parent_columns():
    tests = _tests_by_name("fct_job_runs")
    fk = tests["relationships(workspace_id, job_id -> dim_job)"]
    assert (fk.severity, fk.kind, fk.test_type) == ("warn", "referential", "relationships")
    assert "from cat.gold.fct_job_runs as c left join (select distinct `workspace_id`, `job_id`" in fk.sql
    assert "from cat.gold.dim_job" in fk.sql
    assert "where c.`workspace_id` is not null and c.`job_id` is not null" in fk.sql


def test_scd2_dimensions_get_one_current_and_no_overlap_tests_on_their_business_key():
    tests = _tests_by_name("dim_cluster")
    assert "scd2_one_current(workspace_id, cluster_id)" in tests
    overlap = tests["scd2_no_overlap(workspace_id, cluster_id)"]
    assert "partition by `workspace_id`, `cluster_id` order by valid_from" in overlap.sql
    assert not any(name.startswith("scd2") for name in _tests_by_name("dim_date"))
    assert models.get_model("dim_sku").business_key == ("sku_name", "cloud", "usage_unit")


def test_one_query_per_table_labels_each_row_with_its_test():
    tests = list(_tests_by_name("agg_daily_jobs").values())
    query = keys.table_query(tests)
    assert query.count("union all") == len(tests) - 1
    assert all(f"select '{t.name}' as expectation" in query for t in tests)
