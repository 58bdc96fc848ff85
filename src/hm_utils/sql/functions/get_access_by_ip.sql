create or replace function {semantic}.get_access_by_ip(
  start_date date default {today} - interval 7 days comment 'First UTC day included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep (0 = account level); NULL (default) = all.',
  top_n int default 50 comment 'Number of IP addresses returned (rank 1..top_n). Default 50.'
)
returns table (
  rank int comment 'Position: most failed logins first, then most failed events, then most events.',
  source_ip_address string comment 'Client IP address.',
  is_private_ip boolean comment 'True for private (RFC 1918) or loopback addresses.',
  events bigint comment 'Audit events from the address.',
  failed_events bigint comment 'Events answered with status >= 400.',
  failed_logins bigint comment 'Failed logins (401/403 on a login action).',
  distinct_users bigint comment 'Distinct identities that used the address.',
  users string comment 'Up to 5 identities that used the address, comma separated.',
  workspaces bigint comment 'Distinct workspaces reached from the address.',
  first_seen timestamp comment 'First event from the address in the period (UTC).',
  last_seen timestamp comment 'Last event from the address in the period (UTC).'
)
comment 'Activity per client IP address: events, failures, failed logins and how many users and workspaces used it. BEST FOR: "which IP addresses access our workspaces?", "which IPs have the most failed logins?", "is an unknown IP used by several users?". NOT FOR: login bursts in time (use get_failed_logins), what one user did (get_identity_activity). Rows in rank order.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  ips as (
    select e.source_ip_address as source_ip_address,
      count(*) as events,
      count_if(e.is_failed) as failed_events,
      count_if(e.is_failed_login) as failed_logins,
      cast(size(collect_set(e.user_email)) as bigint) as distinct_users,
      array_join(slice(array_sort(collect_set(e.user_email)), 1, 5), ',') as users,
      cast(size(collect_set(e.workspace_id)) as bigint) as workspaces,
      min(e.event_time) as first_seen,
      max(e.event_time) as last_seen
    from {gold.fct_audit_events} as e
    left join ws as w on w.workspace_id = e.workspace_id and workspace is not null
    where e.event_date between start_date and end_date
      and e.source_ip_address is not null
      and (workspace is null or e.workspace_id = workspace or w.workspace_name = workspace)
    group by e.source_ip_address
  ),
  ranked as (
    select i.*, row_number() over (order by i.failed_logins desc, i.failed_events desc, i.events desc, i.source_ip_address) as rank
    from ips as i
  )
  select
    cast(r.rank as int) as rank,
    r.source_ip_address as source_ip_address,
    (r.source_ip_address rlike '^(10\\.|192\\.168\\.|127\\.|172\\.(1[6-9]|2[0-9]|3[01])\\.)') as is_private_ip,
    r.events as events,
    r.failed_events as failed_events,
    r.failed_logins as failed_logins,
    r.distinct_users as distinct_users,
    r.users as users,
    r.workspaces as workspaces,
    r.first_seen as first_seen,
    r.last_seen as last_seen
  from ranked as r
  where r.rank <= top_n
  order by rank
