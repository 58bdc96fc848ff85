create or replace function {semantic}.get_table_freshness(
  start_date date default {today} - interval 30 days comment 'First UTC day of lineage looked at (tables last written before it are not listed). Default: 30 days ago.',
  end_date date default {today} comment 'Last UTC day looked at; freshness is measured at the end of this day or now, whichever is earlier. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  stale_after_hours int default 36 comment 'A table is stale when not written for this many hours, or for 3 times its usual write interval if that is longer (plus a weekend for a table written on weekdays only). Default 36.',
  only_stale boolean default false comment 'True = return only stale tables; false (default) = every table written by a job.'
)
returns table (
  rank int comment 'Position by hours since the last write, 1 = stalest table.',
  table_full_name string comment 'Table written (catalog.schema.table).',
  workspace_id string comment 'Workspace of the writing job.',
  workspace_name string comment 'Current workspace name.',
  writer_job_id string comment 'Job that wrote the table most recently.',
  writer_job_name string comment 'Current name of that job.',
  writer_job_paused boolean comment 'True when that job schedule is paused now (a common reason for stale tables).',
  writes bigint comment 'Write events in the period.',
  last_write_time timestamp comment 'Last write (UTC).',
  hours_since_last_write double comment 'Hours between the last write and the end of the period (or now).',
  usual_interval_hours double comment 'Median hours between consecutive writes (NULL with a single write).',
  stale_threshold_hours double comment 'Threshold applied: the larger of stale_after_hours and 3 x usual_interval_hours, plus 48 hours for a table written on 10 or more days of the period, at most a tenth of them a Saturday or Sunday (its writer runs on weekdays, now and then by hand on a weekend: a weekend without writes is its rhythm).',
  is_stale boolean comment 'True when hours_since_last_write exceeds stale_threshold_hours.'
)
comment 'Freshness of tables written by jobs, from table lineage: last write, usual write interval, hours since the last write and whether it is stale, with the writing job and whether its schedule is paused. BEST FOR: "which tables are stale?", "when was table x last updated?", "tables not refreshed because a job was paused". NOT FOR: pipeline (DLT) health (use get_pipeline_health), job failures (get_failed_jobs), who reads sensitive tables (get_sensitive_table_access). Hours in UTC; rows in rank order.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  writes as (
    select l.target_table_full_name as table_full_name, l.workspace_id as workspace_id, l.job_id as job_id,
      l.event_time as event_time,
      lag(l.event_time) over (partition by l.target_table_full_name order by l.event_time) as previous_write
    from {gold.fct_table_lineage} as l
    left join ws as w on w.workspace_id = l.workspace_id and workspace is not null
    where l.event_date between start_date and end_date
      and l.is_write and l.job_id is not null and l.target_table_full_name is not null
      and (workspace is null or l.workspace_id = workspace or w.workspace_name = workspace)
  ),
  per_table as (
    select table_full_name, max_by(workspace_id, event_time) as workspace_id, max_by(job_id, event_time) as writer_job_id,
      count(*) as writes, max(event_time) as last_write_time,
      percentile((unix_seconds(event_time) - unix_seconds(previous_write)) / 3600.0, 0.5) as usual_interval_hours,
      count(distinct to_date(event_time)) >= 10
        and 10 * count(distinct case when dayofweek(event_time) in (1, 7) then to_date(event_time) end)
          <= count(distinct to_date(event_time)) as weekdays_only
    from writes
    group by table_full_name
  ),
  scored as (
    select p.*,
      (unix_seconds(least({now}, cast(date_add(end_date, 1) as timestamp))) - unix_seconds(p.last_write_time)) / 3600.0
        as hours_since_last_write,
      greatest(cast(stale_after_hours as double), coalesce(3 * p.usual_interval_hours, 0))
        + case when p.weekdays_only then 48 else 0 end as stale_threshold_hours
    from per_table as p
  )
  select
    cast(row_number() over (order by s.hours_since_last_write desc, s.table_full_name) as int) as rank,
    s.table_full_name as table_full_name,
    s.workspace_id as workspace_id,
    coalesce(w.workspace_name, s.workspace_id) as workspace_name,
    s.writer_job_id as writer_job_id,
    j.job_name as writer_job_name,
    j.is_paused as writer_job_paused,
    s.writes as writes,
    s.last_write_time as last_write_time,
    s.hours_since_last_write as hours_since_last_write,
    s.usual_interval_hours as usual_interval_hours,
    s.stale_threshold_hours as stale_threshold_hours,
    s.hours_since_last_write > s.stale_threshold_hours as is_stale
  from scored as s
  left join ws as w on w.workspace_id = s.workspace_id
  left join {gold.dim_job} as j on j.workspace_id = s.workspace_id and j.job_id = s.writer_job_id and j.is_current
  where not only_stale or s.hours_since_last_write > s.stale_threshold_hours
  order by rank
