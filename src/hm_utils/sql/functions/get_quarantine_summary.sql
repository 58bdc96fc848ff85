create or replace function {semantic}.get_quarantine_summary(
  start_date date default {today} - interval 30 days comment 'First UTC date of quarantined rows included; NULL = no lower bound. Default: 30 days ago.',
  end_date date default {today} comment 'Last UTC date of quarantined rows included; NULL = no upper bound. Default: today.',
  table_filter string default null comment 'Silver table key or part of it to keep, e.g. billing_usage; NULL (default) = every table.'
)
returns table (
  table_key string comment 'Silver table the rows were meant for, e.g. silver.billing_usage.',
  rule string comment 'Blocking expectation that rejected the rows, e.g. expect_column_values_to_not_be_null(record_id).',
  quarantine_date date comment 'UTC day the rows were quarantined.',
  quarantined_rows bigint comment 'Rows quarantined by this rule on this day.',
  runs bigint comment 'Pipeline runs that quarantined them.',
  example_key string comment 'Business key of one quarantined row (JSON), to look it up.'
)
comment 'Quarantined rows of the silver layer by table, rule and day: what the data-quality gates rejected and why. BEST FOR: "how many rows were quarantined and why?", "which rule rejects most rows?", "quarantine trend per day". NOT FOR: whether the gate passed (use get_quality_gate_results), late or missing data (get_late_tables, get_volume_drops). Most rows first.'
return
  select /*+ REPARTITION(1) */ q.table_key as table_key, q.rule as rule, cast(q.quarantined_at as date) as quarantine_date,
    count(*) as quarantined_rows, count(distinct q.run_id) as runs, min(q.business_key) as example_key
  from {silver.quarantine} as q
  where (start_date is null or cast(q.quarantined_at as date) >= start_date)
    and (end_date is null or cast(q.quarantined_at as date) <= end_date)
    and (table_filter is null or contains(q.table_key, table_filter))
  group by q.table_key, q.rule, cast(q.quarantined_at as date)
  order by quarantined_rows desc, table_key, rule, quarantine_date
