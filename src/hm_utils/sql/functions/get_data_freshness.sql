create or replace function {semantic}.get_data_freshness(
  start_date date default null comment 'First UTC day of data looked at; NULL (default) = all the data.',
  end_date date default {today} comment 'Last UTC day of data looked at (later data is ignored). Default: today.',
  dataset_name string default null comment 'One dataset to keep, e.g. billing usage; NULL (default) = every dataset.'
)
returns table (
  dataset string comment 'What the data is: billing usage, job runs, pipeline updates, SQL queries, audit events, cluster utilization or model serving.',
  gold_table string comment 'Gold table the dataset is read from, e.g. fct_usage_hourly.',
  latest_time timestamp comment 'Latest end (or event) time in the data, UTC; NULL when there is no data.',
  latest_day date comment 'UTC day of latest_time.',
  latest_complete_day date comment 'Latest UTC day the data covers whole: the day before latest_day (a day is complete once the data reaches past its end).',
  days_old int comment 'Days from latest_complete_day to today: 1 when the data is complete up to yesterday.',
  row_count bigint comment 'Rows looked at.'
)
comment 'How far the data of the monitor reaches, per dataset: the latest time in the data, the latest complete UTC day and how many days old it is. Reports end their default period at the latest complete day of billing usage and say when it is stale. BEST FOR: "up to which day is the billing data complete?", "which period can a report cover?", "how far did the data reach on a past date?". NOT FOR: whether a table is late against its usual updates (use get_source_freshness or get_late_tables), tables written by jobs (get_table_freshness), failed quality gates (get_quality_gate_results). One row per dataset, billing usage first.'
return
  with spans as (
    select 1 as position, 'billing usage' as dataset, 'fct_usage_hourly' as gold_table,
      max(u.usage_end_time) as latest_time, count(*) as row_count
    from {gold.fct_usage_hourly} as u
    where (start_date is null or u.usage_date >= start_date) and (end_date is null or u.usage_date <= end_date)
    union all
    select 2, 'job runs', 'fct_job_runs', max(r.end_time), count(*)
    from {gold.fct_job_runs} as r
    where (start_date is null or r.run_date >= start_date) and (end_date is null or r.run_date <= end_date)
    union all
    select 3, 'pipeline updates', 'fct_pipeline_updates', max(p.end_time), count(*)
    from {gold.fct_pipeline_updates} as p
    where (start_date is null or p.update_date >= start_date) and (end_date is null or p.update_date <= end_date)
    union all
    select 4, 'SQL queries', 'fct_queries', max(q.end_time), count(*)
    from {gold.fct_queries} as q
    where (start_date is null or q.query_date >= start_date) and (end_date is null or q.query_date <= end_date)
    union all
    select 5, 'audit events', 'fct_audit_events', max(a.event_time), count(*)
    from {gold.fct_audit_events} as a
    where (start_date is null or a.event_date >= start_date) and (end_date is null or a.event_date <= end_date)
    union all
    select 6, 'cluster utilization', 'fct_node_utilization_hourly', max(n.hour_start) + interval 1 hour, count(*)
    from {gold.fct_node_utilization_hourly} as n
    where (start_date is null or n.usage_date >= start_date) and (end_date is null or n.usage_date <= end_date)
    union all
    select 7, 'model serving', 'fct_serving_usage', max(s.hour_start) + interval 1 hour, count(*)
    from {gold.fct_serving_usage} as s
    where (start_date is null or s.usage_date >= start_date) and (end_date is null or s.usage_date <= end_date)
  )
  -- one partition before the sort: a sort over several would first rerun the query to sample its ranges
  select /*+ REPARTITION(1) */ sp.dataset as dataset, sp.gold_table as gold_table, sp.latest_time as latest_time,
    cast(sp.latest_time as date) as latest_day,
    date_sub(cast(sp.latest_time as date), 1) as latest_complete_day,
    datediff({today}, date_sub(cast(sp.latest_time as date), 1)) as days_old,
    sp.row_count as row_count
  from spans as sp
  where dataset_name is null or sp.dataset = dataset_name
  order by sp.position
