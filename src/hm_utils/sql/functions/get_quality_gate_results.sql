create or replace function {semantic}.get_quality_gate_results(
  start_date date default {today} - interval 30 days comment 'First UTC date of validation runs included; NULL = no lower bound. Default: 30 days ago.',
  end_date date default {today} comment 'Last UTC date of validation runs included; NULL = no upper bound. Default: today.',
  table_filter string default null comment 'Table key or part of it to keep, e.g. billing_usage or gold.; NULL (default) = every silver and gold table.',
  latest_only boolean default true comment 'True (default) = only the latest validation of each table in the period; false = every validation run (quality over time).'
)
returns table (
  table_key string comment 'Table validated: silver.<table> (expectations and row accounting) or gold.<table> (key tests).',
  run_id string comment 'Pipeline run that validated it (the run folder name).',
  validated_at timestamp comment 'When the validation ran (UTC).',
  expectations bigint comment 'Rules checked on the table in that run: Great Expectations rules (silver) or key tests (gold).',
  failed_expectations bigint comment 'Rules that failed on at least one row (blocking and warn).',
  failed_blocking bigint comment 'Blocking rules that failed: silver rows went to quarantine; a gold key test failing stops the gold build.',
  failed_rules string comment 'Names of the failed rules, comma-separated, e.g. expect_column_values_to_not_be_null(usage_date).',
  bronze_rows bigint comment 'Rows read from bronze (silver only).',
  silver_rows bigint comment 'Rows written to silver (silver only).',
  quarantined_rows bigint comment 'Rows sent to quarantine with the rule that rejected them (silver only).',
  duplicates_removed bigint comment 'Duplicate rows removed (bronze = silver + quarantined + duplicates removed; silver only).',
  gate_passed boolean comment 'Silver: true when the accounting balanced and no blocking rule failed on more than the tolerated share of rows. Gold: true when no blocking key test failed (foreign keys are warnings).'
)
comment 'Data-quality gate results: per table and validation run, the silver expectations and row accounting (bronze = silver + quarantined + duplicates removed) or the gold key tests (unique and not-null primary keys, foreign keys, SCD2 validity), the rules that failed and whether the gate passed. BEST FOR: "did the data-quality checks pass?", "which tables have quarantined rows?", "are the gold keys intact?", "how has data quality changed over the month?" (latest_only => false). NOT FOR: freshness of tables written by jobs (use get_table_freshness), pipeline failures (get_pipeline_health). Failing tables first, then by table key and newest run.'
return
  with results as (
    select * from {ops.quality_results}
    where (start_date is null or cast(validated_at as date) >= start_date)
      and (end_date is null or cast(validated_at as date) <= end_date)
      and (table_filter is null or contains(table_key, table_filter))
  ),
  runs as (
    select table_key, run_id, max(validated_at) as validated_at,
      count_if(expectation <> 'accounting') as expectations,
      count_if(expectation <> 'accounting' and not success) as failed_expectations,
      count_if(expectation <> 'accounting' and not success and severity = 'blocking') as failed_blocking,
      array_join(array_sort(collect_list(case when expectation <> 'accounting' and not success then expectation end)), ', ') as failed_rules,
      max(case when expectation = 'accounting' then bronze_rows end) as bronze_rows,
      max(case when expectation = 'accounting' then silver_rows end) as silver_rows,
      max(case when expectation = 'accounting' then quarantined_rows end) as quarantined_rows,
      max(case when expectation = 'accounting' then duplicates_removed end) as duplicates_removed,
      coalesce(bool_and(case when expectation = 'accounting' then success end),
               not bool_or(severity = 'blocking' and not success)) as gate_passed
    from results
    group by table_key, run_id
  ),
  ranked as (
    select *, row_number() over (partition by table_key order by validated_at desc, run_id desc) as newest
    from runs
  )
  -- one partition before the sort: a sort over several would first rerun the query to sample its ranges
  select /*+ REPARTITION(1) */ table_key, run_id, validated_at, expectations, failed_expectations, failed_blocking, failed_rules,
    bronze_rows, silver_rows, quarantined_rows, duplicates_removed, gate_passed
  from ranked
  where not latest_only or newest = 1
  order by gate_passed, failed_expectations desc, table_key, validated_at desc
