create or replace function {semantic}.get_off_hours_access(
  start_date date default {today} - interval 7 days comment 'First UTC day included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep (0 = account level); NULL (default) = all.',
  business_start_hour int default 7 comment 'First UTC hour of the working day (0-23). Default 7.',
  business_end_hour int default 19 comment 'UTC hour the working day ends (exclusive, 1-24). Default 19.',
  include_weekends boolean default true comment 'True (default) = every Saturday and Sunday event counts as off hours.',
  top_n int default 50 comment 'Number of users returned (rank 1..top_n). Default 50.'
)
returns table (
  rank int comment 'Position: users with sensitive off-hours actions first, then by off-hours events.',
  workspace_id string comment 'Workspace of the events (0 = account level).',
  workspace_name string comment 'Current workspace name.',
  user_email string comment 'User acting outside working hours (human users only: the identity contains @).',
  off_hours_events bigint comment 'Audit events outside working hours.',
  off_hours_days bigint comment 'Distinct days with off-hours events.',
  sensitive_off_hours_events bigint comment 'Off-hours admin, permission, token or download events (the ones worth a look).',
  sensitive_actions string comment 'Distinct sensitive actions done off hours, comma separated.',
  off_hours_share double comment 'off_hours_events / all events of the user in the period (0..1).',
  first_off_hours_event timestamp comment 'First off-hours event (UTC).',
  last_off_hours_event timestamp comment 'Last off-hours event (UTC).'
)
comment 'Human users active outside working hours (UTC), with the admin, permission, token and download actions they did then. BEST FOR: "who was active at night or at the weekend?", "were admin rights changed outside working hours?", "unusual access hours". NOT FOR: failed login bursts (use get_failed_logins), all permission changes (get_permission_changes), download bursts (get_download_activity). Hours are UTC.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  events as (
    select e.*,
      (hour(e.event_time) < business_start_hour or hour(e.event_time) >= business_end_hour
        or (include_weekends and dayofweek(e.event_time) in (1, 7))) as is_off_hours,
      (e.is_admin_change or e.is_permission_change or e.is_token_event or e.is_download) as is_sensitive
    from {gold.fct_audit_events} as e
    left join ws as w on w.workspace_id = e.workspace_id and workspace is not null
    where e.event_date between start_date and end_date
      and e.user_email like '%@%'
      and (workspace is null or e.workspace_id = workspace or w.workspace_name = workspace)
  ),
  users as (
    select workspace_id, user_email,
      count_if(is_off_hours) as off_hours_events,
      cast(size(collect_set(case when is_off_hours then event_date end)) as bigint) as off_hours_days,
      count_if(is_off_hours and is_sensitive) as sensitive_off_hours_events,
      array_join(array_sort(collect_set(case when is_off_hours and is_sensitive then action_name end)), ',') as sensitive_actions,
      try_divide(cast(count_if(is_off_hours) as double), cast(count(*) as double)) as off_hours_share,
      min(case when is_off_hours then event_time end) as first_off_hours_event,
      max(case when is_off_hours then event_time end) as last_off_hours_event
    from events
    group by workspace_id, user_email
    having count_if(is_off_hours) > 0
  ),
  ranked as (
    select u.*, row_number() over (order by u.sensitive_off_hours_events desc, u.off_hours_events desc, u.user_email) as rank
    from users as u
  )
  select
    cast(r.rank as int) as rank,
    r.workspace_id as workspace_id,
    coalesce(w.workspace_name, r.workspace_id) as workspace_name,
    r.user_email as user_email,
    r.off_hours_events as off_hours_events,
    r.off_hours_days as off_hours_days,
    r.sensitive_off_hours_events as sensitive_off_hours_events,
    r.sensitive_actions as sensitive_actions,
    r.off_hours_share as off_hours_share,
    r.first_off_hours_event as first_off_hours_event,
    r.last_off_hours_event as last_off_hours_event
  from ranked as r
  left join ws as w on w.workspace_id = r.workspace_id
  where r.rank <= top_n
  order by rank
