create or replace function {semantic}.get_temporary_credentials(
  start_date date default {today} - interval 7 days comment 'First UTC day included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all.',
  min_securables int default 20 comment 'Minimum distinct tables, volumes or paths one user got temporary credentials for within one window to be returned (more than 20 per hour is the usual mass access alert). Default 20.',
  window_minutes int default 60 comment 'Length of the time window in minutes (aligned on the clock). Default 60.'
)
returns table (
  rank int comment 'Position by distinct securables, 1 = widest access.',
  window_start timestamp comment 'Start of the time window (UTC).',
  workspace_id string comment 'Workspace of the requests.',
  workspace_name string comment 'Current workspace name.',
  user_email string comment 'User who requested the credentials.',
  distinct_securables bigint comment 'Distinct tables, volumes or paths with temporary credentials in the window.',
  credentials bigint comment 'Temporary credentials issued in the window.',
  actions string comment 'Credential actions used (table, volume, path), comma separated.',
  first_request timestamp comment 'First request in the window (UTC).',
  last_request timestamp comment 'Last request in the window (UTC).'
)
comment 'Unity Catalog temporary credentials per user and time window - the mass securable access signal (one identity reaching many tables, volumes or paths directly, outside a query). BEST FOR: "did anyone get credentials for many tables this week?", "mass table access", "which tables did a user read directly last night?". NOT FOR: reads of sensitive tables by name (use get_sensitive_table_access), downloads (get_download_activity), secrets (get_secret_access). Only windows with at least min_securables distinct securables are returned.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  requests as (
    select e.*,
      coalesce(e.securable_full_name, try_element_at(e.request_params, 'url')) as securable,
      timestamp_seconds(floor(unix_seconds(e.event_time) / (window_minutes * 60)) * window_minutes * 60) as window_start
    from {gold.fct_audit_events} as e
    left join ws as w on w.workspace_id = e.workspace_id and workspace is not null
    where e.event_date between start_date and end_date
      and e.action_name in ('generateTemporaryTableCredential', 'generateTemporaryVolumeCredential', 'generateTemporaryPathCredential')
      and (workspace is null or e.workspace_id = workspace or w.workspace_name = workspace)
  ),
  bursts as (
    select window_start, workspace_id, user_email,
      cast(size(collect_set(securable)) as bigint) as distinct_securables, count(*) as credentials,
      array_join(array_sort(collect_set(action_name)), ',') as actions,
      min(event_time) as first_request, max(event_time) as last_request
    from requests
    group by window_start, workspace_id, user_email
    having size(collect_set(securable)) >= min_securables
  )
  select
    cast(row_number() over (order by b.distinct_securables desc, b.window_start, b.user_email) as int) as rank,
    b.window_start as window_start,
    b.workspace_id as workspace_id,
    coalesce(w.workspace_name, b.workspace_id) as workspace_name,
    b.user_email as user_email,
    b.distinct_securables as distinct_securables,
    b.credentials as credentials,
    b.actions as actions,
    b.first_request as first_request,
    b.last_request as last_request
  from bursts as b
  left join ws as w on w.workspace_id = b.workspace_id
  order by rank
