create or replace function {semantic}.get_cross_workspace_activity(
  start_date date default {today} - interval 7 days comment 'First UTC day included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name: keep the users active in it among others; NULL (default) = all.',
  min_workspaces int default 5 comment 'Minimum distinct workspaces one user was active in on one day to be returned (5 is the usual lateral movement alert). Default 5.'
)
returns table (
  rank int comment 'Position by distinct workspaces, 1 = widest spread.',
  event_date date comment 'UTC day of the activity.',
  user_email string comment 'User active in several workspaces.',
  distinct_workspaces bigint comment 'Distinct workspaces (account-level events excluded) the user was active in that day.',
  workspaces string comment 'Workspace names, comma separated.',
  events bigint comment 'Audit events of the user in those workspaces that day.',
  first_event timestamp comment 'First event of the day (UTC).',
  last_event timestamp comment 'Last event of the day (UTC).'
)
comment 'Users active in many workspaces on one day - the lateral movement signal (one identity, usually working in its home workspace, logging in or acting across the account). BEST FOR: "did anyone work in many workspaces this week?", "cross-workspace activity", "lateral movement between workspaces". NOT FOR: what a user did (use get_identity_activity), logins from many IP addresses (get_access_by_ip). Account-level events (workspace 0) do not count; only days with at least min_workspaces workspaces are returned.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  spread as (
    select e.event_date, e.user_email,
      cast(size(collect_set(e.workspace_id)) as bigint) as distinct_workspaces,
      array_join(array_sort(collect_set(coalesce(w.workspace_name, e.workspace_id))), ',') as workspaces,
      count(*) as events, min(e.event_time) as first_event, max(e.event_time) as last_event
    from {gold.fct_audit_events} as e
    left join ws as w on w.workspace_id = e.workspace_id
    where e.event_date between start_date and end_date
      and e.workspace_id <> '0'
      and e.user_email is not null
    group by e.event_date, e.user_email
    having size(collect_set(e.workspace_id)) >= min_workspaces
      and (workspace is null or array_contains(collect_set(e.workspace_id), workspace)
        or array_contains(collect_set(w.workspace_name), workspace))
  )
  select
    cast(row_number() over (order by s.distinct_workspaces desc, s.event_date, s.user_email) as int) as rank,
    s.event_date as event_date,
    s.user_email as user_email,
    s.distinct_workspaces as distinct_workspaces,
    s.workspaces as workspaces,
    s.events as events,
    s.first_event as first_event,
    s.last_event as last_event
  from spread as s
  order by rank
