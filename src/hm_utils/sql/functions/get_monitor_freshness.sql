create or replace function {semantic}.get_monitor_freshness(
  start_date date default {today} - interval 30 days comment 'First UTC date of data looked at. Default: 30 days ago.',
  end_date date default {today} comment 'The date freshness is measured at: data dated after it is ignored. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.'
)
returns table (
  rank int comment 'Position by days behind, 1 = stalest.',
  dataset string comment 'What the monitor holds: usage (billing), job_runs, queries or audit_events.',
  workspace_id string comment 'Workspace.',
  workspace_name string comment 'Current workspace name.',
  latest_date date comment 'Latest date with data for the workspace, up to end_date.',
  days_behind int comment 'end_date - latest_date in days (billing usage normally lags by a day).',
  rows_last_day bigint comment 'Rows on the latest date.'
)
comment 'Freshness of the data the health monitor itself holds: for each workspace, the latest date with billing usage, job runs, queries and audit events in gold, and how many days that is behind. A monitor whose data stops moving cannot alert on anything. BEST FOR: "is the monitor\'s data up to date?", "when did the monitor last ingest usage for workspace X?". NOT FOR: freshness of the account\'s own tables written by jobs (use get_table_freshness), the monitor\'s step failures (get_monitor_runs). Stalest first.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  daily as (
    select 'usage' as dataset, workspace_id, usage_date as day, count(*) as n from {gold.fct_usage_hourly}
    where usage_date between start_date and end_date group by workspace_id, usage_date
    union all
    select 'job_runs', workspace_id, run_date, count(*) from {gold.fct_job_runs}
    where run_date between start_date and end_date group by workspace_id, run_date
    union all
    select 'queries', workspace_id, query_date, count(*) from {gold.fct_queries}
    where query_date between start_date and end_date group by workspace_id, query_date
    union all
    select 'audit_events', workspace_id, event_date, count(*) from {gold.fct_audit_events}
    where event_date between start_date and end_date and workspace_id <> '0' group by workspace_id, event_date
  ),
  latest as (
    select d.dataset as dataset, d.workspace_id as workspace_id, max(d.day) as latest_date, max_by(d.n, d.day) as rows_last_day
    from daily as d
    left join ws as w on w.workspace_id = d.workspace_id and workspace is not null
    where workspace is null or d.workspace_id = workspace or w.workspace_name = workspace
    group by d.dataset, d.workspace_id
  )
  select cast(row_number() over (order by datediff(end_date, l.latest_date) desc, l.dataset, l.workspace_id) as int) as rank,
    l.dataset, l.workspace_id, coalesce(w.workspace_name, l.workspace_id) as workspace_name, l.latest_date,
    datediff(end_date, l.latest_date) as days_behind, l.rows_last_day
  from latest as l
  left join ws as w on w.workspace_id = l.workspace_id
  order by rank
