create or replace function {semantic}.get_download_activity(
  start_date date default {today} - interval 7 days comment 'First UTC day included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all.',
  min_downloads int default 20 comment 'Minimum downloads of one user within one window to be returned (20 per hour is the usual exfiltration alert). Default 20.',
  window_minutes int default 60 comment 'Length of the time window in minutes (aligned on the clock). Default 60.'
)
returns table (
  rank int comment 'Position by downloads, 1 = largest burst.',
  window_start timestamp comment 'Start of the time window (UTC).',
  workspace_id string comment 'Workspace of the downloads.',
  workspace_name string comment 'Current workspace name.',
  user_email string comment 'User who downloaded or exported.',
  downloads bigint comment 'Downloads and exports (query results, notebook results, workspace exports, files) in the window.',
  actions string comment 'Download actions used, comma separated.',
  distinct_ips bigint comment 'Distinct client IP addresses used.',
  first_download timestamp comment 'First download in the window (UTC).',
  last_download timestamp comment 'Last download in the window (UTC).'
)
comment 'Bursts of downloads and exports per user and time window - the data exfiltration signal (results, notebooks, workspace exports, files). BEST FOR: "did anyone download a lot of data this week?", "mass downloads or exports", "who exported notebooks last night?". NOT FOR: reads of sensitive tables (use get_sensitive_table_access), activity outside working hours (get_off_hours_access), daily download counts (metric view mv_security_events). Only windows with at least min_downloads downloads are returned.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  downloads as (
    select e.*,
      timestamp_seconds(floor(unix_seconds(e.event_time) / (window_minutes * 60)) * window_minutes * 60) as window_start
    from {gold.fct_audit_events} as e
    left join ws as w on w.workspace_id = e.workspace_id and workspace is not null
    where e.event_date between start_date and end_date
      and e.is_download
      and (workspace is null or e.workspace_id = workspace or w.workspace_name = workspace)
  ),
  bursts as (
    select window_start, workspace_id, user_email, count(*) as downloads,
      array_join(array_sort(collect_set(action_name)), ',') as actions,
      cast(size(collect_set(source_ip_address)) as bigint) as distinct_ips,
      min(event_time) as first_download, max(event_time) as last_download
    from downloads
    group by window_start, workspace_id, user_email
    having count(*) >= min_downloads
  )
  select
    cast(row_number() over (order by b.downloads desc, b.window_start, b.user_email) as int) as rank,
    b.window_start as window_start,
    b.workspace_id as workspace_id,
    coalesce(w.workspace_name, b.workspace_id) as workspace_name,
    b.user_email as user_email,
    b.downloads as downloads,
    b.actions as actions,
    b.distinct_ips as distinct_ips,
    b.first_download as first_download,
    b.last_download as last_download
  from bursts as b
  left join ws as w on w.workspace_id = b.workspace_id
  order by rank
