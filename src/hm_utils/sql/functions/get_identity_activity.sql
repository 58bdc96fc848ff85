create or replace function {semantic}.get_identity_activity(
  start_date date default {today} - interval 7 days comment 'First UTC day included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all.',
  identity string default null comment 'User email or service principal to look at; NULL (default) = every identity.',
  top_n int default 50 comment 'Number of identities returned (rank 1..top_n). Default 50.'
)
returns table (
  rank int comment 'Position by audit events, 1 = most active identity.',
  identity string comment 'User email, service principal or system identity.',
  identity_type string comment 'user, service_principal, system, redacted or unknown.',
  audit_events bigint comment 'Audit events by the identity.',
  failed_events bigint comment 'Audit events answered with status >= 400.',
  logins bigint comment 'Login events.',
  failed_logins bigint comment 'Failed logins.',
  admin_changes bigint comment 'Admin and group membership changes made.',
  permission_changes bigint comment 'Grants and ACL changes made.',
  token_events bigint comment 'Access token events.',
  downloads bigint comment 'Downloads and exports.',
  queries bigint comment 'SQL statements run.',
  list_cost decimal(38,6) comment 'List cost charged to the identity (jobs run as it, warehouses owned, ...; account currency).',
  workspaces bigint comment 'Distinct workspaces with audit events of the identity.',
  distinct_ips bigint comment 'Distinct client IP addresses.',
  first_seen timestamp comment 'First audit event in the period (UTC).',
  last_seen timestamp comment 'Last audit event in the period (UTC).'
)
comment 'Everything one identity (or every identity) did in a period: audit events by kind (logins, failures, admin, permission, token, download), SQL statements run and the cost charged to it. BEST FOR: "what did user x do this week?", "most active users and service principals", "does a service principal log in interactively?". NOT FOR: bursts in time (use get_failed_logins or get_download_activity), top spenders only (get_top_cost_drivers with group_by identity). Money in the account currency.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  audit as (
    select e.user_email as identity,
      count(*) as audit_events, count_if(e.is_failed) as failed_events, count_if(e.is_login) as logins,
      count_if(e.is_failed_login) as failed_logins, count_if(e.is_admin_change) as admin_changes,
      count_if(e.is_permission_change) as permission_changes, count_if(e.is_token_event) as token_events,
      count_if(e.is_download) as downloads, cast(size(collect_set(e.workspace_id)) as bigint) as workspaces,
      cast(size(collect_set(e.source_ip_address)) as bigint) as distinct_ips, min(e.event_time) as first_seen, max(e.event_time) as last_seen
    from {gold.fct_audit_events} as e
    left join ws as w on w.workspace_id = e.workspace_id and workspace is not null
    where e.event_date between start_date and end_date
      and (get_identity_activity.identity is null or e.user_email = get_identity_activity.identity)
      and (workspace is null or e.workspace_id = workspace or w.workspace_name = workspace)
      and e.user_email is not null
    group by e.user_email
  ),
  queries as (
    select q.executed_by as identity, count(*) as queries
    from {gold.fct_queries} as q
    left join ws as w on w.workspace_id = q.workspace_id and workspace is not null
    where q.query_date between start_date and end_date
      and (get_identity_activity.identity is null or q.executed_by = get_identity_activity.identity)
      and (workspace is null or q.workspace_id = workspace or w.workspace_name = workspace)
    group by q.executed_by
  ),
  costs as (
    select u.identity as identity, sum(u.list_cost) as list_cost
    from {gold.fct_usage_daily} as u
    left join ws as w on w.workspace_id = u.workspace_id and workspace is not null
    where u.usage_date between start_date and end_date
      and (get_identity_activity.identity is null or u.identity = get_identity_activity.identity)
      and (workspace is null or u.workspace_id = workspace or w.workspace_name = workspace)
    group by u.identity
  ),
  ranked as (
    select a.*, q.queries as queries, c.list_cost as list_cost,
      row_number() over (order by a.audit_events desc, a.identity) as rank
    from audit as a
    left join queries as q on q.identity = a.identity
    left join costs as c on c.identity = a.identity
  )
  select
    cast(r.rank as int) as rank,
    r.identity as identity,
    coalesce(i.identity_type, case when r.identity like '%@%' then 'user' else 'unknown' end) as identity_type,
    r.audit_events as audit_events,
    r.failed_events as failed_events,
    r.logins as logins,
    r.failed_logins as failed_logins,
    r.admin_changes as admin_changes,
    r.permission_changes as permission_changes,
    r.token_events as token_events,
    r.downloads as downloads,
    coalesce(r.queries, 0) as queries,
    coalesce(r.list_cost, 0) as list_cost,
    r.workspaces as workspaces,
    r.distinct_ips as distinct_ips,
    r.first_seen as first_seen,
    r.last_seen as last_seen
  from ranked as r
  left join {gold.dim_identity} as i on i.identity = r.identity
  where r.rank <= top_n
  order by rank
