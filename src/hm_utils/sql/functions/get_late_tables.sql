create or replace function {semantic}.get_late_tables(
  min_severity string default 'warning' comment 'warning (default) = late and stale tables; critical = only stale tables and tables with no data.'
)
returns table (
  table_key string comment 'Registry key of the late table, e.g. source.serving_endpoint_usage.',
  layer string comment 'source, bronze, silver or gold.',
  last_data_time timestamp comment 'Newest data in the table (UTC).',
  expected_next_update timestamp comment 'When new data was due (learned interval + stated latency).',
  hours_overdue double comment 'Hours past expected_next_update at the last check.',
  status string comment 'late, stale or no_data.',
  severity string comment 'warning or critical.',
  upstream_late boolean comment 'True when the system table this table is built from is late too: fix the source, not the layer.'
)
comment 'Tables whose data is overdue: past the update time learned from their history (late) or a day past it (stale), with whether the lateness comes from the system table upstream. BEST FOR: "which tables are late?", "is any source not delivering?", "what is stale right now?". NOT FOR: the full freshness board (get_source_freshness), days with missing rows (get_volume_drops). Most overdue first.'
return
  with late as (
    select * from {ops.table_freshness}
    where status <> 'fresh' and (severity = 'critical' or coalesce(min_severity, 'warning') = 'warning')
  ),
  sources as (select substring_index(table_key, '.', -1) as name from late where layer = 'source')
  select /*+ REPARTITION(1) */ l.table_key as table_key, l.layer as layer, l.last_data_time as last_data_time,
    l.expected_next_update as expected_next_update,
    round((unix_timestamp(l.checked_at) - unix_timestamp(l.expected_next_update)) / 3600.0, 1) as hours_overdue,
    l.status as status, l.severity as severity,
    l.layer <> 'source' and substring_index(l.table_key, '.', -1) in (select s.name from sources as s) as upstream_late
  from late as l
  order by case l.severity when 'critical' then 0 else 1 end, hours_overdue desc, l.table_key
