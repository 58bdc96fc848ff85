create or replace function {semantic}.get_table_completeness(
  start_date date default {today} - interval 14 days comment 'First UTC day included. Default: 14 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  table_filter string default null comment 'Table key or part of it to keep, e.g. query_history; NULL (default) = every table.',
  issues_only boolean default false comment 'True = only days whose volume is far from the expected one (drops and spikes); false (default) = every day.'
)
returns table (
  table_key string comment 'Registry key of the table, e.g. source.query_history.',
  layer string comment 'source, bronze, silver or gold.',
  day date comment 'UTC day of the rows (by the table time column).',
  actual_rows bigint comment 'Rows dated that day.',
  expected_rows double comment 'Rows expected: median of the same weekday over the previous four weeks (NULL without one).',
  volume_ratio double comment 'actual_rows / expected_rows; 1 = as usual.',
  is_complete_day boolean comment 'False while the day rows may still arrive (the day plus the source latency has not passed).',
  status string comment 'ok, volume_drop, volume_spike, incomplete_day (still arriving), low_volume (too few rows a day to judge) or no_history.',
  severity string comment 'ok, info, warning (spike) or critical (drop).'
)
comment 'Expected vs actual rows per table and day for every system table and layer table, the completeness check of Databricks data-quality monitoring: a day far under its usual volume lost data. BEST FOR: "did every table get its usual volume?", "row counts per day of query history", "which days are incomplete?". NOT FOR: lateness of the newest data (get_late_tables), rows rejected by quality rules (get_quarantine_summary). Issues first, then by table and day.'
return
  select /*+ REPARTITION(1) */ c.table_key as table_key, c.layer as layer, c.day as day, c.actual_rows as actual_rows,
    round(c.expected_rows, 1) as expected_rows, round(c.ratio, 3) as volume_ratio, c.is_complete_day as is_complete_day,
    c.status as status, c.severity as severity
  from {ops.table_completeness} as c
  where (start_date is null or c.day >= start_date) and (end_date is null or c.day <= end_date)
    and (table_filter is null or contains(c.table_key, table_filter))
    and (not issues_only or c.status in ('volume_drop', 'volume_spike'))
  order by case c.severity when 'critical' then 0 when 'warning' then 1 else 2 end, c.table_key, c.day
