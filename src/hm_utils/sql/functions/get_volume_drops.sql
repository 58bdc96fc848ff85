create or replace function {semantic}.get_volume_drops(
  start_date date default {today} - interval 14 days comment 'First UTC day included. Default: 14 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  layer_filter string default 'source' comment 'Layer to look at: source (default: where data is lost first), bronze, silver, gold; NULL = all.'
)
returns table (
  table_key string comment 'Registry key of the table that lost volume.',
  day date comment 'Complete UTC day with far fewer rows than expected.',
  actual_rows bigint comment 'Rows dated that day.',
  expected_rows double comment 'Rows its history predicts (same weekday, previous four weeks).',
  missing_rows bigint comment 'expected_rows - actual_rows, rounded.',
  volume_ratio double comment 'actual / expected (under params monitoring.volume_drop_ratio, 0.5 by default).',
  downstream_tables bigint comment 'Tables of later layers built from this one that show the same drop that day.'
)
comment 'Completeness gaps: complete days on which a table received far fewer rows than its history predicts (data lost at the source or in the pipeline), with how far the gap propagates downstream. BEST FOR: "did we lose data?", "completeness gaps this week", "which source delivered too few rows?". NOT FOR: data that is only late (get_late_tables), a day still arriving (get_table_completeness shows incomplete days). Largest gaps first.'
return
  with drops as (
    select * from {ops.table_completeness}
    where status = 'volume_drop' and (start_date is null or day >= start_date) and (end_date is null or day <= end_date)
  )
  select /*+ REPARTITION(1) */ d.table_key as table_key, d.day as day, d.actual_rows as actual_rows,
    round(d.expected_rows, 1) as expected_rows, cast(round(d.expected_rows - d.actual_rows) as bigint) as missing_rows,
    round(d.ratio, 3) as volume_ratio,
    (select count(*) from drops as o where o.day = d.day and o.layer <> d.layer
       and substring_index(o.table_key, '.', -1) = substring_index(d.table_key, '.', -1)) as downstream_tables
  from drops as d
  where layer_filter is null or d.layer = layer_filter
  order by missing_rows desc, d.table_key, d.day
