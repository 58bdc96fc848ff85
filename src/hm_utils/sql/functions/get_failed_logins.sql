create or replace function {semantic}.get_failed_logins(
  start_date date default {today} - interval 7 days comment 'First UTC day included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep (0 = account level); NULL (default) = all.',
  min_failures int default 5 comment 'Minimum failed logins of one user from one IP address within one window to be returned. Default 5.',
  window_minutes int default 60 comment 'Length of the time window in minutes (windows are aligned on the clock). Default 60.'
)
returns table (
  rank int comment 'Position by failed logins, 1 = largest burst.',
  window_start timestamp comment 'Start of the time window (UTC).',
  workspace_id string comment 'Workspace of the login attempts (0 = account console).',
  workspace_name string comment 'Current workspace name.',
  user_email string comment 'User whose login failed.',
  source_ip_address string comment 'Client IP address of the attempts.',
  failed_logins bigint comment 'Failed login attempts (status 401 or 403 on a login action) in the window.',
  status_codes string comment 'Distinct HTTP status codes seen, comma separated.',
  login_actions string comment 'Login actions tried (login, tokenLogin, samlLogin, ...), comma separated.',
  first_failure timestamp comment 'First failed attempt in the window (UTC).',
  last_failure timestamp comment 'Last failed attempt in the window (UTC).',
  successful_logins bigint comment 'Successful logins of the same user from the same IP in the window (a success after a burst is a red flag).'
)
comment 'Bursts of failed logins: per user, source IP and time window, the number of logins answered 401/403 - the brute-force and password-spraying signal. BEST FOR: "any brute force attempts this week?", "who had many failed logins?", "which IP addresses keep failing to log in?". NOT FOR: all activity of an IP (use get_access_by_ip), a user across all event types (get_identity_activity), daily trend of failed logins (metric view mv_security_events). Only windows with at least min_failures failures are returned.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  logins as (
    select e.*,
      timestamp_seconds(floor(unix_seconds(e.event_time) / (window_minutes * 60)) * window_minutes * 60) as window_start
    from {gold.fct_audit_events} as e
    left join ws as w on w.workspace_id = e.workspace_id and workspace is not null
    where e.event_date between start_date and end_date
      and e.is_login
      and (workspace is null or e.workspace_id = workspace or w.workspace_name = workspace)
  ),
  bursts as (
    select window_start, workspace_id, user_email, source_ip_address,
      count_if(is_failed_login) as failed_logins,
      array_join(array_sort(collect_set(case when is_failed_login then cast(status_code as string) end)), ',') as status_codes,
      array_join(array_sort(collect_set(action_name)), ',') as login_actions,
      min(case when is_failed_login then event_time end) as first_failure,
      max(case when is_failed_login then event_time end) as last_failure,
      count_if(not is_failed) as successful_logins
    from logins
    group by window_start, workspace_id, user_email, source_ip_address
    having count_if(is_failed_login) >= min_failures
  )
  select
    cast(row_number() over (order by b.failed_logins desc, b.window_start, b.user_email) as int) as rank,
    b.window_start as window_start,
    b.workspace_id as workspace_id,
    coalesce(w.workspace_name, b.workspace_id) as workspace_name,
    b.user_email as user_email,
    b.source_ip_address as source_ip_address,
    b.failed_logins as failed_logins,
    b.status_codes as status_codes,
    b.login_actions as login_actions,
    b.first_failure as first_failure,
    b.last_failure as last_failure,
    b.successful_logins as successful_logins
  from bursts as b
  left join ws as w on w.workspace_id = b.workspace_id
  order by rank
