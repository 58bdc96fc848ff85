create or replace function {semantic}.get_source_freshness(
  layer_filter string default null comment 'Layer to keep: source, bronze, silver or gold; NULL (default) = every layer.',
  table_filter string default null comment 'Table key or part of it to keep, e.g. billing_usage; NULL (default) = every table.'
)
returns table (
  table_key string comment 'Registry key of the table, e.g. source.billing_usage (a system table) or gold.fct_job_runs.',
  layer string comment 'source (Databricks system table), bronze, silver or gold.',
  time_column string comment 'Column that dates the rows (event or ingestion time).',
  last_data_time timestamp comment 'Newest value of time_column in the table (UTC).',
  hours_since_data double comment 'Hours from last_data_time to the last check.',
  expected_interval_hours double comment 'Interval between updates learned from the own history of the table (95th percentile of the gaps between hours with data).',
  latency_hours double comment 'Delivery latency the source states for the table, allowed on top of the interval.',
  expected_next_update timestamp comment 'When new data is due: last_data_time + expected interval + latency.',
  status string comment 'fresh, late (past expected_next_update), stale (a day past it) or no_data.',
  severity string comment 'ok, warning (late) or critical (stale, no data).',
  checked_at timestamp comment 'When freshness was checked (the monitoring step of the last run).'
)
comment 'Freshness of every system table and every bronze, silver and gold table, the way Databricks data-quality monitoring checks it: the last data time against the update interval learned from the own history of the table. BEST FOR: "is our data fresh?", "when did billing data last arrive?", "which layer is behind?". NOT FOR: up to which day a dataset is complete for a report period (get_data_freshness), tables written by the account own jobs (get_table_freshness), missing rows within a day (get_table_completeness). Most severe first.'
return
  select /*+ REPARTITION(1) */ f.table_key as table_key, f.layer as layer, f.time_column as time_column,
    f.last_data_time as last_data_time, f.hours_since_data as hours_since_data,
    f.expected_interval_hours as expected_interval_hours, f.latency_hours as latency_hours,
    f.expected_next_update as expected_next_update, f.status as status, f.severity as severity, f.checked_at as checked_at
  from {ops.table_freshness} as f
  where (layer_filter is null or f.layer = layer_filter)
    and (table_filter is null or contains(f.table_key, table_filter))
  order by case f.severity when 'critical' then 0 when 'warning' then 1 else 2 end, f.hours_since_data desc, f.table_key
