create or replace function {semantic}.get_schema_drift_events(
  table_filter string default null comment 'Source table key or part of it to keep, e.g. query_history; NULL (default) = every table.'
)
returns table (
  table_key string comment 'Bronze table whose source changed shape, e.g. bronze.query_history.',
  run_id string comment 'Pipeline run that saw the change (the run folder name).',
  extra_columns string comment 'Columns in the source that the reference schema does not list (carried into bronze), comma-separated.',
  missing_columns string comment 'Columns of the reference schema the source lacks (NULL in bronze), comma-separated.',
  warning string comment 'The ingestion warning as reported.'
)
comment 'Schema drift of the system tables: columns that appeared in or disappeared from a source compared with the reference schema, per ingestion run. BEST FOR: "did any system table change its schema?", "which new columns appeared?". NOT FOR: value distribution changes (get_drift_alerts), missing rows (get_volume_drops). Newest run first.'
return
  select /*+ REPARTITION(1) */ l.table_key as table_key, l.run_id as run_id,
    nullif(l.extra_columns, '') as extra_columns, nullif(l.missing_columns, '') as missing_columns, l.warning as warning
  from {ops.ingest_log} as l
  where (nullif(l.extra_columns, '') is not null or nullif(l.missing_columns, '') is not null)
    and (table_filter is null or contains(l.table_key, table_filter))
  order by l.run_id desc, l.table_key
