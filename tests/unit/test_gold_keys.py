"""Gold key tests generated from the models: which tests, their severity and the one query per table that counts
them (no Spark; the tests run on data in tests/integration/test_gold_keys.py and on the ci account in
tests/integration/test_gold_account.py)."""

from __future__ import annotations

from hm_utils.gold import keys, models

ALL = models.load_models()


def _query(table: str) -> str:
    return keys.table_query(ALL[table], ALL, lambda key: f"cat.gold.{key[5:]}")


def test_every_primary_key_is_tested_unique_and_not_null_and_blocks():
    for name, model in ALL.items():
        label = ", ".join(model.primary_key)
        tests = {t.name: t for t in keys.key_tests(model, ALL)}
        assert {f"not_null({label})", f"unique({label})"} <= set(tests), name
        assert tests[f"unique({label})"].severity == tests[f"not_null({label})"].severity == "blocking"


def test_foreign_keys_become_relationship_warnings_counted_in_one_pass():
    tests = {t.name: t for t in keys.key_tests(ALL["fct_job_runs"], ALL)}
    fk = tests["relationships(workspace_id, job_id -> dim_job)"]
    assert (fk.severity, fk.kind, fk.test_type) == ("warn", "referential", "relationships")
    query = _query("fct_job_runs")
    assert query.count("from cat.gold.fct_job_runs as c") == 1  # every foreign key in the same pass
    assert "left join (select distinct `workspace_id`, `job_id`, true as found from cat.gold.dim_job)" in query
    assert (
        f"count_if(c.`workspace_id` is not null and c.`job_id` is not null and p0.found is null) as {fk.label}_unexpected"
        in query
    )


def test_scd2_dimensions_get_one_current_and_no_overlap_tests_on_their_business_key():
    tests = {t.name for t in keys.key_tests(ALL["dim_cluster"], ALL)}
    assert {"scd2_one_current(workspace_id, cluster_id)", "scd2_no_overlap(workspace_id, cluster_id)"} <= tests
    assert "partition by `workspace_id`, `cluster_id` order by valid_from" in _query("dim_cluster")
    assert not any(name.startswith("scd2") for name in (t.name for t in keys.key_tests(ALL["dim_date"], ALL)))
    assert "lead(valid_from)" not in _query("dim_date")
    assert models.get_model("dim_sku").business_key == ("sku_name", "cloud", "usage_unit")


def test_the_query_of_a_table_has_the_two_counts_of_each_of_its_tests():
    for name in ("fct_usage_hourly", "dim_job", "agg_daily_security"):
        query = _query(name)
        for test in keys.key_tests(ALL[name], ALL):
            assert f"as {test.label}_elements" in query and f"as {test.label}_unexpected" in query
