create or replace function {semantic}.get_secret_access(
  start_date date default {today} - interval 7 days comment 'First UTC day included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all.',
  min_secrets int default 10 comment 'Minimum distinct secrets read by one user within one window to be returned (10 per hour is the usual secret enumeration alert). Default 10.',
  window_minutes int default 60 comment 'Length of the time window in minutes (aligned on the clock). Default 60.'
)
returns table (
  rank int comment 'Position by distinct secrets, 1 = widest read.',
  window_start timestamp comment 'Start of the time window (UTC).',
  workspace_id string comment 'Workspace of the reads.',
  workspace_name string comment 'Current workspace name.',
  user_email string comment 'User who read the secrets.',
  distinct_secrets bigint comment 'Distinct secrets (scope/key) read in the window.',
  reads bigint comment 'Secret reads (getSecret) in the window.',
  scopes string comment 'Secret scopes read, comma separated.',
  first_read timestamp comment 'First read in the window (UTC).',
  last_read timestamp comment 'Last read in the window (UTC).'
)
comment 'Secret reads per user and time window - the secret enumeration signal (one identity reading many distinct secrets). BEST FOR: "did anyone read many secrets this week?", "secret enumeration", "which secret scopes did a user read last night?". NOT FOR: access tokens (use get_token_activity), reads of sensitive tables (get_sensitive_table_access), temporary table credentials (get_temporary_credentials). Only windows with at least min_secrets distinct secrets are returned.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  reads as (
    select e.*,
      concat_ws('/', try_element_at(e.request_params, 'scope'), try_element_at(e.request_params, 'key')) as secret,
      timestamp_seconds(floor(unix_seconds(e.event_time) / (window_minutes * 60)) * window_minutes * 60) as window_start
    from {gold.fct_audit_events} as e
    left join ws as w on w.workspace_id = e.workspace_id and workspace is not null
    where e.event_date between start_date and end_date
      and e.action_name = 'getSecret'
      and (workspace is null or e.workspace_id = workspace or w.workspace_name = workspace)
  ),
  bursts as (
    select window_start, workspace_id, user_email,
      cast(size(collect_set(secret)) as bigint) as distinct_secrets, count(*) as reads,
      array_join(array_sort(collect_set(try_element_at(request_params, 'scope'))), ',') as scopes,
      min(event_time) as first_read, max(event_time) as last_read
    from reads
    group by window_start, workspace_id, user_email
    having size(collect_set(secret)) >= min_secrets
  )
  select
    cast(row_number() over (order by b.distinct_secrets desc, b.window_start, b.user_email) as int) as rank,
    b.window_start as window_start,
    b.workspace_id as workspace_id,
    coalesce(w.workspace_name, b.workspace_id) as workspace_name,
    b.user_email as user_email,
    b.distinct_secrets as distinct_secrets,
    b.reads as reads,
    b.scopes as scopes,
    b.first_read as first_read,
    b.last_read as last_read
  from bursts as b
  left join ws as w on w.workspace_id = b.workspace_id
  order by rank
